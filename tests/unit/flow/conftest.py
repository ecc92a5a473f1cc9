from __future__ import annotations

import pytest
from flowparts import TEST_PROCESSORS, TEST_SERVICES

from headwater.processor import PROCESSOR_TYPES, SERVICE_TYPES, load_extensions


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test processors and services, registered for the length of one test."""
    load_extensions()
    for kind in TEST_PROCESSORS:
        monkeypatch.setitem(PROCESSOR_TYPES, kind.type_name(), kind)
    for service in TEST_SERVICES:
        monkeypatch.setitem(SERVICE_TYPES, service.type_name(), service)
