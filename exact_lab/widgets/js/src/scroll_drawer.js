// OpenSeadragon's canvas drawer, with scroll-blit frames: when a frame differs from the last one
// only by a whole-pixel translation (same zoom, no rotation or flip, same tiles where the old
// pixels land), the canvas's own pixels are shifted by that offset (one unscaled drawImage) and
// only the newly exposed strips are drawn from tiles, under a clip. A drag step then costs one
// copy instead of ~20 scaled tile drawImages. Anything else is a full frame, as OpenSeadragon
// draws it: the blit never guesses.
//
// Used as `OpenSeadragon({drawer: ScrollDrawer})`; getType() stays "canvas" (inherited), so code
// that asks for a canvas drawer still finds one.
//
// >>> const viewer = OpenSeadragon({ element, drawer: ScrollDrawer });
// >>> viewer.drawer.canvas.dataset.blits  // frames drawn by a shift, "0" at first
import OpenSeadragon from "openseadragon";

// How far (device px) a frame's offset may be from whole pixels and still be a shift: the
// pixels kept are then at most this far from where a full redraw would put them. The error is
// measured against the last full frame, so it does not add up over a drag.
const WHOLE_PX = 0.02;
const STILL = Symbol("still"); // nothing moved or changed since the last frame

export class ScrollDrawer extends OpenSeadragon.CanvasDrawer {
  constructor(options) {
    super(options);
    this.last = null; // the last frame: {key, origin: [x, y] of its pixels, tiles, w, h}
    this.fullNext = false;
    this.canvas.dataset.blits = "0";
    this.canvas.dataset.fullFrames = "0";
    // A full frame on request (tests compare it with a shifted frame's pixels).
    this.canvas.addEventListener("elv-full-redraw", () => {
      this.fullNext = true;
      this.viewer.forceRedraw();
    });
  }

  draw(tiledImages) {
    const frame = this.describe(tiledImages);
    let shift = "not a plain frame";
    if (frame && this.fullNext) shift = "asked for";
    else if (frame) shift = wholeShift(this.last, frame);
    if (shift === STILL) {
      // OpenSeadragon draws once more when an animation (each drag step is one) has finished,
      // with nothing moved: the same tiles with the same data at the same places, i.e. the
      // pixels the canvas already holds
      bump(this.canvas, "stillFrames");
    } else if (typeof shift !== "string") {
      this.shiftFrame(tiledImages, frame, shift);
      // the kept pixels sit where the last frame's were, moved by whole pixels
      frame.origin = [this.last.origin[0] + shift[0], this.last.origin[1] + shift[1]];
      bump(this.canvas, "blits");
      this.canvas.dataset.lastFrame = "blit";
    } else {
      super.draw(tiledImages);
      bump(this.canvas, "fullFrames");
      this.canvas.dataset.lastFrame = "full";
      this.canvas.dataset.fullWhy = shift; // why the last full frame could not be a shift
    }
    this.fullNext = false;
    if (shift === STILL) frame.origin = this.last.origin;
    this.last = frame;
  }

  setImageSmoothingEnabled(enabled) {
    this.last = null; // the pixels kept would have the old smoothing
    super.setImageSmoothingEnabled(enabled);
  }

