"""The UI's page checks, each taking a Playwright page, the hub's base URL and its
token, so they run against the test's own stack or a running ``headwater demo``:

    HEADWATER_UI_URL=http://127.0.0.1:8080 HEADWATER_UI_TOKEN=... python -m pytest tests/e2e/ui

(see test_web_ui.py). Each check leaves the page on the page it checked; console errors
are gathered by ``Console`` and asserted empty by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Console:
    """The console errors and uncaught exceptions of a page, each with its URL."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.on("console", lambda m: m.type == "error" and self.errors.append(_line(m)))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        return page

    def unexpected(self, *allowed: str) -> list[str]:
        """The errors but those matching one of the ``allowed`` regular expressions
        (Chromium logs every 4xx answer as a failed resource, even one the page
        expects and shows, such as a refused flow's 422)."""
        return [e for e in self.errors if not any(re.search(a, e) for a in allowed)]


REFUSED_FLOW = r"status of 422 .*/api/v1/agents/[^/]+/flow$"
"""What the browser logs when check_agents pushes its invalid flow."""


def _line(message: ConsoleMessage) -> str:
    return f"{message.text} {message.location.get('url', '')}".strip()


def new_page(browser: Browser, console: Console) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    return console.watch(context.new_page())


def open_ui(page: Page, base: str, token: str) -> None:
    """The UI from the link ``headwater up`` prints: the token in the fragment."""
    page.goto(f"{base}/ui/#token={token}")
    expect(page).to_have_url(re.compile(r"#/flow$"))
    assert page.evaluate("localStorage.getItem('headwater.token')") == token
    expect(page.locator("#token-dialog")).not_to_be_visible()


def go(page: Page, route: str) -> None:
    page.click(f"#nav a[data-route={route}]")
    expect(page.locator(f"#nav a[data-route={route}]")).to_have_class(re.compile("active"))


def _total_out(page: Page) -> int:
    texts = page.locator("#flow-graph .node text.sub").all_text_contents()
    return sum(int(m.replace(",", "")) for t in texts for m in re.findall(r"out ([\d,]+)", t))


def check_flow(page: Page, *, toggle: str | None = None) -> None:
    """The graph with every processor and connection, counts that move, and with
    ``toggle`` (a processor id) stop and start from its details."""
    go(page, "flow")
    status = api(page, "/status")
    nodes = page.locator("#flow-graph svg .node")
    expect(nodes).to_have_count(len(_ends(status)), timeout=10_000)
    expect(page.locator("#flow-graph svg .edge")).to_have_count(len(status["connections"]))
    expect(page.locator("#flow-name b")).to_have_text(status["flow"])
    before = _total_out(page)
    page.wait_for_function(
        """(before) => [...document.querySelectorAll('#flow-graph .node text.sub')]
             .map((t) => (/out ([\\d,]+)/.exec(t.textContent) || [0, '0'])[1].replaceAll(',', ''))
             .reduce((a, b) => a + Number(b), 0) > before""",
        arg=before,
        timeout=15_000,
    )
    edge = status["connections"][0]
    page.mouse.click(*page.evaluate(_EDGE_MIDDLE, edge["id"]))
    drawer = page.locator("#processor-details")
    expect(drawer).to_contain_text(f"{edge['source']} → {edge['destination']}")
    expect(drawer.locator("table").last).to_be_visible()
    drawer.locator("button.close").click()
    expect(drawer).to_be_hidden()
    if toggle is not None:
        page.click(f'#flow-graph .node[data-node="{toggle}"]')
        details = page.locator("#processor-details")
        expect(details.locator("h2")).to_contain_text("RUNNING")
        page.click("#stop-processor")
        expect(details.locator("h2")).to_contain_text("STOPPED")
        expect(page.locator(f'#flow-graph .node[data-node="{toggle}"]')).to_have_class(
            re.compile("STOPPED")
        )
        page.click("#start-processor")
        expect(details.locator("h2")).to_contain_text("RUNNING")


_EDGE_MIDDLE = """(id) => {
  const path = document.querySelector(`#flow-graph .edge[data-edge="${id}"] path.hit`);
  path.scrollIntoView({ block: "center", inline: "center" });
  const middle = path.getPointAtLength(path.getTotalLength() / 2);
  const point = middle.matrixTransform(path.getScreenCTM());
  return [point.x, point.y];
}"""
"""Where on the screen the middle of a connection's line is, to click it."""


def check_back_pressure(page: Page, destination: str) -> None:
    """The connection into ``destination`` is drawn as back-pressured, with its depth."""
    go(page, "flow")
    status = api(page, "/status")
    (connection,) = [c for c in status["connections"] if c["destination"] == destination]
    edge = page.locator(f'#flow-graph .edge[data-edge="{connection["id"]}"]')
    expect(edge).to_have_class(re.compile("pressured"), timeout=15_000)
    queued = api(page, f"/connections/{connection['id']}")["queuedCount"]  # still: held
    assert queued >= connection["backPressureObjects"]
    expect(edge.locator("text")).to_contain_text(f"{queued} queued")


