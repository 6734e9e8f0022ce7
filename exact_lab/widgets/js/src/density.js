// The density view's colours, its legend, and the home view's grid drawn before the slide opens.
//
// A density answer is {bbox: [x0, y0, x1, y1], gx, gy, cell, max, count} plus a Float32Array of
// gy x gx counts (level-0 cells from the image's corner); the overlay keeps it with a picture of
// one pixel per cell (`image`). The first one usually lands before
// OpenSeadragon has opened the slide (it needs the .dzi and its own events first); the preview
// canvas shows it at the home view's place, the whole image fitted and centred as OpenSeadragon
// will show it, until the overlay takes over.

// Counts -> colour, as the overlay colours its grid (overlay.js, densityImage): yellow (few) to
// red (the most), more opaque with the square root of the count, so sparse cells stay visible.
export function rampColor(v, top) {
  const r = Math.min(v / Math.max(top, 1), 1);
  const a = 0.15 + 0.7 * Math.sqrt(r);
  return `rgba(255, ${Math.round(200 - 180 * r)}, 0, ${a.toFixed(3)})`;
}

// OpenSeadragon's home view: the whole image fitted into the box and centred.
export function homeTransform(width, height, boxW, boxH) {
  const scale = Math.min(boxW / width, boxH / height);
  return { scale, ox: (boxW - width * scale) / 2, oy: (boxH - height * scale) / 2 };
}

function cellText(density, mpp) {
  const cell = density.cell || (density.bbox[2] - density.bbox[0]) / density.gx;
  if (mpp > 0) {
    const um = cell * mpp;
    return um >= 1000 ? `${(um / 1000).toPrecision(3)} mm` : `${um.toPrecision(3)} µm`;
  }
  return `${cell.toPrecision(4)} px`;
}

// The legend of the density view: what a colour means, over the slide's top-left corner.
export class DensityLegend {
  constructor(parent) {
    this.el = document.createElement("div");
    this.el.className = "elv-legend";
    this.el.hidden = true;
    parent.appendChild(this.el);
  }

  show(density, mpp) {
    if (!density) {
      this.el.hidden = true;
      return;
    }
    const top = Math.max(1, Math.round(density.max));
    const stops = [0.02, 0.25, 0.5, 0.75, 1].map((r) => `${rampColor(r * top, top)} ${r * 100}%`);
    this.el.innerHTML = "";
    const title = document.createElement("div");
    title.className = "elv-legend-title";
    title.textContent = `Density view · ${density.count.toLocaleString("en-US")} annotations`;
    const bar = document.createElement("div");
    bar.className = "elv-legend-bar";
    bar.style.backgroundImage = `linear-gradient(to right, ${stops.join(", ")})`;
    const scale = document.createElement("div");
    scale.className = "elv-legend-scale";
    for (const text of ["1", `${top.toLocaleString("en-US")} per cell`]) {
      const span = document.createElement("span");
      span.textContent = text;
      scale.appendChild(span);
    }
    const note = document.createElement("div");
    note.className = "elv-legend-note";
    note.textContent = `cell ${cellText(density, mpp)} · zoom in for the shapes`;
    this.el.append(title, bar, scale, note);
    this.el.dataset.max = String(top);
    this.el.hidden = false;
  }

  destroy() {
    this.el.remove();
  }
}

// The home view's density grid on its own canvas, drawn while OpenSeadragon has not opened the
// slide yet. `firstContent` is the wall clock of its first paint (what benchmarks read).
export class DensityPreview {
  constructor(parent) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "elv-preview";
    parent.appendChild(this.canvas);
  }

  draw(density, image, box) {
    const dpr = window.devicePixelRatio || 1;
    const { width: w, height: h } = box;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    const t = homeTransform(image.width, image.height, w, h);
    const ctx = this.canvas.getContext("2d");
    const s = t.scale * dpr;
    ctx.setTransform(s, 0, 0, s, t.ox * dpr, t.oy * dpr);
    // the overlay's own picture of the grid (one pixel per cell), scaled up as it does
    const { bbox, image: cells } = density;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, bbox[0], bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1]);
    if (!this.canvas.dataset.firstContent) this.canvas.dataset.firstContent = String(Date.now());
  }

  destroy() {
    this.canvas.remove();
  }
}
