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
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import uichecks
from playwright.sync_api import Browser, Page, expect
from uistack import AGENT, HELD, JOB, UiStack, bare_hub, ui_stack

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
    if not EXTERNAL:
        uichecks.check_back_pressure(page, HELD)
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


LAYOUT_CASES = """
async () => {
  const { layered } = await import('/ui/js/layout.js');
  const { niceTicks } = await import('/ui/js/chart.js');
  const box = (id) => ({ id, width: 100, height: 40 });
  const run = (ids, pairs) =>
    layered(ids.map(box), pairs.map(([source, target]) => ({ source, target })));
  const overlaps = (layout) => {
    const placed = [...layout.positions.values()];
    return placed.some((a, i) => placed.slice(i + 1).some((b) =>
      a.layer === b.layer && a.y < b.y + b.height && b.y < a.y + a.height));
  };
  // a diamond with a tail and a loop back: layers by longest path, the loop reversed
  const diamond = run(['a', 'b', 'c', 'd', 'e'],
    [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd'], ['a', 'd'], ['d', 'e'], ['e', 'a']]);
  const layer = (l, id) => l.positions.get(id).layer;
  // two chains given crossed (a1 -> b2, a2 -> b1): the sweeps uncross them
  const crossed = run(['a1', 'a2', 'b1', 'b2'], [['a1', 'b2'], ['a2', 'b1']]);
  const y = (l, id) => l.positions.get(id).y;
  // a late source (a clone's FlowFile) sits just before its successor
  const late = run(['s', 'x', 'y', 'z', 'f'], [['s', 'x'], ['x', 'y'], ['y', 'z'], ['f', 'z']]);
  return {
    diamondLayers: ['a', 'b', 'c', 'd', 'e'].map((id) => layer(diamond, id)),
    backward: [...diamond.backward],
    diamondOverlaps: overlaps(diamond),
    leftToRight: diamond.positions.get('a').x < diamond.positions.get('b').x,
    uncrossed: (y(crossed, 'a1') < y(crossed, 'a2')) === (y(crossed, 'b2') < y(crossed, 'b1')),
    lateLayer: layer(late, 'f'),
    longEdges: [...diamond.waypoints.keys()],
    // the long edge a -> d crosses layer 1 beside b and c, not through them
    waypointClear: diamond.waypoints.get(4).every((w) => ['b', 'c'].every((id) => {
      const p = diamond.positions.get(id);
      return (w.y < p.y || w.y > p.y + p.height) && w.x1 === p.x;
    })),
    ticks: niceTicks(0.13, 0.97),
  };
}
"""


def test_the_layered_layout_and_the_chart_ticks(
    browser: Browser, stack: UiStack, console: uichecks.Console
) -> None:
    page = uichecks.new_page(browser, console)
    try:
        page.goto(f"{stack.url}/ui/icon.svg")  # same origin, no app running
        found = page.evaluate(LAYOUT_CASES)
    finally:
        page.context.close()
    assert found["diamondLayers"] == [0, 1, 1, 2, 3]
    assert found["backward"] == [6], "the edge e -> a closes the cycle"
    assert not found["diamondOverlaps"]
    assert found["leftToRight"]
    assert found["uncrossed"]
    assert found["lateLayer"] == 2
    assert found["longEdges"] == [4], "only a -> d spans two layers"
    assert found["waypointClear"]
    assert found["ticks"] == [0, 0.2, 0.4, 0.6, 0.8, 1]


def test_api_errors_show_in_the_page(
    browser: Browser, tmp_path: Path, console: uichecks.Console
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with bare_hub(tmp_path, dead) as hub:
        page = uichecks.new_page(browser, console)
        try:
            uichecks.open_ui(page, hub.url, hub.token)
            uichecks.go(page, "jobs")
            expect(page.locator("main .error")).to_contain_text(f"503 the jobs service at {dead}")
            uichecks.go(page, "dashboards")
            expect(page.locator("main .notice")).to_contain_text("dashboards are off")
            page.goto(f"{hub.url}/ui/#/provenance/no-such-flowfile")
            expect(page.locator("#provenance-search input[name=flowfile]")).to_have_value(
                "no-such-flowfile"
            )
            expect(page.locator("#events")).to_contain_text("no events match")
        finally:
            page.context.close()
    assert console.unexpected(r"status of (503|404) ") == []
