// The screen form: post it to the API; show an error next to its field and keep what was typed.

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
  if (!box) {
    formError.textContent = message;
    formError.hidden = false;
    formError.focus();
    return;
  }
  const text = box.querySelector(".field-error");
  text.textContent = message;
  text.hidden = false;
  const input = box.querySelector("input, select");
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const data = new FormData(form);
  if (!data.has("skip_duplicates")) data.set("skip_duplicates", "false");
  button.disabled = true;
  status.textContent = "Reading the library and preparing the receptor…";
  try {
    const response = await fetch(form.action, { method: "POST", body: data });
    if (response.status === 201) {
      const created = await response.json();
      window.location.assign(`/screens/${created.job_id}`);
      return;
    }
    showError(await readError(response));
  } catch (error) {
    showError({ message: `The server could not be reached: ${error.message}`, field: null });
  } finally {
    button.disabled = false;
    status.textContent = "";
  }
});
