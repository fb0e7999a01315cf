// The pose dataset of a DeepLabCut project: one item per labelled image (bottom-up), with keypoints as
// (x, y, visibility) following DLCLoader.to_coco and boxes from keypoints (bbox_from_keypoints).
import { join } from 'node:path';
import { ImageError, readImage, readImageSize, type RgbImage } from '../io/image.ts';
import type { LabeledData } from '../project/index.ts';

/** One labelled image before augmentation. Arrays are row-major. */
export interface PoseSample {
  /** Row position in the merged labels (DeepLabCut's image_id); a split's indices refer to it. */
  imageId: number;
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
}

export class PoseDataset {
  readonly root: string;
  readonly labels: LabeledData;
  readonly indices: readonly number[];
  readonly bboxMargin: number;
  private readonly sizes = new Map<number, { width: number; height: number }>();
  private readonly cache: Map<number, RgbImage> | null;

  constructor(options: PoseDatasetOptions) {
    this.root = options.root;
    this.labels = options.labels;
    this.indices = [...options.indices];
    this.bboxMargin = options.bboxMargin;
    this.cache = options.cacheImages ? new Map() : null;
    for (const i of this.indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.labels.frames.length) {
        throw new Error(`split index ${i} is outside the ${this.labels.frames.length} labelled frames`);
      }
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get bodyparts(): string[] {
    return this.labels.bodyparts;
  }

  get uniqueBodyparts(): string[] {
    return this.labels.uniqueBodyparts;
  }

  /** Absolute path of item i's image. */
  imagePath(i: number): string {
    return join(this.root, ...this.frame(i).path);
  }

  private frame(i: number) {
    const row = this.indices[i];
    if (row === undefined) throw new RangeError(`dataset item ${i} does not exist (${this.length} items)`);
    return this.labels.frames[row]!;
  }

  /** Image size from the file header (cached), for visibility and boxes. */
  imageSize(i: number): { width: number; height: number } {
    const row = this.indices[i]!;
    let size = this.sizes.get(row);
    if (!size) {
      size = readImageSize(this.imagePath(i));
      this.sizes.set(row, size);
    }
    return size;
  }

  /** Decodes item i's image (8-bit RGB). */
  loadImage(i: number): RgbImage {
    const row = this.indices[i]!;
    const cached = this.cache?.get(row);
    if (cached) return cached;
    const image = readImage(this.imagePath(i));
    this.checkSize(i, image);
    this.cache?.set(row, image);
    return image;
  }

  /** Stores an image decoded elsewhere (a worker thread) after checking it matches the header size. */
  checkSize(i: number, image: RgbImage): void {
    const row = this.indices[i]!;
    const known = this.sizes.get(row);
    if (known && (known.width !== image.width || known.height !== image.height)) {
      throw new ImageError(this.imagePath(i), `decoded size ${image.width}x${image.height} differs from the header's ${known.width}x${known.height}`);
    }
    this.sizes.set(row, { width: image.width, height: image.height });
  }

  /** Keypoints, boxes and metadata of item i (reads only the image header). */
  sample(i: number): PoseSample {
    const frame = this.frame(i);
    const { width, height } = this.imageSize(i);
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
      imageId: this.indices[i]!,
      path: this.imagePath(i),
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
