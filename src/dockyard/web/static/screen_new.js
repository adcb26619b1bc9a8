// The screen form: post it to the API and open the screen's page; after an error, show the
// message under the field it concerns and keep everything that was typed or chosen.

import { readError } from "./common.js";

const form = document.getElementById("screen-form");
const formError = document.getElementById("form-error");
const status = document.getElementById("submit-status");
const button = document.getElementById("submit-button");

function clearErrors() {
  formError.hidden = true;
  for (const message of form.querySelectorAll(".field-error")) message.hidden = true;
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showError({ message, field }) {
  const box = field && form.querySelector(`.field[data-field-name="${field}"]`);
  const input = box?.querySelector("input, select");
  if (!input || input.disabled) {
    formError.textContent = message;
    formError.hidden = false;
    formError.focus();
    return;
  }
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

form.addEventListener("change", (event) => {
  if (event.target.name === "box_mode") showBoxMode(event.target.value);
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const data = new FormData(form);
  data.delete("box_mode");
  if (!data.has("skip_duplicates")) data.set("skip_duplicates", "false");
  button.disabled = true;
  status.textContent = "Reading the library and preparing the receptor…";
  try {
    const response = await fetch(form.action, { method: "POST", body: data });
    if (response.status === 201) {
      const created = await response.json();
      status.textContent = `Screen ${created.job_id} created with ${created.total} ligands; opening it…`;
      window.location.assign(`/screens/${created.job_id}`);
      return;
    }
    showError(await readError(response));
  } catch (error) {
    showError({ message: `The server could not be reached: ${error.message}`, field: null });
  }
  button.disabled = false;
  status.textContent = "";
});

showBoxMode(form.querySelector('input[name="box_mode"]:checked').value);
