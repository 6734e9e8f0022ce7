// Pointer interaction: the drawing tools and the select tool (move, resize, vertex edit,
// rectangle multi-select). Panning and zooming stay OpenSeadragon's whenever a tool does not
// claim the gesture.
import OpenSeadragon from "openseadragon";
import { bounds, dragHandle, handles, simplify, translate, VT } from "./geometry.js";

const CLICK_DRAW = new Set(["point", "fixed", "global"]);
const DRAG_DRAW = new Set(["bbox", "line", "freehand"]);
const VERTEX_DRAW = new Set(["polygon", "multiline"]);
const TOOL_VT = { bbox: VT.BBOX, line: VT.LINE, freehand: VT.POLYGON, polygon: VT.POLYGON, multiline: VT.MULTILINE };

export class Tools {
  constructor(viewer, overlay, ctl) {
    this.viewer = viewer;
    this.overlay = overlay;
    this.ctl = ctl; // {model, activeType(), create(type, points), update(id, changes), select(ids)}
    this.gesture = null;
    viewer.addHandler("canvas-press", (e) => this.press(e));
    viewer.addHandler("canvas-drag", (e) => this.drag(e));
    viewer.addHandler("canvas-release", (e) => this.release(e));
    viewer.addHandler("canvas-click", (e) => this.click(e));
    viewer.addHandler("canvas-double-click", (e) => this.doubleClick(e));
    this.tracker = new OpenSeadragon.MouseTracker({
      element: viewer.canvas,
      moveHandler: (e) => this.move(e),
    });
  }

  get tool() {
    return this.ctl.model.get("tool");
  }

  image(e) {
    return this.overlay.toImage(e.position.x, e.position.y);
  }

  pxToImage(px) {
    return px / this.overlay.transform().scale;
  }

  color() {
    const row = this.ctl.activeTypeRow();
    return row ? row.color : "#ffff00";
  }

  press(e) {
    if (e.originalEvent && e.originalEvent.button > 0) return;
    this.ctl.focus();
    const tool = this.tool;
    const [x, y] = this.image(e);
    if (DRAG_DRAW.has(tool)) {
      this.gesture = { kind: "draw", start: [x, y], points: [x, y] };
      this.overlay.draft = { vt: TOOL_VT[tool], points: [x, y], color: this.color() };
      return;
    }
    if (tool !== "select") return;
    const shift = e.originalEvent && e.originalEvent.shiftKey;
    if (shift) {
      this.gesture = { kind: "rubber", start: [x, y] };
      this.overlay.rubber = [x, y, x, y];
      return;
    }
    const only = this.overlay.selected.length === 1 ? this.overlay.get(this.overlay.selected[0]) : null;
    if (!only) return;
    const vt = this.overlay.vectorType(only.type);
    const tol = this.pxToImage(8);
    const list = handles(vt, only.points);
    for (let i = 0; i < list.length; i++) {
      if (Math.abs(list[i][0] - x) <= tol && Math.abs(list[i][1] - y) <= tol) {
        this.gesture = { kind: "handle", item: only, vt, index: i, moved: false };
        return;
      }
    }
    if (this.overlay.pick(e.position.x, e.position.y) === only.id) {
      this.gesture = { kind: "move", item: only, start: [x, y], moved: false };
    }
  }

  drag(e) {
    const g = this.gesture;
    if (!g) return;
    e.preventDefaultAction = true;
    const [x, y] = this.image(e);
    if (g.kind === "draw") {
      if (this.tool === "freehand") {
        const pts = g.points;
        const dx = x - pts[pts.length - 2];
        const dy = y - pts[pts.length - 1];
        if (Math.hypot(dx, dy) >= this.pxToImage(3)) pts.push(x, y);
        this.overlay.draft.points = pts;
      } else {
        this.overlay.draft.points = [g.start[0], g.start[1], x, y];
      }
    } else if (g.kind === "rubber") {
      this.overlay.rubber = [g.start[0], g.start[1], x, y];
    } else if (g.kind === "handle") {
      g.moved = true;
      this.overlay.preview = { id: g.item.id, points: dragHandle(g.vt, g.item.points, g.index, x, y) };
    } else if (g.kind === "move") {
      g.moved = true;
      this.overlay.preview = { id: g.item.id, points: translate(g.item.points, x - g.start[0], y - g.start[1]) };
    }
    this.overlay.requestDraw();
  }

