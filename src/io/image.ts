// Image files: PNG and JPEG decoding to 8-bit RGB, PNG encoding, and sizes read from headers.
// Pure JavaScript (fast-png, jpeg-js), so it can run in a browser; only readImage/writePng touch the file system.
import { readFileSync, writeFileSync } from 'node:fs';
import { decode as decodePngFile, encode as encodePngFile } from 'fast-png';
import jpeg from 'jpeg-js';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B). */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

export class ImageError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ImageError';
  }
}

export type ImageFormat = 'png' | 'jpeg';

export function imageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Converts gray, gray+alpha, RGB or RGBA samples (8 or 16 bit) to 8-bit RGB. Alpha is dropped, as cv2.imread does. */
function toRgb(width: number, height: number, channels: number, samples: ArrayLike<number>, depth: number, file: string): RgbImage {
  const n = width * height;
  if (samples.length < n * channels) throw new ImageError(file, `truncated pixel data (${samples.length} samples for ${width}x${height}x${channels})`);
  const out = new Uint8Array(n * 3);
  const shift = depth === 16 ? 8 : 0;
  if (channels === 3 && shift === 0) {
    out.set(samples instanceof Uint8Array ? samples.subarray(0, n * 3) : Array.from({ length: n * 3 }, (_, i) => samples[i]!));
    return { width, height, data: out };
  }
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    if (channels >= 3) {
      out[i * 3] = samples[s]! >> shift;
      out[i * 3 + 1] = samples[s + 1]! >> shift;
      out[i * 3 + 2] = samples[s + 2]! >> shift;
    } else {
      const g = samples[s]! >> shift;
      out[i * 3] = g;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = g;
    }
  }
  return { width, height, data: out };
}

function decodePng(bytes: Uint8Array, file: string): RgbImage {
  const png = decodePngFile(bytes);
  if (png.palette) {
    // Indexed colour: expand through the palette.
    const n = png.width * png.height;
    const idx = png.data;
    const bits = png.depth;
    const out = new Uint8Array(n * 3);
    const rowBytes = Math.ceil((png.width * bits) / 8);
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        let v: number;
        if (bits === 8) v = idx[y * png.width + x]!;
        else {
          const bit = x * bits;
          v = (idx[y * rowBytes + (bit >> 3)]! >> (8 - bits - (bit & 7))) & ((1 << bits) - 1);
        }
        const c = png.palette[v] ?? [0, 0, 0];
        const o = (y * png.width + x) * 3;
        out[o] = c[0]!;
        out[o + 1] = c[1]!;
        out[o + 2] = c[2]!;
      }
    }
    return { width: png.width, height: png.height, data: out };
  }
  if (png.depth < 8) {
    // Packed gray: expand to 8 bits.
    const n = png.width * png.height;
    const max = (1 << png.depth) - 1;
    const rowBytes = Math.ceil((png.width * png.depth) / 8);
    const gray = new Uint8Array(n);
    for (let y = 0; y < png.height; y++)
      for (let x = 0; x < png.width; x++) {
        const bit = x * png.depth;
        const v = (png.data[y * rowBytes + (bit >> 3)]! >> (8 - png.depth - (bit & 7))) & max;
        gray[y * png.width + x] = Math.round((v * 255) / max);
      }
    return toRgb(png.width, png.height, 1, gray, 8, file);
  }
  return toRgb(png.width, png.height, png.channels, png.data, png.depth, file);
}

/** Decodes PNG or JPEG bytes; `file` names the image in errors. */
export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  const format = imageFormat(bytes);
  if (!format) throw new ImageError(file, 'not a PNG or JPEG image (unrecognised file signature)');
  try {
    if (format === 'png') return decodePng(bytes, file);
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return toRgb(img.width, img.height, 4, img.data, 8, file);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(file, `corrupt ${format.toUpperCase()} image: ${(err as Error).message}`);
  }
}

export function readImage(path: string): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageError(path, code === 'ENOENT' ? 'image file does not exist' : `cannot read image: ${(err as Error).message}`);
  }
  return decodeImage(bytes, path);
}

/** Width and height from a PNG or JPEG header, without decoding the pixels. */
export function imageSize(bytes: Uint8Array, file: string): { width: number; height: number } {
  const format = imageFormat(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    if (bytes.length < 24) throw new ImageError(file, 'corrupt PNG image: truncated header');
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (format === 'jpeg') {
    let p = 2;
    while (p + 9 < bytes.length) {
      if (bytes[p] !== 0xff) throw new ImageError(file, 'corrupt JPEG image: bad marker');
      const marker = bytes[p + 1]!;
      if (marker === 0xff) {
        p++;
        continue;
      }
      const len = view.getUint16(p + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: view.getUint16(p + 5), width: view.getUint16(p + 7) };
      }
      p += 2 + len;
    }
    throw new ImageError(file, 'corrupt JPEG image: no frame header');
  }
  throw new ImageError(file, 'not a PNG or JPEG image (unrecognised file signature)');
}

export function readImageSize(path: string): { width: number; height: number } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageError(path, code === 'ENOENT' ? 'image file does not exist' : `cannot read image: ${(err as Error).message}`);
  }
  return imageSize(bytes, path);
}

export function encodePng(image: RgbImage): Uint8Array {
  return encodePngFile({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 });
}

export function writePng(path: string, image: RgbImage): void {
  writeFileSync(path, encodePng(image));
}

export function encodeJpeg(image: RgbImage, quality = 90): Uint8Array {
  const n = image.width * image.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[i * 4] = image.data[i * 3]!;
    rgba[i * 4 + 1] = image.data[i * 3 + 1]!;
    rgba[i * 4 + 2] = image.data[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  return jpeg.encode({ width: image.width, height: image.height, data: rgba }, quality).data;
}
