// A screen's page: counts, leaderboard, histogram and the ligand table follow /api/events.
// Each event of this screen triggers one refresh of what changed (at most one a second);
// nothing is polled on a timer.

import { FINISHED, element, fill, follow, formatDuration, formatScore, readError } from "./common.js";
import { histogram } from "./plots.js";
import { DockViewer } from "./viewer.js";

const page = document.getElementById("screen");
const id = page.dataset.screenId;
const api = `/api/screens/${id}`;
const PAGE_SIZE = 50;
const table = document.getElementById("ligands");
const filters = document.getElementById("ligand-filters");
const state = { sort: "score", order: "asc", offset: 0, total: 0 };
let chart = null;
let viewer = null;

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error((await readError(response)).message);
  return response.json();
}

function depiction(smiles, width = 96, height = 64) {
  if (!smiles) return "";
  const query = new URLSearchParams({ smiles, width, height });
  return element("img", {
    className: "depiction",
    src: `/api/depict.svg?${query}`,
    width,
    height,
    loading: "lazy",
    alt: `2D structure: ${smiles}`,
  });
}

function showButton(row) {
  const button = element("button", { type: "button", className: "button link" }, row.name);
  button.dataset.show = row.index;
  return button;
}

function renderLeaderboard(rows) {
  const body = document.querySelector("#leaderboard tbody");
  body.replaceChildren(
    ...rows.map((row, rank) => {
      const line = element(
        "tr",
        {},
        element("td", { className: "num" }, String(rank + 1)),
        element("td", {}, depiction(row.smiles)),
        element("td", {}, showButton(row)),
        element("td", { className: "num" }, formatScore(row.score)),
        element("td", { className: "num" }, row.ligand_efficiency?.toFixed(3) ?? "—"),
      );
      line.dataset.index = row.index;
      return line;
    }),
  );
  if (!rows.length) body.append(element("tr", { className: "empty-row" }, element("td", { colSpan: 5 }, "No ligand docked yet.")));
}

function renderCounts(overview) {
  for (const [key, value] of Object.entries(overview.counts)) {
    const cell = page.querySelector(`[data-count="${key}"]`);
    if (cell) cell.textContent = value;
  }
  const rate = overview.throughput_per_minute;
  document.getElementById("throughput").textContent = rate ? `${rate.toFixed(1)} / min` : "—";
  document.getElementById("eta").textContent = overview.eta_seconds ? formatDuration(overview.eta_seconds) : "—";
}

async function renderHistogram() {
  const canvas = document.getElementById("histogram");
  const scores = await allScores();
  if (chart) chart.update(scores);
  else chart = await histogram(canvas, scores, { width: 0.5, label: "Ligands" });
}

async function allScores() {
  const data = await getJSON(`${api}/histogram?bins=40`);
  document.getElementById("above-zero").textContent = data.above_zero
    ? `${data.above_zero} ligand(s) scored above 0 (did not fit the box) and are not shown.`
    : "";
  // Expand bin counts to values at the bin centres; the chart bins them again at 0.5 kcal/mol.
  const values = [];
  data.counts.forEach((count, index) => {
    const centre = (data.edges[index] + data.edges[index + 1]) / 2;
    for (let n = 0; n < count; n += 1) values.push(centre);
  });
  return values;
}

function ligandRow(row) {
  const note = row.status === "duplicate" ? `same as ligand ${row.duplicate_of + 1}` : row.error || "";
  const cells = [
    element("td", { className: "num" }, String(row.index + 1)),
    element("td", {}, row.status === "completed" ? showButton(row) : row.name),
    element("td", {}, element("span", { className: `badge badge-${row.status === "completed" ? "completed" : row.status === "pending" ? "pending" : "failed"}` }, row.status)),
    element("td", { className: "num" }, formatScore(row.score)),
    element("td", { className: "num" }, row.ligand_efficiency?.toFixed(3) ?? "—"),
    element("td", { className: "num" }, row.heavy_atoms ?? "—"),
    element("td", { className: "num" }, row.molecular_weight?.toFixed(1) ?? "—"),
    element("td", { className: "num" }, row.logp?.toFixed(2) ?? "—"),
    element("td", { className: "note" }, note),
  ];
  const line = element("tr", {}, ...cells);
  line.dataset.index = row.index;
  return line;
}

