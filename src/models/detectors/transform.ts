// torchvision 0.14's GeneralizedRCNNTransform (models/detection/transform.py), the preprocessing inside every
// torchvision detector: per image normalize ((x - mean) / std per channel), then resize (_resize_image_and_masks:
// bilinear, align_corners false, no antialias; to `fixedSize` when given, as SSD does, else by
// min(minSize / short side, maxSize / long side) with recompute_scale_factor, as Faster R-CNN does), then batch
// (zero-padded to the largest size rounded up to sizeDivisible). Target boxes are resized with the images and
// detections are resized back to each image's original size (postprocess), on the host in float32 as torch does.
import { Module } from '../../nn/module.ts';
import { tensor } from '../../ops/creation.ts';
import { div, sub } from '../../ops/elementwise.ts';
import { interpolate } from '../../ops/resample.ts';
import { pad, reshape, stack } from '../../ops/shape.ts';
import { Tensor } from '../../tensor/tensor.ts';

const f32 = Math.fround;

/** [height, width]. */
export type ImageSize = readonly [number, number];

export interface GeneralizedRCNNTransformOptions {
  /** torchvision's min_size: the short side's target; with several, training picks one at random per image. */
  minSize: number | readonly number[];
  /** torchvision's max_size: the long side's limit. */
  maxSize: number;
  imageMean: readonly number[];
  imageStd: readonly number[];
  /** Batch dimensions are rounded up to a multiple of this (default 32; SSD uses 1). */
  sizeDivisible?: number;
  /** torchvision's fixed_size, as (width, height): every image is resized to it, ignoring its aspect ratio. */
  fixedSize?: readonly [number, number] | null;
  /** Index in [0, n) of the min size used for one training image (default Math.random; torchvision uses torch's RNG). */
  choose?: (n: number) => number;
}

/** The transformed batch: torchvision's ImageList. */
export interface ImageBatch {
  /** [N, C, H, W], each image zero-padded at the bottom and right. */
  tensors: Tensor;
  /** Each image's size after resizing, before padding. */
  imageSizes: ImageSize[];
}

/**
 * torchvision's resize_boxes: (x1, y1, x2, y2) rows scaled by new / original per axis, in float32 (the ratios are
 * float32 divisions, as torch computes them from float32 scalars). Returns a new array.
 */
export function resizeBoxes(boxes: Float32Array, from: ImageSize, to: ImageSize): Float32Array {
  const rh = f32(f32(to[0]) / f32(from[0]));
  const rw = f32(f32(to[1]) / f32(from[1]));
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = f32(boxes[i]! * rw);
    out[i + 1] = f32(boxes[i + 1]! * rh);
    out[i + 2] = f32(boxes[i + 2]! * rw);
    out[i + 3] = f32(boxes[i + 3]! * rh);
  }
  return out;
}

/** x [C, H, W] normalised, resized and batched as torchvision does before the backbone. */
export class GeneralizedRCNNTransform extends Module {
  readonly minSize: number[];
  readonly maxSize: number;
  readonly imageMean: number[];
  readonly imageStd: number[];
  readonly sizeDivisible: number;
  readonly fixedSize: readonly [number, number] | null;
  private readonly choose: (n: number) => number;

  constructor(opts: GeneralizedRCNNTransformOptions) {
    super();
    this.minSize = typeof opts.minSize === 'number' ? [opts.minSize] : [...opts.minSize];
    if (!this.minSize.length || !this.minSize.every((s) => s > 0)) throw new Error(`GeneralizedRCNNTransform: minSize must be positive numbers, got [${this.minSize.join(', ')}]`);
    if (!(opts.maxSize > 0)) throw new Error(`GeneralizedRCNNTransform: maxSize must be positive, got ${opts.maxSize}`);
    if (opts.imageMean.length !== opts.imageStd.length || !opts.imageMean.length)
      throw new Error(`GeneralizedRCNNTransform: imageMean and imageStd must have one value per channel each (got ${opts.imageMean.length} and ${opts.imageStd.length})`);
    this.maxSize = opts.maxSize;
    this.imageMean = [...opts.imageMean];
    this.imageStd = [...opts.imageStd];
    this.sizeDivisible = opts.sizeDivisible ?? 32;
    if (!Number.isInteger(this.sizeDivisible) || this.sizeDivisible < 1) throw new Error(`GeneralizedRCNNTransform: sizeDivisible must be a positive integer, got ${this.sizeDivisible}`);
    this.fixedSize = opts.fixedSize ? [opts.fixedSize[0], opts.fixedSize[1]] : null;
    if (this.fixedSize && !this.fixedSize.every((s) => Number.isInteger(s) && s > 0)) throw new Error(`GeneralizedRCNNTransform: fixedSize must be (width, height) positive integers, got [${this.fixedSize.join(', ')}]`);
    this.choose = opts.choose ?? ((n) => Math.floor(Math.random() * n));
  }

