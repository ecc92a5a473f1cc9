// Time charts in SVG: lines (gaps where values are missing) and points, with a time
// axis and a value axis of round ticks. Each point may carry a title and data-*.

import { h, s } from "./dom.js";

export const PALETTE = ["#0f6f8f", "#d9730d", "#1f8a4c", "#6b4fbb", "#c0392b", "#8a6d1f", "#2c7fb8", "#b83280"];

/** Round tick values covering [low, high], about `count` of them. */
export function niceTicks(low, high, count = 5) {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return [];
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw);
  const ticks = [];
  for (let v = Math.floor(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  if (ticks[ticks.length - 1] < high) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function timeLabel(millis, span) {
  const d = new Date(millis);
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  if (span > 2 * 86400e3) return `${d.getMonth() + 1}/${d.getDate()}`;
  if (span < 300e3) return `${hm}:${String(d.getSeconds()).padStart(2, "0")}`;
  return hm;
}

function valueLabel(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(2));
}

/**
 * options: {title, unit?, series: [{name, color?, points: [{t, v, class?, title?, data?}]}],
 *           lines = true, dots = false, width = 440, height = 190}
 * Answers a `.chart` element.
 */
export function timeChart({ title, unit = "", series, lines = true, dots = false, zero = false, width = 440, height = 190 }) {
  const m = { left: 46, right: 12, top: 10, bottom: 24 };
  const all = series.flatMap((sr) => sr.points.filter((p) => p.v !== null && p.v !== undefined && Number.isFinite(p.v)));
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const box = h("div", { class: "chart" }, h("h3", {}, title, unit ? h("span", { class: "muted" }, ` (${unit})`) : null), svg);
  if (!all.length) {
    svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, "no data yet"));
    return box;
  }
  let t0 = Math.min(...all.map((p) => p.t));
  let t1 = Math.max(...all.map((p) => p.t));
  if (t1 - t0 < 60e3) {
    const middle = (t0 + t1) / 2;
    [t0, t1] = [middle - 30e3, middle + 30e3];
  }
  if (dots) {
    const room = (t1 - t0) * 0.03; // the dots at the ends stay whole
    [t0, t1] = [t0 - room, t1 + room];
  }
  const low = Math.min(...all.map((p) => p.v));
  const yTicks = niceTicks(zero ? Math.min(0, low) : low, Math.max(...all.map((p) => p.v)));
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const x = (t) => m.left + ((t - t0) / (t1 - t0)) * (width - m.left - m.right);
  const y = (v) => height - m.bottom - ((v - y0) / (y1 - y0)) * (height - m.top - m.bottom);

  const grid = s("g", { class: "grid" });
  const axis = s("g", { class: "axis" });
  for (const v of yTicks) {
    grid.append(s("line", { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }));
    axis.append(s("text", { x: m.left - 6, y: y(v) + 3, "text-anchor": "end" }, valueLabel(v)));
  }
  const xCount = Math.max(2, Math.floor((width - m.left - m.right) / 90));
  let previous = "";
  for (let i = 0; i <= xCount; i++) {
    const t = t0 + ((t1 - t0) * i) / xCount;
    const label = timeLabel(t, t1 - t0);
    if (label === previous) continue;
    previous = label;
    axis.append(s("text", { x: x(t), y: height - 6, "text-anchor": i === 0 ? "start" : i === xCount ? "end" : "middle" }, label));
  }
  svg.append(grid, axis);

  series.forEach((sr, index) => {
    const color = sr.color || PALETTE[index % PALETTE.length];
    const g = s("g", { class: "series", "data-series": sr.name });
    if (lines) {
      let d = "";
      let pen = "M";
      for (const p of sr.points) {
        if (p.v === null || p.v === undefined || !Number.isFinite(p.v)) {
          pen = "M";
          continue;
        }
        d += `${pen}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
        pen = "L";
      }
      if (d) g.append(s("path", { d, stroke: color }));
    }
    if (dots) {
      for (const p of sr.points) {
        if (p.v === null || p.v === undefined) continue;
        const attrs = { cx: x(p.t), cy: y(p.v), r: 4, fill: color, class: `point ${p.class || ""}` };
        for (const [k, v] of Object.entries(p.data || {})) attrs[`data-${k}`] = v;
        g.append(s("circle", attrs, s("title", {}, p.title || `${sr.name}: ${valueLabel(p.v)}`)));
      }
    }
    svg.append(g);
  });
  if (series.length > 1) {
    box.append(
      h("div", { class: "legend" }, series.map((sr, i) => h("span", {}, h("i", { style: `border-color:${sr.color || PALETTE[i % PALETTE.length]}` }), sr.name))),
    );
  }
  return box;
}
