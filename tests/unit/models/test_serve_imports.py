"""The models service's front process loads no engine, no numpy, no onnxruntime: those
load in the replicas, which hold the model."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import headwater.models.serve.server, headwater.cli.models
heavy = ("headwater.engine", "headwater.repository", "headwater.processors", "numpy",
         "onnxruntime", "torch", "PIL", "pyarrow", "duckdb", "fastapi", "fsspec")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def test_the_front_process_imports_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
