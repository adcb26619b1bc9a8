// One job: follows /api/events?job_id=…, fills in the results when it finishes, cancel and delete.

import {
  FINISHED,
  definitionList,
  fill,
  formatDuration,
  formatScore,
  parseTime,
  readError,
} from "./common.js";

const page = document.getElementById("job");
const jobId = page.dataset.jobId;
const cancelButton = document.getElementById("cancel-button");
const deleteButton = document.getElementById("delete-button");
const actionError = document.getElementById("action-error");
const runTime = document.getElementById("run-time");

let source = null;
let clock = null;
let timing = {};

function showRunTime() {
  if (!timing.started_at) return;
  const end = timing.finished_at ? parseTime(timing.finished_at) : new Date();
  runTime.textContent = formatDuration((end - parseTime(timing.started_at)) / 1000);
}

// While running, the run time counts up once a second in the browser (no request involved).
function followRunTime(job) {
  timing = job;
  showRunTime();
  const running = job.status === "running";
  if (running && !clock) clock = setInterval(showRunTime, 1000);
  if (!running && clock) {
    clearInterval(clock);
    clock = null;
  }
}

function showSummary(job) {
  fill(page, job);
  page.dataset.status = job.status;
  document.getElementById("job-error").hidden = !job.error;
  cancelButton.hidden = FINISHED.has(job.status);
  followRunTime(job);
}

function poseRow(pose) {
  const row = document.createElement("tr");
  const numbers = ["affinity", "inter", "intra", "rmsd_lb", "rmsd_ub"].map((key) => pose[key]);
  for (const value of [pose.rank, ...numbers.map(formatScore)]) {
    const cell = document.createElement("td");
    cell.className = "num";
    cell.textContent = value;
    row.append(cell);
  }
  return row;
}

function showResults(results) {
  document.getElementById("results").hidden = false;
  document.getElementById("pose-rows").replaceChildren(...(results.poses || []).map(poseRow));
}

function showReport(report) {
  const { warnings = [], ...details } = report;
  document.getElementById("receptor-report").hidden = false;
  document.getElementById("report-details").replaceChildren(definitionList(details));
  const list = document.getElementById("report-warnings");
  const item = (text) => Object.assign(document.createElement("li"), { textContent: text });
  list.replaceChildren(...warnings.map(item));
  list.hidden = warnings.length === 0;
}

function showProvenance(provenance) {
  document.getElementById("provenance").hidden = false;
  document.getElementById("provenance-details").replaceChildren(definitionList(provenance));
}

function showDetail(job) {
  showSummary(job);
  if (job.results) showResults(job.results);
  if (job.results?.receptor_report) showReport(job.results.receptor_report);
  if (job.provenance) showProvenance(job.provenance);
  document.getElementById("downloads").hidden = Object.keys(job.downloads).length === 0;
}

async function finish() {
  source?.close();
  source = null;
  const response = await fetch(`/api/jobs/${jobId}`, { headers: { Accept: "application/json" } });
  if (response.ok) showDetail(await response.json());
}

function onJob(event) {
  const job = JSON.parse(event.data);
  showSummary(job);
  if (FINISHED.has(job.status) && source) finish();
}

function showActionError(error) {
  actionError.textContent = error.message;
  actionError.hidden = false;
}

async function cancel() {
  cancelButton.disabled = true;
  actionError.hidden = true;
  const response = await fetch(`/api/jobs/${jobId}/cancel`, { method: "POST" });
  cancelButton.disabled = false;
  if (!response.ok) {
    showActionError(await readError(response));
    return;
  }
  showSummary(await response.json());
  finish();
}

async function remove() {
  if (!window.confirm(`Delete job ${jobId} and all its files? This cannot be undone.`)) return;
  deleteButton.disabled = true;
  const response = await fetch(`/api/jobs/${jobId}`, { method: "DELETE" });
  if (response.ok || response.status === 404) {
    window.location.assign("/jobs");
    return;
  }
  deleteButton.disabled = false;
  showActionError(await readError(response));
}

cancelButton.addEventListener("click", cancel);
deleteButton.addEventListener("click", remove);
followRunTime({
  status: page.dataset.status,
  started_at: page.querySelector('time[data-field="started_at"]').getAttribute("datetime"),
  finished_at: page.querySelector('time[data-field="finished_at"]').getAttribute("datetime"),
});
if (!FINISHED.has(page.dataset.status)) {
  source = new EventSource(page.dataset.events);
  source.addEventListener("job", onJob);
}
