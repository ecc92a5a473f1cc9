"""The browser the UI tests share: Debian's Chromium through Playwright (never
``playwright install``), one per module, and a console watcher per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import uichecks
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=uichecks.CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console() -> uichecks.Console:
    return uichecks.Console()
