// The submit form: posts to /api/jobs, shows errors next to their field, loads the example
// or a cloned job's inputs, and previews the search box over the receptor in 3D (click an
// atom or choose a pocket found by /api/prepare to place it).

import { element, readError, structureFormat } from "./common.js";
import { DockViewer, residueLabel } from "./viewer.js";

const form = document.getElementById("submit-form");
const formError = document.getElementById("form-error");
const submitButton = document.getElementById("submit-button");
const status = document.getElementById("submit-status");
const exampleButton = document.getElementById("try-example");
const previewElement = document.getElementById("preview-viewer");
const previewMessage = document.getElementById("preview-message");
const pockets = document.getElementById("pockets");
const pocketList = document.getElementById("pocket-list");
const pocketStatus = document.getElementById("pocket-status");

const BOX_FIELDS = ["center_x", "center_y", "center_z", "size_x", "size_y", "size_z"];
const DEFAULT_SIZE = "20";

let preview = null;
let pocketsAvailable = true;
let receptorVersion = 0;

function fieldBox(name) {
  return form.querySelector(`.field[data-field-name="${name}"]`);
}

function clearErrors() {
  formError.hidden = true;
  for (const message of form.querySelectorAll(".field-error")) message.hidden = true;
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

function showFormError(message) {
  formError.textContent = message;
  formError.hidden = false;
  formError.focus();
}

// Next to the field the API named, when that field is on show; at the top otherwise.
function showError({ message, field }) {
  const box = field && fieldBox(field);
  if (!box || box.closest("[hidden]")) {
    showFormError(message);
    return;
  }
  const input = form.elements[field];
  const text = box.querySelector(".field-error");
  text.textContent = message;
  text.hidden = false;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

function boxMode() {
  return form.querySelector('input[name="box_mode"]:checked').value;
}

// Only the box fields of the chosen mode are enabled, so only they are sent.
function showBoxMode(mode) {
  form.querySelector(`input[name="box_mode"][value="${mode}"]`).checked = true;
  for (const group of form.querySelectorAll(".box-mode")) {
    const chosen = group.dataset.boxMode === mode;
    group.hidden = !chosen;
    group.disabled = !chosen;
  }
  drawBox();
}

function setBusy(busy, message) {
  submitButton.disabled = busy;
  status.textContent = message;
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const data = new FormData(form);
  data.delete("box_mode");
  setBusy(true, "Uploading and checking the input…");
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
    });
  } catch {
    setBusy(false, "");
    showFormError("The server could not be reached. Check the connection and try again.");
    return;
  }
  if (response.status === 201) {
    const created = await response.json();
    status.textContent = `Job ${created.job_id} submitted; opening it…`;
    window.location.assign(`/jobs/${created.job_id}`);
    return;
  }
  setBusy(false, "");
  showError(await readError(response));
}

// -- files -----------------------------------------------------------------------------------

// A "Remove" button next to each file input that holds a file, since browsers offer none.
function showRemoveButton(input) {
  form.querySelector(`[data-clears="${input.name}"]`).hidden = input.files.length === 0;
}

function clearFile(input) {
  input.value = "";
  showRemoveButton(input);
  fileChanged(input);
}

async function putFile(name, url, filename = url.split("/").pop()) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const transfer = new DataTransfer();
  transfer.items.add(new File([await response.blob()], filename));
  form.elements[name].files = transfer.files;
  showRemoveButton(form.elements[name]);
}

// Fills the form from {files: {name: url or {url, filename}}, values, box_mode}.
async function prefill(source) {
  const files = Object.entries(source.files).map(([name, file]) =>
    typeof file === "string" ? putFile(name, file) : putFile(name, file.url, file.filename),
  );
  await Promise.all(files);
  for (const [name, value] of Object.entries(source.values)) form.elements[name].value = value;
  showBoxMode(source.box_mode || "explicit");
  for (const name of Object.keys(source.files)) fileChanged(form.elements[name]);
}