  /** Checks torchvision's input contract: a non-empty list of [C, H, W] tensors with C = the mean's length. */
  checkImages(images: readonly Tensor[], op: string): void {
    if (!Array.isArray(images) || images.length === 0) throw new Error(`${op}: images must be a non-empty list of [C, H, W] tensors`);
    images.forEach((im, i) => {
      if (!(im instanceof Tensor) || im.rank !== 3) throw new Error(`${op}: images is expected to be a list of 3d tensors of shape [C, H, W], got ${im instanceof Tensor ? `[${im.shape.join(', ')}]` : typeof im} at index ${i}`);
      if (im.shape[0] !== this.imageMean.length) throw new Error(`${op}: image ${i} has ${im.shape[0]} channels but imageMean / imageStd have ${this.imageMean.length}`);
      if (im.shape[1]! < 1 || im.shape[2]! < 1) throw new Error(`${op}: image ${i} is empty ([${im.shape.join(', ')}])`);
    });
  }

  /** (image - mean) / std per channel. x [C, H, W]. */
  normalize(image: Tensor): Tensor {
    const c = this.imageMean.length;
    const mean = tensor(Float32Array.from(this.imageMean), [c, 1, 1]);
    const std = tensor(Float32Array.from(this.imageStd), [c, 1, 1]);
    return div(sub(image, mean), std);
  }

  /** The size [H, W] torchvision resizes an image of `size` to (the min size being the eval one, or `minSize` given). */
  resizedSize(size: ImageSize, minSize = this.minSize[this.minSize.length - 1]!): ImageSize {
    if (this.fixedSize) return [this.fixedSize[1], this.fixedSize[0]];
    // scale = min(self_min / min(h, w), self_max / max(h, w)) with float32 tensors on the right: torch computes
    // `number / tensor` as tensor.reciprocal() * number, each step rounded to float32. The output size is then
    // floor(side * scale) in double (interpolate's recompute_scale_factor path).
    const short = f32(Math.min(size[0], size[1]));
    const long = f32(Math.max(size[0], size[1]));
    const scale = Math.min(f32(f32(1 / short) * f32(minSize)), f32(f32(1 / long) * f32(this.maxSize)));
    return [Math.floor(size[0] * scale), Math.floor(size[1] * scale)];
  }

  /** One image [C, H, W] resized (bilinear, align_corners false); `minSize` defaults to training's random pick or eval's last. */
  resize(image: Tensor, minSize?: number): Tensor {
    const [C, H, W] = image.shape as [number, number, number];
    const chosen = minSize ?? (this.training ? this.minSize[this.choose(this.minSize.length)]! : this.minSize[this.minSize.length - 1]!);
    const [oh, ow] = this.resizedSize([H, W], chosen);
    return reshape(interpolate(reshape(image, [1, C, H, W]), { size: [oh, ow], mode: 'bilinear', alignCorners: false }), [C, oh, ow]);
  }

  /** Zero-pads the images to the largest size rounded up to sizeDivisible and stacks them: [N, C, H, W]. */
  batchImages(images: readonly Tensor[]): Tensor {
    const d = this.sizeDivisible;
    const H = Math.ceil(Math.max(...images.map((im) => im.shape[1]!)) / d) * d;
    const W = Math.ceil(Math.max(...images.map((im) => im.shape[2]!)) / d) * d;
    const padded = images.map((im) => (im.shape[1] === H && im.shape[2] === W ? im : pad(im, [0, W - im.shape[2]!, 0, H - im.shape[1]!])));
    return stack(padded, 0);
  }

  /**
   * The forward: normalized, resized and batched images, with each image's chosen min size (training picks one
   * per image). Differentiable in the images.
   */
  forward(images: readonly Tensor[]): ImageBatch {
    this.checkImages(images, 'GeneralizedRCNNTransform');
    const resized = images.map((im) => this.resize(this.normalize(im)));
    return { tensors: this.batchImages(resized), imageSizes: resized.map((r) => [r.shape[1]!, r.shape[2]!] as const) };
  }

  /** Detections' boxes (host, [n * 4]) from the resized image's pixels back to the original image's (torchvision's postprocess). */
  postprocessBoxes(boxes: Float32Array, imageSize: ImageSize, originalSize: ImageSize): Float32Array {
    return resizeBoxes(boxes, imageSize, originalSize);
  }
}
