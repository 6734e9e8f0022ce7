// The annotation layer: one canvas over OpenSeadragon, batched drawing, a density grid when
// zoomed far out, the selection with its handles, and the shape being drawn.
//
// Annotations and the density grid are rendered into an off-screen layer that covers the view
// plus half a view on every side, at the current scale; frames that only pan copy that layer
// with an offset (one drawImage), so panning costs the same with 10 or 100,000 annotations.
// The layer is rendered again when the data, the types or their visibility change, when a pan
// leaves its margin, and when the scale changes: during a zoom it is stretched, and rendered
// once the zoom stops. Inside it, shapes smaller than DOT_PX on screen are single
// dots written into pixels (a stroked outline of one pixel says nothing more), larger ones are
// stroked from Path2D objects of CHUNK shapes each: Chromium builds one huge Path2D in
// super-linear time (100,000 polygons took minutes), chunks of 1,000 in linear time.
import OpenSeadragon from "openseadragon";
import { addShape, bounds, handles, hits, VT } from "./geometry.js";

const DOT_PX = 3;
const CHUNK = 1000;
const MARGIN = 0.5; // of the view's width/height, on each side of the off-screen layer
const RESCALE_MS = 120; // a zoom has stopped when the scale has not changed for this long

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
    this.boxes = new Float32Array(0); // x0, y0, x1, y1 of each annotation, level-0 pixels
    this.index = new Map(); // annotation id -> row index
    this.version = 0; // bumped on every data or type change: the off-screen layer is stale
    this.layer = document.createElement("canvas");
    this.layerCtx = this.layer.getContext("2d");
    this.cached = null; // how the off-screen layer was rendered
    this.dots = null; // {image: ImageData, dirty: [x0, y0, x1, y1] | null}, see dotBuffer
    this.renderNow = false; // the zoom has stopped: render at the new scale, do not stretch
    this._rescale = null;
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
    this.drawnAt = null; // the transform and size of the last frame drawn
    // Drawn in the frame in which OpenSeadragon draws the tiles (update-viewport fires inside
    // it), not one animation frame later: tiles and annotations move together, and a drag step
    // is one changed frame, not two. OpenSeadragon updates the viewport once more after every
    // animation (each drag step is one) without moving it: that would be the same picture.
    // Every other change of what the overlay shows asks for a frame itself (requestDraw).
    viewer.addHandler("update-viewport", () => {
      if (this.sameView()) return;
      if (this._frame !== null) cancelAnimationFrame(this._frame);
      this._frame = null;
      this.draw();
    });
    viewer.addHandler("resize", () => this.requestDraw());
  }

  setTypes(rows) {
    this.types = new Map(rows.map((row) => [row.id, row]));
    this.changed();
  }

  changed() {
    this.version += 1;
    this.requestDraw();
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
    this.boxes = shapeBoxes(this.data);
    this.changed();
  }

  setDensity(meta, buffers) {
    this.data = EMPTY;
    this.index = new Map();
    this.boxes = new Float32Array(0);
    const grid = new Float32Array(buffers[0]);
    this.density = { ...meta, grid, image: densityImage(meta.gx, meta.gy, grid, meta.max) };
    this.changed();
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

  sameView() {
    const d = this.drawnAt;
    if (!d || !this.viewer.world.getItemCount()) return false;
    const t = this.transform();
    const c = this.viewer.container;
    return t.scale === d.scale && t.ox === d.ox && t.oy === d.oy && c.clientWidth === d.w && c.clientHeight === d.h;
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
    this.drawnAt = null;
    if (!this.viewer.world.getItemCount()) return;
    const t = this.transform();
    this.drawnAt = { ...t, w, h };
    const s = t.scale * dpr;
    if (this.visible && (this.density || this.data.count > 0)) this.copyLayer(ctx, t, w, h, dpr);
    ctx.setTransform(s, 0, 0, s, t.ox * dpr, t.oy * dpr);
    this.drawSelection(ctx, t.scale);
    this.drawDraft(ctx, t.scale);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawScaleBar(ctx, t.scale, w, h);
    this.drawn += 1;
    this.canvas.dataset.drawn = String(this.drawn);
    // wall-clock time (ms since the epoch) of the first frame that showed annotations: what the
    // benchmarks compare against the kernel's clock
    if (this.visible && !this.canvas.dataset.firstContent && (this.data.count > 0 || this.density)) {
      this.canvas.dataset.firstContent = String(Date.now());
    }
  }

  // Copy the off-screen layer onto the canvas, rendering it first when it is stale. While the
  // scale changes (a zoom animation) the layer of the same data is stretched instead, as long
  // as it still covers the view and is within 2x of its own scale, and rendered at the new
  // scale once the scale has held for RESCALE_MS: rendering 100,000 shapes in every frame of a
  // zoom would stall it, and a stretched copy is one drawImage.
  copyLayer(ctx, t, w, h, dpr) {
    const key = `${this.version}|${[...this.background].join(",")}`;
    const c = this.cached;
    const same = c !== null && c.key === key && c.w === w && c.h === h && c.dpr === dpr;
    const sameScale = same && Math.abs(c.scale - t.scale) <= 1e-6 * t.scale;
    if (sameScale && Math.abs(t.ox - c.ox) <= c.mx && Math.abs(t.oy - c.oy) <= c.my) {
      ctx.drawImage(this.layer, Math.round((t.ox - c.ox - c.mx) * dpr), Math.round((t.oy - c.oy - c.my) * dpr));
      return;
    }
    if (same && !sameScale && !this.renderNow) {
      // layer px -> canvas device px: (x - (c.ox + c.mx) * dpr) * k + t.ox * dpr
      const k = t.scale / c.scale;
      const x0 = (t.ox - (c.ox + c.mx) * k) * dpr;
      const y0 = (t.oy - (c.oy + c.my) * k) * dpr;
      const lw = this.layer.width * k;
      const lh = this.layer.height * k;
      if (k >= 0.5 && k <= 2 && x0 <= 0 && y0 <= 0 && x0 + lw >= w * dpr && y0 + lh >= h * dpr) {
        ctx.drawImage(this.layer, x0, y0, lw, lh);
        clearTimeout(this._rescale);
        this._rescale = setTimeout(() => {
          this._rescale = null;
          this.renderNow = true;
          this.requestDraw();
        }, RESCALE_MS);
        return;
      }
    }
    this.renderLayer(t, w, h, dpr, key);
    ctx.drawImage(this.layer, Math.round(-this.cached.mx * dpr), Math.round(-this.cached.my * dpr));
  }

  renderLayer(t, w, h, dpr, key) {
    const mx = Math.ceil(w * MARGIN);
    const my = Math.ceil(h * MARGIN);
    const lw = Math.round((w + 2 * mx) * dpr);
    const lh = Math.round((h + 2 * my) * dpr);
    if (this.layer.width !== lw || this.layer.height !== lh) {
      this.layer.width = lw;
      this.layer.height = lh;
    }
    const ctx = this.layerCtx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, lw, lh);
    // level-0 pixels -> layer device pixels: x * s + ox
    const s = t.scale * dpr;
    const ox = (t.ox + mx) * dpr;
    const oy = (t.oy + my) * dpr;
    this.cached = { key, w, h, dpr, mx, my, scale: t.scale, ox: t.ox, oy: t.oy };
    this.renderNow = false;
    this.canvas.dataset.renders = String(Number(this.canvas.dataset.renders || 0) + 1);
    if (this.density) {
      ctx.setTransform(s, 0, 0, s, ox, oy);
      this.drawDensity(ctx);
      return;
    }
    const area = [-ox / s, -oy / s, (lw - ox) / s, (lh - oy) / s];
    const large = this.drawDots(ctx, { s, ox, oy, lw, lh, dpr }, area);
    ctx.setTransform(s, 0, 0, s, ox, oy);
    this.drawShapes(ctx, t.scale, large);
  }

  // Annotations under DOT_PX on screen as 2x2 dots written into the layer's pixels; returns the
  // rows of the larger ones inside `area` (level-0 x0, y0, x1, y1), to be stroked.
  drawDots(ctx, { s, ox, oy, lw, lh, dpr }, area) {
    const { count, types } = this.data;
    const boxes = this.boxes;
    const [wx0, wy0, wx1, wy1] = area;
    const small = (DOT_PX * dpr) / s; // DOT_PX screen pixels in level-0 pixels
    const large = [];
    let image = null;
    let pixels = null;
    const colors = new Map();
    let [x0, y0, x1, y1] = [lw, lh, -1, -1]; // where dots were written
    for (let i = 0; i < count; i++) {
      const b = 4 * i;
      if (boxes[b + 2] < wx0 || boxes[b] > wx1 || boxes[b + 3] < wy0 || boxes[b + 1] > wy1) continue;
      if (boxes[b + 2] - boxes[b] >= small || boxes[b + 3] - boxes[b + 1] >= small) {
        large.push(i);
        continue;
      }
      if (image === null) {
        image = this.dotBuffer(ctx, lw, lh);
        pixels = new Uint32Array(image.data.buffer);
      }
      const type = types[i];
      let color = colors.get(type);
      if (color === undefined) {
        color = packColor(this.types.get(type), this.background.has(type));
        colors.set(type, color);
      }
      const x = Math.floor(((boxes[b] + boxes[b + 2]) / 2) * s + ox);
      const y = Math.floor(((boxes[b + 1] + boxes[b + 3]) / 2) * s + oy);
      if (x < 0 || y < 0 || x + 1 >= lw || y + 1 >= lh) continue;
      const p = y * lw + x;
      pixels[p] = color;
      pixels[p + 1] = color;
      pixels[p + lw] = color;
      pixels[p + lw + 1] = color;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    if (x1 >= x0) {
      ctx.putImageData(image, 0, 0, x0, y0, x1 - x0 + 2, y1 - y0 + 2);
      this.dots.dirty = [x0, y0, x1 + 2, y1 + 2];
    }
    return large;
  }

  // The pixel buffer for dots, kept between renders: a fresh one for a layer of 2600 x 1200
  // px is 12 MB to allocate and collect at every render. Only the rectangle the last render
  // wrote is cleared, and only that rectangle is put into the layer.
  dotBuffer(ctx, lw, lh) {
    const d = this.dots;
    if (!d || d.image.width !== lw || d.image.height !== lh) {
      this.dots = { image: ctx.createImageData(lw, lh), dirty: null };
      return this.dots.image;
    }
    if (d.dirty) {
      const [x0, y0, x1, y1] = d.dirty;
      const pixels = new Uint32Array(d.image.data.buffer);
      for (let y = y0; y < y1; y++) pixels.fill(0, y * lw + x0, y * lw + x1);
      d.dirty = null;
    }
    return d.image;
  }

  // The grid is one pixel per cell (made once per answer), scaled up without smoothing: one
  // drawImage instead of a fillRect and a colour string per cell (128 x 128 of them) at every
  // re-render, e.g. every frame of a zoom.
  drawDensity(ctx) {
    const { bbox, image } = this.density;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, bbox[0], bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1]);
    ctx.imageSmoothingEnabled = true;
  }

  drawShapes(ctx, scale, rows) {
    const { types, offsets, coords } = this.data;
    const byType = new Map();
    for (const i of rows) {
      const type = types[i];
      let list = byType.get(type);
      if (!list) byType.set(type, (list = []));
      list.push(i);
    }
    ctx.lineWidth = 2 / scale;
    ctx.lineJoin = "round";
    for (const [type, list] of byType) {
      const row = this.types.get(type);
      const vt = row ? row.vector_type : VT.POLYGON;
      ctx.globalAlpha = this.background.has(type) ? 0.3 : 1;
      ctx.strokeStyle = row ? row.color : "#cc4444";
      for (let start = 0; start < list.length; start += CHUNK) {
        const path = new Path2D();
        const stop = Math.min(list.length, start + CHUNK);
        for (let k = start; k < stop; k++) {
          const i = list[k];
          addShape(path, vt, coords, 2 * offsets[i], 2 * offsets[i + 1]);
        }
        ctx.stroke(path);
      }
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
    clearTimeout(this._rescale);
    this.canvas.remove();
  }
}

