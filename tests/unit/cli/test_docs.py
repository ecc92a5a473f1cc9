from pathlib import Path

import pytest

from headwater.cli import main
from headwater.cli.docs import reference
from headwater.processor import PROCESSOR_TYPES, SERVICE_TYPES, load_extensions

DOCS = Path(__file__).parents[3] / "docs" / "processors.md"


def test_reference_lists_each_property_and_relationship() -> None:
    text = reference(["RouteOnAttribute"])
    assert "## RouteOnAttribute" in text
    assert "| `Routing Strategy` |" in text
    assert "Route to Property name" in text
    assert "- relationship `unmatched`" in text


def test_committed_reference_is_current() -> None:
    load_extensions()
    known = {**PROCESSOR_TYPES, **SERVICE_TYPES}
    builtin = sorted(n for n, c in known.items() if c.__module__.startswith("headwater."))
    assert DOCS.read_text() == reference(builtin), "run: headwater docs > docs/processors.md"


def test_unknown_type_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "NoSuchProcessor"]) == 2
    assert "NoSuchProcessor" in capsys.readouterr().err
