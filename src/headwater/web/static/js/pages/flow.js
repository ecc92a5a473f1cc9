// Flow: the processors and connections as a graph, refreshed every 2 s: counts on the
// boxes, queue depth on the edges (back pressure in red), recent bulletins; a click
// opens a drawer: a processor's details with start and stop, or a connection's queue.

import { api } from "../api.js";
import { badge, fill, h, kvTable, showError, table } from "../dom.js";
import { bytes, num, shortId, time } from "../format.js";
import { drawGraph } from "../graph.js";
import { every } from "../live.js";
import { zoomable } from "../zoom.js";

export default function flowPage(view) {
  const header = h("div", { class: "stats" });
  const problem = h("div");
  const canvas = h("div", { class: "graph", id: "flow-graph" }, h("p", { class: "muted", style: "padding:12px" }, "loading the flow…"));
  const tools = h("div");
  const drawer = h("div", { class: "panel drawer", id: "processor-details", hidden: true });
  const bulletins = h("div", { class: "panel", id: "bulletins" });
  view.append(
    h("h1", {}, "Flow"),
    problem,
    header,
    h("div", { class: "grid" }, h("div", {}, tools, canvas), bulletins),
    drawer,
  );

  let graph = null;
  let zoom = null;
  let shape = "";
  let selected = null; // {kind: "processor" | "connection", id}
  let latest = null;

  async function refresh() {
    try {
      latest = await api("/status");
    } catch (err) {
      showError(err, problem);
      throw err;
    }
    problem.replaceChildren();
    const nodes = nodesOf(latest);
    const edges = latest.connections.map((c) => ({ ...c, target: c.destination }));
    const key = JSON.stringify([nodes.map((n) => n.id), edges.map((e) => [e.id, e.source, e.target])]);
    if (key !== shape) {
      shape = key;
      graph = drawGraph({
        nodes,
        edges,
        width: 210,
        node: nodeView,
        edge: edgeView,
        onNode: (id) => choose({ kind: "processor", id }),
        onEdge: (id) => choose({ kind: "connection", id }),
      });
      if (zoom) zoom.adopt(graph.element);
      else {
        zoom = zoomable(canvas, graph.element);
        fill(tools, zoom.toolbar);
      }
      graph.select(selected?.kind === "processor" ? selected.id : null);
    } else {
      graph.update(nodes, edges);
    }
    fill(header, summary(latest));
    fill(bulletins, recentBulletins(latest));
    await showDrawer();
  }

  function choose(what) {
    selected = what;
    graph.select(what.kind === "processor" ? what.id : null);
    showDrawer();
  }

  function close() {
    selected = null;
    graph.select(null);
    drawer.hidden = true;
    view.classList.remove("with-drawer");
  }

  async function showDrawer() {
    if (!selected || !latest) return;
    const closer = h("button", { class: "close", title: "close", onclick: close }, "×");
    let content;
    if (selected.kind === "processor") {
      const p = latest.processors.find((x) => x.id === selected.id);
      content = p && processorDetails(p, refresh);
    } else {
      const c = latest.connections.find((x) => x.id === selected.id);
      content = c && (await connectionDetails(c));
    }
    if (!content) return close();
    drawer.hidden = false;
    view.classList.add("with-drawer");
    fill(drawer, closer, content);
  }

  const stop = every(2000, refresh);
  return () => {
    stop();
    view.classList.remove("with-drawer");
  };
}

function processorDetails(p, refresh) {
  const message = h("div");
  const act = async (verb) => {
    try {
      await api(`/processors/${encodeURIComponent(p.id)}/${verb}`, { method: "POST" });
      await refresh();
    } catch (err) {
      showError(err, message);
    }
  };
  return [
    h("h2", {}, p.name, " ", badge(p.state)),
    h("p", { class: "muted" }, p.type, " · ", h("code", {}, p.id)),
    h(
      "div",
      { class: "row" },
      h("button", { id: "start-processor", class: "primary", disabled: p.state === "RUNNING", onclick: () => act("start") }, "Start"),
      h("button", { id: "stop-processor", disabled: p.state !== "RUNNING", onclick: () => act("stop") }, "Stop"),
    ),
    message,
    h("h3", {}, "Counts"),
    kvTable({
      "FlowFiles in": num(p.flowFilesIn),
      "bytes in": bytes(p.bytesIn),
      "FlowFiles out": num(p.flowFilesOut),
      "bytes out": bytes(p.bytesOut),
      removed: num(p.flowFilesRemoved),
      tasks: num(p.tasks),
      "task time": `${num(p.taskMillis)} ms`,
      "active tasks": num(p.activeTasks),
      errors: num(p.errors),
      yielded: p.yielded ? "yes" : "no",
      ...Object.fromEntries(Object.entries(p.counters || {}).map(([k, v]) => [`counter ${k}`, num(v)])),
    }),
    h("h3", {}, "Bulletins"),
    p.bulletins?.length
      ? h("ul", {}, [...p.bulletins].reverse().map((b) => h("li", {}, h("span", { class: "muted" }, time(b.time), " "), b.level, ": ", b.message)))
      : h("p", { class: "muted" }, "none"),
  ];
}