async function loadExample() {
  const example = JSON.parse(exampleButton.dataset.example);
  clearErrors();
  exampleButton.disabled = true;
  status.textContent = "Loading the example…";
  try {
    form.elements.smiles.value = "";
    form.elements.ligand.value = "";
    clearFile(form.elements.reference_ligand);
    await prefill({ ...example, box_mode: "explicit" });
    status.textContent = `Example loaded: ${example.label}. Press Start docking.`;
    submitButton.focus();
  } catch {
    status.textContent = "";
    showFormError("The example files could not be loaded from the server.");
  } finally {
    exampleButton.disabled = false;
  }
}

async function loadClone() {
  const source = JSON.parse(form.dataset.prefill);
  status.textContent = `Loading the input files of job ${source.job_id}…`;
  try {
    await prefill({ ...source, values: {} });
    status.textContent = `The inputs of job ${source.job_id} are loaded.`;
  } catch {
    status.textContent = "";
    showFormError(
      `The input files of job ${source.job_id} could not be loaded; choose them again.`,
    );
  }
}

// -- the 3D preview --------------------------------------------------------------------------

function readBox() {
  const values = BOX_FIELDS.map((name) => form.elements[name].value.trim());
  if (values.some((value) => value === "")) return null;
  const numbers = values.map(Number);
  if (numbers.some((value) => !Number.isFinite(value))) return null;
  if (numbers.slice(3).some((value) => value <= 0)) return null;
  return Object.fromEntries(BOX_FIELDS.map((name, index) => [name, numbers[index]]));
}

// The box a reference ligand gives: its heavy atoms' extent plus the padding on every side,
// as the server computes it.
function referenceBox() {
  const atoms = preview?.reference?.selectedAtoms({ not: { elem: "H" } }) || [];
  if (!atoms.length) return null;
  const padding = Number(form.elements.padding.value || 4);
  const box = {};
  for (const axis of ["x", "y", "z"]) {
    const values = atoms.map((atom) => atom[axis]);
    const low = Math.min(...values);
    const high = Math.max(...values);
    box[`center_${axis}`] = (low + high) / 2;
    box[`size_${axis}`] = high - low + 2 * padding;
  }
  return box;
}

function drawBox() {
  if (!preview) return;
  preview.setBox(boxMode() === "reference" ? referenceBox() : readBox());
  preview.toggle("reference", boxMode() === "reference");
}

async function ensurePreview() {
  if (!preview) {
    preview = await DockViewer.create(previewElement);
    preview.onAtomClick = centreOn;
  }
  return preview;
}

function setBoxFields(center, size) {
  BOX_FIELDS.slice(0, 3).forEach((name, axis) => {
    form.elements[name].value = Number(center[axis]).toFixed(3);
  });
  BOX_FIELDS.slice(3).forEach((name, axis) => {
    if (size) form.elements[name].value = Number(size[axis]).toFixed(1);
    else if (!form.elements[name].value) form.elements[name].value = DEFAULT_SIZE;
  });
}

function centreOn(atom) {
  setBoxFields([atom.x, atom.y, atom.z], null);
  showBoxMode("explicit");
  pocketStatus.textContent = `Box centred on ${residueLabel(atom)} ${atom.atom}.`;
  for (const button of pocketList.querySelectorAll("button")) {
    button.setAttribute("aria-pressed", "false");
  }
}

async function showReceptor(input) {
  const version = ++receptorVersion;
  const file = input.files[0];
  const format = file && structureFormat(file.name);
  if (!file || !["pdb", "pdbqt", "cif"].includes(format)) {
    if (preview?.receptor) {
      preview.viewer.removeModel(preview.receptor);
      preview.receptor = null;
      preview.render();
    }
    previewMessage.hidden = false;
    showPockets(null);
    return;
  }
  try {
    const text = await file.text();
    const viewer = await ensurePreview();
    if (version !== receptorVersion) return;
    const atoms = viewer.setReceptor(text, format);
    if (!atoms) throw new Error("no atoms were found in it");
    drawBox();
    viewer.zoomToBox();
    viewer.render();
    previewMessage.hidden = true;
    previewElement.dataset.state = "ready";
  } catch (error) {
    previewMessage.textContent = `The receptor could not be shown: ${error.message ?? error}`;
    previewMessage.hidden = false;
    return;
  }
  findPockets(file, version);
}

