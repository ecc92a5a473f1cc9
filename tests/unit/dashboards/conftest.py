"""A fabricated lake in tmp_path (``writer``) and a Lake over it that looks for new
files on every query (``lake``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_lakes import LakeWriter

from headwater.dashboards import Lake


@pytest.fixture
def writer(tmp_path: Path) -> LakeWriter:
    return LakeWriter(tmp_path / "data" / "lake")


@pytest.fixture
def lake(writer: LakeWriter, tmp_path: Path) -> Iterator[Lake]:
    """A Lake over ``writer``'s lake that looks for new files on every query."""
    store = tmp_path / "data" / "ftp" / "images"
    store.mkdir(parents=True)
    opened = Lake(writer.root, images=store, refresh_seconds=0)
    yield opened
    opened.close()
