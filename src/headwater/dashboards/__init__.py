"""The dashboards' data: readings charts, latest images, images joined to readings,
and counts, from the Parquet lake through DuckDB (``Lake``).

``lake.py`` answers; ``loader.py`` and ``scan.py`` follow the lake's new files into
the tables ``tables.py`` defines; ``queries.py`` asks them; ``buckets.py`` picks the
charts' time buckets.
"""

from headwater.dashboards.lake import Lake
from headwater.dashboards.loader import LoadReport
from headwater.dashboards.tables import FIELDS

__all__ = ["FIELDS", "Lake", "LoadReport"]
