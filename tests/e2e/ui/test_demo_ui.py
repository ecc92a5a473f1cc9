"""The web UI in headless Chromium against the running ``headwater demo`` (the one
test_demo.py checks, shared through demo_harness): every page loads with no console
errors and shows the demo's live data (the flow's counts, the devices' readings and
images, their agents), the lineage graph of a FlowFile picked from the provenance list
is drawn, and a job started from the UI runs on Spark and appears in the chart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import uichecks
from demo_harness import DEVICES, RunningDemo, running_demo
from playwright.sync_api import Browser, Page

__all__ = ["running_demo"]  # the fixture, used by name below

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
WITHIN = 120.0


@pytest.fixture
def page(browser: Browser, running_demo: RunningDemo, console: uichecks.Console) -> Iterator[Page]:
    running_demo.wait_for(
        "images of every device in the lake",
        lambda: {row["host"] for row in running_demo.lake_rows("images")} >= set(DEVICES),
        WITHIN,
    )
    opened = uichecks.new_page(browser, console)
    uichecks.open_ui(opened, running_demo.hub_url, running_demo.token)
    try:
        yield opened
    finally:
        opened.context.close()


def test_every_page_shows_the_demo_without_console_errors(
    page: Page, console: uichecks.Console
) -> None:
    uichecks.check_flow(page)
    assert uichecks.check_provenance(page)
    uichecks.check_dashboards(page)
    uichecks.check_agents(page, DEVICES[0])
    assert console.unexpected(uichecks.REFUSED_FLOW) == []


def test_a_job_started_from_the_ui_runs_and_appears_in_the_chart(
    page: Page, console: uichecks.Console
) -> None:
    uichecks.check_jobs(page, "sensors", timeout=240_000)
    assert console.unexpected() == []
