// The widget's chrome: image navigation and frames, tools, the type picker, slide filters,
// status and error lines.
import { NEUTRAL } from "./filters.js";
export const STYLE = `
.exact-lab-viewer { position: relative; font: 13px system-ui, sans-serif; outline: none; }
.exact-lab-viewer:focus-visible { box-shadow: 0 0 0 2px #3b82f6; border-radius: 4px; }
.exact-lab-viewer .elv-bar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 4px 0; }
.exact-lab-viewer .elv-group { display: flex; gap: 2px; align-items: center; }
.exact-lab-viewer button { font: inherit; border: 1px solid #bbb; background: #f6f6f6; border-radius: 4px;
  padding: 2px 7px; cursor: pointer; color: #222; }
.exact-lab-viewer button[aria-pressed="true"] { background: #2d6cdf; color: #fff; border-color: #2d6cdf; }
.exact-lab-viewer button:disabled { opacity: .45; cursor: default; }
.exact-lab-viewer .elv-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px;
  font-size: 9px; line-height: 10px; text-align: center; color: #fff; font-weight: 700; }
.exact-lab-viewer .elv-key { color: #888; margin-left: 4px; font-size: 11px; }
.exact-lab-viewer button[aria-pressed="true"] .elv-key { color: #dde; }
.exact-lab-viewer .elv-name { font-weight: 600; margin: 0 4px; }
.exact-lab-viewer .elv-canvas { position: relative; width: 100%; background: #1d1d1f; border-radius: 4px; }
.exact-lab-viewer .elv-overlay { position: absolute; left: 0; top: 0; pointer-events: none; }
.exact-lab-viewer .elv-preview { position: absolute; left: 0; top: 0; pointer-events: none; }
.exact-lab-viewer .elv-legend { position: absolute; left: 8px; top: 8px; z-index: 5; pointer-events: none;
  background: rgba(0, 0, 0, 0.6); color: #fff; border-radius: 4px; padding: 5px 8px; font-size: 11px; width: 190px; }
.exact-lab-viewer .elv-legend[hidden] { display: none; }
.exact-lab-viewer .elv-legend-title { font-weight: 600; margin-bottom: 3px; }
.exact-lab-viewer .elv-legend-bar { height: 8px; border-radius: 2px; background-color: #fff; }
.exact-lab-viewer .elv-legend-scale { display: flex; justify-content: space-between; color: #ddd; }
.exact-lab-viewer .elv-legend-note { color: #bbb; }
.exact-lab-viewer .elv-status { color: #555; padding: 3px 2px; min-height: 1.4em; display: flex; gap: 12px; }
.exact-lab-viewer .elv-message { color: #9a5b00; font-weight: 600; }
.exact-lab-viewer .elv-error { position: absolute; left: 0; right: 0; top: 40%; margin: auto; width: 80%;
  background: #fff0f0; color: #a40000; border: 1px solid #e0a0a0; border-radius: 6px; padding: 14px;
  font-weight: 600; text-align: center; z-index: 10; display: none; }
.exact-lab-viewer[data-state="error"] .elv-error { display: block; }
.exact-lab-viewer .elv-frames { gap: 4px; }
.exact-lab-viewer .elv-frames input { width: 110px; }
.exact-lab-viewer .elv-filters { gap: 4px; color: #444; }
.exact-lab-viewer .elv-filters label { display: flex; align-items: center; gap: 3px; }
.exact-lab-viewer .elv-filters input { width: 80px; }
.exact-lab-viewer .elv-filters output { min-width: 2.6em; font-variant-numeric: tabular-nums; color: #666; }
.exact-lab-viewer .elv-strip { display: flex; gap: 6px; overflow-x: auto; padding: 2px 0 6px; }
.exact-lab-viewer .elv-thumb { display: flex; flex-direction: column; align-items: center; gap: 2px;
  padding: 3px; background: #fff; flex: none; }
.exact-lab-viewer .elv-thumb img { width: 96px; height: 72px; object-fit: contain; background: #eee; display: block; }
.exact-lab-viewer .elv-thumb-name { max-width: 96px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-size: 11px; color: #444; }
.exact-lab-viewer .elv-thumb[aria-selected="true"] { border: 2px solid #2d6cdf; padding: 2px; background: #e8f0ff; }
.exact-lab-viewer .elv-thumb[aria-selected="true"] .elv-thumb-name { color: #1a4fb0; font-weight: 600; }
`;

// name, label, title, min, max, step: the ranges are the Python traits' (SlideViewer)
const FILTERS = [
  ["brightness", "☀", "Brightness (-1 to 1)", -1, 1, 0.02],
  ["contrast", "◑", "Contrast (0 to 3)", 0, 3, 0.02],
  ["gamma", "γ", "Gamma (0.2 to 5; below 1 brightens mid-tones)", 0.2, 5, 0.02],
];

const TOOLS = [
  ["select", "Select", "s"],
  ["bbox", "Box"],
  ["point", "Point"],
  ["fixed", "Fixed box"],
  ["line", "Line"],
  ["multiline", "Multi-line"],
  ["polygon", "Polygon"],
  ["freehand", "Freehand"],
  ["global", "Global label"],
];
export const TOOL_VT = { bbox: 1, point: 2, line: 3, multiline: 4, polygon: 5, freehand: 5, fixed: 6, global: 7 };

