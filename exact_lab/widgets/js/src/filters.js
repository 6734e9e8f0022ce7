// Brightness, contrast and gamma of the slide's tiles: one SVG filter (two feComponentTransfer
// steps) referenced by CSS from OpenSeadragon's drawer canvases, so the browser applies it while
// compositing (on the GPU where there is one) and the annotation canvas above stays untouched.
// CSS's own brightness()/contrast() have no gamma, hence SVG.
//
// Per channel, values in 0..1: out = contrast * (in ** gamma - 0.5) + 0.5 + brightness.
const SVG = "http://www.w3.org/2000/svg";
let counter = 0;

export const NEUTRAL = { brightness: 0, contrast: 1, gamma: 1 };

export function isNeutral(values) {
  return Object.entries(NEUTRAL).every(([name, neutral]) => Number(values[name]) === neutral);
}

export class SlideFilter {
  constructor(host) {
    counter += 1;
    this.id = `exact-lab-filter-${counter}-${Math.random().toString(36).slice(2, 8)}`;
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("aria-hidden", "true");
    this.svg.setAttribute("width", "0");
    this.svg.setAttribute("height", "0");
    this.svg.style.position = "absolute";
    const filter = document.createElementNS(SVG, "filter");
    filter.id = this.id;
    // the formula works on the stored (sRGB) values, not on linear light (SVG's default)
    filter.setAttribute("color-interpolation-filters", "sRGB");
    const gamma = document.createElementNS(SVG, "feComponentTransfer");
    const linear = document.createElementNS(SVG, "feComponentTransfer");
    this.gammaFuncs = [];
    this.linearFuncs = [];
    for (const channel of ["R", "G", "B"]) {
      const g = document.createElementNS(SVG, `feFunc${channel}`);
      g.setAttribute("type", "gamma");
      g.setAttribute("amplitude", "1");
      g.setAttribute("offset", "0");
      gamma.append(g);
      this.gammaFuncs.push(g);
      const l = document.createElementNS(SVG, `feFunc${channel}`);
      l.setAttribute("type", "linear");
      linear.append(l);
      this.linearFuncs.push(l);
    }
    filter.append(gamma, linear);
    this.svg.append(filter);
    host.append(this.svg);
    this.values = { ...NEUTRAL };
  }

  // Set the three values; returns the CSS filter value for the tile canvases ("" when neutral).
  set({ brightness, contrast, gamma }) {
    this.values = { brightness, contrast, gamma };
    for (const g of this.gammaFuncs) g.setAttribute("exponent", String(gamma));
    for (const l of this.linearFuncs) {
      l.setAttribute("slope", String(contrast));
      l.setAttribute("intercept", String(0.5 - 0.5 * contrast + brightness));
    }
    return isNeutral(this.values) ? "" : `url(#${this.id})`;
  }

  // Apply to the tile canvases of the main drawer and of the navigator (never to the overlay).
  applyTo(viewer) {
    const css = this.set(this.values);
    const canvases = [viewer.drawer && viewer.drawer.canvas];
    if (viewer.navigator && viewer.navigator.drawer) canvases.push(viewer.navigator.drawer.canvas);
    for (const canvas of canvases) {
      if (canvas && canvas.style) canvas.style.filter = css;
    }
    return css;
  }

  destroy() {
    this.svg.remove();
  }
}
