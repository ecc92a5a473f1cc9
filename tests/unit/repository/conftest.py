"""The provenance tests run against both set-ups: a hub's (FlowFile uuids indexed, a
block's FlowFiles found through its members) and an agent's (no index: searches scan)."""

from __future__ import annotations

import pytest

from headwater.repository.provenance import SqliteProvenanceRepository


@pytest.fixture(params=["indexed", "unindexed"])
def provenance_layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Repositories made without ``indexed`` get the layout's default."""
    if request.param == "unindexed":
        defaults = SqliteProvenanceRepository.__init__.__kwdefaults__
        monkeypatch.setitem(defaults, "indexed", ())
    return str(request.param)