export function ensureStyle() {
  if (document.getElementById("exact-lab-viewer-style")) return;
  const style = document.createElement("style");
  style.id = "exact-lab-viewer-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

// Keys a focused slider uses itself: they must not reach the viewer's key map (pan, frames).
const SLIDER_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

function keepSliderKeys(input) {
  input.addEventListener("keydown", (event) => {
    if (SLIDER_KEYS.has(event.key)) event.stopPropagation();
  });
}

function button(label, title, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

export function buildChrome(el, model, actions) {
  const bar = document.createElement("div");
  bar.className = "elv-bar";
  const nav = document.createElement("div");
  nav.className = "elv-group elv-nav";
  const prev = button("◀", "Previous image (q)", () => actions.step(-1));
  prev.className = "elv-prev";
  const name = document.createElement("span");
  name.className = "elv-name";
  const next = button("▶", "Next image (e)", () => actions.step(1));
  next.className = "elv-next";
  const home = button("⌂", "Whole slide (h)", () => actions.home());
  home.className = "elv-home";
  nav.append(prev, name, next, home);

  // frames of a multi-frame image (z-stack planes, time points): a slider, saved on release
  const frames = document.createElement("label");
  frames.className = "elv-group elv-frames";
  frames.title = "Frame (Shift+q / Shift+e)";
  const frame = document.createElement("input");
  frame.type = "range";
  frame.className = "elv-frame";
  frame.min = "1";
  frame.step = "1";
  const frameLabel = document.createElement("output");
  frameLabel.className = "elv-frame-label";
  frame.addEventListener("input", () => {
    frameLabel.textContent = `frame ${frame.value}/${frame.max}`;
  });
  frame.addEventListener("change", () => {
    model.set("frame", Number(frame.value));
    model.save_changes();
  });
  keepSliderKeys(frame);
  frames.append(frame, frameLabel);

  const tools = document.createElement("div");
  tools.className = "elv-group elv-tools";
  const toolButtons = new Map();
  for (const [tool, label] of TOOLS) {
    const b = button(label, `${label} tool`, () => actions.setTool(tool));
    b.dataset.tool = tool;
    toolButtons.set(tool, b);
    tools.append(b);
  }
  const types = document.createElement("div");
  types.className = "elv-group elv-types";

  // brightness / contrast / gamma of the slide's tiles (not of the annotations)
  const filters = document.createElement("div");
  filters.className = "elv-group elv-filters";
  const sliders = new Map();
  for (const [trait, label, title, min, max, step] of FILTERS) {
    const wrap = document.createElement("label");
    wrap.title = title;
    const input = document.createElement("input");
    input.type = "range";
    input.className = `elv-${trait}`;
    input.dataset.filter = trait;
    Object.assign(input, { min: String(min), max: String(max), step: String(step) });
    const out = document.createElement("output");
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(2);
      model.set(trait, Number(input.value));
      model.save_changes();
    });
    keepSliderKeys(input);
    wrap.append(document.createTextNode(label), input, out);
    sliders.set(trait, [input, out]);
    filters.append(wrap);
  }
  const reset = button("Reset", "Reset brightness, contrast and gamma", () => {
    for (const [trait, value] of Object.entries(NEUTRAL)) model.set(trait, value);
    model.save_changes();
  });
  reset.className = "elv-filter-reset";
  filters.append(reset);
  bar.append(nav, frames, tools, types, filters);

  const canvas = document.createElement("div");
  canvas.className = "elv-canvas";
  const error = document.createElement("div");
  error.className = "elv-error";
  error.setAttribute("role", "alert");
  canvas.append(error);

  const status = document.createElement("div");
  status.className = "elv-status";
  const info = document.createElement("span");
  info.className = "elv-info";
  const message = document.createElement("span");
  message.className = "elv-message";
  status.append(info, message);
  const strip = document.createElement("div");
  strip.className = "elv-strip-host";
  el.append(bar, strip, canvas, status);

  const update = () => {
    const image = model.get("image_info") || {};
    const count = image.count || 0;
    name.textContent = image.name ? `${image.name} (${(image.index || 0) + 1}/${count})` : "";
    prev.disabled = !count || image.index <= 0;
    next.disabled = !count || image.index >= count - 1;
    const frameCount = Math.max(1, image.frames || 1);
    frames.style.display = frameCount > 1 ? "" : "none";
    frame.max = String(frameCount);
    frame.value = String(model.get("frame"));
    frameLabel.textContent = `frame ${model.get("frame")}/${frameCount}`;
    for (const [trait, [input, out]] of sliders) {
      const value = Number(model.get(trait));
      input.value = String(value);
      out.textContent = value.toFixed(2);
    }
    reset.disabled = Object.entries(NEUTRAL).every(([trait, value]) => Number(model.get(trait)) === value);
    const tool = model.get("tool");
    for (const [t, b] of toolButtons) b.setAttribute("aria-pressed", String(t === tool));
    const active = model.get("active_type");
    types.replaceChildren();
    for (const row of model.get("types") || []) {
      const b = button("", `${row.name} (key ${row.key || "-"})`, () => actions.setType(row.id));
      b.dataset.type = String(row.id);
      const swatch = document.createElement("span");
      swatch.className = "elv-swatch";
      swatch.style.background = row.color;
      const key = document.createElement("span");
      key.className = "elv-key";
      key.textContent = row.key || "";
      b.append(swatch, document.createTextNode(row.name), key);
      if (row.vector_type === 7) {
        // a global label: ticked when the shown image carries it
        const on = (actions.globals ? actions.globals() : []).some((g) => g[1] === row.id);
        b.dataset.global = on ? "on" : "off";
        b.title = `${row.name}: whole-image label, ${on ? "set" : "not set"} (Global label tool: click the slide to toggle)`;
        if (on) swatch.textContent = "✓";
      }
      b.setAttribute("aria-pressed", String(row.id === active));
      types.append(b);
    }
    message.textContent = model.get("message") || "";
    const err = model.get("error") || "";
    error.textContent = err;
    if (err) el.dataset.state = "error";
  };
  return { canvas, info, message, strip, update };
}
