// One job: follows /api/events?job_id=…, draws the receptor, box and poses in 3D, lists the
// interactions of the chosen pose, plots scores and progress; cancel, delete, copy command.

import {
  FINISHED,
  definitionList,
  element,
  fill,
  follow,
  formatDuration,
  formatScore,
  parseTime,
  readError,
} from "./common.js";
import { progressChart, scoreChart } from "./plots.js";
import { DockViewer, INTERACTION_COLORS } from "./viewer.js";

const page = document.getElementById("job");
const jobId = page.dataset.jobId;
const cancelButton = document.getElementById("cancel-button");
const deleteButton = document.getElementById("delete-button");
const actionError = document.getElementById("action-error");
const runTime = document.getElementById("run-time");
const viewerElement = document.getElementById("viewer");
const viewerMessage = document.getElementById("viewer-message");
const poseRows = document.getElementById("pose-rows");
const interactionsSection = document.getElementById("interactions");
const kindLabels = Object.fromEntries(JSON.parse(interactionsSection.dataset.kinds));

let live = null;
let clock = null;
let timing = {};
let viewer = null;
let viewerReady = null;
let viewerData = JSON.parse(viewerElement.dataset.viewer);
let poses = [];
let selected = 1;
let scores = null;
let progress = null;
const interactionCache = new Map();

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error((await readError(response)).message);
  return response.text();
}

// -- status ----------------------------------------------------------------------------------

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

// Vina's progress bar advances at a steady pace, so the pace seen since the docking started
// (or since the page was opened) says when it will end.
let dockingSeen = null;

function showTimeLeft(job) {
  const fact = document.getElementById("time-left-fact");
  const left = document.getElementById("time-left");
  if (job.status !== "running" || job.stage !== "docking") {
    dockingSeen = null;
    fact.hidden = true;
    return;
  }
  const now = parseTime(job.updated_at);
  if (!dockingSeen) {
    dockingSeen = { at: now, progress: job.progress };
    return;
  }
  const pace = (job.progress - dockingSeen.progress) / (now - dockingSeen.at);
  if (!(pace > 0)) return;
  const end = Number(left.dataset.dockingEnd);
  left.textContent = `about ${formatDuration((end - job.progress) / pace / 1000)}`;
  fact.hidden = false;
}

function showSummary(job) {
  fill(page, job);
  page.dataset.status = job.status;
  document.getElementById("job-error").hidden = !job.error;
  cancelButton.hidden = FINISHED.has(job.status);
  document.getElementById("waiting").hidden = FINISHED.has(job.status) || poses.length > 0;
  followRunTime(job);
  showTimeLeft(job);
  plotProgress(job);
}

async function plotProgress(job) {
  if (!job.started_at) return;
  const figure = document.getElementById("progress-figure");
  figure.hidden = false;
  const at = (iso) => parseTime(iso);
  if (!progress) {
    const points = [
      [at(job.created_at), 0],
      [at(job.started_at), 0],
    ];
    progress = progressChart(document.getElementById("progress-chart"), at(job.created_at), points);
  }
  const chart = await progress;
  chart.add(at(job.finished_at || job.updated_at), job.progress);
}

// -- poses: table, chart, 3D -----------------------------------------------------------------

function poseRow(pose) {
  const button = element("button", {
    type: "button",
    className: "pose-button",
    textContent: pose.rank,
  });
  button.dataset.rank = pose.rank;
  button.setAttribute("aria-label", `Show pose ${pose.rank}`);
  const numbers = ["affinity", "inter", "intra", "rmsd_lb", "rmsd_ub"].map((key) => pose[key]);
  const cells = numbers.map((value) =>
    element("td", { className: "num", textContent: formatScore(value) }),
  );
  const row = element(
    "tr",
    {},
    element("td", { className: "num" }, button),
    ...cells,
    referenceCell(pose),
    plausibilityCell(pose),
  );
  row.dataset.rank = pose.rank;
  return row;
}

// The RMSD to the reference ligand, marked "MCS n" when over a common substructure.
function referenceCell(pose) {
  const cell = element("td", { className: "num" });
  if (!pose.rmsd_kind) {
    cell.textContent = "—";
    return cell;
  }
  cell.append(formatScore(pose.rmsd_to_reference));
  if (pose.rmsd_kind === "common substructure") {
    const title = `over the ${pose.mcs_atoms} heavy atoms it shares with the reference (maximum common substructure)`;
    cell.append(" ", element("abbr", { className: "mcs", title, textContent: `MCS ${pose.mcs_atoms}` }));
  }
  return cell;
}

// PoseBusters' verdict on the pose: a badge, and the checks it failed.
function plausibilityCell(pose) {
  const checks = pose.plausibility;
  const cell = element("td");
  if (!checks) {
    cell.textContent = "—";
  } else if (checks.valid) {
    const title = "passes every PoseBusters check run";
    cell.append(element("span", { className: "badge badge-plausible", title, textContent: "plausible" }));
  } else {
    const title = `fails: ${checks.failed.join(", ")}`;
    const text = `fails ${checks.failed.length}`;
    const list = checks.failed.join(", ").replaceAll("_", " ");
    cell.append(
      element("span", { className: "badge badge-implausible", title, textContent: text }),
      " ",
      element("span", { className: "failed-checks", textContent: list }),
    );
  }
  return cell;
}

