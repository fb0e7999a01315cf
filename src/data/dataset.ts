// The pose dataset of a DeepLabCut project: one item per labelled image (bottom-up), or one item per annotated
// individual (top-down, as DeepLabCut's PoseDataset for TD tasks), with keypoints as (x, y, visibility) following
// DLCLoader.to_coco and boxes from keypoints (bbox_from_keypoints).
import { join } from 'node:path';
import { ImageError, readImage, readImageSize, type RgbImage } from '../io/image.ts';
import type { LabeledData } from '../project/index.ts';

/** One labelled image before augmentation. Arrays are row-major. */
export interface PoseSample {
  /** Row position in the merged labels (DeepLabCut's image_id); a split's indices refer to it. */
  imageId: number;
  /** Top-down items: which of the image's annotations (in slot order) this item is; absent for bottom-up items. */
  annotation?: number;
  /** Absolute path of the image. */
  path: string;
  /** Path relative to the project root, with '/' separators. */
  relPath: string;
  width: number;
  height: number;
  /** Annotation slots (max individuals, at least 1). */
  individuals: number;
  bodyparts: number;
  /** [individuals, bodyparts, 3] as (x, y, visibility); unlabeled and out-of-image keypoints are (0, 0, 0)/(x, y, 0). */
  keypoints: Float32Array;
  /** [unique bodyparts, 3]; -1 visibility when the project has none labelled (DLC's default). */
  unique: Float32Array;
  /** [individuals, 4] xywh boxes around the visible keypoints plus bbox_margin, clipped to the image; 0 for empty slots. */
  boxes: Float32Array;
  /** [individuals] index into the project's individuals, -1 for empty slots. */
  individualIds: Int32Array;
  /** Annotation slots in use (individuals with at least one visible keypoint). */
  annotations: number;
}

/** DLCLoader's visibility: 2 when labelled and strictly inside the image, else 0. */
export function visibility(x: number, y: number, width: number, height: number): number {
  return Number.isFinite(x) && Number.isFinite(y) && x > 0 && x < width && y > 0 && y < height ? 2 : 0;
}

/** bbox_from_keypoints for one individual: [min - margin, max + margin] over visible keypoints, clipped, as xywh. */
export function bboxFromKeypoints(keypoints: ArrayLike<number>, offset: number, count: number, width: number, height: number, margin: number): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < count; k++) {
    const o = offset + k * 3;
    if (!(keypoints[o + 2]! > 0)) continue;
    x0 = Math.min(x0, keypoints[o]!);
    y0 = Math.min(y0, keypoints[o + 1]!);
    x1 = Math.max(x1, keypoints[o]!);
    y1 = Math.max(y1, keypoints[o + 1]!);
  }
  if (x0 === Infinity) return [0, 0, 0, 0];
  x0 = Math.max(0, x0 - margin);
  y0 = Math.max(0, y0 - margin);
  x1 = Math.min(width, x1 + margin);
  y1 = Math.min(height, y1 + margin);
  return [x0, y0, x1 - x0, y1 - y0];
}

export interface PoseDatasetOptions {
  /** The project root (the folder of config.yaml). */
  root: string;
  labels: LabeledData;
  /** Which rows of `labels.frames` belong to this dataset (a split's train or test indices). */
  indices: readonly number[];
  bboxMargin: number;
  /** Keep decoded images in memory (about W*H*3 bytes each). */
  cacheImages?: boolean;
  /**
   * 'bottom-up' (default): one item per image with every individual. 'top-down': one item per annotation (an
   * individual with a visible keypoint), carrying only that individual; unique bodyparts are left out (visibility -1).
   */
  mode?: 'bottom-up' | 'top-down';
}

export type DatasetMode = NonNullable<PoseDatasetOptions['mode']>;

export class PoseDataset {
  readonly root: string;
  readonly labels: LabeledData;
  readonly indices: readonly number[];
  readonly bboxMargin: number;
  readonly mode: DatasetMode;
  private readonly sizes = new Map<number, { width: number; height: number }>();
  private readonly cache: Map<number, RgbImage> | null;