def check_provenance(page: Page) -> str:
    """Events listed; one picked: its attributes, its content saved through a blob
    link, its lineage drawn. Answers the FlowFile's uuid."""
    go(page, "provenance")
    rows = page.locator("#events tbody tr.clickable")
    expect(rows.first).to_be_visible(timeout=10_000)
    # content written by a processor, and a lineage on through the route's clone
    page.select_option("#provenance-search select[name=type]", "CONTENT_MODIFIED")
    page.click("#provenance-search button[type=submit]")
    expect(rows.first).to_contain_text("CONTENT_MODIFIED")
    rows.first.click()
    details = page.locator("#event-details")
    expect(details.locator("h2")).to_contain_text("CONTENT_MODIFIED")
    expect(details.locator("table.kv").last).to_contain_text("filename")
    page.click("#fetch-content")
    link = page.locator("#content-link")
    expect(link).to_have_attribute("href", re.compile(r"^blob:"))
    uuid = details.locator("table.kv").first.locator("td.mono").first.inner_text()
    # A running flow (the demo) may add to the lineage while the page draws it: the
    # graph holds what the API answered between the two reads (it is drawn at once).
    before = _graph_size(api(page, f"/provenance/lineage/{uuid}"))
    page.click("#show-lineage")
    graph = page.locator("#lineage svg")
    expect(graph.locator(".node.FLOWFILE").first).to_be_visible(timeout=10_000)
    after = _graph_size(api(page, f"/provenance/lineage/{uuid}"))
    drawn = (graph.locator(".node").count(), graph.locator(".edge").count())
    assert all(b <= d <= a for b, d, a in zip(before, drawn, after, strict=True)), (
        before,
        drawn,
        after,
    )
    assert before[0] >= 3, before
    return uuid


def _graph_size(lineage: dict[str, Any]) -> tuple[int, int]:
    return len(lineage["nodes"]), len(lineage["links"])


def check_jobs(page: Page, job: str, *, timeout: float = 30_000) -> None:
    """The jobs listed; ``job`` started from its button, its run then in the
    durations chart and its log shown."""
    go(page, "jobs")
    start = page.locator(f'#jobs-list button.start-job[data-job="{job}"]')
    expect(start).to_be_visible(timeout=10_000)
    selector = f'#durations circle[data-job="{job}"]'
    before = page.locator(selector).count()
    start.click()
    # more points, not exactly one more: on a demo the flow starts jobs too
    page.wait_for_function(
        "([selector, before]) => document.querySelectorAll(selector).length > before",
        arg=[selector, before],
        timeout=timeout,
    )
    expect(page.locator("#job-runs tbody tr").first).to_contain_text("succeeded", timeout=timeout)
    expect(page.locator("#run-log pre")).not_to_be_empty()


def check_dashboards(page: Page) -> None:
    """Devices, each field's chart with a line, images with labels (and boxes where
    the detector saw something), the joined table."""
    go(page, "dashboards")
    expect(page.locator("#devices button").first).to_be_visible(timeout=15_000)
    charts = page.locator("#readings .chart")
    expect(charts).to_have_count(6)
    expect(page.locator("#readings .chart .series path").first).to_be_visible(timeout=10_000)
    image = page.locator("#images .card img").first
    expect(image).to_be_visible(timeout=10_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#images .card img')].every((i) => i.naturalWidth > 0)"
    )
    host = page.locator("#devices button.active").get_attribute("data-host")
    listed = api(page, f"/dashboards/images?host={host}&limit=12")["images"]
    boxes = sum(len(i["detections"]) for i in listed)
    expect(page.locator("#images .card .frame svg rect")).to_have_count(boxes)
    expect(page.locator("#joined tbody tr").first).not_to_contain_text("no images")


def check_agents(page: Page, agent: str | None = None) -> None:
    """The agent (default: the first listed) with its heartbeat; a bad flow refused
    with its problems, a good one queued."""
    go(page, "agents")
    if agent is None:
        agents = api(page, "/agents")["agents"]
        assert agents, "no agent has sent a heartbeat"
        agent = str(agents[0]["id"])
    row = page.locator("#agents-list tbody tr", has_text=agent)
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("ago")
    page.select_option("#push-agent", agent)
    page.fill("#push-flow", "flow: broken\nprocessors:\n  a: {type: NoSuchProcessor}\n")
    page.click("#push-form button[type=submit]")
    expect(page.locator("#push-answer .error")).to_contain_text("invalid", timeout=10_000)
    expect(page.locator("#push-answer .error li").first).to_contain_text("NoSuchProcessor")
    page.fill(
        "#push-flow",
        "flow: pushed\nprocessors:\n  gen:\n    type: GenerateFlowFile\n"
        "    auto-terminate: [success]\n",
    )
    page.click("#push-form button[type=submit]")
    expect(page.locator("#push-answer .notice")).to_contain_text("Queued", timeout=10_000)


def check_token_form(page: Page, base: str, token: str) -> None:
    """A wrong token shows the token form; the right one typed there shows the data."""
    page.goto(f"{base}/ui/#token=not-the-token")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog.locator("#token-reason")).to_contain_text("token")
    page.fill("#token-input", token)
    page.click("#token-form button[type=submit]")
    expect(dialog).not_to_be_visible()
    expect(page.locator("#flow-graph svg .node").first).to_be_visible(timeout=10_000)


def api(page: Page, path: str) -> Any:
    """What the API answers the page (with the token the page keeps)."""
    return page.evaluate(
        """async (path) => {
             const token = localStorage.getItem('headwater.token');
             const r = await fetch('/api/v1' + path, {headers: {Authorization: 'Bearer ' + token}});
             return r.json();
           }""",
        path,
    )


def _ends(status: dict[str, Any]) -> set[str]:
    ends = {p["id"] for p in status["processors"]}
    for c in status["connections"]:
        ends |= {c["source"], c["destination"]}
    return ends
