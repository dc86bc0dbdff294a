// Ghost text over a textarea, answered by POST /api/complete (see lsp_server/demo.py).
"use strict";

const DEBOUNCE_MS = 75; // a pause in typing this long asks for a suggestion
const LISTED = 40; // requests the panel keeps
const code = document.getElementById("code");
const overlay = document.getElementById("overlay");
// On the server, a page's requests supersede each other, not those of other pages.
const documentId = Math.random().toString(36).slice(2);

let ghost = null; // {text, at}: the suggestion shown and the caret it belongs to
let seen = ""; // the editor state (selection and text) that the ghost or next request is for
let timer = 0;
let edits = 0; // changes of text or caret so far: an answer to an older state is dropped
let sent = 0; // requests so far, to number them in the panel

function editorState() {
  return `${code.selectionStart}:${code.selectionEnd}:${code.value}`;
}

function syncScroll() {
  overlay.scrollTop = code.scrollTop;
  overlay.scrollLeft = code.scrollLeft;
}

function render() {
  const text = code.value;
  let parts = [text];
  if (ghost) {
    const span = document.createElement("span");
    span.className = "ghost";
    span.textContent = ghost.text;
    parts = [text.slice(0, ghost.at), span, text.slice(ghost.at)];
  }
  // One more line keeps the overlay as tall as the textarea when the text ends in a newline.
  overlay.replaceChildren(...parts, "\n ");
  syncScroll();
}

// Any change of text or caret takes the suggestion away and, after a pause, asks for another.
function changed() {
  const state = editorState();
  if (state === seen) return;
  seen = state;
  ghost = null;
  edits += 1;
  render();
  clearTimeout(timer);
  if (code.selectionStart === code.selectionEnd && code.value.trim()) {
    timer = setTimeout(request, DEBOUNCE_MS);
  }
}

async function request() {
  const number = ++sent;
  const asked = edits;
  const text = code.value;
  const at = code.selectionStart;
  // The API counts characters (code points); JavaScript strings count UTF-16 units.
  const offset = [...text.slice(0, at)].length;
  const started = performance.now();
  let answer;
  try {
    const response = await fetch("/api/complete", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, offset, document: documentId }),
    });
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
  } catch (error) {
    log(number, `error: ${error.message}`, "error");
    return;
  }
  const roundTrip = Math.round(performance.now() - started);
  const ms = `${Math.round(answer.latency_ms)} ms`;
  describe(answer);
  document.getElementById("latency").textContent = `${ms} (round trip ${roundTrip} ms)`;
  const suggestion = answer.suggestions[0];
  if (asked !== edits) {
    log(number, `${ms} dropped: stale`, "stale");
  } else if (!suggestion) {
    log(number, `${ms} no suggestion`, "empty");
  } else {
    log(number, `${ms} ${JSON.stringify(suggestion)}`, "shown");
    ghost = { text: suggestion, at };
    render();
  }
}

function describe(info) {
  for (const key of ["model", "backend", "device"]) {
    if (info[key] !== undefined) document.getElementById(key).textContent = info[key];
  }
}

function log(number, message, kind) {
  const row = document.createElement("li");
  row.className = kind;
  row.textContent = `#${number} ${message}`;
  row.title = row.textContent;
  const list = document.getElementById("requests");
  list.prepend(row);
  while (list.children.length > LISTED) list.lastChild.remove();
}

code.addEventListener("keydown", (event) => {
  const plain = !(event.shiftKey || event.ctrlKey || event.altKey || event.metaKey);
  if (event.key === "Tab" && plain) {
    event.preventDefault();
    // insertText keeps the browser's undo history (setting `value` would clear it).
    document.execCommand("insertText", false, ghost ? ghost.text : "    ");
  } else if (event.key === "Escape" && ghost) {
    event.preventDefault();
    ghost = null;
    render();
  }
});
code.addEventListener("input", changed);
code.addEventListener("keyup", changed); // the caret moved by arrow keys, Home, End, ...
code.addEventListener("pointerup", changed); // ... or by a click
code.addEventListener("scroll", syncScroll);

fetch("/api/info").then((response) => response.json()).then(describe);
render();
code.focus();
