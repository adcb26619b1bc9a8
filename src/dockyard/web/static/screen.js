// A screen's page: counts, leaderboard, histogram and the ligand table follow /api/events.
// Each event of this screen triggers one refresh of what changed (at most one a second);
// nothing is polled on a timer. Choose a ligand to see its poses in 3D.

import { FINISHED, element, fill, follow, formatDuration, formatScore, readError } from "./common.js";
import { loadChart } from "./plots.js";
import { DockViewer } from "./viewer.js";

const page = document.getElementById("screen");
const id = page.dataset.screenId;
const api = `/api/screens/${id}`;
const PAGE_SIZE = Number(page.dataset.pageSize) || 50;
const table = document.getElementById("ligands");
const filters = document.getElementById("ligand-filters");
const holder = document.getElementById("viewer");
const viewerMessage = document.getElementById("viewer-message");
const state = { sort: "score", order: "asc", offset: 0, total: 0 };
let chart = null;
let viewer = null;
let selected = null; // the library index of the ligand in the 3D view
let tableRequest = 0;
let ligandRequest = 0;

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error((await readError(response)).message);
  return response.json();
}

const fixed = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : "—");

function depiction(row, width = 96, height = 64) {
  if (!row.smiles) return "";
  const query = new URLSearchParams({ smiles: row.smiles, width, height });
  return element("img", {
    className: "depiction",
    src: `/api/depict.svg?${query}`,
    width,
    height,
    alt: `2D structure of ${displayName(row)}`,
  });
}

const displayName = (row) => row.name || `ligand ${row.index + 1}`;

function showButton(row) {
  const button = element("button", { type: "button", className: "button link" }, displayName(row));
  button.dataset.show = row.index;
  return button;
}

// Rows are replaced on every refresh: a focused ligand button keeps the focus.
function replaceRows(body, rows) {
  const active = document.activeElement;
  const focused = body.contains(active) ? active.closest("[data-show]")?.dataset.show : undefined;
  body.replaceChildren(...rows);
  if (focused !== undefined) body.querySelector(`[data-show="${focused}"]`)?.focus();
}

// The chosen ligand's rows stand out in the leaderboard and the table.
function markSelected() {
  for (const row of page.querySelectorAll("tr[data-index]")) {
    if (Number(row.dataset.index) === selected) row.setAttribute("aria-selected", "true");
    else row.removeAttribute("aria-selected");
  }
}

// -- counts and leaderboard ------------------------------------------------------------------

function renderCounts(overview) {
  for (const [key, value] of Object.entries(overview.counts)) {
    const cell = page.querySelector(`[data-count="${key}"]`);
    if (cell) cell.textContent = value;
  }
  document.getElementById("best-score").textContent = formatScore(overview.best_score);
  const rate = overview.throughput_per_minute;
  document.getElementById("throughput").textContent = rate ? `${rate.toFixed(1)} / min` : "—";
  document.getElementById("eta").textContent = overview.eta_seconds ? formatDuration(overview.eta_seconds) : "—";
}

function renderLeaderboard(rows) {
  const body = document.querySelector("#leaderboard tbody");
  if (!rows.length) {
    const empty = "No ligand docked yet; the best appear here as they finish.";
    body.replaceChildren(element("tr", { className: "empty-row" }, element("td", { colSpan: 5 }, empty)));
    return;
  }
  // Keep the drawings of ligands already shown: no flicker, no new request.
  const images = new Map(
    [...body.querySelectorAll("tr[data-index]")].map((line) => [line.dataset.index, line.querySelector("img")]),
  );
  replaceRows(
    body,
    rows.map((row, rank) => {
      const line = element(
        "tr",
        {},
        element("td", { className: "num" }, String(rank + 1)),
        element("td", { className: "structure" }, images.get(String(row.index)) || depiction(row)),
        element("td", { className: "name" }, showButton(row)),
        element("td", { className: "num score" }, formatScore(row.score)),
        element("td", { className: "num col-le" }, fixed(row.ligand_efficiency, 3)),
      );
      line.dataset.index = row.index;
      return line;
    }),
  );
}

