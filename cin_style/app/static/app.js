// The cin-style page: a photo, a blend of styles, painted regions, and POST /api/stylize for every change
// (a 512 px preview) or on demand (full size). Nothing leaves this machine but the requests to the local app.
"use strict";

const $ = (id) => document.getElementById(id);
const REGION_COLOURS = ["#e0402a", "#2a6ee0"];
const BLEND = "__blend__";  // a region's style choice that means the gallery's blend
const state = { styles: [], weights: new Map(), photo: null, file: null, regions: [], painted: [false, false],
                brush: -1, request: 0, downloadUrl: null };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

async function loadStyles() {
  const response = await fetch("/api/styles");
  state.styles = await response.json();
  const gallery = $("gallery");
  for (const style of state.styles) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "card";
    card.dataset.name = style.name;
    card.innerHTML = `<img loading="lazy" alt=""><span></span><small></small>`;
    card.querySelector("img").src = `/api/sample/${style.index}`;
    card.querySelector("span").textContent = style.title;
    card.querySelector("small").textContent = [style.artist, style.year].filter(Boolean).join(", ");
    card.addEventListener("click", () => toggleStyle(style.name));
    gallery.appendChild(card);
  }
  for (const index of [0, 1]) {
    const select = $(`region-style-${index}`);
    select.add(new Option("the blend above", BLEND));
    for (const style of state.styles) select.add(new Option(style.title, style.name));
    select.selectedIndex = Math.min(index + 2, state.styles.length);
    select.addEventListener("change", schedulePreview);
  }
  toggleStyle(state.styles[0].name);
  setStatus("Drop, paste or pick a photo.");
}

function toggleStyle(name) {
  if (state.weights.has(name) && state.weights.size > 1) state.weights.delete(name);
  else if (!state.weights.has(name)) state.weights.set(name, 50);
  for (const card of document.querySelectorAll(".card")) {
    card.classList.toggle("selected", state.weights.has(card.dataset.name));
  }
  renderBlend();
  schedulePreview();
}

function renderBlend() {
  const blend = $("blend");
  blend.replaceChildren();
  for (const [name, weight] of state.weights) {
    const label = document.createElement("label");
    const title = state.styles.find((s) => s.name === name).title;
    label.innerHTML = `<span></span><input type="range" min="1" max="100">`;
    label.querySelector("span").textContent = title;
    const slider = label.querySelector("input");
    slider.value = weight;
    slider.dataset.style = name;
    slider.setAttribute("aria-label", `weight of ${title}`);
    slider.addEventListener("input", () => { state.weights.set(name, Number(slider.value)); schedulePreview(); });
    blend.appendChild(label);
  }
}

function blendText() {
  return [...state.weights].map(([name, weight]) => `${name}:${weight}`).join(",");
}

// ------------------------------------------------------------------ the photo and the brushes
async function usePhoto(file) {
  if (!file || !file.type.startsWith("image/")) { setStatus("That is not an image file.", true); return; }
  let bitmap;
  try { bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }); }
  catch (error) { setStatus(`Cannot read that image (${error.message}).`, true); return; }
  state.file = file;
  state.photo = bitmap;
  for (const canvas of [$("photo"), $("paint")]) { canvas.width = bitmap.width; canvas.height = bitmap.height; }
  $("photo").getContext("2d").drawImage(bitmap, 0, 0);
  state.regions = [0, 1].map(() => {
    const mask = document.createElement("canvas");
    mask.width = bitmap.width; mask.height = bitmap.height;
    const context = mask.getContext("2d");
    context.fillStyle = "black"; context.fillRect(0, 0, mask.width, mask.height);
    return mask;
  });
  state.painted = [false, false];
  $("stage").hidden = false;
  $("drop-hint").hidden = true;
  redrawPaint();
  schedulePreview();
}

function redrawPaint() {
  const paint = $("paint").getContext("2d");
  paint.clearRect(0, 0, paint.canvas.width, paint.canvas.height);
  state.regions.forEach((mask, index) => {
    const tinted = document.createElement("canvas");
    tinted.width = mask.width; tinted.height = mask.height;
    const context = tinted.getContext("2d");
    context.fillStyle = REGION_COLOURS[index]; context.fillRect(0, 0, mask.width, mask.height);
    context.globalCompositeOperation = "destination-in";
    const alpha = maskAsAlpha(mask);
    context.drawImage(alpha, 0, 0);
    paint.drawImage(tinted, 0, 0);
  });
}

