"""The jobs service is a server of its own: it does not load the flow engine, the hub's
API or the record libraries."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import headwater.jobs.api, headwater.http.asgi
heavy = ("headwater.engine", "headwater.flow.", "headwater.api", "headwater.processors",
         "pyarrow", "duckdb", "pyspark", "jolt")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def test_the_service_imports_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
