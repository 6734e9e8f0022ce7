// SlideViewer: a deep-zoom whole-slide viewer (OpenSeadragon) inside a notebook cell.
// Tiles come over HTTP from the exact_lab server extension, never over the widget comm.
import OpenSeadragon from "openseadragon";
import { joinUrl, serverBaseUrl } from "./base_url.js";

const STYLE = `
.exact-lab-viewer { position: relative; font: 13px system-ui, sans-serif; }
.exact-lab-viewer .elv-canvas { width: 100%; background: #1d1d1f; border-radius: 4px; }
.exact-lab-viewer .elv-status { color: #555; padding: 4px 2px; min-height: 1.4em; }
.exact-lab-viewer .elv-error { color: #a40000; font-weight: 600; }
`;

function ensureStyle() {
  if (document.getElementById("exact-lab-viewer-style")) return;
  const style = document.createElement("style");
  style.id = "exact-lab-viewer-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

function render({ model, el }) {
  ensureStyle();
  el.classList.add("exact-lab-viewer");
  const canvas = document.createElement("div");
  canvas.className = "elv-canvas";
  const status = document.createElement("div");
  status.className = "elv-status";
  el.append(canvas, status);

  const setHeight = () => {
    canvas.style.height = `${model.get("height")}px`;
  };
  setHeight();

  let viewer = null;
  const showError = (message) => {
    status.textContent = message;
    status.classList.add("elv-error");
    el.dataset.state = "error";
    model.set("error", message);
    model.save_changes();
  };

  const open = () => {
    const path = model.get("dzi_url");
    status.classList.remove("elv-error");
    if (!path) {
      status.textContent = "No slide selected.";
      return;
    }
    const url = joinUrl(serverBaseUrl(), path);
    el.dataset.state = "loading";
    status.textContent = "Loading slide…";
    if (viewer === null) {
      viewer = OpenSeadragon({
        element: canvas,
        tileSources: url,
        showNavigator: true,
        navigatorPosition: "BOTTOM_RIGHT",
        showNavigationControl: false,
        crossOriginPolicy: false,
        loadTilesWithAjax: true,
        ajaxWithCredentials: true,
        maxZoomPixelRatio: 2,
        animationTime: 0.4,
      });
      viewer.addHandler("open", () => {
        el.dataset.state = "open";
        status.textContent = model.get("title") || "";
      });
      viewer.addHandler("open-failed", (event) => {
        showError(`Cannot open the slide: ${event.message || "the server refused the request"}`);
      });
      viewer.addHandler("tile-load-failed", (event) => {
        status.textContent = `A tile failed to load: ${event.message || "unknown reason"}`;
      });
      viewer.world.addHandler("add-item", () => {
        el.dataset.tiles = "requested";
      });
      viewer.addHandler("tile-loaded", () => {
        el.dataset.tiles = "loaded";
      });
    } else {
      viewer.open(url);
    }
  };

  model.on("change:dzi_url", open);
  model.on("change:height", setHeight);
  model.on("change:title", () => {
    if (el.dataset.state === "open") status.textContent = model.get("title") || "";
  });
  open();
  return () => {
    if (viewer) viewer.destroy();
  };
}

export default { render };