// Bounding box (x0, y0, x1, y1) of every annotation of a detail payload.
function shapeBoxes({ count, offsets, coords }) {
  const out = new Float32Array(4 * count);
  for (let i = 0; i < count; i++) {
    const [x0, y0, x1, y1] = bounds(coords, 2 * offsets[i], 2 * offsets[i + 1]);
    out.set([x0, y0, x1, y1], 4 * i);
  }
  return out;
}

// The density grid (gx x gy counts, row-major) as a canvas of one pixel per cell: empty cells
// transparent, others from yellow to red and more opaque with the square root of the count.
function densityImage(gx, gy, grid, max) {
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, gx);
  canvas.height = Math.max(1, gy);
  if (!(gx > 0 && gy > 0)) return canvas;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(gx, gy);
  const px = image.data;
  const top = Math.max(max, 1);
  for (let k = 0; k < gx * gy; k++) {
    const v = grid[k];
    if (!(v > 0)) continue;
    const f = Math.min(v / top, 1);
    px[4 * k] = 255;
    px[4 * k + 1] = Math.round(200 - 180 * f);
    px[4 * k + 2] = 0;
    px[4 * k + 3] = Math.round(255 * (0.15 + 0.7 * Math.sqrt(f)));
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// A type's colour as one little-endian RGBA pixel (0xAABBGGRR), faint for background types.
function packColor(row, faint) {
  const hex = /^#?([0-9a-f]{6})$/i.exec((row && row.color) || "") ? row.color.replace("#", "") : "cc4444";
  const v = parseInt(hex, 16);
  const alpha = faint ? 77 : 255;
  return ((alpha << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
}
