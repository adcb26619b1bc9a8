// Helpers shared by the pages: formatting, filling data-field elements, talking to the API.

export const FINISHED = new Set(["completed", "failed", "cancelled"]);

// Every request of these pages that changes something carries the session's CSRF token (the
// server refuses one without it); the token is in the page's <meta name="csrf-token">.
const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]')?.content;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const fetchFromHere = window.fetch.bind(window);
window.fetch = (input, init = {}) => {
  const method = (init.method || (input instanceof Request ? input.method : "GET")).toUpperCase();
  const url = new URL(input instanceof Request ? input.url : input, window.location.href);
  if (!CSRF_TOKEN || SAFE_METHODS.has(method) || url.origin !== window.location.origin) {
    return fetchFromHere(input, init);
  }
  const headers = new Headers(init.headers || (input instanceof Request ? input.headers : {}));
  headers.set("X-CSRF-Token", CSRF_TOKEN);
  return fetchFromHere(input, { ...init, headers });
};

const TIME_PARTS = {
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  second: "2-digit",
};
const thisYear = new Intl.DateTimeFormat(undefined, TIME_PARTS);
const otherYear = new Intl.DateTimeFormat(undefined, { ...TIME_PARTS, year: "numeric" });

// The API sends microseconds; some browsers only parse milliseconds.
export function parseTime(iso) {
  return new Date(iso.replace(/(\.\d{3})\d+/, "$1"));
}

export function formatScore(value) {
  return typeof value === "number" ? value.toFixed(3) : "—";
}

export function formatPercent(value) {
  return `${Math.round((value || 0) * 100)}%`;
}

// The same as format_duration in pages.py: "45 s", "2 min 05 s", "1 h 02 min".
export function formatDuration(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${pad(whole % 60)} s`;
  return `${Math.floor(whole / 3600)} h ${pad(Math.floor((whole % 3600) / 60))} min`;
}

export function setTime(element, iso) {
  if (!iso) {
    element.removeAttribute("datetime");
    element.removeAttribute("title");
    element.textContent = "—";
    return;
  }
  const date = parseTime(iso);
  element.dateTime = date.toISOString();
  element.title = `${date.toISOString().replace("T", " ").slice(0, 19)} UTC`;
  const format = date.getFullYear() === new Date().getFullYear() ? thisYear : otherYear;
  element.textContent = format.format(date);
}

const formats = {
  text: (element, value) => {
    element.textContent = value ?? "";
  },
  score: (element, value) => {
    element.textContent = formatScore(value);
  },
  percent: (element, value) => {
    element.textContent = formatPercent(value);
  },
  progress: (element, value) => {
    element.value = value || 0;
    element.textContent = formatPercent(value);
  },
  status: (element, value) => {
    element.className = `badge badge-${value}`;
    element.textContent = value;
  },
  time: setTime,
};

// Put a job's values into every [data-field] element under root, formatted by data-format.
export function fill(root, job) {
  for (const element of root.querySelectorAll("[data-field]")) {
    const name = element.dataset.field;
    if (name in job) formats[element.dataset.format || "text"](element, job[name]);
  }
}

// The message of an API error ({"error": {"code", "message", "field"}}), whatever came back.
export async function readError(response) {
  try {
    const body = await response.json();
    if (body.error) return body.error;
  } catch {
    // not JSON: a proxy's page, say
  }
  const message = `The server answered ${response.status} ${response.statusText}.`;
  return { code: "http_error", message, field: null };
}

function humanize(key) {
  return key.replaceAll("_", " ");
}

const isObject = (value) => value !== null && typeof value === "object";
const isMapping = (value) => isObject(value) && !Array.isArray(value);

function valueNode(value) {
  if (Array.isArray(value) && value.length === 0) return document.createTextNode("none");
  if (Array.isArray(value) && value.some(isMapping)) {
    const list = document.createElement("ul");
    list.className = "plain-list";
    for (const item of value) {
      const entry = document.createElement("li");
      entry.append(valueNode(item));
      list.append(entry);
    }
    return list;
  }
  if (Array.isArray(value)) return document.createTextNode(value.join(", "));
  if (isObject(value)) return definitionList(value);
  if (typeof value === "boolean") return document.createTextNode(value ? "yes" : "no");
  return document.createTextNode(value ?? "—");
}

// The same as the definitions macro in _macros.html.
export function definitionList(mapping) {
  const list = document.createElement("dl");
  list.className = "defs";
  for (const [key, value] of Object.entries(mapping)) {
    const term = document.createElement("dt");
    const detail = document.createElement("dd");
    term.textContent = humanize(key);
    detail.append(valueNode(value));
    list.append(term, detail);
  }
  return list;
}

// Follow a live stream of /api/events: handlers[name](data) for each event of that name.
// EventSource reconnects by itself after a dropped connection, sending the Last-Event-ID
// the server resumes from. When it gives up (the server answered an error), a new source
// opens after a pause, from the last event seen, so no change in between is lost. There
// is no polling: the browser only waits for the server to send.
export function follow(url, handlers) {
  let lastEventId = null;
  let source = null;
  let pause = 1000;
  let stopped = false;
  const setState = (state) => {
    document.documentElement.dataset.live = state;
  };
  const open = () => {
    const target = new URL(url, window.location.href);
    if (lastEventId) target.searchParams.set("since", lastEventId);
    source = new EventSource(target);
    source.addEventListener("open", () => {
      pause = 1000;
      setState("open");
    });
    source.addEventListener("error", () => {
      if (stopped) return;
      setState("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(open, pause);
        pause = Math.min(pause * 2, 30000);
      }
    });
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        if (event.lastEventId) lastEventId = event.lastEventId;
        handler(JSON.parse(event.data), event);
      });
    }
  };
  open();
  return {
    close() {
      stopped = true;
      source?.close();
      setState("closed");
    },
  };
}

export function element(tag, properties = {}, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

// A file as 3Dmol.js names its format, from the file name: "mol" files are SDF records.
export function structureFormat(filename) {
  const extension = filename.split(".").pop().toLowerCase();
  const formats = { mol: "sdf", sdf: "sdf", mol2: "mol2", pdb: "pdb", pdbqt: "pdbqt" };
  return { ...formats, cif: "cif", mmcif: "cif" }[extension] || null;
}

function localizeTimes() {
  for (const element of document.querySelectorAll("time[datetime]")) {
    setTime(element, element.getAttribute("datetime"));
  }
}

localizeTimes();