function markSelected(rank) {
  for (const row of poseRows.rows) {
    const chosen = Number(row.dataset.rank) === rank;
    row.setAttribute("aria-selected", String(chosen));
    row.querySelector(".pose-button").setAttribute("aria-pressed", String(chosen));
  }
}

function selectPose(rank) {
  if (!poses.some((pose) => pose.rank === rank)) return;
  selected = rank;
  markSelected(rank);
  scores?.then((chart) => chart.select(rank));
  viewerReady?.then(() => viewer?.showPose(rank));
  showInteractions(rank);
}

function showResults(results) {
  poses = results.poses || [];
  document.getElementById("results").hidden = false;
  document.getElementById("best-score").hidden = false;
  document.getElementById("waiting").hidden = true;
  poseRows.replaceChildren(...poses.map(poseRow));
  if (!scores) {
    scores = scoreChart(document.getElementById("score-chart"), poses, {
      selected,
      onSelect: selectPose,
    });
  }
  if (poses.length) selectPose(selected);
}

async function startViewer() {
  if (!viewerData.receptor) return;
  try {
    viewer = await DockViewer.create(viewerElement);
    const receptor = await fetchText(viewerData.receptor.url);
    viewer.setReceptor(receptor, viewerData.receptor.format);
    const reference = viewerData.reference;
    if (reference) viewer.setReference(await fetchText(reference.url), reference.format);
    viewer.setBox(viewerData.box);
    if (viewerData.poses) {
      viewer.setPoses(await fetchText(viewerData.poses.url));
      viewer.showPose(selected, { zoom: true });
    } else {
      viewer.zoomToBox();
      viewer.render();
    }
    viewerMessage.hidden = true;
    viewerElement.dataset.state = "ready";
  } catch (error) {
    viewerMessage.textContent = `The 3D view could not be drawn: ${error.message}`;
    viewerMessage.hidden = false;
    viewerElement.dataset.state = "failed";
  }
}

// When the job completes while the page is open: the prepared receptor and the poses.
async function showPosesInViewer(job) {
  const base = `/api/jobs/${job.id}/`;
  viewerData = {
    ...viewerData,
    receptor: job.files.includes("receptor.pdbqt")
      ? { url: `${base}receptor.pdbqt`, format: "pdbqt" }
      : viewerData.receptor,
    poses: { url: `${base}poses.sdf`, format: "sdf" },
  };
  await viewerReady;
  viewerElement.dataset.state = "loading";
  viewerReady = startViewerAgain();
  await viewerReady;
}

async function startViewerAgain() {
  if (!viewer) return startViewer();
  try {
    viewer.setReceptor(await fetchText(viewerData.receptor.url), viewerData.receptor.format);
    viewer.setPoses(await fetchText(viewerData.poses.url));
    viewer.showPose(selected, { zoom: true });
    const cached = interactionCache.get(selected);
    if (cached) viewer.setInteractions(cached.interactions);
    viewerElement.dataset.state = "ready";
  } catch (error) {
    viewerMessage.textContent = `The poses could not be drawn: ${error.message}`;
    viewerMessage.hidden = false;
    viewerElement.dataset.state = "failed";
  }
}

// -- interactions ----------------------------------------------------------------------------

function plural(count, label) {
  return `${count} ${label.toLowerCase()}${count === 1 ? "" : "s"}`;
}

function swatch(kind) {
  const dot = element("span", { className: "swatch" });
  dot.style.setProperty("--swatch", INTERACTION_COLORS[kind] || "#444");
  dot.setAttribute("aria-hidden", "true");
  return dot;
}

function renderInteractions(data) {
  const counts = Object.entries(data.counts).filter(([, count]) => count > 0);
  document
    .getElementById("interaction-counts")
    .replaceChildren(
      ...counts.map(([kind, count]) =>
        element("li", { className: "chip" }, swatch(kind), plural(count, kindLabels[kind] || kind)),
      ),
    );
  const rows = data.interactions.map((found) => {
    const [chain, name, number] = found.residue.split(":");
    return element(
      "tr",
      {},
      element("td", {}, swatch(found.kind), kindLabels[found.kind] || found.kind),
      element(
        "td",
        { className: "residue" },
        `${name} ${number}`,
        element("span", { className: "chain", textContent: chain ? ` (${chain})` : "" }),
      ),
      element("td", { className: "num", textContent: found.distance.toFixed(2) }),
      element("td", { className: "muted", textContent: found.detail }),
    );
  });
  document.getElementById("interaction-rows").replaceChildren(...rows);
  const residues = data.residues.map((label) => label.split(":").slice(1).join(" "));
  document.getElementById("contact-residues").textContent = residues.join(", ") || "none";
}

