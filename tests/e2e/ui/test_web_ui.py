"""The web UI in headless Chromium (Debian's, through Playwright) against a hub with a
small flow, a fabricated lake and a real jobs service: every page loads with no
console errors and shows live data, the lineage graph of a FlowFile picked from the
provenance list is drawn, a job started from the UI appears in the durations chart,
and a wrong token shows the token form.

Pointed at a running hub instead (e.g. ``headwater demo``), with its URL and token in
the environment: ``HEADWATER_UI_URL=http://127.0.0.1:8080 HEADWATER_UI_TOKEN=...``, and
optionally ``HEADWATER_UI_JOB`` (the job to start; default ``sensors``),
``HEADWATER_UI_AGENT`` (default: the first agent listed) and ``HEADWATER_UI_TOGGLE``
(a processor to stop and start again; default none).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import uichecks
from playwright.sync_api import Browser, Page, sync_playwright
from uistack import AGENT, JOB, UiStack, ui_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

EXTERNAL = os.environ.get("HEADWATER_UI_URL")
JOB_NAME = os.environ.get("HEADWATER_UI_JOB", "sensors") if EXTERNAL else JOB
AGENT_ID = os.environ.get("HEADWATER_UI_AGENT") if EXTERNAL else AGENT
TOGGLE = os.environ.get("HEADWATER_UI_TOGGLE") if EXTERNAL else "tag"
JOB_TIMEOUT = 170_000 if EXTERNAL else 30_000  # a Spark run on a demo takes a while


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiStack]:
    if EXTERNAL:
        yield UiStack(EXTERNAL.rstrip("/"), os.environ["HEADWATER_UI_TOKEN"])
        return
    with ui_stack(tmp_path_factory.mktemp("ui")) as running:
        yield running


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


@pytest.fixture
def page(browser: Browser, stack: UiStack, console: uichecks.Console) -> Iterator[Page]:
    opened = uichecks.new_page(browser, console)
    uichecks.open_ui(opened, stack.url, stack.token)
    try:
        yield opened
    finally:
        opened.context.close()


def test_every_page_shows_live_data_without_console_errors(
    page: Page, stack: UiStack, console: uichecks.Console
) -> None:
    uichecks.check_flow(page, toggle=TOGGLE)
    uuid = uichecks.check_provenance(page)
    assert uuid
    uichecks.check_dashboards(page)
    uichecks.check_agents(page, AGENT_ID)
    assert console.unexpected(uichecks.REFUSED_FLOW) == []


def test_a_job_started_from_the_ui_appears_in_the_chart(
    page: Page, stack: UiStack, console: uichecks.Console
) -> None:
    uichecks.check_jobs(page, JOB_NAME, timeout=JOB_TIMEOUT)
    if not EXTERNAL:  # a second run, a second point (once is enough on a demo)
        uichecks.check_jobs(page, JOB_NAME, timeout=JOB_TIMEOUT)
    assert console.unexpected() == []


def test_a_wrong_token_shows_the_token_form(
    browser: Browser, stack: UiStack, console: uichecks.Console
) -> None:
    page = uichecks.new_page(browser, console)
    try:
        uichecks.check_token_form(page, stack.url, stack.token)
    finally:
        page.context.close()
    assert console.unexpected(r"status of 401 ") == []
