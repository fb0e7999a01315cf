// Synthetic top-view "mice" with exactly known keypoints, for the demo projects: a textured arena floor,
// and one animal (or several, renderMice) at a random position, heading and size: body and head ellipses, two ears, a pink nose,
// a curved tail. The keypoints are the centres of the parts they name (nose, ears) and the body/tail
// junction, so labels are exact by construction. Deterministic from the seed.
import { Rng } from '../data/random.ts';
import type { RgbImage } from '../io/image.ts';
import { createImage, drawLine, fillDisk, fillEllipse, type Rgb } from '../report/raster.ts';

export const DEMO_BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'] as const;

export const MOUSE_COLORS = {
  body: [72, 68, 76] as Rgb,
  head: [92, 86, 96] as Rgb,
  ear: [214, 150, 160] as Rgb,
  nose: [236, 112, 150] as Rgb,
  tail: [186, 142, 128] as Rgb,
};

export interface RenderedFrame {
  image: RgbImage;
  /** [x, y] in pixels for each of DEMO_BODYPARTS, in that order. */
  keypoints: [number, number][];
}

/** A smooth random field in [0, 1]: bilinear interpolation of a coarse grid of random values. */
function valueNoise(rng: Rng, width: number, height: number, cell: number): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => rng.random());
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const gy = y / cell;
      const x0 = Math.floor(gx);
      const y0 = Math.floor(gy);
      const fx = gx - x0;
      const fy = gy - y0;
      const at = (i: number, j: number) => grid[j * gw + i]!;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  return out;
}

/** An arena floor: a light tint, blotches at two scales and per-pixel grain. */
function floor(rng: Rng, width: number, height: number): RgbImage {
  const tint: Rgb = [170 + rng.random() * 40, 160 + rng.random() * 40, 140 + rng.random() * 40].map(Math.round) as unknown as Rgb;
  const coarse = valueNoise(rng, width, height, Math.max(8, width / 4));
  const fine = valueNoise(rng, width, height, 4);
  const img = createImage(width, height, tint);
  for (let i = 0; i < width * height; i++) {
    const shade = 0.75 + 0.35 * coarse[i]! + 0.12 * (fine[i]! - 0.5) + 0.08 * (rng.random() - 0.5);
    for (let c = 0; c < 3; c++) img.data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(tint[c]! * shade)));
  }
  return img;
}

/** Adds uniform noise of +-amplitude to every channel (camera grain over the animal too). */
function grain(img: RgbImage, rng: Rng, amplitude: number): void {
  for (let i = 0; i < img.data.length; i++) img.data[i] = Math.max(0, Math.min(255, Math.round(img.data[i]! + (rng.random() * 2 - 1) * amplitude)));
}

/** Where an animal is: centre, heading (radians, y down) and nose-to-tail-base length in pixels. */
export interface MousePose {
  cx: number;
  cy: number;
  angle: number;
  length: number;
}

/** A mouse's body plan at `pose`: where its parts are, and the keypoints in DEMO_BODYPARTS order. */
function bodyPlan({ cx, cy, angle, length }: MousePose) {
  const dir: [number, number] = [Math.cos(angle), Math.sin(angle)];
  // Seen from above with y pointing down, the animal's left is (dy, -dx) of its heading.
  const left: [number, number] = [dir[1], -dir[0]];
  const at = (along: number, side: number): [number, number] => [cx + dir[0] * along + left[0] * side, cy + dir[1] * along + left[1] * side];

  const bodyA = length * 0.36;
  const bodyB = length * 0.2;
  const bodyCentre = at(-length * 0.12, 0);
  const tailbase = at(-length * 0.12 - bodyA * 0.95, 0);
  const headCentre = at(length * 0.3, 0);
  const snout = at(length * 0.5, 0);
  const earAlong = length * 0.22;
  const earSide = length * 0.13;
  const leftear = at(earAlong, earSide);
  const rightear = at(earAlong, -earSide);
  return { bodyA, bodyB, bodyCentre, tailbase, headCentre, snout, leftear, rightear, keypoints: [snout, leftear, rightear, tailbase] };
}

