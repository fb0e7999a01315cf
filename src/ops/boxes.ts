// Box ops with torchvision 0.14's definitions and float32 order of operations (ops/boxes.py,
// models/detection/_utils.py; kernels/boxes.wgsl): box_iou, clip_boxes_to_image, remove_small_boxes and BoxCoder.
// Boxes are (x1, y1, x2, y2); widths are x2 - x1 (no +1). Gradients: boxIou and removeSmallBoxes have none (the
// matcher and the box filters use them on detached values); clipBoxesToImage passes the gradient where a
// coordinate was inside the image (torch.clamp's rule); BoxCoder.encode and decode are differentiable in all their
// inputs, although torchvision's detectors need neither (encode's inputs are ground truth and anchors, decode runs on
// detached deltas): the gradients exist so that a loss on decoded boxes (GIoU-style) works, and gradcheck covers them.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { grid } from './layout.ts';

const K = {
  iou: kernel('boxes', 'iou'),
  clipFwd: kernel('boxes', 'clip_fwd'),
  clipBwd: kernel('boxes', 'clip_bwd'),
  small: kernel('boxes', 'small'),
  encodeFwd: kernel('boxes', 'encode_fwd'),
  encodeBwd: kernel('boxes', 'encode_bwd'),
  decodeFwd: kernel('boxes', 'decode_fwd'),
  decodeBwdCodes: kernel('boxes', 'decode_bwd_codes'),
  decodeBwdBoxes: kernel('boxes', 'decode_bwd_boxes'),
};

interface BoxParams {
  n: number;
  m?: number;
  k?: number;
  weights?: readonly number[];
  clip?: number;
  size?: readonly [number, number];
  minSize?: number;
}

function params(p: BoxParams): Uniforms {
  const [wx, wy, ww, wh] = p.weights ?? [1, 1, 1, 1];
  const [h, w] = p.size ?? [0, 0];
  return new Uniforms()
    .u32(p.n).u32(p.m ?? 0).u32(p.k ?? 0).u32(0x7fc00000)
    .f32(wx!).f32(wy!).f32(ww!).f32(wh!)
    .f32(p.clip ?? 0).f32(h).f32(w).f32(p.minSize ?? 0);
}

const shapeOf = (t: unknown) => (t instanceof Tensor ? `[${t.shape.join(', ')}]` : typeof t);

function checkBoxes(op: string, name: string, t: Tensor): number {
  if (!(t instanceof Tensor) || t.rank !== 2 || t.shape[1] !== 4) throw new Error(`${op}: ${name} must be a [n, 4] tensor of (x1, y1, x2, y2), got ${shapeOf(t)}`);
  return t.shape[0]!;
}

/** torchvision.ops.box_iou: IoU [n, m] of boxes a [n, 4] and b [m, 4]. No gradient. */
export function boxIou(a: Tensor, b: Tensor): Tensor {
  const n = checkBoxes('boxIou', 'a', a);
  const m = checkBoxes('boxIou', 'b', b);
  const y = Tensor.empty([n, m]);
  if (y.size > 0) engine().dispatch(K.iou, grid(y.size), [a.buffer, b.buffer, y.buffer], params({ n, m }));
  return y;
}

/** torchvision.ops.clip_boxes_to_image: boxes [..., 4] with x clamped to [0, width] and y to [0, height]; size is [height, width]. */
export function clipBoxesToImage(boxes: Tensor, size: readonly [number, number]): Tensor {
  if (!(boxes instanceof Tensor) || boxes.rank < 1 || boxes.shape[boxes.rank - 1] !== 4) throw new Error(`clipBoxesToImage: boxes must be a [..., 4] tensor, got ${shapeOf(boxes)}`);
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new Error(`clipBoxesToImage: size must be [height, width] (finite numbers), got ${JSON.stringify(size)}`);
  const p = params({ n: boxes.size, size });
  const y = Tensor.empty(boxes.shape);
  if (y.size > 0) engine().dispatch(K.clipFwd, grid(y.size), [boxes.buffer, y.buffer], p);
  return record(y, 'clipBoxesToImage', [boxes], (g) => {
    const dx = Tensor.empty(boxes.shape);
    if (dx.size > 0) engine().dispatch(K.clipBwd, grid(dx.size), [g.buffer, boxes.buffer, dx.buffer], p);
    return [dx];
  });
}

