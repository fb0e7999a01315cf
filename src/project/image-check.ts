// create-dataset reads every labelled image once so that a corrupt frame is reported before training, not at
// the first batch that samples it. PNGs are checked structurally at native speed (chunk CRCs, the zlib stream
// inflates completely to exactly the rows the header promises), which is most of what can go wrong with a
// truncated or damaged file; other formats (JPEG) are decoded in full.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { ImageError, imageFormat, readImage } from '../io/image.ts';
import type { LabeledData } from './labeled-data.ts';
import { LabelsError } from './labels-csv.ts';
import type { Project } from './project-config.ts';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function checkPng(bytes: Buffer, file: string): { width: number; height: number } {
  let offset = 8;
  let header: { width: number; height: number; depth: number; color: number; interlace: number } | undefined;
  const data: Buffer[] = [];
  let ended = false;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > bytes.length) throw new ImageError(file, `truncated PNG: the ${type} chunk at byte ${offset} runs past the end of the file`);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) >>> 0 !== bytes.readUInt32BE(offset + 8 + length)) {
      throw new ImageError(file, `corrupt PNG: the ${type} chunk at byte ${offset} fails its checksum`);
    }
    if (type === 'IHDR') header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8]!, color: body[9]!, interlace: body[12]! };
    else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    offset = end;
  }
  if (!header) throw new ImageError(file, 'corrupt PNG: no IHDR chunk');
  if (!ended) throw new ImageError(file, 'truncated PNG: no IEND chunk');
  let pixels: Buffer;
  try {
    pixels = inflateSync(Buffer.concat(data));
  } catch (err) {
    throw new ImageError(file, `corrupt PNG: the image data does not decompress (${(err as Error).message})`);
  }
  const channels = CHANNELS[header.color];
  if (channels && header.interlace === 0) {
    const expected = header.height * (1 + Math.ceil((header.width * channels * header.depth) / 8));
    if (pixels.length !== expected) throw new ImageError(file, `corrupt PNG: ${pixels.length} bytes of image data, the header's ${header.width}x${header.height} needs ${expected}`);
  }
  return { width: header.width, height: header.height };
}

/** The image's size, after checking that it can be read; throws ImageError naming the file otherwise. */
export function checkImage(path: string): { width: number; height: number } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ImageError(path, `cannot read the image: ${(err as Error).message}`);
  }
  if (imageFormat(bytes) === 'png') return checkPng(bytes, path);
  const image = readImage(path);
  return { width: image.width, height: image.height };
}

/** How far outside its image a label may be before it is reported (labels on the border are common). */
const slack = (size: { width: number; height: number }) => Math.max(10, 0.05 * Math.max(size.width, size.height));

/**
 * Checks every labelled image; returns one warning per labels file with labels far outside their image
 * (DeepLabCut treats them as not visible, so they are silently not trained on).
 */
export function checkLabelledImages(project: Project, data: LabeledData): string[] {
  const outside = new Map<string, string[]>();
  for (const frame of data.frames) {
    const csv = join(project.root, ...frame.path.slice(0, -1), `CollectedData_${project.scorer}.csv`);
    let size: { width: number; height: number };
    try {
      size = checkImage(join(project.root, ...frame.path));
    } catch (err) {
      if (!(err instanceof ImageError)) throw err;
      throw new LabelsError(csv, `the labelled image ${err.message}; replace the image, or delete its row here, then run create-dataset again`);
    }
    const s = slack(size);
    const far = (x: number, y: number) => x < -s || y < -s || x > size.width + s || y > size.height + s;
    const names = [...frame.keypoints.flatMap((ind) => ind.map((p, b) => [data.bodyparts[b]!, p] as const)), ...frame.unique.map((p, u) => [data.uniqueBodyparts[u]!, p] as const)];
    const bad = names.filter(([, [x, y]]) => Number.isFinite(x) && Number.isFinite(y) && far(x, y));
    if (!bad.length) continue;
    const list = outside.get(csv) ?? [];
    list.push(`${frame.path.join('/')} ${bad.map(([b, [x, y]]) => `${b} (${x}, ${y})`).join(', ')} in a ${size.width}x${size.height} image`);
    outside.set(csv, list);
  }
  return [...outside].map(
    ([csv, list]) => `${csv}: labels far outside their image, which training ignores (fix them in the labelling GUI): ${list.slice(0, 5).join('; ')}${list.length > 5 ? `; ... (${list.length - 5} more)` : ''}`,
  );
}
