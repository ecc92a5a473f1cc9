"""Read a folder of the lake that may not have anything in it yet.

The hub's flow starts the jobs from its first minutes, before it has written the
readings or the job status they read: a path that does not exist yet or holds no
Parquet is an empty table of the given schema, so the run still succeeds.
"""

from __future__ import annotations

from typing import Any

from pyspark.errors import AnalysisException


def parquet_or_empty(spark: Any, path: str, empty: str, job: str) -> Any:
    """The Parquet records under ``path`` (searched recursively), or none of ``empty``'s
    schema (a DDL string) when there are none yet."""
    try:
        return spark.read.option("recursiveFileLookup", "true").parquet(path)
    except AnalysisException as exc:
        if exc.getCondition() not in ("PATH_NOT_FOUND", "UNABLE_TO_INFER_SCHEMA"):
            raise
        print(f"{job}: nothing in {path} yet")
        return spark.createDataFrame([], empty)