/** The tail (drawn under every body): a curve bending to one side by an amount from `rng`, thinning towards the tip. */
function drawTail(img: RgbImage, rng: Rng, pose: MousePose): void {
  const { angle, length } = pose;
  const { tailbase } = bodyPlan(pose);
  const bend = (rng.random() - 0.5) * 1.6;
  let prev = tailbase;
  const tailLength = length * 0.8;
  for (let k = 1; k <= 12; k++) {
    const t = k / 12;
    const a = angle + Math.PI + bend * t;
    const p: [number, number] = [prev[0] + Math.cos(a) * (tailLength / 12), prev[1] + Math.sin(a) * (tailLength / 12)];
    drawLine(img, prev[0], prev[1], p[0], p[1], MOUSE_COLORS.tail, Math.max(1, Math.round(length * 0.06 * (1 - 0.6 * t))));
    prev = p;
  }
}

/** Body, head, ears and nose over the tail; returns the keypoints. */
function drawBody(img: RgbImage, pose: MousePose): [number, number][] {
  const { angle, length } = pose;
  const { bodyA, bodyB, bodyCentre, tailbase, headCentre, snout, leftear, rightear, keypoints } = bodyPlan(pose);
  fillEllipse(img, bodyCentre[0], bodyCentre[1], bodyA, bodyB, angle, MOUSE_COLORS.body);
  fillDisk(img, tailbase[0], tailbase[1], Math.max(1.5, length * 0.045), MOUSE_COLORS.tail);
  fillEllipse(img, headCentre[0], headCentre[1], length * 0.21, length * 0.14, angle, MOUSE_COLORS.head);
  const earR = Math.max(2, length * 0.075);
  fillDisk(img, leftear[0], leftear[1], earR, MOUSE_COLORS.ear);
  fillDisk(img, rightear[0], rightear[1], earR, MOUSE_COLORS.ear);
  fillDisk(img, snout[0], snout[1], Math.max(1.5, length * 0.04), MOUSE_COLORS.nose);
  return keypoints;
}

/** Frame `index` of the demo video rendered from `seed`. */
export function renderMouse(seed: number, index: number, width: number, height: number): RenderedFrame {
  const rng = new Rng(seed * 1_000_003 + index);
  const img = floor(rng, width, height);
  const size = Math.min(width, height);
  const length = size * (0.3 + 0.1 * rng.random()); // nose to tail base
  const angle = rng.random() * 2 * Math.PI;
  const margin = length * 0.75;
  const cx = margin + rng.random() * (width - 2 * margin);
  const cy = margin + rng.random() * (height - 2 * margin);
  drawTail(img, rng, { cx, cy, angle, length });
  const keypoints = drawBody(img, { cx, cy, angle, length });
  grain(img, rng, 6);
  return { image: img, keypoints };
}

export interface RenderedGroup {
  image: RgbImage;
  /** Per animal slot: its keypoints in DEMO_BODYPARTS order, or null when that animal is not in the frame. */
  animals: ([number, number][] | null)[];
}

/**
 * Frame `index` of a multi-animal demo video: `present[i]` says whether animal slot i is in the frame. Animals
 * are placed apart (centres at least 1.25 body lengths apart, so bodies never overlap when a place is found in
 * 50 tries), each with its own size and heading; every tail is drawn before any body, so tails never cover a
 * keypoint and the labels stay exact.
 */
export function renderMice(seed: number, index: number, width: number, height: number, present: readonly boolean[]): RenderedGroup {
  const rng = new Rng(seed * 1_000_003 + index + 7_919);
  const img = floor(rng, width, height);
  const size = Math.min(width, height);
  const placed: MousePose[] = [];
  const animals = present.map((here) => {
    if (!here) return null;
    const length = size * (0.22 + 0.06 * rng.random());
    const margin = length * 0.75;
    let pose: MousePose = { cx: 0, cy: 0, angle: 0, length };
    for (let attempt = 0; attempt < 50; attempt++) {
      pose = { cx: margin + rng.random() * (width - 2 * margin), cy: margin + rng.random() * (height - 2 * margin), angle: rng.random() * 2 * Math.PI, length };
      if (placed.every((q) => Math.hypot(q.cx - pose.cx, q.cy - pose.cy) > 1.25 * Math.max(q.length, length))) break;
    }
    placed.push(pose);
    return pose;
  });
  for (const pose of animals) if (pose) drawTail(img, rng, pose);
  const keypoints = animals.map((pose) => (pose ? drawBody(img, pose) : null));
  grain(img, rng, 6);
  return { image: img, animals: keypoints };
}
