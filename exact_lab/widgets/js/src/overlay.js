// The annotation layer: one canvas over OpenSeadragon, batched drawing (one Path2D per type,
// built once per data change in level-0 pixels and re-stroked with a new transform each frame),
// a density grid when zoomed far out, the selection with its handles, and the shape being drawn.
import OpenSeadragon from "openseadragon";
import { addShape, bounds, handles, hits, VT } from "./geometry.js";

const EMPTY = {
  count: 0,
  ids: new Int32Array(0),
  types: new Int32Array(0),
  revisions: new Int32Array(0),
  users: new Int32Array(0),
  offsets: new Uint32Array(1),
  coords: new Float32Array(0),
};

export class Overlay {
  constructor(viewer) {
    this.viewer = viewer;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "elv-overlay";
    viewer.canvas.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.data = EMPTY;
    this.density = null;
    this.types = new Map(); // id -> type row
    this.paths = new Map(); // type id -> Path2D
    this.index = new Map(); // annotation id -> row index
    this.selected = [];
    this.preview = null; // {id, points} while moving/resizing a selected shape
    this.draft = null; // {vt, points, cursor, color}
    this.rubber = null; // [x0, y0, x1, y1] rectangle multi-select
    this.visible = true;
    this.background = new Set();
    this.mpp = 0;
    this.scaleBar = null;
    this.drawn = 0;
    this._frame = null;
    const redraw = () => this.requestDraw();
    viewer.addHandler("update-viewport", redraw);
    viewer.addHandler("resize", redraw);
  }

  setTypes(rows) {
    this.types = new Map(rows.map((row) => [row.id, row]));
    this.buildPaths();
  }

  setDetail(meta, buffers) {
    const [ids, types, revisions, users, offsets, coords] = buffers;
    this.data = {
      count: meta.count,
      ids: new Int32Array(ids),
      types: new Int32Array(types),
      revisions: new Int32Array(revisions),
      users: new Int32Array(users),
      offsets: new Uint32Array(offsets),
      coords: new Float32Array(coords),
    };
    this.density = null;
    this.index = new Map();
    for (let i = 0; i < this.data.count; i++) this.index.set(this.data.ids[i], i);
    this.buildPaths();
  }

  setDensity(meta, buffers) {
    this.data = EMPTY;
    this.index = new Map();
    this.paths = new Map();
    this.density = { ...meta, grid: new Float32Array(buffers[0]) };
    this.requestDraw();
  }

  buildPaths() {
    const { count, types, offsets, coords } = this.data;
    const paths = new Map();
    for (let i = 0; i < count; i++) {
      const type = types[i];
      let path = paths.get(type);
      if (!path) {
        path = new Path2D();
        paths.set(type, path);
      }
      const row = this.types.get(type);
      addShape(path, row ? row.vector_type : VT.POLYGON, coords, 2 * offsets[i], 2 * offsets[i + 1]);
    }
    this.paths = paths;
    this.requestDraw();
  }

  // Points of annotation `id` as a plain array, its type and its revision.
  get(id) {
    const i = this.index.get(id);
    if (i === undefined) return null;
    const { offsets, coords } = this.data;
    return {
      id,
      type: this.data.types[i],
      revision: this.data.revisions[i],
      user: this.data.users[i],
      points: Array.from(coords.subarray(2 * offsets[i], 2 * offsets[i + 1])),
    };
  }

  vectorType(typeId) {
    const row = this.types.get(typeId);
    return row ? row.vector_type : VT.POLYGON;
  }

  // level-0 pixels -> viewer element pixels: screen = image * scale + offset
  transform() {
    const vp = this.viewer.viewport;
    const p0 = vp.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const p1 = vp.imageToViewerElementCoordinates(new OpenSeadragon.Point(1000, 0));
    return { scale: (p1.x - p0.x) / 1000, ox: p0.x, oy: p0.y };
  }

  toImage(x, y) {
    const t = this.transform();
    return [(x - t.ox) / t.scale, (y - t.oy) / t.scale];
  }

  // The annotation under element pixel (x, y): the smallest one hit, or null.
  pick(x, y, tolerancePx = 6) {
    const t = this.transform();
    const [px, py] = [(x - t.ox) / t.scale, (y - t.oy) / t.scale];
    const tol = tolerancePx / t.scale;
    const { count, types, offsets, coords, ids } = this.data;
    let best = null;
    let bestArea = Infinity;
    for (let i = 0; i < count; i++) {
      if (this.background.has(types[i])) continue;
      const start = 2 * offsets[i];
      const end = 2 * offsets[i + 1];
      if (end - start < 2) continue;
      if (!hits(this.vectorType(types[i]), coords, start, end, px, py, tol)) continue;
      const [x0, y0, x1, y1] = bounds(coords, start, end);
      const area = (x1 - x0 + tol) * (y1 - y0 + tol);
      if (area < bestArea) {
        bestArea = area;
        best = ids[i];
      }
    }
    return best;
  }

  // Ids whose bounding boxes lie inside an image-space rectangle.
  within(x0, y0, x1, y1) {
    const out = [];
    const { count, offsets, coords, ids } = this.data;
    for (let i = 0; i < count; i++) {
      const start = 2 * offsets[i];
      const end = 2 * offsets[i + 1];
      if (end - start < 2) continue;
      const b = bounds(coords, start, end);
      if (b[0] >= x0 && b[2] <= x1 && b[1] >= y0 && b[3] <= y1) out.push(ids[i]);
    }
    return out;
  }

