// The GPU half of augmentation: uploads a batch's uint8 RGB images once (packed into u32 words), then
// two dispatches (kernels/augment.wgsl): one warp by each sample's composed affine map, one fused
// photometric pass writing the NCHW float32 batch tensor. When a sample is histogram-equalised, three
// small dispatches in between (kernels/augment_eq.wgsl): histograms, LUTs, LUT applied in place.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { RgbImage } from '../io/image.ts';
import { invert } from './affine.ts';
import { MAX_BLUR, MAX_HOLES, type SamplePlan } from './plan.ts';

/** Words per sample record; must match REC in kernels/augment.wgsl. */
export const RECORD_WORDS = 120;
const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface PixelOptions {
  /** (v / 255 - ImageNet mean) / std, as A.Normalize. */
  normalize: boolean;
  /** v / 255 (after normalisation when both are set, as DeepLabCut's pipeline order does). */
  scaleToUnit: boolean;
  /**
   * What the padding of a top-down or collate crop (outside SamplePlan.clip) holds: 'black' (0 before
   * normalisation: DeepLabCut's inference crops, taken before Normalize) or 'zero' (0 in the output: DeepLabCut's
   * training crops and collate, taken from the normalised image). Default 'black'.
   */
  cropPadding?: 'black' | 'zero';
}

const warpKernel = () => kernel('augment', 'warp');
const photometricKernel = () => kernel('augment', 'photometric');
const histogramKernel = () => kernel('augment_eq', 'histogram');
const lutKernel = () => kernel('augment_eq', 'lut');
const equalizeKernel = () => kernel('augment_eq', 'apply');

function records(images: readonly RgbImage[], plans: readonly SamplePlan[], zeroPadding: boolean): { words: Uint32Array; source: Uint32Array } {
  const rec = new ArrayBuffer(plans.length * RECORD_WORDS * 4);
  const u = new Uint32Array(rec);
  const f = new Float32Array(rec);
  const i32 = new Int32Array(rec);
  let offset = 0;
  const offsets: number[] = [];
  for (const img of images) {
    offsets.push(offset);
    offset += Math.ceil((img.width * img.height * 3) / 4);
  }
  const source = new Uint32Array(Math.max(offset, 1));
  const bytes = new Uint8Array(source.buffer);
  images.forEach((img, b) => bytes.set(img.data.subarray(0, img.width * img.height * 3), offsets[b]! * 4));
  plans.forEach((p, b) => {
    const r = b * RECORD_WORDS;
    const img = images[b]!;
    u[r] = offsets[b]!;
    u[r + 1] = img.width;
    u[r + 2] = img.height;
    u[r + 3] = p.innerWidth;
    u[r + 4] = p.innerHeight;
    u[r + 5] = p.padX;
    u[r + 6] = p.padY;
    u[r + 7] = p.padReflect ? 1 : 0;
    f.set(invert(p.innerMatrix), r + 8);
    f[r + 14] = p.grayAlpha;
    f[r + 15] = p.noiseSigma;
    u[r + 16] = p.noiseSeed;
    u[r + 17] = p.blur ? p.blurSize : 0;
    if (p.holes.length > MAX_HOLES) throw new Error(`at most ${MAX_HOLES} holes per sample`);
    u[r + 18] = p.holes.length;
    f[r + 19] = p.padValue;
    p.holes.forEach((h, k) => i32.set(h, r + 20 + k * 4));
    if (p.blur) {
      if (p.blurSize > MAX_BLUR) throw new Error(`motion blur kernels are at most ${MAX_BLUR}x${MAX_BLUR}`);
      f.set(p.blur, r + 60);
    }
    u[r + 109] = (p.equalize ? 1 : 0) | (p.clip ? 2 : 0) | (p.clip && zeroPadding ? 4 : 0);
    if (p.clip) f.set(p.clip, r + 112);
  });
  return { words: u, source };
}

/**
 * Augments a batch on the GPU. All plans must have the same output size (crop sampling or a fixed resize
 * gives that). Returns a [B, 3, H, W] tensor the caller owns.
 */
export function augmentBatch(images: readonly RgbImage[], plans: readonly SamplePlan[], pixels: PixelOptions): Tensor {
  if (images.length !== plans.length || plans.length === 0) throw new Error('augmentBatch: needs one plan per image, at least one');
  const { width, height } = plans[0]!;
  plans.forEach((p, b) => {
    if (p.width !== width || p.height !== height) {
      throw new Error(
        `cannot batch images of different sizes (item 0 is ${width}x${height}, item ${b} is ${p.width}x${p.height}); ` +
          'add crop_sampling, resize or a collate function to data.train, or use batch_size 1',
      );
    }
    if (p.innerWidth > width || p.innerHeight > height) throw new Error('augmentBatch: inner image larger than output');
  });
  images.forEach((img, b) => {
    if (img.data.length < img.width * img.height * 3) throw new Error(`augmentBatch: image ${b} has too few bytes`);
  });
  const B = plans.length;
  const e = engine();
  const { words, source } = records(images, plans, pixels.cropPadding === 'zero');
  // Raw words travel in float tensors' storage: the kernels read them as u32.
  const rec = Tensor.empty([words.length]);
  const src = Tensor.empty([source.length]);
  const inter = Tensor.empty([B, 3, height, width]);
  const out = Tensor.empty([B, 3, height, width]);
  try {
    e.write(rec.buffer, words);
    e.write(src.buffer, source);
    const uniforms = new Uniforms().u32(width).u32(height).u32(B).u32((pixels.normalize ? 1 : 0) | (pixels.scaleToUnit ? 2 : 0));
    for (const m of IMAGENET_MEAN) uniforms.f32(m);
    uniforms.f32(0);
    for (const s of IMAGENET_STD) uniforms.f32(s);
    uniforms.f32(1);
    const maxIw = Math.max(...plans.map((p) => p.innerWidth));
    const maxIh = Math.max(...plans.map((p) => p.innerHeight));
    e.dispatch(warpKernel(), [Math.ceil(maxIw / 16), Math.ceil(maxIh / 16), B], [rec.buffer, src.buffer, inter.buffer], uniforms);
    if (plans.some((p) => p.equalize)) {
      const hist = Tensor.empty([B * 3 * 256]);
      const lut = Tensor.empty([B * 3 * 256]);
      try {
        e.write(hist.buffer, new Uint32Array(B * 3 * 256));
        const bufs = [rec.buffer, inter.buffer, hist.buffer, lut.buffer];
        e.dispatch(histogramKernel(), [Math.ceil(maxIw / 16), Math.ceil(maxIh / 16), B], bufs, uniforms);
        e.dispatch(lutKernel(), [Math.ceil((B * 3) / 64)], bufs, uniforms);
        e.dispatch(equalizeKernel(), [Math.ceil(maxIw / 16), Math.ceil(maxIh / 16), B], bufs, uniforms);
      } finally {
        hist.dispose();
        lut.dispose();
      }
    }
    e.dispatch(photometricKernel(), [Math.ceil(width / 16), Math.ceil(height / 16), B], [rec.buffer, src.buffer, inter.buffer, out.buffer], uniforms);
  } catch (err) {
    out.dispose();
    throw err;
  } finally {
    rec.dispose();
    src.dispose();
    inter.dispose();
  }
  return out;
}
