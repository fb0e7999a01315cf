// Turning augmented batch images back into pictures: undo normalisation, draw keypoints, tile a contact sheet.
import type { RgbImage } from '../io/image.ts';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Item b of an NCHW float batch as 8-bit RGB, undoing the pipeline's normalisation. */
export function batchItemToRgb(data: Float32Array, b: number, height: number, width: number, pixels: { normalize: boolean; scaleToUnit: boolean }): RgbImage {
  const plane = width * height;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const base = (b * 3 + c) * plane;
    for (let i = 0; i < plane; i++) {
      let v = data[base + i]!;
      if (pixels.scaleToUnit) v *= 255;
      if (pixels.normalize) v = (v * STD[c]! + MEAN[c]!) * 255;
      out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width, height, data: out };
}

/** Matplotlib's jet colormap at t in [0, 1] (DeepLabCut's default colormap). */
export function jet(t: number): [number, number, number] {
  const f = (x: number) => Math.round(255 * Math.max(0, Math.min(1, x)));
  return [f(1.5 - Math.abs(4 * t - 3)), f(1.5 - Math.abs(4 * t - 2)), f(1.5 - Math.abs(4 * t - 1))];
}

export function bodypartColors(n: number): [number, number, number][] {
  return Array.from({ length: n }, (_, k) => jet(n === 1 ? 0.5 : k / (n - 1)));
}

function setPixel(img: RgbImage, x: number, y: number, c: readonly number[]): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 3;
  img.data[o] = c[0]!;
  img.data[o + 1] = c[1]!;
  img.data[o + 2] = c[2]!;
}

/** A filled disk with a dark outline (visible keypoints), or a ring (invisible ones, when drawn). */
export function drawKeypoint(img: RgbImage, x: number, y: number, color: readonly number[], radius = 4, filled = true): void {
  const cx = Math.round(x);
  const cy = Math.round(y);
  for (let dy = -radius - 1; dy <= radius + 1; dy++)
    for (let dx = -radius - 1; dx <= radius + 1; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 <= radius * radius && (filled || d2 >= (radius - 1) * (radius - 1))) setPixel(img, cx + dx, cy + dy, color);
      else if (filled && d2 <= (radius + 1) * (radius + 1)) setPixel(img, cx + dx, cy + dy, [0, 0, 0]);
    }
}

/** Tiles images into a grid, each scaled (nearest) to fit a cell of `cell` pixels. */
export function contactSheet(images: readonly RgbImage[], cell = 224, gap = 4): RgbImage {
  const cols = Math.ceil(Math.sqrt(images.length));
  const rows = Math.ceil(images.length / cols);
  const width = cols * cell + (cols + 1) * gap;
  const height = rows * cell + (rows + 1) * gap;
  const sheet: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(40) };
  images.forEach((img, i) => {
    const s = Math.min(cell / img.width, cell / img.height);
    const w = Math.max(1, Math.round(img.width * s));
    const h = Math.max(1, Math.round(img.height * s));
    const ox = gap + (i % cols) * (cell + gap) + Math.floor((cell - w) / 2);
    const oy = gap + Math.floor(i / cols) * (cell + gap) + Math.floor((cell - h) / 2);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const sx = Math.min(img.width - 1, Math.floor((x + 0.5) / s));
        const sy = Math.min(img.height - 1, Math.floor((y + 0.5) / s));
        const si = (sy * img.width + sx) * 3;
        setPixel(sheet, ox + x, oy + y, [img.data[si]!, img.data[si + 1]!, img.data[si + 2]!]);
      }
  });
  return sheet;
}
