// Drawing on an 8-bit RGB image: the few primitives charts and the demo's rendered animals need
// (rectangles, thick lines, filled rotated ellipses, bitmap text). Everything clips to the image.
import type { RgbImage } from '../io/image.ts';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.ts';

export type Rgb = readonly [number, number, number];

export function createImage(width: number, height: number, background: Rgb = [255, 255, 255]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  return { width, height, data };
}

export function setPixel(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 3;
  img.data[o] = c[0];
  img.data[o + 1] = c[1];
  img.data[o + 2] = c[2];
}

export function getPixel(img: RgbImage, x: number, y: number): Rgb {
  const o = (y * img.width + x) * 3;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
}

export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb): void {
  for (let yy = Math.max(0, y); yy < Math.min(img.height, y + h); yy++)
    for (let xx = Math.max(0, x); xx < Math.min(img.width, x + w); xx++) setPixel(img, xx, yy, c);
}

export function strokeRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb): void {
  fillRect(img, x, y, w, 1, c);
  fillRect(img, x, y + h - 1, w, 1, c);
  fillRect(img, x, y, 1, h, c);
  fillRect(img, x + w - 1, y, 1, h, c);
}

/** A disk of radius r (pixel centres within r of (cx, cy)). */
export function fillDisk(img: RgbImage, cx: number, cy: number, r: number, c: Rgb): void {
  fillEllipse(img, cx, cy, r, r, 0, c);
}

/** An ellipse with semi-axes a (along `angle`, radians) and b, filled. */
export function fillEllipse(img: RgbImage, cx: number, cy: number, a: number, b: number, angle: number, c: Rgb): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const r = Math.max(a, b);
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++)
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
      const dx = x - cx;
      const dy = y - cy;
      const u = (dx * cos + dy * sin) / a;
      const v = (-dx * sin + dy * cos) / b;
      if (u * u + v * v <= 1) setPixel(img, x, y, c);
    }
}

/** A line `width` pixels thick from (x0, y0) to (x1, y1), round-capped. */
export function drawLine(img: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb, width = 1): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
  const r = (width - 1) / 2;
  for (let i = 0; i <= steps; i++) {
    const x = x0 + ((x1 - x0) * i) / steps;
    const y = y0 + ((y1 - y0) * i) / steps;
    if (r <= 0) setPixel(img, Math.round(x), Math.round(y), c);
    else fillDisk(img, x, y, r + 0.25, c);
  }
}

export function textWidth(text: string, scale = 1): number {
  return text.length ? (text.length * GLYPH_ADVANCE - 1) * scale : 0;
}

export const textHeight = (scale = 1) => GLYPH_HEIGHT * scale;

/**
 * Draws text with its top-left corner at (x, y). `vertical` turns it 90 degrees counter-clockwise
 * (reading bottom to top, for y-axis labels): (x, y) is then the top-left of the rotated box.
 */
export function drawText(img: RgbImage, text: string, x: number, y: number, c: Rgb, scale = 1, vertical = false): void {
  const length = textWidth(text, scale);
  [...text].forEach((ch, i) => {
    const rows = glyph(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++)
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!((rows[gy]! >> (GLYPH_WIDTH - 1 - gx)) & 1)) continue;
        const px = i * GLYPH_ADVANCE + gx;
        for (let sy = 0; sy < scale; sy++)
          for (let sx = 0; sx < scale; sx++) {
            const u = px * scale + sx;
            const v = gy * scale + sy;
            if (vertical) setPixel(img, x + v, y + length - 1 - u, c);
            else setPixel(img, x + u, y + v, c);
          }
      }
  });
}
