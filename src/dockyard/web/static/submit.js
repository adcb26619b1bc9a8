// The submit form: posts to /api/jobs, shows errors next to their field, loads the example.

import { readError } from "./common.js";

const form = document.getElementById("submit-form");
const formError = document.getElementById("form-error");
const submitButton = document.getElementById("submit-button");
const status = document.getElementById("submit-status");
const exampleButton = document.getElementById("try-example");

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

// Only the box fields of the chosen mode are enabled, so only they are sent.
function showBoxMode(mode) {
  for (const group of form.querySelectorAll(".box-mode")) {
    const chosen = group.dataset.boxMode === mode;
    group.hidden = !chosen;
    group.disabled = !chosen;
  }
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

// A "Remove" button next to each file input that holds a file, since browsers offer none.
function showRemoveButton(input) {
  form.querySelector(`[data-clears="${input.name}"]`).hidden = input.files.length === 0;
}

function clearFile(input) {
  input.value = "";
  showRemoveButton(input);
}

async function putFile(name, url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const filename = url.split("/").pop();
  const transfer = new DataTransfer();
  transfer.items.add(new File([await response.blob()], filename));
  form.elements[name].files = transfer.files;
  showRemoveButton(form.elements[name]);
}

async function loadExample() {
  const example = JSON.parse(exampleButton.dataset.example);
  clearErrors();
  exampleButton.disabled = true;
  status.textContent = "Loading the example…";
  try {
    await Promise.all(Object.entries(example.files).map(([name, url]) => putFile(name, url)));
    form.elements.smiles.value = "";
    clearFile(form.elements.reference_ligand);
    form.querySelector('input[name="box_mode"][value="explicit"]').checked = true;
    showBoxMode("explicit");
    for (const [name, value] of Object.entries(example.values)) form.elements[name].value = value;
    status.textContent = `Example loaded: ${example.label}. Press Start docking.`;
    submitButton.focus();
  } catch {
    status.textContent = "";
    showFormError("The example files could not be loaded from the server.");
  } finally {
    exampleButton.disabled = false;
  }
}

form.addEventListener("submit", submit);
exampleButton.addEventListener("click", loadExample);
for (const radio of form.querySelectorAll('input[name="box_mode"]')) {
  radio.addEventListener("change", () => showBoxMode(radio.value));
}
for (const input of form.querySelectorAll('input[type="file"]')) {
  input.addEventListener("change", () => showRemoveButton(input));
  showRemoveButton(input);
}
for (const button of form.querySelectorAll("[data-clears]")) {
  const input = form.elements[button.dataset.clears];
  button.addEventListener("click", () => {
    clearFile(input);
    input.focus();
  });
}
showBoxMode(form.querySelector('input[name="box_mode"]:checked').value);
