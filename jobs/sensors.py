"""The seed's sensor job: read the sensor readings' Parquet, show the schema and the
summary statistics, and write a summary table (Parquet) and an HTML report.

Environment: ``SENSORS_PATH`` (a Parquet file or folder, searched recursively;
default ``../headwater-data/lake/sensors``), ``OUTPUT_DIR`` (default ``output``).
A path that does not exist yet or holds no Parquet (a new lake) is no readings: the
run succeeds with empty tables.
Writes ``OUTPUT_DIR/sensors_summary.parquet`` (one row per numeric column: count,
mean, stddev, min, max), ``OUTPUT_DIR/sensors_by_host.parquet`` (readings and mean
temperature per device) and ``OUTPUT_DIR/sensors.html``.
"""

from __future__ import annotations

import os

import publish
import report_html
from lake import parquet_or_empty
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import NumericType

source = os.environ.get("SENSORS_PATH", "../headwater-data/lake/sensors")
output = os.environ.get("OUTPUT_DIR", "output")

spark = SparkSession.builder.appName("sensors").getOrCreate()
spark.sparkContext.setLogLevel("WARN")
readings = parquet_or_empty(
    spark, source, "host string, systemtime string, cputemp long, bme680_tempc double", "sensors"
)
readings.printSchema()
numeric = [f.name for f in readings.schema.fields if isinstance(f.dataType, NumericType)]

stats = readings.select(numeric).summary("count", "mean", "stddev", "min", "max")
stats.show(truncate=False)
by_stat = {row["summary"]: row.asDict() for row in stats.collect()}
summary_rows = [
    (
        name,
        int(float(by_stat["count"][name])),
        *(
            None if by_stat[s][name] is None else float(by_stat[s][name])
            for s in ("mean", "stddev", "min", "max")
        ),
    )
    for name in numeric
]
summary = spark.createDataFrame(
    summary_rows, "column string, count long, mean double, stddev double, min double, max double"
)
publish.parquet(summary, output, "sensors_summary.parquet")

by_host = readings.groupBy("host").agg(
    F.count("*").alias("readings"),
    F.avg("bme680_tempc").alias("mean_tempc")
    if "bme680_tempc" in numeric
    else F.lit(None).alias("mean_tempc"),
    F.max("systemtime").alias("last_systemtime"),
)
publish.parquet(by_host, output, "sensors_by_host.parquet")
hosts = by_host.orderBy("host").collect()

total = readings.count()
report_html.write(
    os.path.join(output, "sensors.html"),
    "Sensor readings",
    {"source": source, "readings": total, "devices": len(hosts)},
    [
        report_html.table(
            "Schema",
            ["column", "type"],
            [(f.name, f.dataType.simpleString()) for f in readings.schema.fields],
        ),
        report_html.table(
            "Summary statistics", ["column", "count", "mean", "stddev", "min", "max"], summary_rows
        ),
        report_html.table(
            "By device", ["host", "readings", "mean °C", "last reading"], [tuple(r) for r in hosts]
        ),
    ],
)
print(f"sensors: {total} readings from {len(hosts)} device(s); summary in {output}")
spark.stop()
