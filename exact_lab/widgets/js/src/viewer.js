// SlideViewer: a deep-zoom whole-slide viewer (OpenSeadragon) with an annotation layer, drawing
// tools and EXACT's keyboard map, inside a notebook cell. Tiles come over HTTP from the
// exact_lab server extension (over the widget channel when none answers); annotations come from
// the kernel as binary columns for the visible region; every edit is one kernel command.
import OpenSeadragon from "openseadragon";
import { DensityLegend, DensityPreview, homeTransform } from "./density.js";
import { SlideFilter } from "./filters.js";
import { keyAction } from "./keys.js";
import { mark } from "./marks.js";
import { Overlay } from "./overlay.js";
import { debounce, makeRpc } from "./rpc.js";
import { ScrollDrawer } from "./scroll_drawer.js";
import { ThumbStrip } from "./strip.js";
import { openTiles } from "./tiles.js";
import { Tools } from "./tools.js";
import { buildChrome, ensureStyle, TOOL_VT } from "./ui.js";

const NATURAL_TOOL = { 1: "bbox", 2: "point", 3: "line", 4: "multiline", 5: "polygon", 6: "fixed", 7: "global" };
mark("esm");

function render({ model, el, experimental }) {
  mark("render");
  ensureStyle();
  el.classList.add("exact-lab-viewer");
  el.tabIndex = 0;
  el.dataset.lmSuppressShortcuts = "true";
  el.dataset.state = "loading";
  const rpc = makeRpc(experimental);
  const save = (values) => {
    for (const [k, v] of Object.entries(values)) model.set(k, v);
    model.save_changes();
  };
  const typeRow = (id) => (model.get("types") || []).find((row) => row.id === id) || null;

  const actions = {
    step: (delta) => stepImage(delta),
    setTool: (tool) => setTool(tool),
    setType: (id) => setType(id),
    home: () => goHome(),
    globals: () => globals,
  };
  // the shown image's global labels, [id, type, revision] (they come with each region answer)
  let globals = [];
  const chrome = buildChrome(el, model, actions);
  const setHeight = () => {
    chrome.canvas.style.height = `${model.get("height")}px`;
  };
  setHeight();

  const viewer = OpenSeadragon({
    element: chrome.canvas,
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    navigatorSizeRatio: 0.18,
    showNavigationControl: false,
    // OpenSeadragon fades its controls out 2 s after the mouse leaves; for the navigator that
    // fades the overview to its black background, so screenshots and idle users saw a black box
    autoHideControls: false,
    crossOriginPolicy: false,
    loadTilesWithAjax: true,
    ajaxWithCredentials: true,
    maxZoomPixelRatio: 4,
    animationTime: 0.3,
    // A drag moves the slide by each mouse step at once (OpenSeadragon applies drag steps
    // without animation only when flicks are on), so it stays under the pointer and a step
    // costs one frame; otherwise every step starts a 0.3 s spring, ~16 frames each redrawing
    // tiles and overlay. The flick itself (momentum after release) is kept off.
    gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false, flickEnabled: true, flickMinSpeed: Infinity },
    gestureSettingsPen: { flickEnabled: true, flickMinSpeed: Infinity },
    keyboardNavEnabled: false,
    // the canvas drawer with scroll-blit frames (a pan step shifts the pixels and draws the
    // exposed strips); `globalThis.exactLabFullFrames = true` before display draws every frame
    // in full, as OpenSeadragon's own canvas drawer does (the benchmark compares the two)
    drawer: globalThis.exactLabFullFrames ? "canvas" : ScrollDrawer,
    navigatorDrawer: "canvas",
  });
  mark("osd-created");
  const overlay = new Overlay(viewer);
  const legend = new DensityLegend(chrome.canvas);
  // the home view's density grid until OpenSeadragon has opened the slide (then the overlay)
  let preview = new DensityPreview(viewer.canvas);
  // brightness / contrast / gamma on the tile canvases only (the overlay is a sibling canvas)
  const filter = new SlideFilter(el);
  const applyFilter = () => {
    filter.set({ brightness: model.get("brightness"), contrast: model.get("contrast"), gamma: model.get("gamma") });
    el.dataset.filter = filter.applyTo(viewer) ? "on" : "off";
  };
  const strip = new ThumbStrip(chrome.strip, model, rpc, (index) => save({ image_index: index }));
  // Until the user moves the view, it follows the whole slide through container resizes.
  let touched = false;
  const goHome = () => {
    touched = false;
    viewer.viewport.goHome(true);
  };
  viewer.addHandler("canvas-drag", () => {
    if (!tools.gesture) touched = true;
  });
  viewer.addHandler("canvas-scroll", () => {
    touched = true;
  });
  viewer.addHandler("resize", () => {
    if (!touched && viewer.world.getItemCount()) viewer.viewport.goHome(true);
  });
  let regionSeq = 0;
  let loaded = null; // bbox of the loaded annotations, null: must load
  let loadedScale = 0; // the page's scale when they were asked for
  // the first region request, sent at display for the home view before the slide is open
  let early = null;
  const showMessage = (text) => save({ message: text });
  // Edits and annotation reloads in flight, shown as data-pending so that tests and tools can
  // wait for a quiet viewer; the selection as data-selected. Reloads count too: an edit's own
  // reload can be overtaken by one the change feed asked for, and until that one lands the
  // overlay still holds the shapes as they were before the edit.
  let pending = 0;
  el.dataset.pending = "0";
  const busy = (delta) => {
    pending += delta;
    el.dataset.pending = String(pending);
  };
  const tracked = (fn) => async (...args) => {
    busy(1);
    try {
      return await fn(...args);
    } finally {
      busy(-1);
    }
  };
  const markSelected = () => {
    el.dataset.selected = overlay.selected.join(",");
  };

  const ctl = {
    model,
    focus: () => el.focus({ preventScroll: true }),
    activeTypeRow: () => typeRow(model.get("active_type")),
    select: (ids) => {
      overlay.selected = ids;
      markSelected();
      overlay.requestDraw();
      save({ selected: ids });
    },
    create: tracked(async (points) => {
      const type = model.get("active_type");
      if (type === null || type === undefined) {
        showMessage("Choose an annotation type first.");
        return;
      }
      try {
        const { response } = await rpc("_cmd_create", { type, points });
        await reload();
        ctl.select([response.ok.id]);
      } catch (err) {
        showMessage(`Not saved: ${err.message}`);
        await reload();
      }
    }),
    toggleGlobal: tracked(async (type) => {
      const set = globals.filter((row) => row[1] === type);
      try {
        if (set.length) await rpc("_cmd_delete", { items: set.map(([id, , revision]) => [id, revision]) });
        else await rpc("_cmd_create", { type, points: null });
      } catch (err) {
        showMessage(`Not saved: ${err.message}`);
      }
      await reload();
    }),
    update: tracked(async (item, changes) => {
      const msg = { id: item.id, base_revision: item.revision };
      if (changes.points) msg.points = changes.points;
      if (changes.type !== undefined) msg.type = changes.type;
      try {
        await rpc("_cmd_update", msg);
      } catch (err) {
        showMessage(`Not saved: ${err.message}`);
      }
      await reload();
    }),
  };
  const tools = new Tools(viewer, overlay, ctl);

  // ---------------------------------------------------------------- annotations of the view
  const visibleBbox = (grow) => {
    const info = model.get("image_info") || {};
    const b = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
    const gx = b.width * grow;
    const gy = b.height * grow;
    const x0 = Math.max(0, b.x - gx);
    const y0 = Math.max(0, b.y - gy);
    const x1 = Math.min(info.width || b.x + b.width, b.x + b.width + gx);
    const y1 = Math.min(info.height || b.y + b.height, b.y + b.height + gy);
    return [x0, y0, Math.max(x0, x1), Math.max(y0, y1)];
  };
  const contains = (outer, inner) =>
    outer && inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3];

  // The region request in flight: the kernel answers commands in order, so a request made by a
  // view change while one is out would only queue behind it (at first display: a second query
  // of the same whole slide); it is made once the first lands, if the view has moved by then.
  let inflight = null;
  const sameView = (a, b) => a.every((v, i) => Math.abs(v - b[i]) < 1);
  function showRegion(response, buffers, bbox, scale) {
    if (response.kind === "density") overlay.setDensity(response, buffers);
    else overlay.setDetail(response, buffers);
    loaded = bbox;
    loadedScale = scale;
    const info = model.get("image_info") || {};
    legend.show(overlay.density, info.mpp || 0);
    if (preview && overlay.density && !viewer.world.getItemCount()) {
      preview.draw(overlay.density, info, { width: chrome.canvas.clientWidth, height: chrome.canvas.clientHeight });
      mark("preview-drawn");
    }
    globals = response.globals || [];
    el.dataset.globals = globals.map((row) => row[1]).join(",");
    chrome.update();
    overlay.selected = overlay.selected.filter((id) => overlay.index.has(id));
    markSelected();
    el.dataset.annotations = String(response.count);
    el.dataset.layer = response.kind;
    el.dataset.region = String(response.request);
    el.dataset.regionBbox = bbox.join(","); // exact: tests count what meets it
    el.dataset.regionMs = String(response.took_ms ?? "");
    updateInfo();
  }

  // Ask the kernel for the annotations of `bbox` at `scale` (screen px per level-0 px: the
  // kernel sends a density grid when shapes would be too many to tell apart at this zoom, see
  // _commands.detail_limit). `view`: the visible part when asked, null before the slide is open.
  async function requestRegion(bbox, scale, view) {
    const seq = ++regionSeq;
    inflight = { seq, view, again: false };
    busy(1);
    try {
      mark("region-sent");
      const { response, buffers } = await rpc("_cmd_region", {
        bbox,
        scale,
        frame: model.get("frame"),
        request: seq,
      });
      mark("region-answered");
      if (seq !== regionSeq || response.image !== (model.get("image_info") || {}).id) return;
      showRegion(response, buffers, bbox, scale);
    } catch (err) {
      showMessage(`Annotations not loaded: ${err.message}`);
    } finally {
      busy(-1);
      if (inflight && inflight.seq === seq) {
        const again =
          inflight.again && viewer.world.getItemCount() && !(inflight.view && sameView(inflight.view, visibleBbox(0)));
        inflight = null;
        if (again) reload(false);
      }
    }
  }

  async function reload(force = true) {
    if (!viewer.world.getItemCount()) return;
    const view = visibleBbox(0);
    if (!force && loaded && !overlay.density && contains(loaded, view)) return;
    if (!force && inflight) {
      inflight.again = true;
      return;
    }
    const bbox = visibleBbox(0.5);
    const shown = viewer.viewport.viewportToImageRectangle(viewer.viewport.getBounds(true));
    const scale = shown.width > 0 ? viewer.viewport.getContainerSize().x / shown.width : null;
    // a density grid of the same region at the same scale would be the same grid
    const same = loaded && overlay.density && scale && sameView(loaded, bbox) && Math.abs(scale - loadedScale) <= 1e-3 * scale;
    if (!force && same) return;
    await requestRegion(bbox, scale, view);
  }

  // At display, the home view is known before OpenSeadragon has fetched the .dzi and opened the
  // slide: the whole image fitted into the box. Ask for it at once (the kernel has been counting
  // it since the widget was built) instead of after the slide's open event.
  function requestHome() {
    const info = model.get("image_info") || {};
    const box = { width: chrome.canvas.clientWidth, height: chrome.canvas.clientHeight };
    if (model.get("error") || !model.get("dzi_url") || !info.width || !info.height) return true;
    if (viewer.world.getItemCount() || regionSeq > 0) return true; // the slide opened first
    if (!(box.width > 0 && box.height > 0)) return false; // not laid out yet
    const t = homeTransform(info.width, info.height, box.width, box.height);
    early = { image: info.id, frame: model.get("frame") };
    requestRegion([0, 0, info.width, info.height], t.scale, null);
    return true;
  }
  let sized = null;
  const requestHomeWhenSized = () => {
    if (requestHome()) return;
    sized = new ResizeObserver(() => {
      if (requestHome()) {
        sized.disconnect();
        sized = null;
      }
    });
    sized.observe(chrome.canvas);
  };
  const reloadSoon = debounce(() => reload(false), 150);
  const pushViewport = debounce(() => {
    if (!viewer.world.getItemCount()) return;
    const [x0, y0, x1, y1] = visibleBbox(0);
    const zoom = overlay.transform().scale;
    save({ viewport: { x: x0, y: y0, width: x1 - x0, height: y1 - y0, zoom } });
  }, 300);

  function updateInfo() {
    const count = el.dataset.annotations || "0";
    const kind = overlay.density ? "annotations (density view)" : "annotations";
    const zoom = viewer.world.getItemCount() ? `zoom ${(overlay.transform().scale * 100).toFixed(1)}%` : "slide loading";
    const user = (model.get("user") || {}).username || "";
    const blind = model.get("blind") ? " · blind set: only your annotations" : "";
    const text = `${count} ${kind} in view · ${zoom} · ${user}${blind}`;
    // called at the end of every drag step: the same text again would still be a new text node,
    // i.e. style, layout, paint and a commit of JupyterLab's layer tree in a frame of its own
    if (chrome.info.textContent !== text) chrome.info.textContent = text;
  }

  viewer.addHandler("animation-finish", () => {
    reloadSoon();
    pushViewport();
    updateInfo();
  });
  viewer.addHandler("open", () => {
    mark("osd-open");
    // the page may still be laying out (Voila): fit the whole slide once the box has settled
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (!touched) viewer.viewport.goHome(true);
    }));
    el.dataset.state = "open";
    applyFilter();
    const info = model.get("image_info") || {};
    overlay.mpp = info.mpp || 0;
    overlay.requestDraw();
    // the home view's region was asked for at display: not again
    const asked = early && early.image === info.id && early.frame === model.get("frame");
    early = null;
    if (!asked) {
      loaded = null;
      reload();
    }
    if (preview) {
      // the overlay draws the same grid from its next frame on
      const done = preview;
      preview = null;
      requestAnimationFrame(() => requestAnimationFrame(() => done.destroy()));
    }
    pushViewport();
  });
  viewer.addHandler("open-failed", (event) => fail(`The slide cannot be opened: ${event.message || "the server refused"}`));
  viewer.addHandler("tile-loaded", () => {
    mark("tile-loaded");
    el.dataset.tiles = "loaded";
  });
  // every tile of the current view is drawn (what screenshots and pixel checks wait for)
  // (per image: the viewer's own event does not fire again when the next image opens)
  viewer.world.addHandler("add-item", (added) => {
    added.item.addHandler("fully-loaded-change", (event) => {
      el.dataset.fullyLoaded = String(event.fullyLoaded);
    });
  });
  viewer.addHandler("tile-load-failed", (event) => {
    el.dataset.tileErrors = String(Number(el.dataset.tileErrors || 0) + 1);
    showMessage(`A tile failed to load: ${event.message || "unknown reason"}`);
  });

  function fail(message) {
    el.dataset.state = "error";
    save({ error: message });
    chrome.update();
  }

  async function open() {
    overlay.setDetail({ count: 0 }, [new ArrayBuffer(0), new ArrayBuffer(0), new ArrayBuffer(0),
      new ArrayBuffer(0), new Uint32Array(1).buffer, new ArrayBuffer(0)]);
    overlay.selected = [];
    loaded = null;
    legend.show(null);
    delete el.dataset.tiles;
    delete el.dataset.fullyLoaded;
    el.dataset.image = String((model.get("image_info") || {}).id ?? "");
    el.dataset.frame = String(model.get("frame"));
    if (model.get("error")) {
      el.dataset.state = "error";
      viewer.close();
      return;
    }
    if (!model.get("dzi_url")) return;
    el.dataset.state = "loading";
    try {
      mark("tiles-check");
      const tiles = await openTiles(model, rpc);
      mark("tiles-checked");
      el.dataset.tileMode = tiles.kind;
      if (strip.kind === null) strip.load(tiles.kind);
      if (tiles.kind === "http") {
        viewer.open(tiles.url);
      } else {
        viewer.open(tiles.source);
      }
    } catch (err) {
      fail(err.message);
    }
  }

  // ---------------------------------------------------------------- tools, types, images
  function setTool(tool) {
    const wanted = TOOL_VT[tool];
    const active = typeRow(model.get("active_type"));
    const values = { tool };
    if (wanted && (!active || active.vector_type !== wanted)) {
      const fit = (model.get("types") || []).find((row) => row.vector_type === wanted);
      if (fit) values.active_type = fit.id;
    }
    tools.cancel();
    save(values);
  }

  function setType(id) {
    const row = typeRow(id);
    if (!row) return;
    const values = { active_type: id };
    const tool = model.get("tool");
    if (tool !== "select" && TOOL_VT[tool] !== row.vector_type) values.tool = NATURAL_TOOL[row.vector_type] || "select";
    save(values);
    // EXACT: a label key also relabels the selected annotations
    for (const ident of overlay.selected) {
      const item = overlay.get(ident);
      if (item && item.type !== id) ctl.update(item, { type: id });
    }
  }

  function stepImage(delta) {
    const info = model.get("image_info") || {};
    const index = Math.min(Math.max(0, (info.index || 0) + delta), (info.count || 1) - 1);
    if (index !== info.index) save({ image_index: index });
  }

  function stepFrame(delta) {
    const frames = (model.get("image_info") || {}).frames || 1;
    const frame = Math.min(Math.max(1, model.get("frame") + delta), frames);
    if (frame !== model.get("frame")) save({ frame });
  }

  const command = tracked(async (name) => {
    try {
      await rpc(name, {});
    } catch (err) {
      showMessage(`Not saved: ${err.message}`);
    }
    await reload();
  });

  const deleteSelected = tracked(async () => {
    const items = overlay.selected.map((id) => overlay.get(id)).filter(Boolean).map((it) => [it.id, it.revision]);
    if (!items.length) return;
    overlay.selected = [];
    markSelected();
    try {
      await rpc("_cmd_delete", { items });
    } catch (err) {
      showMessage(`Not deleted: ${err.message}`);
    }
    await reload();
  });

  function pan(dx, dy) {
    touched = true;
    const b = viewer.viewport.getBounds();
    viewer.viewport.panBy(new OpenSeadragon.Point(dx * b.width * 0.1, dy * b.height * 0.1));
  }

  el.addEventListener("keydown", (event) => {
    let action = keyAction(event);
    if (action === null && event.key.length === 1 && !event.ctrlKey && !event.metaKey) {
      const row = (model.get("types") || []).find((r) => r.key && r.key === event.key);
      if (row) action = `type-id:${row.id}`;
    }
    if (action === null) return;
    event.preventDefault();
    event.stopPropagation();
    if (action.startsWith("type:")) {
      const row = (model.get("types") || []).find((r) => r.key === action.slice(5));
      if (row) setType(row.id);
      return;
    }
    if (action.startsWith("type-id:")) {
      setType(Number(action.slice(8)));
      return;
    }
    switch (action) {
      case "delete":
        deleteSelected();
        break;
      case "backspace":
        if (!tools.undoVertex()) deleteSelected();
        break;
      case "escape":
        if (!tools.cancel()) ctl.select([]);
        break;
      case "enter":
        tools.finish();
        break;
      case "undo":
        command("_cmd_undo");
        break;
      case "redo":
        command("_cmd_redo");
        break;
      case "toggle-mode": {
        const row = typeRow(model.get("active_type"));
        const natural = row ? NATURAL_TOOL[row.vector_type] || "select" : "select";
        setTool(model.get("tool") === "select" ? natural : "select");
        break;
      }
      case "toggle-visible":
        save({ annotations_visible: !model.get("annotations_visible") });
        break;
      case "background": {
        const type = model.get("active_type");
        if (overlay.background.has(type)) overlay.background.delete(type);
        else overlay.background.add(type);
        overlay.requestDraw();
        break;
      }
      case "home":
        goHome();
        break;
      case "previous-image":
        stepImage(-1);
        break;
      case "next-image":
        stepImage(1);
        break;
      case "previous-frame":
        stepFrame(-1);
        break;
      case "next-frame":
        stepFrame(1);
        break;
      case "pan-left":
        pan(-1, 0);
        break;
      case "pan-right":
        pan(1, 0);
        break;
      case "pan-up":
        pan(0, -1);
        break;
      case "pan-down":
        pan(0, 1);
        break;
      default:
        break;
    }
  });
  // keep JupyterLab's command-mode shortcuts away while the viewer has the focus
  el.addEventListener("keypress", (event) => event.stopPropagation());
  el.addEventListener("keyup", (event) => event.stopPropagation());

  // ---------------------------------------------------------------- model events
  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "refresh") {
      reload();
    } else if (msg.kind === "goto" && viewer.world.getItemCount()) {
      const [x0, y0, x1, y1] = msg.bbox;
      const rect = viewer.viewport.imageToViewportRectangle(x0, y0, x1 - x0, y1 - y0);
      touched = true;
      viewer.viewport.fitBounds(rect);
    }
  });
  model.on("change:dzi_url", open);
  model.on("change:error", () => {
    chrome.update();
    if (model.get("error")) el.dataset.state = "error";
  });
  model.on("change:height", setHeight);
  model.on("change:selected", () => {
    overlay.selected = [...model.get("selected")];
    markSelected();
    overlay.requestDraw();
  });
  model.on("change:annotations_visible", () => {
    overlay.visible = model.get("annotations_visible");
    overlay.requestDraw();
  });
  model.on("change:types", () => overlay.setTypes(model.get("types") || []));
  model.on("change:images", () => strip.load());
  model.on("change:image_info", () => strip.update());
  for (const name of ["brightness", "contrast", "gamma"]) {
    model.on(`change:${name}`, () => {
      applyFilter();
      chrome.update();
    });
  }
  model.on("change:tool", () => tools.cancel());
  for (const name of ["image_info", "tool", "active_type", "types", "message", "frame"]) {
    model.on(`change:${name}`, () => chrome.update());
  }
  overlay.setTypes(model.get("types") || []);
  overlay.visible = model.get("annotations_visible");
  chrome.update();
  open();
  requestHomeWhenSized();
  return () => {
    if (sized) sized.disconnect();
    if (preview) preview.destroy();
    legend.destroy();
    reloadSoon.cancel();
    pushViewport.cancel();
    tools.destroy();
    overlay.destroy();
    strip.destroy();
    filter.destroy();
    viewer.destroy();
  };
}

export default { render };
