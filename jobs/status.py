"""The seed's job-status job: read the job status Parquet (what the hub's job-status
flow stores: the jobs API's answers, flattened and cleaned), count runs per status and
measure their durations, and write Parquet and an HTML report.

A run appears in the status Parquet once when it starts (``scheduling``) and again
when the flow's poll sees it end; its final status is its last record. The records
carry no end time, so durations come from the jobs service's run history when
``JOBS_API_URL`` (``http://HOST:PORT``) and ``JOBS_API_KEY`` are set; without them the
durations are left empty.

Environment: ``JOBSTATUS_PATH`` (default ``../headwater-data/lake/jobstatus``),
``OUTPUT_DIR`` (default ``output``). A path that does not exist yet or holds no Parquet
(no run stored yet) is no runs: the job succeeds with empty tables. Writes
``OUTPUT_DIR/status_runs.parquet`` (a row per run: job, run id, final status, duration),
``OUTPUT_DIR/status_summary.parquet`` (a row per status: runs, mean and max duration)
and ``OUTPUT_DIR/status.html``.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request

import publish
import report_html
from lake import parquet_or_empty
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

FINAL = ("succeeded", "failed", "stopped", "timedout")
source = os.environ.get("JOBSTATUS_PATH", "../headwater-data/lake/jobstatus")
output = os.environ.get("OUTPUT_DIR", "output")
api = os.environ.get("JOBS_API_URL", "").rstrip("/")
key = os.environ.get("JOBS_API_KEY", "")

spark = SparkSession.builder.appName("status").getOrCreate()
spark.sparkContext.setLogLevel("WARN")
records = parquet_or_empty(
    spark,
    source,
    "id int, name string, total_runs int, project_slug string, latest_id string,"
    " latest_status string, latest_created_at string",
    "status",
)
records.printSchema()

# A run's last word: a final status wins over an earlier "scheduling" record.
rank = F.when(F.col("latest_status").isin(*FINAL), 1).otherwise(0)
ordered = Window.partitionBy("latest_id").orderBy(rank.desc(), F.col("total_runs").desc())
runs = (
    records.where(F.col("latest_id").isNotNull())
    .withColumn("n", F.row_number().over(ordered))
    .where("n = 1")
    .select(
        F.col("project_slug").alias("project"),
        F.col("id").alias("job_id"),
        F.col("name").alias("job"),
        F.col("latest_id").alias("run_id"),
        F.col("latest_status").alias("status"),
        F.col("latest_created_at").alias("created_at"),
    )
)


def durations(project: str, job_id: int) -> dict[str, float]:
    """Run id → seconds, from the jobs service's run history."""
    request = urllib.request.Request(
        f"{api}/api/v1/projects/{project}/jobs/{job_id}/runs?limit=100000",
        headers={"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return {r["id"]: r["duration"] for r in json.load(answer) if r.get("duration") is not None}


seconds: dict[str, float] = {}
if api and key:
    for row in runs.select("project", "job_id").distinct().collect():
        seconds |= durations(row["project"], row["job_id"])
timed = spark.createDataFrame(
    list(seconds.items()) or [("", 0.0)], "run_id string, duration double"
)
runs = runs.join(timed, "run_id", "left").select(
    "project", "job_id", "job", "run_id", "status", "created_at", "duration"
)
publish.parquet(runs, output, "status_runs.parquet")

summary = (
    runs.groupBy("status")
    .agg(
        F.count("*").alias("runs"),
        F.avg("duration").alias("mean_duration"),
        F.max("duration").alias("max_duration"),
    )
    .orderBy("status")
)
publish.parquet(summary, output, "status_summary.parquet")
summary.show(truncate=False)
rows = [tuple(r) for r in summary.collect()]
recent = [tuple(r) for r in runs.orderBy(F.col("created_at").desc()).limit(50).collect()]
report_html.write(
    os.path.join(output, "status.html"),
    "Job runs",
    {"source": source, "records": records.count(), "runs": sum(r[1] for r in rows)},
    [
        report_html.table("Runs per status", ["status", "runs", "mean s", "max s"], rows),
        report_html.table(
            "Latest runs",
            ["project", "job id", "job", "run", "status", "created", "seconds"],
            recent,
        ),
    ],
)
print(f"status: {sum(r[1] for r in rows)} runs; " + ", ".join(f"{r[0]} {r[1]}" for r in rows))
spark.stop()
