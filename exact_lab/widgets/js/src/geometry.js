// Geometry of annotations in level-0 pixels: shapes per EXACT vector type, hit tests, handles.

export const VT = { BBOX: 1, POINT: 2, LINE: 3, MULTILINE: 4, POLYGON: 5, FIXED: 6, GLOBAL: 7 };

export const isBoxLike = (vt) => vt === VT.BBOX || vt === VT.POINT || vt === VT.FIXED;
export const isOpen = (vt) => vt === VT.LINE || vt === VT.MULTILINE;

// Add one annotation's outline to a Path2D (points: flat [x1, y1, x2, y2, ...]).
export function addShape(path, vt, pts, start = 0, end = pts.length) {
  const n = (end - start) / 2;
  if (n < 1) return;
  if (isBoxLike(vt) && n >= 2) {
    const x0 = Math.min(pts[start], pts[start + 2]);
    const y0 = Math.min(pts[start + 1], pts[start + 3]);
    const w = Math.abs(pts[start + 2] - pts[start]);
    const h = Math.abs(pts[start + 3] - pts[start + 1]);
    if (vt === VT.POINT) {
      const rx = Math.max(w / 2, 1);
      const ry = Math.max(h / 2, 1);
      path.moveTo(x0 + w / 2 + rx, y0 + h / 2);
      path.ellipse(x0 + w / 2, y0 + h / 2, rx, ry, 0, 0, 2 * Math.PI);
    } else {
      path.rect(x0, y0, w, h);
    }
    return;
  }
  path.moveTo(pts[start], pts[start + 1]);
  for (let i = start + 2; i < end; i += 2) path.lineTo(pts[i], pts[i + 1]);
  if (!isOpen(vt) && n > 2) path.closePath();
}

export function bounds(pts, start = 0, end = pts.length) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = start; i < end; i += 2) {
    if (pts[i] < x0) x0 = pts[i];
    if (pts[i] > x1) x1 = pts[i];
    if (pts[i + 1] < y0) y0 = pts[i + 1];
    if (pts[i + 1] > y1) y1 = pts[i + 1];
  }
  return [x0, y0, x1, y1];
}

function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  let t = len > 0 ? ((px - ax) * dx + (py - ay) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  const qx = ax + t * dx - px;
  const qy = ay + t * dy - py;
  return Math.sqrt(qx * qx + qy * qy);
}

function insidePolygon(px, py, pts, start, end) {
  let inside = false;
  for (let i = start, j = end - 2; i < end; j = i, i += 2) {
    const xi = pts[i];
    const yi = pts[i + 1];
    const xj = pts[j];
    const yj = pts[j + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Does the point (px, py) hit this shape, with tolerance tol (level-0 pixels)?
export function hits(vt, pts, start, end, px, py, tol) {
  const [x0, y0, x1, y1] = bounds(pts, start, end);
  if (px < x0 - tol || px > x1 + tol || py < y0 - tol || py > y1 + tol) return false;
  if (isBoxLike(vt)) return true;
  for (let i = start; i + 3 < end; i += 2) {
    if (segmentDistance(px, py, pts[i], pts[i + 1], pts[i + 2], pts[i + 3]) <= tol) return true;
  }
  if (isOpen(vt)) return false;
  return insidePolygon(px, py, pts, start, end);
}

// Handles of a selected shape: bbox corners (0 TL, 1 TR, 2 BR, 3 BL) or vertices.
export function handles(vt, pts) {
  if (isBoxLike(vt)) {
    const [x0, y0, x1, y1] = bounds(pts);
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  }
  const out = [];
  for (let i = 0; i < pts.length; i += 2) out.push([pts[i], pts[i + 1]]);
  return out;
}

// Move handle `index` of a shape to (x, y); returns new points.
export function dragHandle(vt, pts, index, x, y) {
  if (isBoxLike(vt)) {
    let [x0, y0, x1, y1] = bounds(pts);
    if (index === 0 || index === 3) x0 = x; else x1 = x;
    if (index === 0 || index === 1) y0 = y; else y1 = y;
    return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
  }
  const out = Array.from(pts);
  out[2 * index] = x;
  out[2 * index + 1] = y;
  return out;
}

export function translate(pts, dx, dy) {
  const out = Array.from(pts);
  for (let i = 0; i < out.length; i += 2) {
    out[i] += dx;
    out[i + 1] += dy;
  }
  return out;
}

// Drop vertices closer than `min` to their predecessor (double clicks, freehand jitter).
export function simplify(pts, min) {
  if (pts.length < 4) return Array.from(pts);
  const out = [pts[0], pts[1]];
  for (let i = 2; i < pts.length; i += 2) {
    const dx = pts[i] - out[out.length - 2];
    const dy = pts[i + 1] - out[out.length - 1];
    if (dx * dx + dy * dy >= min * min) out.push(pts[i], pts[i + 1]);
  }
  return out;
}
