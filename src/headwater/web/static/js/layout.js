// A layered left-to-right layout (Sugiyama-style, kept small): cycles broken by a
// depth-first search, layers by longest path, an edge that spans several layers
// broken into waypoints (one per layer it crosses, so it is ordered and placed like a
// thin node and runs between boxes, not through them), order within layers by
// barycenter sweeps, then each box pulled towards its neighbours without overlapping.

const WAYPOINT = 12; // the height a long edge takes in each layer it crosses

/**
 * nodes: [{id, width, height}], edges: [{source, target}] (unknown ends are ignored).
 * Answers {positions: Map id -> {x, y, width, height, layer}, width, height,
 * backward: Set of edge indexes that point against the layers,
 * waypoints: Map edge index -> [{x1, x2, y}] where a long edge crosses each layer}.
 */
export function layered(nodes, edges, { gapX = 80, gapY = 26, margin = 24, sweeps = 8 } = {}) {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const usable = edges
    .map((e, index) => ({ ...e, index }))
    .filter((e) => known.has(e.source) && known.has(e.target) && e.source !== e.target);

  const reversed = backEdges(ids, usable);
  const forward = usable.map((e) =>
    reversed.has(e.index) ? { source: e.target, target: e.source, index: e.index } : e,
  );
  const layer = longestPath(ids, forward);
  const size = new Map(nodes.map((n) => [n.id, n]));
  const { links, chains } = withWaypoints(forward, reversed, layer, size);
  const layers = [];
  for (const [id, l] of layer) (layers[l] ||= []).push(id);
  orderByBarycenter(layers, links, sweeps);

  const positions = new Map();
  const columns = [];
  let x = margin;
  for (const [index, column] of layers.entries()) {
    const width = Math.max(...column.map((id) => size.get(id).width));
    columns[index] = { x1: x, x2: x + width };
    for (const id of column) {
      const { width: w, height: h } = size.get(id);
      positions.set(id, { x: x + (width - w) / 2, y: 0, width: w, height: h, layer: index });
    }
    x += width + gapX;
  }
  placeVertically(layers, links, positions, gapY, margin, (id) => size.get(id).waypoint);
  const waypoints = new Map();
  for (const [index, chain] of chains) {
    waypoints.set(index, chain.map((id) => {
      const p = positions.get(id);
      positions.delete(id);
      return { ...columns[p.layer], y: p.y + p.height / 2 };
    }));
  }
  let height = 0;
  for (const p of positions.values()) height = Math.max(height, p.y + p.height);
  for (const points of waypoints.values()) for (const w of points) height = Math.max(height, w.y);
  return { positions, width: x - gapX + margin, height: height + margin, backward: reversed, waypoints };
}

/** Break each forward edge longer than one layer into a chain through waypoint ids
 * (added to `layer` and `size`); answers the links between neighbouring layers and
 * each long edge's chain. Edges that close a cycle stay whole (drawn below the boxes). */
function withWaypoints(forward, reversed, layer, size) {
  const links = [];
  const chains = new Map();
  for (const e of forward) {
    const span = layer.get(e.target) - layer.get(e.source);
    if (span <= 1 || reversed.has(e.index)) {
      links.push(e);
      continue;
    }
    const chain = [];
    let previous = e.source;
    for (let step = 1; step < span; step++) {
      const id = `\u0000${e.index}:${step}`; // NUL: no real id starts with it
      layer.set(id, layer.get(e.source) + step);
      size.set(id, { id, width: 0, height: WAYPOINT, waypoint: true });
      links.push({ source: previous, target: id });
      chain.push(id);
      previous = id;
    }
    links.push({ source: previous, target: e.target });
    chains.set(e.index, chain);
  }
  return { links, chains };
}

/** Indexes of the edges that close a cycle, found by a depth-first search. */
function backEdges(ids, edges) {
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of edges) out.get(e.source).push(e);
  const state = new Map(); // 1: on the stack, 2: done
  const back = new Set();
  const visit = (start) => {
    const stack = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = out.get(top[0])[top[1]++];
      if (!next) {
        state.set(top[0], 2);
        stack.pop();
      } else if (state.get(next.target) === 1) {
        back.add(next.index);
      } else if (!state.has(next.target)) {
        state.set(next.target, 1);
        stack.push([next.target, 0]);
      }
    }
  };
  const incoming = new Set(edges.map((e) => e.target));
  for (const id of ids) if (!incoming.has(id) && !state.has(id)) visit(id); // sources first
  for (const id of ids) if (!state.has(id)) visit(id);
  return back;
}