// -- the histogram: the server's bins, drawn by Chart.js ---------------------------------------

function palette() {
  const style = getComputedStyle(document.documentElement);
  const read = (name) => style.getPropertyValue(name).trim();
  return { text: read("--muted"), grid: read("--border"), accent: read("--accent") };
}

function binLabels(edges) {
  const width = edges.length > 1 ? edges[1] - edges[0] : 1;
  const digits = width < 0.1 ? 2 : 1;
  return edges.slice(0, -1).map((edge) => ((edge + width / 2).toFixed(digits)));
}

async function drawHistogram(data) {
  const canvas = document.getElementById("histogram");
  const labels = binLabels(data.edges);
  const shown = data.counts.reduce((sum, count) => sum + count, 0);
  document.getElementById("histogram-empty").hidden = shown > 0;
  canvas.style.visibility = shown > 0 ? "" : "hidden"; // empty axes say nothing
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = data.counts;
    chart.$edges = data.edges;
    chart.update();
  } else {
    const Chart = await loadChart();
    const colors = palette();
    const axis = (title, extra = {}) => ({
      title: { display: true, text: title, color: colors.text },
      ticks: { color: colors.text, ...extra.ticks },
      grid: { color: colors.grid },
      ...extra,
    });
    chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: [
          { label: "Ligands", data: data.counts, backgroundColor: colors.accent, barPercentage: 1, categoryPercentage: 1 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => {
                const edges = chart.$edges;
                const at = items[0].dataIndex;
                return `${edges[at].toFixed(2)} to ${edges[at + 1].toFixed(2)} kcal/mol`;
              },
              label: (item) => `${item.raw} ligand${item.raw === 1 ? "" : "s"}`,
            },
          },
        },
        scales: {
          x: axis("Best score (kcal/mol)", { ticks: { maxRotation: 0, autoSkipPadding: 8 } }),
          y: axis("Ligands", { beginAtZero: true, ticks: { precision: 0 } }),
        },
      },
    });
    chart.$edges = data.edges;
  }
  canvas.dataset.points = shown;
  document.getElementById("above-zero").textContent = data.above_zero
    ? `${data.above_zero} ligand${data.above_zero === 1 ? "" : "s"} scored above 0 (did not fit the box) and ${data.above_zero === 1 ? "is" : "are"} not shown.`
    : "";
}

async function renderHistogram(docked) {
  // About two bins per square root of the ligands, between 6 and 40: readable at any size.
  const bins = Math.max(6, Math.min(40, Math.round(2 * Math.sqrt(docked))));
  await drawHistogram(await getJSON(`${api}/histogram?bins=${bins}`));
}

// -- the ligand table ------------------------------------------------------------------------

const STATUS_BADGE = { completed: "completed", pending: "pending", duplicate: "cancelled", failed: "failed" };

function ligandRow(row) {
  const note = row.status === "duplicate" && row.duplicate_of !== null
    ? `same as ligand ${row.duplicate_of + 1}`
    : row.error || "";
  const cells = [
    element("td", { className: "num col-index" }, String(row.index + 1)),
    element("td", { className: "name col-name" }, row.status === "completed" ? showButton(row) : displayName(row)),
    element("td", { className: "col-status" }, element("span", { className: `badge badge-${STATUS_BADGE[row.status] || "pending"}` }, row.status)),
    element("td", { className: "num col-score" }, formatScore(row.score)),
    element("td", { className: "num col-ligand_efficiency" }, fixed(row.ligand_efficiency, 3)),
    element("td", { className: "num col-heavy_atoms" }, row.heavy_atoms ?? "—"),
    element("td", { className: "num col-molecular_weight" }, fixed(row.molecular_weight, 1)),
    element("td", { className: "num col-logp" }, fixed(row.logp, 2)),
    checksCell(row),
    element("td", { className: "note col-note" }, note),
  ];
  const line = element("tr", {}, ...cells);
  line.dataset.index = row.index;
  line.dataset.status = row.status;
  return line;
}

