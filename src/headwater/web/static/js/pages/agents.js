// Agents: each agent's last heartbeat, flow, queues and drops (refreshed every 5 s),
// and a new flow pushed to one: the hub validates it first and answers the queued
// operation, or every problem with its path and line.

import { api } from "../api.js";
import { badge, fill, h, showError, table } from "../dom.js";
import { ago, bytes, num, shortId } from "../format.js";
import { every } from "../live.js";

export default function agentsPage(view) {
  const problem = h("div");
  const list = h("div", { class: "panel", id: "agents-list" }, h("p", { class: "muted" }, "loading agents…"));
  const target = h("select", { name: "agent", id: "push-agent", required: true });
  const text = h("textarea", { name: "flow", id: "push-flow", spellcheck: "false", placeholder: "flow: my-agent-flow\nprocessors:\n  ..." });
  const validate = h("input", { type: "checkbox", name: "validate", checked: true });
  const answer = h("div", { id: "push-answer" });
  const form = h(
    "form",
    { class: "panel grid", id: "push-form" },
    h("h2", {}, "Push a new flow"),
    h("div", { class: "row" }, h("label", {}, "agent", target), h("label", { style: "display:flex;gap:6px;align-items:center" }, validate, "validate on the hub first")),
    text,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Send to the agent")),
    answer,
  );
  view.append(h("h1", {}, "Agents"), problem, list, h("div", { style: "height:14px" }), form);

  let agents = [];

  async function refresh() {
    try {
      agents = (await api("/agents")).agents;
    } catch (err) {
      showError(err, problem);
      throw err;
    }
    problem.replaceChildren();
    fill(
      list,
      table(
        [
          ["agent", (a) => h("b", {}, a.id)],
          ["last heartbeat", (a) => (a.lastHeartbeat ? h("span", { title: new Date(a.lastHeartbeat).toString() }, ago(a.lastHeartbeat)) : badge("never", "bad"))],
          ["address", (a) => a.address || ""],
          ["flow", (a) => a.flowName || ""],
          ["version", (a) => (a.flowVersion ? h("code", { title: a.flowVersion }, shortId(a.flowVersion, 10)) : "")],
          ["running", (a) => (a.running === undefined || a.running === null ? "" : badge(a.running ? "running" : "stopped", a.running ? "ok" : "bad"))],
          ["queued", (a) => (a.queuedCount === undefined ? "" : `${num(a.queuedCount)} · ${bytes(a.queuedBytes)}`), { class: "num" }],
          ["dropped", (a) => (a.droppedCount ? badge(num(a.droppedCount), "bad") : num(a.droppedCount ?? 0)), { class: "num" }],
          ["memory", (a) => (a.rssBytes ? bytes(a.rssBytes) : ""), { class: "num" }],
          ["CPU", (a) => (a.cpuPercent === undefined || a.cpuPercent === null ? "" : `${Number(a.cpuPercent).toFixed(1)}%`), { class: "num" }],
          ["last operation", (a) => (a.lastOperation ? `${a.lastOperation.operation} ${a.lastOperation.operand}: ${a.lastOperation.state}` : "")],
        ],
        agents,
        { onRow: (a) => { target.value = a.id; }, empty: "no agent has sent a heartbeat yet" },
      ),
    );
    const chosen = target.value;
    fill(target, agents.map((a) => h("option", { value: a.id }, a.id)));
    if (chosen && agents.some((a) => a.id === chosen)) target.value = chosen;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!target.value) {
      showError("choose an agent first", answer);
      return;
    }
    const query = validate.checked ? "" : "?validate=false";
    try {
      const operation = await api(`/agents/${encodeURIComponent(target.value)}/flow${query}`, {
        method: "POST",
        body: text.value,
        contentType: "application/yaml",
      });
      fill(
        answer,
        h("div", { class: "notice" }, h("b", {}, "Queued: "), `operation ${operation.id ?? ""} (${operation.state ?? "queued"}); the agent receives it with its next heartbeat.`),
      );
    } catch (err) {
      if (err.status === 422) fill(answer, problems(err));
      else showError(err, answer);
    }
  });

  return every(5000, refresh);
}

function problems(err) {
  const listed = err.body?.errors || [];
  return h(
    "div",
    { class: "error" },
    h("b", {}, "The flow is invalid; nothing was sent."),
    listed.length
      ? h("ul", { class: "problems" }, listed.map((p) => h("li", {}, p.line ? `line ${p.line}: ` : "", h("code", {}, p.path || "flow"), ` ${p.message}`, p.hint ? h("div", { class: "muted" }, p.hint) : null)))
      : h("p", {}, err.detail),
  );
}