  constructor(options: PoseDatasetOptions) {
    this.root = options.root;
    this.labels = options.labels;
    this.indices = [...options.indices];
    this.bboxMargin = options.bboxMargin;
    this.cache = options.cacheImages ? new Map() : null;
    this.mode = options.mode ?? 'bottom-up';
    if (this.mode !== 'bottom-up' && this.mode !== 'top-down') throw new Error(`dataset mode must be 'bottom-up' or 'top-down', got '${String(this.mode)}'`);
    for (const i of this.indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.labels.frames.length) {
        throw new Error(`split index ${i} is outside the ${this.labels.frames.length} labelled frames`);
      }
    }
  }

  /** Top-down items as (position in `indices`, annotation slot); read from image headers on first use. */
  private topDown: { frame: number; slot: number }[] | null = null;

  private items(): { frame: number; slot: number }[] {
    if (!this.topDown) {
      const items: { frame: number; slot: number }[] = [];
      this.indices.forEach((_, f) => {
        const s = this.frameSample(f);
        for (let slot = 0; slot < s.annotations; slot++) items.push({ frame: f, slot });
      });
      this.topDown = items;
    }
    return this.topDown;
  }

  /** Item i's position in `indices` (and its annotation slot in top-down mode). */
  private locate(i: number): { frame: number; slot: number } {
    if (this.mode === 'bottom-up') {
      if (!Number.isInteger(i) || i < 0 || i >= this.indices.length) throw new RangeError(`dataset item ${i} does not exist (${this.length} items)`);
      return { frame: i, slot: -1 };
    }
    const item = this.items()[i];
    if (!item) throw new RangeError(`dataset item ${i} does not exist (${this.length} items)`);
    return item;
  }

  /** Items: images (bottom-up) or annotations (top-down; reads every image header the first time). */
  get length(): number {
    return this.mode === 'bottom-up' ? this.indices.length : this.items().length;
  }

  get bodyparts(): string[] {
    return this.labels.bodyparts;
  }

  get uniqueBodyparts(): string[] {
    return this.labels.uniqueBodyparts;
  }

  /** Absolute path of item i's image. */
  imagePath(i: number): string {
    return this.framePath(this.locate(i).frame);
  }

  private framePath(f: number): string {
    return join(this.root, ...this.labels.frames[this.indices[f]!]!.path);
  }

  /** Image size from the file header (cached), for visibility and boxes. */
  imageSize(i: number): { width: number; height: number } {
    return this.frameSize(this.locate(i).frame);
  }

  private frameSize(f: number): { width: number; height: number } {
    const row = this.indices[f]!;
    let size = this.sizes.get(row);
    if (!size) {
      size = readImageSize(this.framePath(f));
      this.sizes.set(row, size);
    }
    return size;
  }

  /** Decodes item i's image (8-bit RGB). */
  loadImage(i: number): RgbImage {
    const row = this.indices[this.locate(i).frame]!;
    const cached = this.cache?.get(row);
    if (cached) return cached;
    const image = readImage(this.imagePath(i));
    this.checkSize(i, image);
    this.cache?.set(row, image);
    return image;
  }

  /** Stores an image decoded elsewhere (a worker thread) after checking it matches the header size. */
  checkSize(i: number, image: RgbImage): void {
    const row = this.indices[this.locate(i).frame]!;
    const known = this.sizes.get(row);
    if (known && (known.width !== image.width || known.height !== image.height)) {
      throw new ImageError(this.imagePath(i), `decoded size ${image.width}x${image.height} differs from the header's ${known.width}x${known.height}`);
    }
    this.sizes.set(row, { width: image.width, height: image.height });
  }

  /** Keypoints, boxes and metadata of item i (reads only the image header). */
  sample(i: number): PoseSample {
    const { frame: f, slot } = this.locate(i);
    const all = this.frameSample(f);
    if (slot < 0) return all;
    const K = all.bodyparts;
    const U = all.unique.length / 3;
    const unique = new Float32Array(U * 3);
    for (let u = 0; u < U; u++) unique[u * 3 + 2] = -1;
    return {
      ...all,
      annotation: slot,
      individuals: 1,
      keypoints: all.keypoints.slice(slot * K * 3, (slot + 1) * K * 3),
      unique,
      boxes: all.boxes.slice(slot * 4, slot * 4 + 4),
      individualIds: all.individualIds.slice(slot, slot + 1),
      annotations: 1,
    };
  }

  /** The bottom-up sample of the image at position f of `indices`. */
  private frameSample(f: number): PoseSample {
    const frame = this.labels.frames[this.indices[f]!]!;
    const { width, height } = this.frameSize(f);
    const K = this.labels.bodyparts.length;
    const slots = Math.max(1, frame.keypoints.length);
    const keypoints = new Float32Array(slots * K * 3);
    const boxes = new Float32Array(slots * 4);
    const individualIds = new Int32Array(slots).fill(-1);
    let used = 0;
    frame.keypoints.forEach((individual, id) => {
      const kp = new Float32Array(K * 3);
      let visible = 0;
      individual.forEach(([x, y], k) => {
        const v = visibility(x, y, width, height);
        // NaN coordinates become (0, 0, 0); labelled but out-of-image ones keep their coordinates.
        kp[k * 3] = Number.isFinite(x) ? x : 0;
        kp[k * 3 + 1] = Number.isFinite(y) ? y : 0;
        kp[k * 3 + 2] = v;
        if (v > 0) visible++;
      });
      if (visible === 0) return; // DLC emits an individual only if it has a visible keypoint.
      keypoints.set(kp, used * K * 3);
      boxes.set(bboxFromKeypoints(kp, 0, K, width, height, this.bboxMargin), used * 4);
      individualIds[used] = id;
      used++;
    });
    const U = this.labels.uniqueBodyparts.length;
    const unique = new Float32Array(U * 3);
    frame.unique.forEach(([x, y], u) => {
      unique[u * 3] = Number.isFinite(x) ? x : 0;
      unique[u * 3 + 1] = Number.isFinite(y) ? y : 0;
      unique[u * 3 + 2] = visibility(x, y, width, height);
    });
    return {
      imageId: this.indices[f]!,
      path: this.framePath(f),
      relPath: frame.path.join('/'),
      width,
      height,
      individuals: slots,
      bodyparts: K,
      keypoints,
      unique,
      boxes,
      individualIds,
      annotations: used,
    };
  }
}