// The top pose's PoseBusters verdict and RMSD to the reference, for the ligands checked.
function checksCell(row) {
  const cell = element("td", { className: "col-checks" });
  const checks = row.plausibility;
  if (checks) {
    const failed = checks.failed.join(", ");
    cell.append(
      element("span", {
        className: `badge badge-${checks.valid ? "plausible" : "implausible"}`,
        title: checks.valid ? "passes every PoseBusters check run" : `fails: ${failed}`,
        textContent: checks.valid ? "plausible" : `fails ${checks.failed.length}`,
      }),
    );
  }
  if (typeof row.rmsd_to_reference === "number") {
    const over = row.rmsd_kind === "common substructure" ? ` (MCS ${row.mcs_atoms})` : "";
    cell.append(" ", element("span", { className: "rmsd", textContent: `${row.rmsd_to_reference.toFixed(2)} Å${over}` }));
  }
  if (!cell.childNodes.length) cell.textContent = "—";
  return cell;
}

function tableQuery() {
  const query = new URLSearchParams({ sort: state.sort, order: state.order, limit: PAGE_SIZE, offset: state.offset });
  for (const [key, value] of new FormData(filters)) if (String(value).trim() !== "") query.set(key, String(value).trim());
  return query;
}

async function renderTable() {
  const ticket = ++tableRequest;
  table.dataset.state = "loading";
  let data = await getJSON(`${api}/ligands?${tableQuery()}`);
  if (ticket !== tableRequest) return; // a newer request (another sort, filter or page) won
  if (data.total && state.offset >= data.total) {
    // Fewer rows match than before (a filter on a running screen): show the last page.
    state.offset = Math.floor((data.total - 1) / PAGE_SIZE) * PAGE_SIZE;
    data = await getJSON(`${api}/ligands?${tableQuery()}`);
    if (ticket !== tableRequest) return;
  }
  state.total = data.total;
  const body = table.tBodies[0];
  if (data.ligands.length) replaceRows(body, data.ligands.map(ligandRow));
  else {
    const empty = filtersSet() ? "No ligand matches these filters." : "The library is empty.";
    body.replaceChildren(element("tr", { className: "empty-row" }, element("td", { colSpan: 10 }, empty)));
  }
  markSelected();
  const last = Math.min(state.offset + PAGE_SIZE, data.total);
  document.getElementById("page-info").textContent = data.total
    ? `${state.offset + 1}–${last} of ${data.total}`
    : "No ligands";
  document.getElementById("page-previous").disabled = state.offset === 0;
  document.getElementById("page-next").disabled = last >= data.total;
  for (const header of table.tHead.querySelectorAll("th[aria-sort]")) {
    const key = header.querySelector("button").dataset.sort;
    header.setAttribute("aria-sort", key === state.sort ? (state.order === "asc" ? "ascending" : "descending") : "none");
  }
  table.dataset.state = "ready";
}

function filtersSet() {
  return [...new FormData(filters).values()].some((value) => String(value).trim() !== "");
}

// -- one ligand in 3D ------------------------------------------------------------------------

function splitPoses(sdf) {
  return sdf
    .split(/^\$\$\$\$\s*$/m)
    .filter((record) => record.trim())
    .map((record) => {
      const found = record.match(/>\s*<vina_affinity>[^\n]*\n\s*([-\d.]+)/);
      return found ? Number(found[1]) : null;
    });
}

