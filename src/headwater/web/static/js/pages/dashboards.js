// Dashboards: per device, the readings over time, the latest images with their top
// labels and the detector's boxes drawn over them, and the joined images-and-readings
// table, from the lake (/api/v1/dashboards/...). Images are fetched with the token and
// shown from blob URLs, kept while they are on the page.

import { api, ApiError } from "../api.js";
import { fill, h, s, showError, table } from "../dom.js";
import { ago, num, time } from "../format.js";
import { timeChart } from "../chart.js";
import { every } from "../live.js";

const FIELDS = [
  ["bme680_tempc", "Temperature", "°C"],
  ["bme680_humidity", "Humidity", "%"],
  ["bme680_pressure", "Pressure", "hPa"],
  ["ltr559_lux", "Light", "lux"],
  ["cputemp", "CPU temperature", "°C"],
  ["memory", "Memory", "%"],
];
const RANGES = [["15 min", 15 * 60e3], ["1 hour", 3600e3], ["24 hours", 86400e3], ["all", null]];

export default function dashboardsPage(view) {
  const problem = h("div");
  const summary = h("div", { class: "stats", id: "dash-summary" });
  const devices = h("div", { class: "tabs", id: "devices" });
  const ranges = h("div", { class: "tabs", id: "ranges" });
  const charts = h("div", { class: "charts", id: "readings" });
  const images = h("div", { class: "images", id: "images" });
  const joined = h("div", { class: "panel scroll", id: "joined" });
  view.append(
    h("h1", {}, "Dashboards"),
    problem,
    summary,
    h("div", { class: "row" }, devices, ranges),
    charts,
    h("h2", { style: "margin-top:18px" }, "Latest images"),
    images,
    h("h2", { style: "margin-top:18px" }, "Images and their readings"),
    joined,
  );

  const blobs = new Map(); // filename -> object URL
  let host = null;
  let range = RANGES[1];
  let known = [];

  async function refresh() {
    let sum;
    try {
      sum = await api("/dashboards/summary");
      known = (await api("/dashboards/devices")).devices;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        fill(problem, h("div", { class: "notice" }, "The dashboards are off: start the hub with --lake DIR (headwater up does)."));
      } else {
        showError(err, problem);
      }
      throw err;
    }
    problem.replaceChildren();
    fill(summary, stats(sum));
    if (!host || !known.some((d) => d.host === host)) host = known[0]?.host ?? null;
    renderTabs();
    if (!host) {
      fill(charts, h("p", { class: "muted" }, "no readings in the lake yet"));
      return;
    }
    const query = new URLSearchParams({ host, points: "300" });
    if (range[1]) query.set("since", String(Date.now() - range[1]));
    const [readings, imageList, table_] = await Promise.all([
      api(`/dashboards/readings?${query}`),
      api(`/dashboards/images?${new URLSearchParams({ host, limit: "12" })}`),
      api(`/dashboards/joined?${new URLSearchParams({ host, limit: "50" })}`),
    ]).catch((err) => {
      showError(err, problem);
      throw err;
    });
    fill(charts, FIELDS.map(([field, title, unit]) => timeChart({
      title,
      unit,
      series: [{
        name: field,
        points: readings.series.time.map((t, i) => ({ t, v: readings.series[field]?.[i] ?? null })),
      }],
    })));
    await renderImages(imageList.images);
    fill(joined, joinedTable(table_));
  }

  function renderTabs() {
    fill(
      devices,
      known.map((d) =>
        h("button", { class: d.host === host ? "active" : undefined, "data-host": d.host, onclick: () => { host = d.host; stopAndRestart(); } },
          d.host, h("span", { class: "muted" }, ` ${num(d.readings)} · ${ago(d.last)}`)),
      ),
    );
    fill(
      ranges,
      RANGES.map((r) => h("button", { class: r === range ? "active" : undefined, onclick: () => { range = r; stopAndRestart(); } }, r[0])),
    );
  }

  async function renderImages(list) {
    const cards = await Promise.all(list.map(async (image) => {
      let url = blobs.get(image.filename);
      if (!url) {
        try {
          url = URL.createObjectURL(await api(image.content.replace(/^\/api\/v1/, ""), { as: "blob" }));
          blobs.set(image.filename, url);
        } catch (err) {
          return h("div", { class: "card" }, showError(err, h("div")));
        }
      }
      return imageCard(image, url);
    }));
    fill(images, cards.length ? cards : h("p", { class: "muted" }, "no images from this device yet"));
    const shown = new Set(list.map((image) => image.filename));
    for (const [filename, url] of blobs) {
      if (!shown.has(filename)) {
        URL.revokeObjectURL(url); // older photos leave the page, and memory
        blobs.delete(filename);
      }
    }
  }

  let stop = every(5000, refresh);
  function stopAndRestart() {
    stop();
    stop = every(5000, refresh);
  }
  return () => {
    stop();
    for (const url of blobs.values()) URL.revokeObjectURL(url);
  };
}

function stats(sum) {
  const stat = (value, label) => h("div", { class: "stat" }, h("b", {}, value), h("span", {}, label));
  return [
    stat(num(sum.readings), "readings"),
    stat(num(sum.images), "images"),
    stat(num(sum.devices), "devices"),
    stat(num(sum.jobRuns), "job runs"),
    stat(sum.lastReading ? ago(sum.lastReading) : "never", "last reading"),
  ];
}

function imageCard(image, url) {
  const overlay = s("svg", { preserveAspectRatio: "none" });
  const img = h("img", { src: url, alt: image.filename, loading: "lazy" });
  const frame = h("div", { class: "frame" }, img, overlay);
  img.addEventListener("load", () => {
    const w = img.naturalWidth;
    const hgt = img.naturalHeight;
    frame.style.aspectRatio = `${w} / ${hgt}`; // boxes are in the image's pixels
    frame.classList.add("loaded");
    overlay.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    for (const d of image.detections) {
      const [x, y, bw, bh] = d.box;
      overlay.append(
        s("rect", { x, y, width: bw, height: bh }),
        s("text", { x: x + 3, y: Math.max(12, y - 3), style: `font-size:${Math.max(12, w / 18)}px` }, `${d.label ?? d.class} ${Math.round((d.confidence ?? d.score ?? 0) * 100)}%`),
      );
    }
  });
  const labels = image.labels.slice(0, 3);
  return h(
    "div",
    { class: "card", "data-image": image.filename },
    frame,
    h(
      "div",
      { class: "body" },
      h("div", { class: "muted" }, time(image.time), image.person ? h("span", { class: "person" }, " · person") : null),
      labels.map((l) => {
        const p = Number(l.probability) || 0; // in percent, as the device writes it
        return [h("div", {}, l.label, h("span", { class: "muted" }, ` ${p.toFixed(1)}%`)), h("div", { class: "bar", style: `width:${Math.min(100, p)}%` })];
      }),
      image.detections.length ? h("div", { class: "muted" }, `${image.detections.length} detection${image.detections.length === 1 ? "" : "s"}: ${[...new Set(image.detections.map((d) => d.label ?? d.class))].join(", ")}`) : null,
    ),
  );
}

function joinedTable({ columns, rows }) {
  return table(
    columns.map((c, i) => [c, (row) => formatCell(c, row[i])]),
    rows,
    { empty: "no images joined to readings yet" },
  );
}

function formatCell(column, value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && /time|^end$|first|last/i.test(column) && value > 1e11) return time(value);
  if (typeof value === "number") return Number.isInteger(value) ? num(value) : value.toFixed(2);
  return String(value);
}