/** torchvision.ops.remove_small_boxes: indices (increasing) of the boxes [n, 4] whose width and height are both >= minSize. */
export async function removeSmallBoxes(boxes: Tensor, minSize: number): Promise<Int32Array> {
  const n = checkBoxes('removeSmallBoxes', 'boxes', boxes);
  if (typeof minSize !== 'number' || Number.isNaN(minSize)) throw new Error(`removeSmallBoxes: minSize must be a number, got ${minSize}`);
  if (n === 0) return new Int32Array(0);
  const e = engine();
  const flags = e.createStorage(Math.max(16, 4 * n));
  try {
    // torch compares the float32 widths with minSize converted to float32.
    e.dispatch(K.small, grid(n), [boxes.buffer, flags], params({ n, minSize }));
    const keep = new Uint32Array(await e.read(flags, 4 * n));
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (keep[i]) out.push(i);
    return Int32Array.from(out);
  } finally {
    e.releaseStorage(flags);
  }
}

/**
 * torchvision's detection BoxCoder: box regression deltas (dx, dy, dw, dh) scaled by `weights` (wx, wy, ww, wh),
 * with dw, dh clamped at `bboxXformClip` before exp when decoding. encode and decode work on concatenated
 * boxes (torchvision's encode_single / decode_single; splitting per image is the caller's).
 */
export class BoxCoder {
  readonly weights: readonly [number, number, number, number];
  readonly bboxXformClip: number;

  constructor(weights: readonly [number, number, number, number], bboxXformClip = Math.log(1000 / 16)) {
    if (!Array.isArray(weights) || weights.length !== 4 || !weights.every((w) => typeof w === 'number' && Number.isFinite(w) && w !== 0)) throw new Error(`BoxCoder: weights must be four finite, non-zero numbers, got ${JSON.stringify(weights)}`);
    if (typeof bboxXformClip !== 'number' || Number.isNaN(bboxXformClip)) throw new Error(`BoxCoder: bboxXformClip must be a number, got ${bboxXformClip}`);
    this.weights = [weights[0], weights[1], weights[2], weights[3]];
    this.bboxXformClip = bboxXformClip;
  }

  /** Deltas [n, 4] that take each of `proposals` [n, 4] to the matching `referenceBoxes` [n, 4] (the regression targets). */
  encode(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    const n = checkBoxes('BoxCoder.encode', 'referenceBoxes', referenceBoxes);
    if (checkBoxes('BoxCoder.encode', 'proposals', proposals) !== n) throw new Error(`BoxCoder.encode: referenceBoxes has ${n} boxes but proposals has ${proposals.shape[0]} (they must match)`);
    const p = params({ n, weights: this.weights });
    const y = Tensor.empty([n, 4]);
    if (n > 0) engine().dispatch(K.encodeFwd, grid(n), [referenceBoxes.buffer, proposals.buffer, y.buffer], p);
    return record(y, 'boxEncode', [referenceBoxes, proposals], (g) => {
      const dRef = Tensor.empty([n, 4]);
      const dProp = Tensor.empty([n, 4]);
      if (n > 0) engine().dispatch(K.encodeBwd, grid(n), [referenceBoxes.buffer, proposals.buffer, g.buffer, dRef.buffer, dProp.buffer], p);
      return [dRef, dProp];
    });
  }

  /**
   * Boxes [n, k, 4] from codes `relCodes` (n * 4k values, e.g. [n, 4k]: k sets of deltas per box, as a class-specific
   * box head gives) applied to `boxes` [n, 4].
   */
  decode(relCodes: Tensor, boxes: Tensor): Tensor {
    const n = checkBoxes('BoxCoder.decode', 'boxes', boxes);
    if (!(relCodes instanceof Tensor)) throw new Error(`BoxCoder.decode: relCodes must be a tensor, got ${typeof relCodes}`);
    if (n === 0 ? relCodes.size !== 0 : relCodes.size === 0 || relCodes.size % (4 * n) !== 0)
      throw new Error(`BoxCoder.decode: relCodes ${shapeOf(relCodes)} must hold 4k values for each of the ${n} boxes`);
    const k = n > 0 ? relCodes.size / (4 * n) : relCodes.rank === 2 ? relCodes.shape[1]! / 4 : 1;
    const p = params({ n, k, weights: this.weights, clip: this.bboxXformClip });
    const y = Tensor.empty([n, k, 4]);
    if (y.size > 0) engine().dispatch(K.decodeFwd, grid(n * k), [relCodes.buffer, boxes.buffer, y.buffer], p);
    return record(y, 'boxDecode', [relCodes, boxes], (g) => {
      const dCodes = Tensor.empty(relCodes.shape);
      if (y.size > 0) engine().dispatch(K.decodeBwdCodes, grid(n * k), [relCodes.buffer, boxes.buffer, g.buffer, dCodes.buffer], p);
      let dBoxes: Tensor | null = null;
      if (boxes.requiresGrad) {
        dBoxes = Tensor.empty([n, 4]);
        if (n > 0) engine().dispatch(K.decodeBwdBoxes, grid(n), [relCodes.buffer, boxes.buffer, g.buffer, dBoxes.buffer], p);
      }
      return [dCodes, dBoxes];
    });
  }
}