  requestDraw() {
    if (this._frame !== null) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = null;
      this.draw();
    });
  }

  draw() {
    const container = this.viewer.container;
    const dpr = window.devicePixelRatio || 1;
    const w = container.clientWidth;
    const h = container.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.viewer.world.getItemCount()) return;
    const t = this.transform();
    const s = t.scale * dpr;
    ctx.setTransform(s, 0, 0, s, t.ox * dpr, t.oy * dpr);
    if (this.visible && this.density) this.drawDensity(ctx, t.scale);
    if (this.visible) this.drawShapes(ctx, t.scale);
    this.drawSelection(ctx, t.scale);
    this.drawDraft(ctx, t.scale);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawScaleBar(ctx, t.scale, w, h);
    this.drawn += 1;
    this.canvas.dataset.drawn = String(this.drawn);
  }

  drawDensity(ctx, scale) {
    const { bbox, gx, gy, grid, max } = this.density;
    const cw = (bbox[2] - bbox[0]) / gx;
    const ch = (bbox[3] - bbox[1]) / gy;
    const top = Math.max(max, 1);
    for (let j = 0; j < gy; j++) {
      for (let i = 0; i < gx; i++) {
        const v = grid[j * gx + i];
        if (v <= 0) continue;
        const a = 0.15 + 0.7 * Math.sqrt(v / top);
        ctx.fillStyle = `rgba(255, ${Math.round(200 - 180 * (v / top))}, 0, ${a.toFixed(3)})`;
        ctx.fillRect(bbox[0] + i * cw, bbox[1] + j * ch, cw + 0.5 / scale, ch + 0.5 / scale);
      }
    }
  }

  drawShapes(ctx, scale) {
    ctx.lineWidth = 2 / scale;
    ctx.lineJoin = "round";
    for (const [type, path] of this.paths) {
      const row = this.types.get(type);
      ctx.globalAlpha = this.background.has(type) ? 0.3 : 1;
      ctx.strokeStyle = row ? row.color : "#cc4444";
      ctx.stroke(path);
    }
    ctx.globalAlpha = 1;
  }

  drawSelection(ctx, scale) {
    for (const id of this.selected) {
      const item = this.get(id);
      if (!item) continue;
      const points = this.preview && this.preview.id === id ? this.preview.points : item.points;
      const vt = this.vectorType(item.type);
      const path = new Path2D();
      addShape(path, vt, points);
      ctx.lineWidth = 4 / scale;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke(path);
      ctx.lineWidth = 2 / scale;
      ctx.strokeStyle = (this.types.get(item.type) || {}).color || "#cc4444";
      ctx.stroke(path);
      if (this.selected.length === 1) {
        const r = 5 / scale;
        ctx.fillStyle = "#ffffff";
        ctx.strokeStyle = "#222222";
        ctx.lineWidth = 1 / scale;
        for (const [hx, hy] of handles(vt, points)) {
          ctx.fillRect(hx - r, hy - r, 2 * r, 2 * r);
          ctx.strokeRect(hx - r, hy - r, 2 * r, 2 * r);
        }
      }
    }
  }

  drawDraft(ctx, scale) {
    if (this.rubber) {
      const [x0, y0, x1, y1] = this.rubber;
      ctx.setLineDash([6 / scale, 4 / scale]);
      ctx.lineWidth = 1.5 / scale;
      ctx.strokeStyle = "#ffffff";
      ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      ctx.setLineDash([]);
    }
    if (!this.draft) return;
    const { vt, points, cursor, color } = this.draft;
    const pts = cursor ? [...points, ...cursor] : points;
    if (pts.length < 2) return;
    const path = new Path2D();
    addShape(path, vt, pts);
    ctx.setLineDash([8 / scale, 4 / scale]);
    ctx.lineWidth = 2 / scale;
    ctx.strokeStyle = color || "#ffff00";
    ctx.stroke(path);
    ctx.setLineDash([]);
    ctx.fillStyle = color || "#ffff00";
    for (let i = 0; i < points.length; i += 2) {
      ctx.fillRect(points[i] - 3 / scale, points[i + 1] - 3 / scale, 6 / scale, 6 / scale);
    }
  }

  // A scale bar from the image's microns per pixel, rounded to 1-2-5 steps.
  drawScaleBar(ctx, scale, w, h) {
    if (!this.mpp || !(scale > 0)) {
      this.scaleBar = null;
      return;
    }
    const micronsPerScreenPx = this.mpp / scale;
    const target = 120 * micronsPerScreenPx;
    const power = 10 ** Math.floor(Math.log10(target));
    const step = [1, 2, 5, 10].find((m) => m * power >= target / 2.2) * power;
    const px = step / micronsPerScreenPx;
    const label = step >= 1000 ? `${step / 1000} mm` : `${step >= 1 ? step : step.toPrecision(2)} µm`;
    const x = 12;
    const y = h - 18;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.fillRect(x - 6, y - 20, px + 12, 30);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(x, y, px, 3);
    ctx.fillRect(x, y - 5, 2, 8);
    ctx.fillRect(x + px - 2, y - 5, 2, 8);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(label, x, y - 7);
    this.scaleBar = label;
    void w;
  }

  destroy() {
    if (this._frame !== null) cancelAnimationFrame(this._frame);
    this.canvas.remove();
  }
}
