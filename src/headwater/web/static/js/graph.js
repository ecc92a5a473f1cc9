// Draws a directed graph as SVG from `layered` positions: boxes with lines of text,
// curved edges with arrowheads and labels. The flow page and the lineage share it;
// `update` redraws texts and classes in place while the shape of the graph is the same.

import { s } from "./dom.js";
import { layered } from "./layout.js";

const LINE = 16;
const PAD = 10;
const CHAR = 6.6; // px per character of 12px text, to cut long names

function clip(text, width) {
  const max = Math.floor((width - 2 * PAD) / CHAR);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * spec: {nodes: [{id}], edges: [{id, source, target}], width?,
 *        node(n) -> {lines: [{text, class?}], class?, title?},
 *        edge(e) -> {label?, class?, title?}, onNode?(id), onEdge?(id), className?}
 * Answers {element, update(nodes, edges), select(id)}.
 */
export function drawGraph(spec) {
  const width = spec.width || 200;
  const boxes = spec.nodes.map((n) => ({
    id: n.id,
    width,
    height: PAD * 2 + LINE * Math.max(1, spec.node(n).lines.length),
  }));
  const layout = layered(boxes, spec.edges);
  const svg = s("svg", {
    class: spec.className,
    width: layout.width + 40,
    height: layout.height + 40,
    viewBox: `0 0 ${layout.width + 40} ${layout.height + 40}`,
    role: "img",
  });
  const marker = `arrow-${Math.random().toString(36).slice(2, 8)}`;
  svg.append(
    s("defs", {}, s("marker", { id: marker, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }))),
  );
  const edgeLayer = s("g", { class: "edges" });
  const nodeLayer = s("g", { class: "nodes" });
  svg.append(edgeLayer, nodeLayer);

  const edgeEls = new Map();
  const seenPairs = new Map();
  spec.edges.forEach((e, index) => {
    const from = layout.positions.get(e.source);
    const to = layout.positions.get(e.target);
    if (!from || !to) return;
    const pair = `${e.source}>${e.target}`;
    const nth = seenPairs.get(pair) || 0;
    seenPairs.set(pair, nth + 1);
    const through = layout.waypoints.get(index);
    const { d, lx, ly } = through
      ? routeThrough(from, to, through, nth)
      : route(from, to, layout.backward.has(index), e.source === e.target, nth);
    const path = s("path", { d, "marker-end": `url(#${marker})` });
    const label = s("text", { x: lx, y: ly, "text-anchor": "middle" });
    const title = s("title");
    const g = s("g", { class: "edge", "data-edge": e.id }, path, label, title);
    if (spec.onEdge) {
      g.prepend(s("path", { d, class: "hit" })); // a wide, invisible line to click
      g.addEventListener("click", () => spec.onEdge(e.id));
    }
    edgeLayer.append(g);
    edgeEls.set(e.id, { g, label, title });
  });

  const nodeEls = new Map();
  for (const n of spec.nodes) {
    const p = layout.positions.get(n.id);
    const g = s("g", { class: "node", transform: `translate(${p.x},${p.y})`, "data-node": n.id, tabindex: 0 });
    g.append(s("rect", { width: p.width, height: p.height }), s("rect", { class: "stripe", width: 5, height: p.height, rx: 2 }));
    if (spec.onNode) {
      g.addEventListener("click", () => spec.onNode(n.id));
      g.addEventListener("keydown", (event) => event.key === "Enter" && spec.onNode(n.id));
    }
    nodeLayer.append(g);
    nodeEls.set(n.id, { g, width: p.width });
  }

  function update(nodes, edges) {
    for (const n of nodes) {
      const el = nodeEls.get(n.id);
      if (!el) continue;
      const view = spec.node(n);
      const selected = el.g.classList.contains("selected");
      el.g.setAttribute("class", `node ${view.class || ""}${selected ? " selected" : ""}`);
      for (const old of el.g.querySelectorAll("text, title")) old.remove();
      el.g.append(s("title", { text: view.title || view.lines.map((l) => l.text).join("\n") }));
      view.lines.forEach((line, i) =>
        el.g.append(s("text", { x: PAD + 4, y: PAD + LINE * i + 12, class: line.class || (i ? "sub" : "title") }, clip(line.text, el.width))),
      );
    }
    for (const e of edges) {
      const el = edgeEls.get(e.id);
      if (!el) continue;
      const view = spec.edge(e);
      el.g.setAttribute("class", `edge ${view.class || ""}`);
      el.label.textContent = view.label ?? "";
      el.title.textContent = view.title ?? "";
    }
  }

  function select(id) {
    for (const [key, el] of nodeEls) el.g.classList.toggle("selected", key === id);
  }

  update(spec.nodes, spec.edges);
  return { element: svg, update, select };
}

/** A long edge: curves between layers, straight across each layer it passes; its
 * label on the middle waypoint. */
function routeThrough(from, to, waypoints, nth) {
  const curve = (x0, y0, x1, y1) => {
    const bend = (x1 - x0) / 2;
    return ` C${x0 + bend},${y0} ${x1 - bend},${y1} ${x1},${y1}`;
  };
  let x = from.x + from.width;
  let y = from.y + from.height / 2 + nth * 6;
  let d = `M${x},${y}`;
  for (const w of waypoints) {
    d += curve(x, y, w.x1, w.y) + ` L${w.x2},${w.y}`;
    [x, y] = [w.x2, w.y];
  }
  d += curve(x, y, to.x, to.y + to.height / 2 + nth * 6);
  const middle = waypoints[Math.floor(waypoints.length / 2)];
  return { d, lx: (middle.x1 + middle.x2) / 2, ly: middle.y - 4 };
}

/** The path of one edge and where its label goes. */
function route(from, to, backward, self, nth) {
  const sx = from.x + from.width;
  const sy = from.y + from.height / 2 + nth * 6;
  if (self) {
    const x = from.x + from.width * 0.7;
    const y = from.y + from.height;
    return { d: `M${x - 20},${y} C${x - 30},${y + 40} ${x + 30},${y + 40} ${x + 20},${y}`, lx: x, ly: y + 42 };
  }
  const tx = to.x;
  const ty = to.y + to.height / 2 + nth * 6;
  if (backward) {
    const below = Math.max(from.y + from.height, to.y + to.height) + 30 + nth * 14;
    const ex = to.x + to.width / 2;
    const ey = to.y + to.height;
    return {
      d: `M${from.x + from.width / 2},${from.y + from.height} C${from.x + from.width / 2},${below} ${ex},${below} ${ex},${ey}`,
      lx: (from.x + from.width / 2 + ex) / 2,
      ly: below - 4,
    };
  }
  const bend = Math.max(30, (tx - sx) / 2);
  return {
    d: `M${sx},${sy} C${sx + bend},${sy} ${tx - bend},${ty} ${tx},${ty}`,
    lx: (sx + tx) / 2,
    ly: (sy + ty) / 2 - 5 - nth * 12,
  };
}
