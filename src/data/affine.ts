// 2-D affine maps in pixel-centre coordinates (pixel i covers [i - 0.5, i + 0.5], as OpenCV and DeepLabCut labels).
// [a, b, c, d, e, f] maps (x, y) to (a x + b y + c, d x + e y + f).

export type Affine = [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** `outer` after `inner`. */
export function compose(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [A, B, C, D, E, F] = inner;
  return [a * A + b * D, a * B + b * E, a * C + b * F + c, d * A + e * D, d * B + e * E, d * C + e * F + f];
}

export function invert(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (det === 0) throw new Error('affine map is singular');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

export function apply(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export function translate(tx: number, ty: number): Affine {
  return [1, 0, tx, 0, 1, ty];
}

/** Resizing an image of w x h pixels to nw x nh, as cv2.resize maps pixel centres. */
export function resizeMap(w: number, h: number, nw: number, nh: number): Affine {
  const sx = nw / w;
  const sy = nh / h;
  return [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5];
}
