"""The catalog of built-in types: equal to what the modules register, and a flow
imports only the modules of the types it names."""

import subprocess
import sys

from headwater import catalog
from headwater.processor import PROCESSOR_TYPES, SERVICE_TYPES, load_extensions


def test_the_catalog_names_every_built_in_type_where_it_is_defined() -> None:
    load_extensions()
    for index, registry in (
        (catalog.PROCESSORS, PROCESSOR_TYPES),
        (catalog.SERVICES, SERVICE_TYPES),
    ):
        builtin = {
            n: c.__module__ for n, c in registry.items() if c.__module__.startswith("headwater.")
        }
        assert builtin == index


def test_an_edge_flow_loads_no_arrow_duckdb_botocore_fastapi_or_fsspec() -> None:
    script = """
import sys
from headwater.processor import processor_type, service_type
for name in ("ReadSensors", "CaptureImage", "PutFile", "RemoteProcessGroup", "UpdateAttribute"):
    processor_type(name)
service_type("CameraImageRegistry")
print(sorted(m for m in ("pyarrow", "duckdb", "botocore", "fastapi", "fsspec") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
