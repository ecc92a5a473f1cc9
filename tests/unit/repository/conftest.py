"""The provenance tests run against both row layouts: a hub's (every FlowFile uuid
indexed, one row per event) and an agent's (no uuid index, batches as block rows)."""

from __future__ import annotations

import pytest

from headwater.repository.provenance import SqliteProvenanceRepository


@pytest.fixture(params=["rows", "blocks"])
def provenance_layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Repositories made without ``indexed`` get the layout's default."""
    if request.param == "blocks":
        defaults = SqliteProvenanceRepository.__init__.__kwdefaults__
        monkeypatch.setitem(defaults, "indexed", ())
    return str(request.param)
