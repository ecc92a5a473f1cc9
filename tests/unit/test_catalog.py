"""The catalog of built-in types: equal to what the modules register, and a flow
imports only the modules of the types it names."""

import subprocess
import sys
from pathlib import Path

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


HEAVY = ("pyarrow", "duckdb", "botocore", "fastapi", "fsspec", "onnxruntime", "numpy")
UNUSED_BY_THE_DEVICE = ("jsonpath_ng", "croniter", "dateutil")  # the EL's jsonPath, cron


FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_an_edge_flow_loads_nothing_heavy_or_unused() -> None:
    script = f"""
import sys
from pathlib import Path
from headwater.flow.loader import load_flow
from headwater.processor import processor_type
load_flow({str(FLOWS / "agent.yaml")!r})
processor_type("PutFile")
print(sorted(m for m in {HEAVY + UNUSED_BY_THE_DEVICE!r} if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