function maskAsAlpha(mask) {  // white-on-black mask -> white with the mask as alpha
  const copy = document.createElement("canvas");
  copy.width = mask.width; copy.height = mask.height;
  const context = copy.getContext("2d");
  const data = mask.getContext("2d").getImageData(0, 0, mask.width, mask.height);
  for (let i = 0; i < data.data.length; i += 4) { data.data[i + 3] = data.data[i]; }
  context.putImageData(data, 0, 0);
  return copy;
}

function paintAt(event) {
  if (state.brush === -1 || !state.photo) return;
  const rect = $("paint").getBoundingClientRect();
  const x = (event.clientX - rect.left) * $("paint").width / rect.width;
  const y = (event.clientY - rect.top) * $("paint").height / rect.height;
  const radius = Number($("brush-size").value) * $("paint").width / rect.width / 2;
  state.regions.forEach((mask, index) => {
    const context = mask.getContext("2d");
    const mine = state.brush === index;
    if (!mine && state.brush !== "eraser" && typeof state.brush === "number") {
      context.fillStyle = "black";  // a region's brush takes the pixels from the other region
    } else {
      context.fillStyle = mine ? "white" : "black";
    }
    context.beginPath(); context.arc(x, y, radius, 0, 2 * Math.PI); context.fill();
    if (mine) state.painted[index] = true;
  });
  redrawPaint();
}

// ------------------------------------------------------------------ requests
let previewTimer = null;
function schedulePreview() {
  if (!state.photo) return;
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => stylize(true), 350);
}

function maskBlob(mask) {
  return new Promise((resolve) => mask.toBlob(resolve, "image/png"));
}

async function stylize(preview) {
  if (!state.file) return;
  if (!preview) clearTimeout(previewTimer);  // a waiting preview must not replace the full-size result
  const id = ++state.request;
  const form = new FormData();
  form.append("image", state.file);
  form.append("style", blendText());
  form.append("strength", String(Number($("strength").value) / 100));
  form.append("preserve_color", $("preserve").checked ? "true" : "false");
  form.append("style_scale", $("scale").value);
  form.append("preview", preview ? "true" : "false");
  for (const index of [0, 1]) {
    if (!state.painted[index]) continue;
    form.append("region_mask", await maskBlob(state.regions[index]), `region${index}.png`);
    const choice = $(`region-style-${index}`).value;
    form.append("region_style", choice === BLEND ? blendText() : choice);
  }
  setStatus(preview ? "Previewing…" : "Stylizing at full size…");
  const started = performance.now();
  let response;
  try { response = await fetch("/api/stylize", { method: "POST", body: form }); }
  catch (error) { setStatus(`The app did not answer (${error.message}).`, true); return; }
  if (id !== state.request) return;  // a newer request is on its way
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error; } catch (error) { /* not JSON */ }
    setStatus(message, true);
    return;
  }
  const blob = await response.blob();
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = URL.createObjectURL(blob);
  $("result").src = state.downloadUrl;
  $("result").dataset.kind = preview ? "preview" : "full";
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (!preview) { $("download").href = state.downloadUrl; $("download").hidden = false; }
  setStatus(`${preview ? "Preview" : "Full size"} in ${seconds} s.`);
}

// ------------------------------------------------------------------ wiring
$("file").addEventListener("change", (event) => usePhoto(event.target.files[0]));
$("camera").addEventListener("change", (event) => usePhoto(event.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault(); drop.classList.remove("over");
  usePhoto(event.dataTransfer.files[0]);
});
document.addEventListener("paste", (event) => {
  const item = [...event.clipboardData.items].find((i) => i.type.startsWith("image/"));
  if (item) usePhoto(item.getAsFile());
});
for (const button of document.querySelectorAll(".brush")) {
  button.addEventListener("click", () => {
    const region = button.dataset.region;
    state.brush = region === "eraser" ? "eraser" : Number(region);
    for (const other of document.querySelectorAll(".brush")) other.setAttribute("aria-pressed", other === button);
  });
}
let painting = false;
$("paint").addEventListener("pointerdown", (event) => { painting = true; paintAt(event); });
$("paint").addEventListener("pointermove", (event) => { if (painting) paintAt(event); });
window.addEventListener("pointerup", () => { if (painting) { painting = false; schedulePreview(); } });
$("clear-regions").addEventListener("click", () => {
  for (const mask of state.regions) {
    const context = mask.getContext("2d"); context.fillStyle = "black"; context.fillRect(0, 0, mask.width, mask.height);
  }
  state.painted = [false, false];
  redrawPaint(); schedulePreview();
});
for (const id of ["strength", "preserve", "scale"]) $(id).addEventListener("change", schedulePreview);
$("strength").addEventListener("input", schedulePreview);
$("full").addEventListener("click", () => stylize(false));
loadStyles().catch((error) => setStatus(`Cannot load the styles (${error.message}).`, true));