  release(e) {
    const g = this.gesture;
    this.gesture = null;
    if (!g) return;
    if (g.kind === "draw") {
      const draft = this.overlay.draft;
      this.overlay.draft = null;
      if (this.tool === "freehand") {
        const pts = simplify(draft.points, this.pxToImage(2));
        if (pts.length >= 6) this.ctl.create(pts);
      } else {
        const pts = draft.points;
        const big = pts.length === 4 && Math.hypot(pts[2] - pts[0], pts[3] - pts[1]) >= this.pxToImage(3);
        if (big) {
          const out = this.tool === "bbox"
            ? [Math.min(pts[0], pts[2]), Math.min(pts[1], pts[3]), Math.max(pts[0], pts[2]), Math.max(pts[1], pts[3])]
            : pts;
          this.ctl.create(out);
        }
      }
    } else if (g.kind === "rubber") {
      const [x0, y0, x1, y1] = this.overlay.rubber;
      this.overlay.rubber = null;
      this.ctl.select(this.overlay.within(Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)));
    } else if ((g.kind === "handle" || g.kind === "move") && g.moved && this.overlay.preview) {
      const points = this.overlay.preview.points;
      this.ctl.update(g.item, { points }).finally(() => {
        this.overlay.preview = null;
        this.overlay.requestDraw();
      });
      return;
    }
    this.overlay.preview = null;
    this.overlay.requestDraw();
    void e;
  }

  click(e) {
    if (!e.quick) return;
    const tool = this.tool;
    const [x, y] = this.image(e);
    if (CLICK_DRAW.has(tool)) {
      const row = this.ctl.activeTypeRow();
      if (!row) return;
      if (tool === "global") {
        this.ctl.toggleGlobal(row.id); // a whole-image label: set it, or remove it if set
        return;
      }
      const w = row.default_width > 0 ? row.default_width : 50;
      const h = row.default_height > 0 ? row.default_height : 50;
      this.ctl.create([x - w / 2, y - h / 2, x + w / 2, y + h / 2]);
      return;
    }
    if (VERTEX_DRAW.has(tool)) {
      const d = this.overlay.draft;
      if (!d) {
        this.overlay.draft = { vt: TOOL_VT[tool], points: [x, y], cursor: null, color: this.color() };
      } else {
        const near = this.pxToImage(8);
        const closes = tool === "polygon" && d.points.length >= 6 &&
          Math.hypot(d.points[0] - x, d.points[1] - y) <= near;
        if (closes) {
          this.finish();
          return;
        }
        d.points.push(x, y);
      }
      this.overlay.requestDraw();
      return;
    }
    if (tool === "select") {
      const id = this.overlay.pick(e.position.x, e.position.y);
      const shift = e.originalEvent && e.originalEvent.shiftKey;
      if (shift && id !== null) {
        const set = new Set(this.overlay.selected);
        if (set.has(id)) set.delete(id); else set.add(id);
        this.ctl.select([...set]);
      } else {
        this.ctl.select(id === null ? [] : [id]);
      }
    }
  }

  doubleClick(e) {
    e.preventDefaultAction = true;
    if (VERTEX_DRAW.has(this.tool)) this.finish();
  }

  move(e) {
    const d = this.overlay.draft;
    if (!d || !VERTEX_DRAW.has(this.tool) || this.gesture) return;
    d.cursor = this.overlay.toImage(e.position.x, e.position.y);
    this.overlay.requestDraw();
  }

  // Enter / double click: save the polygon or multi-line being drawn.
  finish() {
    const d = this.overlay.draft;
    if (!d) return false;
    this.overlay.draft = null;
    const pts = simplify(d.points, this.pxToImage(3));
    const enough = d.vt === VT.POLYGON ? pts.length >= 6 : pts.length >= 4;
    if (enough) this.ctl.create(pts);
    this.overlay.requestDraw();
    return true;
  }

  // Esc: drop the shape being drawn; false when there was none.
  cancel() {
    const had = this.overlay.draft !== null || this.gesture !== null || this.overlay.rubber !== null;
    this.overlay.draft = null;
    this.overlay.rubber = null;
    this.overlay.preview = null;
    this.gesture = null;
    this.overlay.requestDraw();
    return had;
  }

  undoVertex() {
    const d = this.overlay.draft;
    if (!d || d.points.length < 2) return false;
    d.points.splice(d.points.length - 2, 2);
    if (!d.points.length) this.overlay.draft = null;
    this.overlay.requestDraw();
    return true;
  }

  destroy() {
    this.tracker.destroy();
  }
}

export { bounds };