  // What must not change between two frames for a shift to be right, or null when this frame
  // can never be one (rotation, flip, opacity, clipping, or the edge-smoothing sketch, in which
  // OpenSeadragon composes tiles off-screen and scales them).
  describe(tiledImages) {
    const vp = this.viewport;
    if (vp.getRotation(true) % 360 !== 0 || vp.getFlip() || this._viewportFlipped) return null;
    const dpr = OpenSeadragon.pixelDensityRatio;
    const size = this._calculateCanvasSize();
    const zoom = vp.getZoom(true);
    const parts = [size.x, size.y, dpr, zoom, this._imageSmoothingEnabled];
    const tiles = [];
    for (const item of tiledImages) {
      if (item.opacity === 0) continue;
      const drawn = item.getTilesToDraw().map((info) => info.tile);
      const plain =
        item.opacity === 1 &&
        (!item.compositeOperation || item.compositeOperation === "source-over") &&
        item.getRotation(true) % 360 === 0 &&
        !item.getFlip() &&
        !item._clip &&
        !item._croppingPolygons &&
        !item.placeholderFillStyle &&
        item._isBottomItem();
      if (!plain) return null;
      if (drawn.length > 1 && item.viewportToImageZoom(zoom) > item.smoothTileEdgesMinZoom) return null;
      const b = item.getBoundsNoRotate(true);
      parts.push(b.x, b.y, b.width, b.height);
      for (const tile of drawn) {
        tiles.push({
          tile,
          opacity: tile.opacity,
          data: this.getDataToDraw(tile), // new data under the same tile is a change too
          x: tile.position.x * dpr,
          y: tile.position.y * dpr,
          w: tile.size.x * dpr,
          h: tile.size.y * dpr,
        });
      }
    }
    const p = vp.pixelFromPointNoRotate(new OpenSeadragon.Point(0, 0), true);
    return { key: parts.join("|"), origin: [p.x * dpr, p.y * dpr], tiles, w: size.x, h: size.y };
  }

  // Move the canvas's pixels by `shift` (whole device px) and draw the exposed strips.
  shiftFrame(tiledImages, frame, [dx, dy]) {
    const ctx = this.context;
    const { w, h } = frame;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalCompositeOperation = "copy"; // the canvas's old pixels never show through
    ctx.drawImage(this.canvas, dx, dy);
    ctx.globalCompositeOperation = "source-over";
    const strips = exposed(w, h, dx, dy);
    ctx.beginPath();
    for (const [x, y, sw, sh] of strips) {
      ctx.clearRect(x, y, sw, sh);
      ctx.rect(x, y, sw, sh);
    }
    ctx.clip();
    for (const item of tiledImages) {
      if (item.opacity !== 0) this._drawTiles(item);
    }
    ctx.restore();
  }
}

// [dx, dy] in whole device px when `frame` is `last` moved by whole pixels with the same tiles
// where the kept pixels land; STILL when nothing moved and the tiles are the same; else why not
// (a string).
function wholeShift(last, frame) {
  if (!last) return "no last frame";
  if (last.key !== frame.key) return "zoom, size or image bounds changed";
  const ex = frame.origin[0] - last.origin[0];
  const ey = frame.origin[1] - last.origin[1];
  const dx = Math.round(ex);
  const dy = Math.round(ey);
  if (Math.abs(ex - dx) > WHOLE_PX || Math.abs(ey - dy) > WHOLE_PX) return "not a whole-pixel move";
  if (Math.abs(dx) >= frame.w || Math.abs(dy) >= frame.h) return "moved by more than the view";
  // where the old pixels land, in this frame's pixels (all of them when nothing moved)
  const kept = [Math.max(0, dx), Math.max(0, dy), Math.min(frame.w, frame.w + dx), Math.min(frame.h, frame.h + dy)];
  const meets = (t) => t.x < kept[2] && t.x + t.w > kept[0] && t.y < kept[3] && t.y + t.h > kept[1];
  const before = last.tiles.map((t) => ({ ...t, x: t.x + dx, y: t.y + dy })).filter(meets);
  const now = frame.tiles.filter(meets);
  const changed = dx === 0 && dy === 0 ? "no move, other tiles" : "other tiles where the kept pixels land";
  if (before.length !== now.length) return changed;
  for (let i = 0; i < now.length; i++) {
    const [a, b] = [before[i], now[i]];
    if (a.tile !== b.tile || a.opacity !== b.opacity || a.data !== b.data) return changed;
  }
  return dx === 0 && dy === 0 ? STILL : [dx, dy];
}

// The strips of a w x h canvas that a shift by (dx, dy) leaves without pixels: [x, y, w, h].
function exposed(w, h, dx, dy) {
  const out = [];
  if (dx > 0) out.push([0, 0, dx, h]);
  if (dx < 0) out.push([w + dx, 0, -dx, h]);
  if (dy > 0) out.push([0, 0, w, dy]);
  if (dy < 0) out.push([0, h + dy, w, -dy]);
  return out;
}

function bump(canvas, name) {
  canvas.dataset[name] = String(Number(canvas.dataset[name] || 0) + 1);
}
