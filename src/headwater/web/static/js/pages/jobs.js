// Jobs: the linked jobs service's jobs with their latest run and a start button, the
// run durations of every job over time (as CDSW charts them), a job's runs and logs.

import { api } from "../api.js";
import { badge, fill, h, showError, table } from "../dom.js";
import { num, seconds, shortId, time } from "../format.js";
import { timeChart } from "../chart.js";
import { every } from "../live.js";

export default function jobsPage(view) {
  const problem = h("div");
  const list = h("div", { class: "panel", id: "jobs-list" }, h("p", { class: "muted" }, "loading jobs…"));
  const chart = h("div", { id: "durations" });
  const runs = h("div", { class: "panel", id: "job-runs" }, h("p", { class: "muted" }, "Click a job for its runs."));
  const log = h("div", { id: "run-log" });
  view.append(h("h1", {}, "Jobs"), problem, h("div", { class: "grid" }, list, chart, runs, log));

  let selectedJob = null;
  let selectedRun = null;
  let runsByJob = new Map();

  async function refresh() {
    let answer;
    try {
      answer = await api("/jobs");
    } catch (err) {
      if (err.status === 404) fill(problem, h("div", { class: "notice" }, err.detail)); // no service linked
      else showError(err, problem);
      fill(list, h("p", { class: "muted" }, "no jobs to show"));
      throw err;
    }
    problem.replaceChildren();
    const jobs = answer.jobs;
    const histories = await Promise.all(jobs.map((j) => api(`/jobs/${j.id}/runs?limit=200`).then((r) => r.runs)));
    runsByJob = new Map(jobs.map((j, i) => [j.id, histories[i]]));
    fill(
      list,
      h("h2", {}, `Project ${answer.project}`),
      table(
        [
          ["job", (j) => h("b", {}, j.name)],
          ["script", (j) => h("code", {}, j.script)],
          ["kernel", (j) => j.kernel],
          ["schedule", (j) => j.englishSchedule || "manual"],
          ["runs", (j) => num(j.total_runs), { class: "num" }],
          ["failures", (j) => num(j.total_failures), { class: "num" }],
          ["latest", (j) => (j.latest ? badge(j.latest.status) : h("span", { class: "muted" }, "never run"))],
          ["since", (j) => (j.latest ? time(j.latest.created_at) : "")],
          ["", (j) => h("button", { class: "primary start-job", "data-job": j.name, onclick: (event) => start(event, j) }, "Start")],
        ],
        jobs,
        { onRow: (j) => { selectedJob = j.id; renderRuns(jobs); }, selected: (j) => j.id === selectedJob, empty: "the project has no jobs" },
      ),
    );
    fill(chart, durationChart(jobs, runsByJob));
    renderRuns(jobs);
    if (selectedRun && selectedJob) await showLog(selectedJob, selectedRun);
  }

  async function start(event, job) {
    event.stopPropagation();
    event.target.disabled = true;
    try {
      const started = await api(`/jobs/${job.id}/start`, { method: "POST" });
      selectedJob = job.id;
      selectedRun = started.latest?.id ?? null;
      await refresh();
      if (selectedRun) showLog(job.id, selectedRun);
    } catch (err) {
      showError(err, problem);
    } finally {
      event.target.disabled = false;
    }
  }

  function renderRuns(jobs) {
    const job = jobs.find((j) => j.id === selectedJob);
    if (!job) return;
    fill(
      runs,
      h("h2", {}, `Runs of ${job.name}`),
      h(
        "div",
        { class: "scroll" },
        table(
          [
            ["run", (r) => h("code", {}, shortId(r.id, 12))],
            ["status", (r) => badge(r.status)],
            ["created", (r) => time(r.created_at)],
            ["finished", (r) => time(r.finished_at)],
            ["duration", (r) => seconds(r.duration), { class: "num" }],
            ["exit", (r) => r.exit_code ?? "", { class: "num" }],
            ["reason", (r) => r.reason || ""],
          ],
          runsByJob.get(job.id) || [],
          { onRow: (r) => showLog(job.id, r.id), selected: (r) => r.id === selectedRun, empty: "no runs yet" },
        ),
      ),
    );
  }

  async function showLog(jobId, runId) {
    selectedRun = runId;
    try {
      const text = await api(`/jobs/${jobId}/runs/${encodeURIComponent(runId)}/log`, { as: "text" });
      fill(log, h("div", { class: "panel" }, h("h2", {}, "Log of run ", h("code", {}, runId)), h("pre", { class: "log" }, text || "(empty so far)")));
    } catch (err) {
      showError(err, log);
    }
  }

  return every(3000, refresh);
}

function durationChart(jobs, runsByJob) {
  const series = jobs.map((j) => ({
    name: j.name,
    points: (runsByJob.get(j.id) || [])
      .filter((r) => r.duration !== null && r.duration !== undefined)
      .map((r) => ({
        t: Date.parse(r.created_at),
        v: r.duration,
        class: r.status,
        title: `${j.name} run ${r.id}: ${r.status}, ${seconds(r.duration)} (${time(r.created_at)})`,
        data: { run: r.id, job: j.name, status: r.status },
      }))
      .sort((a, b) => a.t - b.t),
  }));
  return timeChart({ title: "Run durations over time", unit: "seconds", series, dots: true, zero: true, width: 1000, height: 240 });
}
