// Provenance: search events, see one event's attributes, download its content (fetched
// with the token, saved through a blob link) and draw its FlowFile's lineage.

import { api, filenameOf } from "../api.js";
import { badge, fill, h, kvTable, showError, table } from "../dom.js";
import { bytes, num, shortId, time } from "../format.js";
import { drawGraph } from "../graph.js";
import { zoomable } from "../zoom.js";

const TYPES = [
  "CREATE", "RECEIVE", "FETCH", "SEND", "UPLOAD", "REMOTE_INVOCATION", "DOWNLOAD", "DROP", "EXPIRE",
  "FORK", "JOIN", "CLONE", "CONTENT_MODIFIED", "ATTRIBUTES_MODIFIED", "ROUTE", "ADDINFO", "REPLAY",
];

export default function provenancePage(view, [flowfile = ""]) {
  const field = (name, label, input) => h("label", {}, label, input);
  const form = h(
    "form",
    { class: "search", id: "provenance-search" },
    field("flowfile", "FlowFile uuid", h("input", { name: "flowfile", size: 38, value: flowfile, placeholder: "any" })),
    field("type", "type", h("select", { name: "type" }, h("option", { value: "" }, "any"), TYPES.map((t) => h("option", {}, t)))),
    field("component", "component", h("input", { name: "component", placeholder: "processor id", list: "components" })),
    field("since", "since", h("input", { name: "since", type: "datetime-local", step: 1 })),
    field("until", "until", h("input", { name: "until", type: "datetime-local", step: 1 })),
    field("limit", "limit", h("input", { name: "limit", type: "number", min: 1, max: 10000, value: 200, style: "width:6em" })),
    h("button", { type: "submit", class: "primary" }, "Search"),
    h("datalist", { id: "components" }),
  );
  const problem = h("div");
  const results = h("div", { class: "panel scroll", id: "events" }, h("p", { class: "muted" }, "searching…"));
  const details = h("div", { class: "panel sticky", id: "event-details" }, h("p", { class: "muted" }, "Click an event for its attributes, content and lineage."));
  const lineage = h("div", { id: "lineage" });
  view.append(h("h1", {}, "Provenance"), form, problem, h("div", { class: "split" }, results, details), lineage);

  let events = [];
  let selected = null;
  let blobUrl = null;

  async function search(event) {
    event?.preventDefault();
    const data = new FormData(form);
    const query = new URLSearchParams();
    for (const [key, value] of data) {
      if (!value) continue;
      query.set(key, key === "since" || key === "until" ? String(new Date(value).getTime()) : value);
    }
    try {
      events = (await api(`/provenance/events?${query}`)).events;
      problem.replaceChildren();
    } catch (err) {
      showError(err, problem);
      return;
    }
    renderTable();
  }

  function renderTable() {
    fill(
      results,
      h("p", { class: "muted" }, `${num(events.length)} events, newest first`),
      table(
        [
          ["time", (e) => time(e.eventTime)],
          ["type", (e) => badge(e.eventType, "")],
          ["component", (e) => h("span", { title: e.componentId }, e.componentType)],
          ["FlowFile", (e) => h("code", { title: e.flowFileUuid }, shortId(e.flowFileUuid))],
          ["filename", (e) => e.attributes.filename || ""],
          ["size", (e) => bytes(e.fileSize), { class: "num" }],
          ["where", (e) => e.origin ? badge(e.origin, "") : "hub"],
        ],
        events,
        { onRow: choose, selected: (e) => e.eventId === selected?.eventId, empty: "no events match" },
      ),
    );
  }

  function choose(event) {
    selected = event;
    renderTable();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = null;
    const download = h("div", { class: "row", id: "content-download" });
    const fetchContent = async () => {
      try {
        const response = await api(`/provenance/events/${event.eventId}/content`, { raw: true });
        const name = filenameOf(response, event.attributes.filename || event.flowFileUuid);
        const blob = await response.blob();
        if (blobUrl) URL.revokeObjectURL(blobUrl);
        blobUrl = URL.createObjectURL(blob);
        fill(download, h("a", { href: blobUrl, download: name, class: "button", id: "content-link" }, `Save ${name} (${bytes(blob.size)})`));
      } catch (err) {
        showError(err, download);
      }
    };
    fill(
      details,
      h("h2", {}, event.eventType, " ", h("span", { class: "muted" }, `#${event.eventId}`)),
      h("p", {}, time(event.eventTime), " · ", event.componentType, " ", h("code", {}, event.componentId)),
      h(
        "div",
        { class: "row" },
        h("button", { id: "show-lineage", class: "primary", onclick: () => showLineage(event.flowFileUuid) }, "Lineage"),
        event.contentAvailable
          ? h("button", { id: "fetch-content", onclick: fetchContent }, "Download content")
          : h("span", { class: "muted" }, "no content at this event"),
      ),
      download,
      h("h3", {}, "Event"),
      kvTable(
        Object.fromEntries(
          Object.entries({
            FlowFile: event.flowFileUuid,
            size: bytes(event.fileSize),
            relationship: event.relationship,
            details: event.details,
            "transit URI": event.transitUri,
            "source system id": event.sourceSystemFlowFileId,
            "alternate id": event.alternateIdentifierUri,
            duration: `${event.eventDuration} ms`,
            parents: event.parentUuids.join(", "),
            children: event.childUuids.join(", "),
            origin: event.origin,
          }).filter(([, v]) => v !== null && v !== undefined && v !== ""),
        ),
      ),
      h("h3", {}, "Attributes ", h("span", { class: "muted" }, "(changed ones highlighted)")),
      kvTable(event.attributes, event.previousAttributes),
    );
  }

  async function showLineage(uuid) {
    fill(lineage, h("p", { class: "muted" }, "drawing the lineage…"));
    let graphData;
    try {
      graphData = await api(`/provenance/lineage/${encodeURIComponent(uuid)}`);
    } catch (err) {
      showError(err, lineage);
      return;
    }
    const graph = drawGraph({
      className: "lineage",
      nodes: graphData.nodes,
      edges: graphData.links.map((l, i) => ({ id: String(i), source: l.source, target: l.target })),
      width: 170,
      node: lineageNode,
      edge: () => ({}),
      onNode: async (id) => {
        const node = graphData.nodes.find((n) => n.id === id);
        graph.select(id);
        if (node.type !== "EVENT") {
          form.elements.flowfile.value = node.flowFileUuid; // that FlowFile's events
          form.elements.type.value = "";
          await search();
          return;
        }
        try {
          choose(await api(`/provenance/events/${encodeURIComponent(id)}`));
        } catch (err) {
          showError(err);
        }
      },
    });
    const files = graphData.nodes.filter((n) => n.type === "FLOWFILE").length;
    const frame = h("div", { class: "graph" });
    fill(
      lineage,
      h("h2", {}, "Lineage of ", h("code", {}, uuid)),
      h(
        "div",
        { class: "legend" },
        h("span", {}, h("i", { style: "border-color:var(--file)" }), "FlowFile"),
        h("span", {}, h("i", { style: "border-color:var(--device)" }), "event on a device"),
        h("span", {}, h("i", { style: "border-color:var(--hub)" }), "event on the hub"),
        h("span", {}, `${files} FlowFiles, ${graphData.nodes.length - files} events — click an event for its details, a FlowFile for its events`),
      ),
      frame,
    );
    frame.before(zoomable(frame, graph.element).toolbar);
    lineage.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  api("/status")
    .then((status) => {
      const list = form.querySelector("#components");
      for (const p of status.processors) list.append(h("option", { value: p.id }, p.name));
    })
    .catch(() => {}); // the search below shows any problem with the hub
  form.addEventListener("submit", search);
  search();
  return () => blobUrl && URL.revokeObjectURL(blobUrl);
}

function lineageNode(n) {
  if (n.type === "FLOWFILE") return { class: "FLOWFILE", lines: [{ text: "FlowFile" }, { text: n.flowFileUuid }] };
  return {
    class: n.origin ? "device" : "hub",
    title: `${n.eventType} #${n.id} by ${n.componentType} (${n.componentId}) at ${time(n.timestamp)}${n.origin ? ` on ${n.origin}` : " on the hub"}`,
    lines: [
      { text: n.eventType },
      { text: `${n.componentType} · ${n.componentId}` },
      { text: `${n.origin || "hub"} · ${time(n.timestamp).slice(11)}` },
    ],
  };
}