/** Each node's layer: the longest path to it from a source (edges form a DAG here). */
function longestPath(ids, edges) {
  const layer = new Map(ids.map((id) => [id, 0]));
  const indegree = new Map(ids.map((id) => [id, 0]));
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    out.get(e.source).push(e.target);
    indegree.set(e.target, indegree.get(e.target) + 1);
  }
  const sources = ids.filter((id) => indegree.get(id) === 0);
  const ready = [...sources];
  while (ready.length) {
    const id = ready.shift();
    for (const target of out.get(id)) {
      layer.set(target, Math.max(layer.get(target), layer.get(id) + 1));
      indegree.set(target, indegree.get(target) - 1);
      if (indegree.get(target) === 0) ready.push(target);
    }
  }
  // a source joining late (a clone's FlowFile) sits just before its first successor
  for (const id of sources) {
    const next = out.get(id).map((target) => layer.get(target));
    if (next.length) layer.set(id, Math.max(0, Math.min(...next) - 1));
  }
  return layer;
}

/** Reorder each layer by the mean position of its neighbours, sweeping both ways. */
function orderByBarycenter(layers, edges, sweeps) {
  const preds = new Map();
  const succs = new Map();
  for (const e of edges) {
    (preds.get(e.target) || preds.set(e.target, []).get(e.target)).push(e.source);
    (succs.get(e.source) || succs.set(e.source, []).get(e.source)).push(e.target);
  }
  const rank = new Map();
  const rerank = () => layers.forEach((ids) => ids.forEach((id, i) => rank.set(id, i / Math.max(1, ids.length - 1))));
  rerank();
  const sortBy = (ids, neighbours) => {
    const keyed = ids.map((id, i) => {
      const near = (neighbours.get(id) || []).map((n) => rank.get(n));
      return { id, key: near.length ? near.reduce((a, b) => a + b, 0) / near.length : rank.get(id), i };
    });
    keyed.sort((a, b) => a.key - b.key || a.i - b.i);
    ids.splice(0, ids.length, ...keyed.map((k) => k.id));
  };
  for (let sweep = 0; sweep < sweeps; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.keys() : [...layers.keys()].reverse();
    for (const index of order) {
      sortBy(layers[index], down ? preds : succs);
      rerank();
    }
  }
}

/** Stack each layer, then pull nodes towards their neighbours' middles, keeping order. */
function placeVertically(layers, edges, positions, gap, margin, isWaypoint) {
  // waypoints sit closer to each other than boxes do
  const space = (a, b) => (isWaypoint(a) && isWaypoint(b) ? gap / 4 : isWaypoint(a) || isWaypoint(b) ? gap / 2 : gap);
  for (const ids of layers) {
    let y = margin;
    ids.forEach((id, i) => {
      if (i) y += space(ids[i - 1], id);
      positions.get(id).y = y;
      y += positions.get(id).height;
    });
  }
  const neighbours = new Map();
  for (const e of edges) {
    (neighbours.get(e.target) || neighbours.set(e.target, []).get(e.target)).push(e.source);
    (neighbours.get(e.source) || neighbours.set(e.source, []).get(e.source)).push(e.target);
  }
  const middle = (id) => positions.get(id).y + positions.get(id).height / 2;
  for (let round = 0; round < 4; round++) {
    const order = round % 2 === 0 ? layers : [...layers].reverse();
    for (const ids of order) {
      for (const id of ids) {
        const near = neighbours.get(id) || [];
        if (near.length) {
          const want = near.reduce((sum, n) => sum + middle(n), 0) / near.length;
          positions.get(id).y = want - positions.get(id).height / 2;
        }
      }
      // no overlaps: push down from the top, then up from the bottom, never above margin
      for (let i = 0; i < ids.length; i++) {
        const p = positions.get(ids[i]);
        const floor = i ? positions.get(ids[i - 1]).y + positions.get(ids[i - 1]).height + space(ids[i - 1], ids[i]) : margin;
        p.y = Math.max(p.y, floor);
      }
    }
  }
  let top = Infinity;
  for (const p of positions.values()) top = Math.min(top, p.y);
  for (const p of positions.values()) p.y += margin - top;
}