async function renderTable() {
  const query = new URLSearchParams({ sort: state.sort, order: state.order, limit: PAGE_SIZE, offset: state.offset });
  for (const [key, value] of new FormData(filters)) if (value !== "") query.set(key, value);
  const data = await getJSON(`${api}/ligands?${query}`);
  state.total = data.total;
  table.tBodies[0].replaceChildren(...data.ligands.map(ligandRow));
  const last = Math.min(state.offset + PAGE_SIZE, data.total);
  document.getElementById("page-info").textContent = data.total
    ? `${state.offset + 1}–${last} of ${data.total}`
    : "No ligand matches.";
  document.getElementById("page-previous").disabled = state.offset === 0;
  document.getElementById("page-next").disabled = last >= data.total;
  for (const header of table.tHead.querySelectorAll("th[aria-sort]")) {
    const key = header.querySelector("button").dataset.sort;
    header.setAttribute("aria-sort", key === state.sort ? (state.order === "asc" ? "ascending" : "descending") : "none");
  }
}

async function showLigand(index) {
  const ligand = await getJSON(`${api}/ligands/${index}`);
  const section = document.getElementById("ligand-view");
  section.hidden = false;
  document.getElementById("ligand-name").textContent = ligand.name;
  document.getElementById("ligand-download").href = `${api}/ligands/${index}/poses.sdf`;
  document.getElementById("ligand-facts").textContent =
    `Best score ${formatScore(ligand.score)} kcal/mol · ligand efficiency ${ligand.ligand_efficiency?.toFixed(3)} · ` +
    `${ligand.heavy_atoms} heavy atoms · MW ${ligand.molecular_weight?.toFixed(1)} · logP ${ligand.logp?.toFixed(2)} · ${ligand.smiles}`;
  const holder = document.getElementById("viewer");
  if (!viewer) {
    viewer = await DockViewer.create(holder);
    const receptor = await fetch(holder.dataset.receptor);
    viewer.setReceptor(await receptor.text(), "pdbqt");
    viewer.setBox(JSON.parse(holder.dataset.box));
  }
  viewer.setPoses(ligand.poses_sdf || "");
  viewer.showPose(1, { zoom: true });
  holder.dataset.ligand = index;
  section.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

let refreshing = false;
let again = false;
async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const overview = await getJSON(api);
    renderCounts(overview);
    renderLeaderboard(overview.leaderboard);
    await Promise.all([renderHistogram(), renderTable()]);
    page.dataset.refreshed = String(Date.now());
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

function onJob(job) {
  fill(page, job);
  page.dataset.status = job.status;
  if (FINISHED.has(job.status)) document.getElementById("cancel-button").hidden = true;
  refresh();
}

async function act(method, url, then) {
  const response = await fetch(url, { method });
  if (response.ok) return then();
  const error = document.getElementById("action-error");
  error.textContent = (await readError(response)).message;
  error.hidden = false;
}

page.addEventListener("click", (event) => {
  const target = event.target.closest("[data-show]");
  if (target) showLigand(target.dataset.show);
  const sort = event.target.closest("button.sort");
  if (sort) {
    state.order = state.sort === sort.dataset.sort && state.order === "asc" ? "desc" : "asc";
    state.sort = sort.dataset.sort;
    state.offset = 0;
    renderTable();
  }
});
filters.addEventListener("input", () => {
  state.offset = 0;
  renderTable();
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
  if (window.confirm("Delete this screen and all its results?")) {
    act("DELETE", `/api/jobs/${id}`, () => window.location.assign("/jobs"));
  }
});

refresh();
follow(page.dataset.events, { job: onJob });
