"""Lakes fabricated with pyarrow, shaped as flows/edge-to-ai.yaml writes them
(sensor.avsc, image.avsc): rows, a writer that puts them in day folders, and the
fixtures over them (``writer``, ``lake``).

No conftest.py here: other test folders import names ``from conftest``, which a second
conftest module would shadow when folders are collected together. Each test module
makes the fixtures with ``pytest.fixture(writer_in, name="writer")`` and
``pytest.fixture(lake_over, name="lake")``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from headwater.dashboards import Lake

T0 = 1_790_000_000_000
"""2026-09-21T14:13:20Z in epoch millis (200 s past a 10-minute mark): readings start here."""

SENSOR_SCHEMA = pa.schema(
    [
        ("uuid", pa.string()),
        ("host", pa.string()),
        ("imgname", pa.string()),
        ("cputemp", pa.int64()),
        ("systemtime", pa.string()),
        ("memory", pa.float64()),
        ("bme680_tempc", pa.float64()),
        ("bme680_pressure", pa.float64()),
        ("ltr559_lux", pa.float64()),
        ("bme680_humidity", pa.float64()),
        ("end", pa.float64()),
    ]
)


def reading(host: str, millis: int, n: int, **overrides: Any) -> dict[str, Any]:
    """A reading of ``host`` at ``millis`` whose values derive from ``n``."""
    row = {
        "uuid": f"{host}-{n}",
        "host": host,
        "imgname": f"/opt/demo/images/bog_image_{host}_{n}.jpg",
        "cputemp": 40 + n % 7,
        "systemtime": "01/01/2000 00:00:00",
        "memory": 30.0 + n % 11,
        "bme680_tempc": 20.0 + (n % 13) / 4,
        "bme680_pressure": 1000.0 + n % 5,
        "ltr559_lux": float(n % 17),
        "bme680_humidity": 40.0 + (n % 3) / 2,
        "end": millis / 1000,
    }
    return row | overrides


def image(host: str, millis: int, n: int, **overrides: Any) -> dict[str, Any]:
    """The image taken with ``reading(host, millis, n)``."""
    row = {
        "filename": f"bog_image_{host}_{n}.jpg",
        "host": host,
        "uuid": f"img-{host}-{n}",
        "time": millis,
        "url": f"ftp://127.0.0.1:2121/images/bog_image_{host}_{n}.jpg",
        **{f"label_{k}": f"label{k}-{n}" for k in range(1, 6)},
        **{f"probability_{k}": f"{50 / k:.2f}%" for k in range(1, 6)},
        "detections": orjson.dumps(
            [{"label": "person", "confidence": 0.75, "box": [n, 2, 30, 40]}] if n % 2 else []
        ).decode(),
        "person": bool(n % 2),
    }
    return row | overrides


@dataclass
class LakeWriter:
    """Writes Parquet files into the lake's day folders, as the hub does (a temporary
    name first, then renamed), and remembers every row it wrote."""

    root: Path
    readings: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def write(
        self,
        kind: str,
        rows: Sequence[dict[str, Any]],
        *,
        day: str | None = "2026-09-21",
        schema: pa.Schema | None = None,
    ) -> Path:
        folder = self.root / kind / day if day else self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{next(self._names):05d}.parquet"
        temporary = folder / f".{name}"
        pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), temporary)
        final = folder / name
        temporary.rename(final)
        if kind == "sensors":
            self.readings.extend(rows)
        elif kind == "images":
            self.images.extend(rows)
        return final

    def sensors(self, rows: Sequence[dict[str, Any]], **kwargs: Any) -> Path:
        return self.write("sensors", rows, schema=kwargs.pop("schema", SENSOR_SCHEMA), **kwargs)


def writer_in(tmp_path: Path) -> LakeWriter:
    """A writer of a lake at ``<tmp>/data/lake`` (made by its first file)."""
    return LakeWriter(tmp_path / "data" / "lake")


def lake_over(writer: LakeWriter, tmp_path: Path) -> Iterator[Lake]:
    """A Lake over ``writer``'s lake, its image store at ``<tmp>/data/ftp/images``."""
    store = tmp_path / "data" / "ftp" / "images"
    store.mkdir(parents=True)
    opened = Lake(writer.root, images=store, refresh_seconds=0)
    yield opened
    opened.close()