async function connectionDetails(c) {
  let listing = null;
  let problem = null;
  try {
    listing = await api(`/connections/${encodeURIComponent(c.id)}/flowfiles?limit=50`);
  } catch (err) {
    problem = showError(err, h("div"));
  }
  return [
    h("h2", {}, c.name || c.relationships.join(", "), " ", c.backPressured ? badge("back pressure", "bad") : null),
    h("p", { class: "muted" }, h("code", {}, c.source), " → ", h("code", {}, c.destination)),
    kvTable({
      relationships: c.relationships.join(", "),
      queued: `${num(c.queuedCount)} (${bytes(c.queuedBytes)})`,
      "swapped to disk": num(c.swappedCount),
      "back pressure at": `${c.backPressureObjects ? num(c.backPressureObjects) : "no limit"} / ${c.backPressureBytes ? bytes(c.backPressureBytes) : "no limit"}`,
      dropped: c.droppedCount ? `${num(c.droppedCount)} (${bytes(c.droppedBytes)})` : "0",
    }),
    h("h3", {}, "Next to leave the queue"),
    problem ||
      table(
        [
          ["#", (f) => f.position, { class: "num" }],
          ["FlowFile", (f) => h("a", { href: `#/provenance/${encodeURIComponent(f.uuid)}`, title: f.uuid }, shortId(f.uuid))],
          ["filename", (f) => f.filename],
          ["size", (f) => bytes(f.size), { class: "num" }],
          ["queued", (f) => time(f.queuedAt).slice(11)],
        ],
        listing.flowFiles,
        { empty: "the queue is empty" },
      ),
  ];
}

/** The processors, and any connection end that is not one (a port or funnel). */
function nodesOf(status) {
  const nodes = status.processors.map((p) => ({ ...p, kind: "processor" }));
  const ids = new Set(nodes.map((n) => n.id));
  for (const c of status.connections) {
    for (const end of [c.source, c.destination]) {
      if (!ids.has(end)) {
        ids.add(end);
        nodes.push({ id: end, name: end, kind: "port" });
      }
    }
  }
  return nodes;
}

function nodeView(n) {
  if (n.kind === "port") return { class: "port", lines: [{ text: n.name }, { text: "port" }] };
  const recent = n.lastError && Date.now() - n.lastError.time < 5 * 60e3;
  return {
    class: `${n.state}${recent ? " erring" : ""}`,
    title: `${n.name} (${n.type}), ${n.state}${recent ? `\nlast error: ${n.lastError.message}` : ""}`,
    lines: [
      { text: n.name },
      { text: n.type },
      { text: `in ${num(n.flowFilesIn)} · out ${num(n.flowFilesOut)}${n.errors ? ` · ${num(n.errors)} err` : ""}` },
    ],
  };
}

function edgeView(c) {
  const queued = c.queuedCount > 0;
  return {
    class: c.backPressured ? "pressured" : queued ? "queued" : "",
    label: queued || c.backPressured ? `${num(c.queuedCount)} queued · ${bytes(c.queuedBytes)}` : c.relationships.join(", "),
    title: `${c.name || c.id}: ${c.relationships.join(", ")}\nqueued ${num(c.queuedCount)} (${bytes(c.queuedBytes)})` +
      (c.backPressureObjects ? `\nback pressure at ${num(c.backPressureObjects)} / ${bytes(c.backPressureBytes)}` : "") +
      (c.backPressured ? "\nBACK PRESSURE: the source is paused" : ""),
  };
}

function summary(status) {
  const queued = status.connections.reduce((sum, c) => sum + c.queuedCount, 0);
  const pressured = status.connections.filter((c) => c.backPressured).length;
  const running = status.processors.filter((p) => p.state === "RUNNING").length;
  const stat = (value, label, id) => h("div", { class: "stat", id }, h("b", {}, value), h("span", {}, label));
  return [
    stat(status.flow, status.fault ? `fault: ${status.fault}` : status.running ? "running" : "stopped", "flow-name"),
    stat(`${running}/${status.processors.length}`, "processors running"),
    stat(num(queued), "FlowFiles queued", "flow-queued"),
    stat(num(pressured), "back-pressured connections"),
    stat(num(status.droppedCount || 0), "dropped by caps"),
  ];
}

function recentBulletins(status) {
  const all = status.processors.flatMap((p) => (p.bulletins || []).map((b) => ({ ...b, name: p.name })));
  all.sort((a, b) => b.time - a.time);
  return [
    h("h2", {}, "Recent errors"),
    table(
      [
        ["time", (b) => time(b.time)],
        ["processor", (b) => b.name],
        ["level", (b) => badge(b.level, b.level === "ERROR" ? "bad" : "warn")],
        ["message", (b) => b.message],
      ],
      all.slice(0, 20),
      { empty: "no bulletins: every processor is quiet" },
    ),
  ];
}
