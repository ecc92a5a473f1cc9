"""The seed's join job: pair each sensor reading with the camera image taken with it.

A reading's ``imgname`` is the image's path on the device
(``/opt/demo/images/bog_image_<yyyyMMddHHmmss>_<uuid>.jpg``); its file name equals the
image record's ``filename``. Images are the edge classifier's records (JSON lines or
Parquet with ``filename`` and ``label_1..5``/``probability_1..5``), or, when
``IMAGES_PATH`` holds the JPEG files themselves (as the hub stores them), their names.

Environment: ``READINGS_PATH`` (Parquet or JSON lines; default
``../headwater-data/lake/sensors``), ``IMAGES_PATH`` (default
``../headwater-data/lake/images``), ``OUTPUT_DIR`` (default ``output``). Writes
``OUTPUT_DIR/joined.parquet`` (every reading with its image's columns, ``image_*``)
and ``OUTPUT_DIR/join.html``.
"""

from __future__ import annotations

import os

import publish
import report_html
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

readings_path = os.environ.get("READINGS_PATH", "../headwater-data/lake/sensors")
images_path = os.environ.get("IMAGES_PATH", "../headwater-data/lake/images")
output = os.environ.get("OUTPUT_DIR", "output")

spark = SparkSession.builder.appName("join").getOrCreate()
spark.sparkContext.setLogLevel("WARN")


def kind(path: str) -> str | None:
    """parquet, json or jpeg: what the files under ``path`` are; None when there are
    none (a new lake: the hub has not written this folder yet)."""
    names = (
        [path]
        if os.path.isfile(path)
        else [
            name
            for _, _, files in os.walk(path)
            for name in files
            if not name.startswith((".", "_"))
        ]
    )
    for suffix, found in (
        (".parquet", "parquet"),
        (".json", "json"),
        (".jsonl", "json"),
        (".jpg", "jpeg"),
    ):
        if any(name.endswith(suffix) for name in names):
            return found
    return None


def read(path: str, empty: str) -> DataFrame:
    """The records under ``path``, or none of schema ``empty`` when it has no files."""
    found = kind(path)
    if found is None:
        print(f"join: nothing in {path} yet")
        return spark.createDataFrame([], empty)
    reader = spark.read.option("recursiveFileLookup", "true")
    if found == "parquet":
        return reader.parquet(path)
    if found == "json":
        return reader.json(path)
    files = reader.format("binaryFile").option("pathGlobFilter", "*.jpg").load(path)
    return files.select(F.element_at(F.split("path", "/"), -1).alias("filename"), "length")


readings = read(readings_path, "uuid string, host string, imgname string").withColumn(
    "image_name", F.element_at(F.split("imgname", "/"), -1)
)
images = read(images_path, "filename string")
images = images.select(
    [F.col(f"`{c}`").alias("image_" + c.replace(".", "_")) for c in images.columns]
)
joined = readings.join(images, readings["image_name"] == images["image_filename"], "left")
publish.parquet(joined, output, "joined.parquet")

total = readings.count()
paired = joined.where(F.col("image_filename").isNotNull()).count()
unpaired = [
    r["image_name"] for r in joined.where(F.col("image_filename").isNull()).limit(20).collect()
]
labels = [c for c in ("image_label_1", "image_probability_1") if c in images.columns]
sample = joined.where(F.col("image_filename").isNotNull()).select(
    "uuid", "host", "image_name", *labels
)
report_html.write(
    os.path.join(output, "join.html"),
    "Readings and images",
    {
        "readings": total,
        "images": images.count(),
        "paired": paired,
        "without image": total - paired,
    },
    [
        report_html.table(
            "Paired (first 50)", sample.columns, [tuple(r) for r in sample.limit(50).collect()]
        ),
        report_html.table(
            "Readings without an image (first 20)", ["image name"], [(n,) for n in unpaired]
        ),
    ],
)
print(f"join: {paired} of {total} readings paired with their image")
spark.stop()