async function showInteractions(rank) {
  const status = document.getElementById("interactions-status");
  interactionsSection.hidden = false;
  interactionsSection.dataset.state = "loading";
  document.getElementById("interactions-rank").textContent = rank;
  let data = interactionCache.get(rank);
  if (!data) {
    status.textContent = "Finding the interactions of this pose…";
    const response = await fetch(`/api/jobs/${jobId}/poses/${rank}/interactions`);
    if (!response.ok) {
      if (rank === selected) {
        status.textContent = (await readError(response)).message;
        interactionsSection.dataset.state = "failed";
      }
      return;
    }
    data = await response.json();
    interactionCache.set(rank, data);
  }
  if (rank !== selected) return;
  renderInteractions(data);
  status.textContent = data.interactions.length ? "" : "ProLIF found no interactions for this pose.";
  interactionsSection.dataset.rank = rank;
  interactionsSection.dataset.state = "ready";
  await viewerReady;
  if (rank === selected) viewer?.setInteractions(data.interactions);
}

// -- the rest of the page --------------------------------------------------------------------

function showReport(report) {
  const { warnings = [], ...details } = report;
  document.getElementById("receptor-report").hidden = false;
  document.getElementById("report-details").replaceChildren(definitionList(details));
  const list = document.getElementById("report-warnings");
  const item = (text) => element("li", { textContent: text });
  list.replaceChildren(...warnings.map(item));
  list.hidden = warnings.length === 0;
}

function showProvenance(provenance) {
  document.getElementById("provenance").hidden = false;
  document.getElementById("provenance-details").replaceChildren(definitionList(provenance));
}

function showDetail(job) {
  showSummary(job);
  if (job.results?.poses) showResults(job.results);
  if (job.results?.receptor_report) showReport(job.results.receptor_report);
  if (job.provenance) showProvenance(job.provenance);
  document.getElementById("downloads").hidden = Object.keys(job.downloads).length === 0;
  if (job.status === "completed") showPosesInViewer(job);
}

async function finish() {
  live?.close();
  live = null;
  const response = await fetch(`/api/jobs/${jobId}`, { headers: { Accept: "application/json" } });
  if (response.ok) showDetail(await response.json());
}

function onJob(job) {
  showSummary(job);
  if (FINISHED.has(job.status) && live) finish();
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

async function copyCommand() {
  const text = document.getElementById("command-line").textContent;
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied.";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(document.getElementById("command-line"));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    status.textContent = "Selected: press Ctrl+C to copy.";
  }
}

// Arrow keys move between the pose buttons and show the pose they land on.
function onPoseKey(event) {
  const button = event.target.closest(".pose-button");
  if (!button || !["ArrowDown", "ArrowUp"].includes(event.key)) return;
  const buttons = [...poseRows.querySelectorAll(".pose-button")];
  const next = buttons[buttons.indexOf(button) + (event.key === "ArrowDown" ? 1 : -1)];
  if (!next) return;
  event.preventDefault();
  next.focus();
  selectPose(Number(next.dataset.rank));
}

function readPosesFromTable() {
  return [...poseRows.rows].map((row) => {
    const [affinity, inter, intra, rmsdLb, rmsdUb] = [...row.cells]
      .slice(1)
      .map((cell) => Number(cell.textContent));
    const rank = Number(row.dataset.rank);
    return { rank, affinity, inter, intra, rmsd_lb: rmsdLb, rmsd_ub: rmsdUb };
  });
}

cancelButton.addEventListener("click", cancel);
deleteButton.addEventListener("click", remove);
document.getElementById("copy-command")?.addEventListener("click", copyCommand);
poseRows.addEventListener("click", (event) => {
  const button = event.target.closest(".pose-button");
  if (button) selectPose(Number(button.dataset.rank));
});
poseRows.addEventListener("keydown", onPoseKey);
for (const what of ["box", "reference", "interactions", "surface"]) {
  const box = document.getElementById(`show-${what}`);
  box.addEventListener("change", () => viewer?.toggle(what, box.checked));
}
document.getElementById("reset-view").addEventListener("click", () => {
  viewer?.zoomToPose();
  viewer?.render();
});

const timeOf = (field) =>
  page.querySelector(`time[data-field="${field}"]`).getAttribute("datetime");
const initial = {
  status: page.dataset.status,
  created_at: timeOf("created_at"),
  started_at: timeOf("started_at"),
  finished_at: timeOf("finished_at"),
  updated_at: page.dataset.updatedAt,
  progress: Number(page.querySelector('progress[data-field="progress"]').value),
};
followRunTime(initial);
plotProgress(initial);
viewerReady = startViewer();
poses = readPosesFromTable();
if (poses.length) {
  scores = scoreChart(document.getElementById("score-chart"), poses, {
    selected,
    onSelect: selectPose,
  });
  showInteractions(selected);
}
if (!FINISHED.has(page.dataset.status)) live = follow(page.dataset.events, { job: onJob });