async function showReference(input) {
  const file = input.files[0];
  const format = file && structureFormat(file.name);
  const viewer = preview || (file ? await ensurePreview() : null);
  if (!viewer) return;
  viewer.setReference(file && format ? await file.text() : "", format);
  drawBox();
  if (!viewer.receptor && viewer.reference) {
    viewer.viewer.zoomTo({ model: viewer.reference });
    previewMessage.hidden = true;
  }
  viewer.render();
}

function fileChanged(input) {
  if (input.name === "receptor") showReceptor(input);
  if (input.name === "reference_ligand") showReference(input);
}

// -- pockets (POST /api/prepare with pockets=true) -------------------------------------------

function pocketButton(pocket) {
  const [sx, sy, sz] = pocket.size.map((side) => Number(side).toFixed(0));
  const facts = [`${sx} × ${sy} × ${sz} Å`];
  if (pocket.volume != null) facts.push(`${Number(pocket.volume).toFixed(0)} Å³`);
  if (pocket.score != null) facts.push(`score ${Number(pocket.score).toFixed(2)}`);
  const residues = (pocket.residues || []).map((label) => label.split(":").slice(1).join(" "));
  const button = element(
    "button",
    { type: "button", className: "pocket" },
    element("strong", { textContent: `Pocket ${pocket.rank}` }),
    element("span", { className: "pocket-facts", textContent: facts.join(" · ") }),
    element("span", {
      className: "pocket-residues",
      textContent: residues.slice(0, 8).join(", ") + (residues.length > 8 ? " …" : ""),
    }),
  );
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", () => {
    setBoxFields(pocket.center, pocket.size);
    showBoxMode("explicit");
    for (const other of pocketList.querySelectorAll("button")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    preview?.zoomToBox();
    preview?.render();
    pocketStatus.textContent = `The box is on pocket ${pocket.rank}.`;
  });
  return element("li", {}, button);
}

function showPockets(found) {
  pocketList.replaceChildren(...(found || []).map(pocketButton));
  pockets.hidden = !found || found.length === 0;
}

async function findPockets(file, version) {
  if (!pocketsAvailable) return;
  const data = new FormData();
  data.append("receptor", file, file.name);
  data.append("pockets", "true");
  pocketStatus.textContent = "Looking for pockets in the receptor…";
  let response;
  try {
    response = await fetch("/api/prepare", {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
    });
  } catch {
    pocketStatus.textContent = "";
    return;
  }
  if (version !== receptorVersion) return;
  if (response.status === 404 || response.status === 405) {
    // This server has no pocket finder: the picker stays hidden.
    pocketsAvailable = false;
    pockets.dataset.state = "unavailable";
    pocketStatus.textContent = "";
    return;
  }
  if (!response.ok) {
    pocketStatus.textContent = `No pockets: ${(await readError(response)).message}`;
    showPockets(null);
    return;
  }
  const answer = await response.json();
  showPockets(answer.pockets);
  pockets.dataset.state = "ready";
  const count = answer.pockets?.length || 0;
  pocketStatus.textContent = count
    ? `${count} pocket${count === 1 ? "" : "s"} found; choose one to put the box there.`
    : "No pockets were found in this receptor.";
}

// -- wiring ----------------------------------------------------------------------------------

form.addEventListener("submit", submit);
exampleButton.addEventListener("click", loadExample);
for (const radio of form.querySelectorAll('input[name="box_mode"]')) {
  radio.addEventListener("change", () => showBoxMode(radio.value));
}
for (const input of form.querySelectorAll('input[type="file"]')) {
  input.addEventListener("change", () => {
    showRemoveButton(input);
    fileChanged(input);
  });
  showRemoveButton(input);
}
for (const button of form.querySelectorAll("[data-clears]")) {
  const input = form.elements[button.dataset.clears];
  button.addEventListener("click", () => {
    clearFile(input);
    input.focus();
  });
}
for (const name of [...BOX_FIELDS, "padding"]) {
  form.elements[name].addEventListener("input", drawBox);
}
showBoxMode(boxMode());
if (form.dataset.prefill) loadClone();
// A browser may keep the chosen files when the page is reloaded: show them.
for (const input of form.querySelectorAll('input[type="file"]')) {
  if (input.files.length) fileChanged(input);
}
