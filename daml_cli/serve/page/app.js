// daml serve page: send the picked or dropped image to POST /search and show the gallery's nearest images.
"use strict";

const drop = document.getElementById("drop");
const fileInput = document.getElementById("file");
const kInput = document.getElementById("k");
const statusLine = document.getElementById("status");
const answer = document.getElementById("answer");
const results = document.getElementById("results");
let queryUrl = null;

function say(text, isError) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "";
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hitFigure(hit) {
  const figure = element("figure", "hit");
  const image = element("img");
  image.src = "/thumb/" + encodeURIComponent(hit.id);
  image.alt = "rank " + hit.rank;
  const caption = element("figcaption");
  const name = hit.class_name !== null && hit.class_name !== undefined ? hit.class_name
    : (hit.label !== null && hit.label !== undefined ? "label " + hit.label : "");
  caption.append(element("span", "rank", "#" + hit.rank + " "), element("span", "class", name), element("br"),
    element("span", "score", "score " + Number(hit.score).toFixed(4)), element("br"),
    element("span", "path", hit.path.split("/").pop()));
  caption.title = hit.path;
  figure.append(image, caption);
  return figure;
}

async function search(file) {
  if (!file) return;
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = URL.createObjectURL(file);
  document.getElementById("query-image").src = queryUrl;
  document.getElementById("query-name").textContent = file.name;
  const k = Math.max(1, parseInt(kInput.value, 10) || 10);
  say("searching…", false);
  const started = performance.now();
  try {
    const response = await fetch("/search?k=" + k + "&name=" + encodeURIComponent(file.name), {
      method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" },
    });
    const payload = await response.json();
    if (!response.ok) {
      say(payload.error || ("request failed: " + response.status), true);
      answer.hidden = true;
      return;
    }
    results.replaceChildren(...payload[0].results.map(hitFigure));
    answer.hidden = false;
    say(payload[0].results.length + " results in " + Math.round(performance.now() - started) + " ms", false);
  } catch (error) {
    say("the server did not answer: " + error, true);
  }
}

fileInput.addEventListener("change", () => search(fileInput.files[0]));
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  search(event.dataTransfer.files[0]);
});

fetch("/health").then((response) => response.json()).then((health) => {
  document.getElementById("gallery-info").textContent =
    health.gallery + " gallery images · " + health.index_type + " index · " + health.dimension + "-d embeddings";
  kInput.value = health.default_k;
  kInput.max = health.max_k;
}).catch(() => say("the server did not answer /health", true));
