// The job list: rows follow /api/events in place; new jobs appear where they belong.

import { fill, follow } from "./common.js";

const table = document.getElementById("jobs");
const rows = table.tBodies[0];
const template = document.getElementById("job-row-template");
const statusFilter = table.dataset.statusFilter;
const fullPage = table.dataset.fullPage === "yes";

function rowFor(id) {
  return rows.querySelector(`tr[data-job-id="${id}"]`);
}

// Rows are newest first: a job goes before the first row with a smaller id. Below the last
// row only when this page holds every job; otherwise it belongs on an older page.
function placeFor(job) {
  const older = [...rows.querySelectorAll("tr[data-job-id]")].find(
    (row) => Number(row.dataset.jobId) < job.id,
  );
  if (older) return { before: older };
  return fullPage ? null : { before: null };
}

// A new row's ligand drawing: the job's SMILES is in its parameters, read once.
async function addDepiction(row, jobId) {
  const response = await fetch(`/api/jobs/${jobId}`, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const smiles = (await response.json()).params?.ligand?.smiles;
  if (!smiles) return;
  const image = row.querySelector("img.depiction");
  image.src = `/api/depict.svg?smiles=${encodeURIComponent(smiles)}&width=120&height=72`;
  image.alt = `2D structure: ${smiles}`;
  image.hidden = false;
}

function insertRow(job) {
  const wanted = !statusFilter || job.status === statusFilter;
  if (table.dataset.liveInsert !== "yes" || !wanted) return null;
  const place = placeFor(job);
  if (!place) return null;
  const row = template.content.firstElementChild.cloneNode(true);
  row.dataset.jobId = job.id;
  const page = job.kind === "screen" ? "screens" : "jobs";
  for (const link of row.querySelectorAll("a")) link.href = `/${page}/${job.id}`;
  if (page === "screens") {
    const tag = Object.assign(document.createElement("span"), { className: "kind-tag", textContent: "screen" });
    row.querySelector("td.name").append(" ", tag);
  }
  rows.querySelector(".empty-row")?.remove();
  rows.insertBefore(row, place.before);
  addDepiction(row, job.id);
  return row;
}

function onJob(job) {
  const row = rowFor(job.id) || insertRow(job);
  if (!row) return;
  fill(row, job);
  row.dataset.status = job.status;
}

follow(table.dataset.events, { job: onJob });