function showPose(rank) {
  viewer.showPose(rank, { zoom: true });
  for (const button of document.querySelectorAll("#ligand-poses .pose-button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.rank) === rank));
  }
}

function renderPoseButtons(sdf) {
  const buttons = splitPoses(sdf).map((affinity, at) => {
    const rank = at + 1;
    const button = element(
      "button",
      { type: "button", className: "pose-button" },
      String(rank),
      element("span", { className: "pose-score" }, formatScore(affinity)),
    );
    button.dataset.rank = rank;
    button.setAttribute("aria-label", `Pose ${rank}, ${formatScore(affinity)} kcal/mol`);
    button.setAttribute("aria-pressed", String(rank === 1));
    return button;
  });
  document.getElementById("ligand-poses").replaceChildren(...buttons);
}

function renderFacts(ligand) {
  const facts = {
    "Best score": `${formatScore(ligand.score)} kcal/mol`,
    "Ligand efficiency": fixed(ligand.ligand_efficiency, 3),
    "Heavy atoms": ligand.heavy_atoms ?? "—",
    "Molecular weight": fixed(ligand.molecular_weight, 1),
    logP: fixed(ligand.logp, 2),
    SMILES: ligand.smiles || "—",
    "Library line": ligand.index + 1,
  };
  document
    .getElementById("ligand-facts")
    .replaceChildren(...Object.entries(facts).flatMap(([label, value]) => [element("dt", {}, label), element("dd", {}, String(value))]));
  const image = document.getElementById("ligand-depiction");
  if (ligand.smiles) {
    image.src = `/api/depict.svg?${new URLSearchParams({ smiles: ligand.smiles, width: 240, height: 180 })}`;
    image.alt = `2D structure of ${displayName(ligand)}`;
  }
  image.hidden = !ligand.smiles;
}

let viewerReady = null;
async function startViewer() {
  viewer = await DockViewer.create(holder);
  const response = await fetch(holder.dataset.receptor);
  if (!response.ok) throw new Error((await readError(response)).message);
  viewer.setReceptor(await response.text(), "pdbqt");
  viewer.setBox(JSON.parse(holder.dataset.box));
}

async function showLigand(index, { focus = false } = {}) {
  const ticket = ++ligandRequest;
  selected = Number(index);
  markSelected();
  const section = document.getElementById("ligand-view");
  section.hidden = false;
  holder.dataset.state = "loading";
  viewerMessage.textContent = "Loading the 3D view…";
  viewerMessage.hidden = false;
  try {
    const ligand = await getJSON(`${api}/ligands/${index}`);
    if (ticket !== ligandRequest) return;
    document.getElementById("ligand-name").textContent = displayName(ligand);
    const download = document.getElementById("ligand-download");
    download.href = `${api}/ligands/${index}/poses.sdf`;
    download.hidden = Boolean(ligand.poses_removed);
    renderFacts(ligand);
    renderPoseButtons(ligand.poses_sdf || "");
    if (ligand.poses_removed) {
      viewerMessage.textContent =
        "This screen was compacted: it keeps every ligand's scores, the poses of its best only.";
      holder.dataset.state = "ready";
    } else {
      viewerReady ??= startViewer();
      await viewerReady;
      if (ticket !== ligandRequest) return;
      viewer.setPoses(ligand.poses_sdf || "");
      showPose(1);
      holder.dataset.ligand = index;
      viewerMessage.hidden = true;
      holder.dataset.state = "ready";
    }
  } catch (error) {
    viewerReady = viewer ? viewerReady : null;
    viewerMessage.textContent = `The 3D view could not be drawn: ${error.message}`;
    holder.dataset.state = "failed";
  }
  section.scrollIntoView({ behavior: "smooth", block: "start" });
  if (focus) section.focus({ preventScroll: true });
}

// -- live refresh ----------------------------------------------------------------------------

// The redocking of the reference ligand (validate=true), worded as screen.html words it.
function validationVerdict(v) {
  if (v.status === "failed") return `The redocking failed: ${v.error}`;
  if (v.status !== "completed") return `The reference ligand is being redocked (${v.status}).`;
  if (v.top1_rmsd !== null && v.top1_rmsd <= 2) {
    return "The top pose lies within 2 Å of the reference pose: this receptor, box and options find the known binding mode.";
  }
  if (v.best_rmsd !== null && v.best_rmsd <= 2) {
    return "A pose within 2 Å of the reference is found, but not ranked first: read the ranking with care.";
  }
  return "No pose comes within 2 Å of the reference pose: the screen's ranking deserves little trust.";
}

function renderValidation(validation) {
  const card = document.getElementById("validation");
  if (!card || !validation || card.dataset.status === validation.status) return;
  card.dataset.status = validation.status;
  document.getElementById("validation-verdict").textContent = validationVerdict(validation);
  for (const field of card.querySelectorAll("[data-validation]")) {
    const value = validation[field.dataset.validation];
    field.textContent = field.dataset.validation === "best_rank" ? String(value ?? "—") : formatScore(value);
  }
}

let refreshing = false;
let again = false;
async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  const status = document.getElementById("refresh-status");
  try {
    const overview = await getJSON(api);
    renderCounts(overview);
    renderValidation(overview.validation);
    renderLeaderboard(overview.leaderboard);
    markSelected();
    await Promise.all([renderHistogram(overview.counts.completed), renderTable()]);
    status.textContent = "";
    page.dataset.refreshed = String(Date.now());
  } catch (error) {
    status.textContent = `Could not refresh the results: ${error.message}`;
  } finally {
    window.setTimeout(() => {
      refreshing = false;
      if (again) {
        again = false;
        refresh();
      }
    }, 1000);
  }
}

