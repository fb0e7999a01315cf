import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeRawPng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeJpeg, encodePng, ImageError, imageSize, readImage, readImageSize } from '../../src/io/image.ts';

const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-image-'));
const rgb = { width: 5, height: 3, data: Uint8Array.from({ length: 45 }, (_, i) => (i * 37) % 256) };

describe('image io', () => {
  it('round-trips RGB PNG', () => {
    const back = decodeImage(encodePng(rgb), 'x.png');
    expect(back.width).toBe(5);
    expect(back.height).toBe(3);
    expect([...back.data]).toEqual([...rgb.data]);
    expect(imageSize(encodePng(rgb), 'x.png')).toEqual({ width: 5, height: 3 });
  });

  it('converts grayscale, gray+alpha, RGBA and 16-bit PNG to RGB', () => {
    const gray = encodeRawPng({ width: 2, height: 1, data: Uint8Array.from([10, 200]), channels: 1, depth: 8 });
    expect([...decodeImage(gray, 'g.png').data]).toEqual([10, 10, 10, 200, 200, 200]);
    const ga = encodeRawPng({ width: 1, height: 1, data: Uint8Array.from([77, 0]), channels: 2, depth: 8 });
    expect([...decodeImage(ga, 'ga.png').data]).toEqual([77, 77, 77]);
    const rgba = encodeRawPng({ width: 1, height: 1, data: Uint8Array.from([1, 2, 3, 0]), channels: 4, depth: 8 });
    expect([...decodeImage(rgba, 'rgba.png').data]).toEqual([1, 2, 3]);
    const deep = encodeRawPng({ width: 1, height: 1, data: Uint16Array.from([65535, 256, 0]), channels: 3, depth: 16 });
    expect([...decodeImage(deep, 'deep.png').data]).toEqual([255, 1, 0]);
  });

  it('decodes JPEG (lossy) and reads its size from the header', () => {
    const flat = { width: 16, height: 8, data: new Uint8Array(16 * 8 * 3).fill(0).map((_, i) => [200, 100, 50][i % 3]!) };
    const bytes = encodeJpeg(flat, 95);
    expect(imageSize(bytes, 'a.jpg')).toEqual({ width: 16, height: 8 });
    const back = decodeImage(bytes, 'a.jpg');
    expect(back.width).toBe(16);
    for (let i = 0; i < back.data.length; i++) expect(Math.abs(back.data[i]! - flat.data[i]!)).toBeLessThanOrEqual(3);
  });

  it('names the file when it is missing, corrupt or not an image', () => {
    const missing = join(dir, 'nope.png');
    expect(() => readImage(missing)).toThrow(ImageError);
    expect(() => readImage(missing)).toThrow(`${missing}: image file does not exist`);
    expect(() => readImageSize(missing)).toThrow(missing);
    const truncated = join(dir, 'truncated.png');
    writeFileSync(truncated, encodePng(rgb).subarray(0, 40));
    expect(() => readImage(truncated)).toThrow(new RegExp(`^${truncated}: corrupt PNG image`));
    const text = join(dir, 'text.png');
    writeFileSync(text, 'hello');
    expect(() => readImage(text)).toThrow(`${text}: not a PNG or JPEG image`);
    const badJpeg = join(dir, 'bad.jpg');
    writeFileSync(badJpeg, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 1, 2, 3]));
    expect(() => readImage(badJpeg)).toThrow(badJpeg);
  });
});
