"""Put a job's Parquet output in place whole, even when runs of the job overlap.

Spark writes a folder and keeps its temporary files inside it, so two runs writing
the same folder at once break each other. Each run writes a folder of its own, then
swaps it in with renames: a reader sees the old table or the new one, never half of
one, and the last run to finish wins.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import Any


def parquet(frame: Any, output: str, name: str) -> str:
    """Write ``frame`` (one file) as ``output/name`` and return that path."""
    run = os.environ.get("CDSW_ENGINE_ID") or uuid.uuid4().hex
    final = os.path.join(output, name)
    staged = os.path.join(output, f".{name}.{run}")
    retired = os.path.join(output, f".{name}.{run}.old")
    frame.coalesce(1).write.mode("overwrite").parquet(staged)
    for _ in range(10):
        try:
            os.rename(final, retired)
        except FileNotFoundError:
            pass
        except OSError:  # another run retired it at the same moment: try again
            continue
        try:
            os.rename(staged, final)
            break
        except OSError:  # another run put its table there first: retire that one
            continue
    shutil.rmtree(retired, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    return final