let live = null;
function onJob(job) {
  fill(page, job);
  page.dataset.status = job.status;
  document.getElementById("job-error").hidden = !job.error;
  refresh();
  if (FINISHED.has(job.status)) {
    // Nothing changes after the end: show the final state and stop following.
    document.getElementById("cancel-button").hidden = true;
    live?.close();
  }
}

async function act(method, url, then) {
  const error = document.getElementById("action-error");
  error.hidden = true;
  const response = await fetch(url, { method });
  if (response.ok) return then();
  error.textContent = (await readError(response)).message;
  error.hidden = false;
}

function sortBy(key) {
  state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
  state.sort = key;
  state.offset = 0;
  renderTable();
}

page.addEventListener("click", (event) => {
  const show = event.target.closest("[data-show]");
  if (show) showLigand(show.dataset.show, { focus: event.detail === 0 });
  const sort = event.target.closest("button.sort");
  if (sort) sortBy(sort.dataset.sort);
  const pose = event.target.closest("#ligand-poses .pose-button");
  if (pose && viewer) showPose(Number(pose.dataset.rank));
});

let typing = null;
filters.addEventListener("input", (event) => {
  window.clearTimeout(typing);
  const apply = () => {
    state.offset = 0;
    renderTable();
  };
  // Typing waits for a pause; a choice in the status list or a checkbox applies at once.
  if (event.target.tagName === "SELECT" || event.target.type === "checkbox") apply();
  else typing = window.setTimeout(apply, 250);
});
filters.addEventListener("submit", (event) => event.preventDefault());
document.getElementById("page-previous").addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  renderTable();
});
document.getElementById("page-next").addEventListener("click", () => {
  state.offset += PAGE_SIZE;
  renderTable();
});
document.getElementById("cancel-button").addEventListener("click", () =>
  act("POST", `/api/jobs/${id}/cancel`, () => refresh()),
);
document.getElementById("delete-button").addEventListener("click", () => {
  if (window.confirm(`Delete screen ${id} and all its results? This cannot be undone.`)) {
    act("DELETE", `/api/jobs/${id}`, () => window.location.assign("/jobs"));
  }
});

refresh();
if (!FINISHED.has(page.dataset.status)) live = follow(page.dataset.events, { job: onJob });
