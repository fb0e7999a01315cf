// Non-maximum suppression with torchvision 0.14's CPU results (ops/boxes.py, csrc/ops/cpu/nms_kernel.cpp): kept
// indices by decreasing score; IoU in float32 with areas (x2 - x1)(y2 - y1); a box is suppressed when its IoU with a
// kept, higher-scoring box is above the threshold (strict, the float32 IoU against the double threshold); equal
// scores in increasing index order (torchvision 0.14 sorts with stable=True). batched_nms as torchvision's CPU
// path: up to 1000 boxes (boxes.numel() <= 4000) the coordinate trick (boxes shifted by class * (max + 1) in
// float32, one nms), above that one nms per class and the kept indices re-sorted by torch's (unstable) sort.
// On the GPU (kernels/sort.wgsl, kernels/nms.wgsl): the sort, the suppression bitmask and, by default off
// lavapipe, the greedy pass; the host lays out the mask (it knows each class's size) and reads back the result.
// Assumed: finite coordinates and areas, no subnormal areas or intersections, and classes below 2^24 in magnitude
// (exact in float32); NaN scores sort first as in torch.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { noGrad } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { max } from './reduce.ts';
import { isCpuAdapter, scoreOfKey, sortKeys, torchSortDescending } from './sort.ts';

const f = Math.fround;

/** Positions by decreasing score (NaN first), equal scores by position: torchvision 0.14's nms sorts with stable=True. */
function stableDescending(scores: ArrayLike<number>): Int32Array {
  const nan = (i: number) => scores[i] !== scores[i];
  return Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => {
    if (nan(a) || nan(b)) return nan(a) && nan(b) ? a - b : nan(a) ? -1 : 1;
    return scores[b]! - scores[a]! || a - b;
  });
}

/** torchvision's CPU test `ovr > iou_threshold`: float32 IoU, compared with the threshold as a double. */
function suppresses(b: Float32Array, area: Float32Array, i: number, j: number, threshold: number): boolean {
  const w = Math.max(0, f(Math.min(b[4 * i + 2]!, b[4 * j + 2]!) - Math.max(b[4 * i]!, b[4 * j]!)));
  const h = Math.max(0, f(Math.min(b[4 * i + 3]!, b[4 * j + 3]!) - Math.max(b[4 * i + 1]!, b[4 * j + 1]!)));
  const inter = f(w * h);
  return f(inter / f(f(area[i]! + area[j]!) - inter)) > threshold;
}

/** Plain-TypeScript nms on host arrays (boxes row-major [n * 4]); the GPU op's reference. */
export function nmsReference(boxes: Float32Array, scores: ArrayLike<number>, iouThreshold: number): Int32Array {
  const n = scores.length;
  const area = new Float32Array(n);
  for (let i = 0; i < n; i++) area[i] = f(f(boxes[4 * i + 2]! - boxes[4 * i]!) * f(boxes[4 * i + 3]! - boxes[4 * i + 1]!));
  const order = stableDescending(scores);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n; a++) {
    const i = order[a]!;
    if (suppressed[i]) continue;
    keep.push(i);
    for (let c = a + 1; c < n; c++) {
      const j = order[c]!;
      if (!suppressed[j] && suppresses(boxes, area, i, j, iouThreshold)) suppressed[j] = 1;
    }
  }
  return Int32Array.from(keep);
}

/** Plain-TypeScript batched_nms (either of torchvision's strategies, chosen as torchvision's CPU path does). */
export function batchedNmsReference(boxes: Float32Array, scores: ArrayLike<number>, classes: ArrayLike<number>, iouThreshold: number): Int32Array {
  const n = scores.length;
  if (n === 0) return new Int32Array(0);
  if (4 * n <= 4000) {
    let max = -Infinity;
    for (const v of boxes) max = Math.max(max, v);
    const one = f(max + 1);
    const shifted = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const off = f(f(classes[i]!) * one);
      for (let k = 0; k < 4; k++) shifted[4 * i + k] = f(boxes[4 * i + k]! + off);
    }
    return nmsReference(shifted, scores, iouThreshold);
  }
  const keepMask = new Uint8Array(n);
  for (const c of new Set(Array.from(classes))) {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (classes[i] === c) members.push(i);
    const sub = new Float32Array(4 * members.length);
    members.forEach((i, k) => sub.set(boxes.subarray(4 * i, 4 * i + 4), 4 * k));
    for (const k of nmsReference(sub, members.map((i) => scores[i]!), iouThreshold)) keepMask[members[k]!] = 1;
  }
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (keepMask[i]) kept.push(i);
  return Int32Array.from(torchSortDescending(kept.map((i) => scores[i]!)), (k) => kept[k]!);
}

// ---- GPU ----

const NK = { gather: kernel('nms', 'gather'), mask: kernel('nms', 'mask'), greedy: kernel('nms', 'greedy') };
/** Mask words each invocation computes (kernels/nms.wgsl WPW): fewer, longer workgroups. */
const WORDS_PER_INVOCATION = 8;

/** Where the greedy pass over the bitmask runs: one GPU workgroup, the host after reading the mask back, or auto. */
export type GreedyMode = 'auto' | 'gpu' | 'host';

export interface NmsOptions {
  /** Default 'auto': see bench/NOTES.md (nms) for the measurements behind the choice. */
  greedy?: GreedyMode;
  /** For tests: decide every pair with the integer test rather than only pairs whose quotient is near the threshold. */
  exactTest?: boolean;
}

/** How kernels/nms.wgsl tests IoU > threshold: mode, and T, the largest float32 not above the threshold, with a band around it. */
function thresholdTest(t: number, exactEverywhere = false): { mode: number; T: number; lo: number; hi: number } {
  if (t < 0) return { mode: 3, T: 0, lo: 0, hi: 0 };
  if (t >= 1) return { mode: 1, T: 0, lo: 0, hi: 0 };
  // Below the smallest normal float32 the exact test does not apply; such thresholds act as 0.
  if (t < 2 ** -126) return { mode: 2, T: 0, lo: 0, hi: 0 };
  let T = f(t);
  if (T > t) T = nextDown(T);
  // The band (2^-19 T, at least 16 ulp of T) covers the rounding of the product inter vs band * union many times over.
  if (exactEverywhere) return { mode: 0, T, lo: 0, hi: 3.4e38 };
  return { mode: 0, T, lo: f(T * (1 - 2 ** -19)), hi: f(T * (1 + 2 ** -19)) };
}

function nextDown(x: number): number {
  const u = new Float32Array([x]);
  new Uint32Array(u.buffer)[0]! -= 1;
  return u[0]!;
}

/** The mask's layout, from the segments' sizes (sorted positions are grouped by segment in increasing class order). */
interface Layout {
  W: number;
  /** End of each sorted position's segment. */
  end: Uint32Array;
  /** Each row's first word in the packed mask. */
  offset: Uint32Array;
  total: number;
  /** (row block << 16 | word group) for each mask workgroup. */
  work: Uint32Array;
}

function layout(n: number, segmentSizes: readonly number[]): Layout {
  const W = Math.ceil(n / 32);
  const end = new Uint32Array(n);
  let start = 0;
  for (const size of segmentSizes) {
    end.fill(start + size, start, start + size);
    start += size;
  }
  const offset = new Uint32Array(n);
  let total = 0;
  for (let p = 0; p < n; p++) {
    offset[p] = total;
    total += ((end[p]! - 1) >> 5) - (p >> 5) + 1;
  }
  const work: number[] = [];
  for (let rb = 0; rb * 64 < n; rb++) {
    const lastWord = (end[Math.min(rb * 64 + 64, n) - 1]! - 1) >> 5;
    for (let g = Math.floor(((rb * 64) >> 5) / WORDS_PER_INVOCATION); g <= Math.floor(lastWord / WORDS_PER_INVOCATION); g++) work.push(((rb << 16) | g) >>> 0);
  }
  return { W, end, offset, total, work: Uint32Array.from(work) };
}

function nmsParams(n: number, W: number, offsetMode: number, t: ReturnType<typeof thresholdTest>, works = 0): Uniforms {
  return new Uniforms().u32(n).u32(W).u32(t.mode).u32(offsetMode).f32(t.T).f32(t.lo).f32(t.hi).u32(0).u32(works).u32(0).u32(0).u32(0);
}

function groups(count: number): [number, number] {
  return count <= 65535 ? [count, 1] : [65535, Math.ceil(count / 65535)];
}

/** Kept boxes, in the order the greedy pass kept them (by segment, then decreasing score). */
interface Kept {
  index: Int32Array;
  scoreKey: Uint32Array;
}

function pickGreedy(mode: GreedyMode, W: number): 'gpu' | 'host' {
  const e = engine();
  // One workgroup holds the suppressed-bits of every box (4 bytes per 32 boxes, plus 264 bytes of its own).
  const fits = nextPow2(W) * 4 + 264 <= e.limits.maxComputeWorkgroupStorageSize;
  if (mode === 'gpu' && fits) return 'gpu';
  if (mode === 'host' || !fits) return 'host';
  return isCpuAdapter() ? 'host' : 'gpu';
}

const nextPow2 = (v: number) => Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(v, 1))));

/**
 * The GPU pipeline shared by nms and batchedNms: sort, (shift), bitmask, greedy. `classes` (when given) groups
 * the boxes (`perClass`) or shifts them (coordinate trick).
 */
async function suppress(boxes: Tensor, scores: Tensor, threshold: number, classes: Int32Array | null, perClass: boolean, options: NmsOptions): Promise<Kept> {
  const e = engine();
  const n = scores.shape[0]!;
  if (n >= 2 ** 21) throw new Error(`nms: at most ${2 ** 21 - 1} boxes are supported, got ${n}`);
  const test = thresholdTest(threshold, options.exactTest);
  const sizes = perClass && classes ? classSizes(classes) : [n];
  const lay = layout(n, sizes);
  const limit = Math.min(e.limits.maxStorageBufferBindingSize, e.limits.maxBufferSize);
  if (16 * n + 4 * lay.total > limit) {
    const mib = (b: number) => `${Math.ceil(b / 2 ** 20)} MiB`;
    throw new Error(`nms: ${n} boxes need a ${mib(4 * lay.total)} suppression mask, over this device's ${mib(limit)} buffer limit (fewer boxes per call, or per class with batchedNms)`);
  }
  const mode = pickGreedy(options.greedy ?? 'auto', lay.W);
  const owned: GPUBuffer[] = [];
  const storage = (bytes: number) => {
    const b = e.createStorage(Math.max(16, bytes));
    owned.push(b);
    return b;
  };
  const upload = (data: Uint32Array | Int32Array) => {
    const b = storage(data.byteLength);
    if (data.length) e.write(b, data);
    return b;
  };
  let shiftBy: Tensor | null = null;
  try {
    const cls = classes ? upload(classes) : null;
    const end = upload(lay.end);
    const offset = upload(lay.offset);
    const work = upload(lay.work);
    const sorted = sortKeys(scores.buffer, n, perClass && cls ? { classes: cls } : { rowLen: n });
    owned.push(sorted.buffer);
    const shift = !!classes && !perClass;
    if (shift) shiftBy = noGrad(() => max(boxes));
    const sb = storage(16 * n);
    const sa = storage(4 * n);
    e.dispatch(NK.gather, groups(Math.ceil(n / 256)), [sorted.buffer, boxes.buffer, cls ?? boxes.buffer, shiftBy?.buffer ?? boxes.buffer, sb, sa], nmsParams(n, lay.W, shift ? 1 : 0, test));
    const mask = storage(4 * lay.total);
    e.dispatch(NK.mask, groups(lay.work.length), [sb, sa, end, offset, work, mask], nmsParams(n, lay.W, 0, test, lay.work.length), { WPW: WORDS_PER_INVOCATION });
    if (mode === 'gpu') {
      const out = storage(4 * (2 + 2 * n));
      e.dispatch(NK.greedy, [1], [sorted.buffer, end, offset, mask, out], nmsParams(n, lay.W, 0, test), { RW: nextPow2(lay.W) });
      const words = new Uint32Array(await e.read(out, 4 * (2 + 2 * n)));
      const count = words[0]!;
      const index = new Int32Array(count);
      const scoreKey = new Uint32Array(count);
      for (let k = 0; k < count; k++) {
        index[k] = words[2 + 2 * k]!;
        scoreKey[k] = words[3 + 2 * k]!;
      }
      return { index, scoreKey };
    }
    // Host: the sorted keys and the mask in one readback, then the same greedy pass.
    const pack = storage(16 * n + 4 * lay.total);
    e.copyBuffer(sorted.buffer, 0, pack, 0, 16 * n);
    if (lay.total) e.copyBuffer(mask, 0, pack, 16 * n, 4 * lay.total);
    const data = await e.read(pack, 16 * n + 4 * lay.total);
    return hostGreedy(new Uint32Array(data, 0, 4 * n), new Uint32Array(data, 16 * n, lay.total), lay);
  } finally {
    shiftBy?.dispose();
    for (const b of owned) e.releaseStorage(b);
  }
}

function hostGreedy(keys: Uint32Array, mask: Uint32Array, lay: Layout): Kept {
  const n = lay.end.length;
  const removed = new Uint32Array(lay.W);
  const index: number[] = [];
  const scoreKey: number[] = [];
  for (let p = 0; p < n; p++) {
    const b = p >> 5;
    if ((removed[b]! >>> (p & 31)) & 1) continue;
    index.push(keys[4 * p + 2]!);
    scoreKey.push(keys[4 * p + 1]!);
    const last = (lay.end[p]! - 1) >> 5;
    const row = lay.offset[p]! - b;
    for (let w = b; w <= last; w++) removed[w]! |= mask[row + w]!;
  }
  return { index: Int32Array.from(index), scoreKey: Uint32Array.from(scoreKey) };
}

/** Sizes of the classes in increasing class order (the sort's segment order). */
function classSizes(classes: Int32Array): number[] {
  const counts = new Map<number, number>();
  for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts.keys()].sort((a, b) => a - b).map((c) => counts.get(c)!);
}

function checkInputs(op: string, boxes: Tensor, scores: Tensor, iouThreshold: number): number {
  if (!(boxes instanceof Tensor) || boxes.rank !== 2 || boxes.shape[1] !== 4) throw new Error(`${op}: boxes must be a [n, 4] tensor of (x1, y1, x2, y2), got ${boxes instanceof Tensor ? `[${boxes.shape.join(', ')}]` : typeof boxes}`);
  if (!(scores instanceof Tensor) || scores.rank !== 1) throw new Error(`${op}: scores must be a [n] tensor, got ${scores instanceof Tensor ? `[${scores.shape.join(', ')}]` : typeof scores}`);
  if (scores.shape[0] !== boxes.shape[0]) throw new Error(`${op}: boxes has ${boxes.shape[0]} rows but scores has ${scores.shape[0]} (they must match)`);
  if (typeof iouThreshold !== 'number' || !Number.isFinite(iouThreshold)) throw new Error(`${op}: iouThreshold must be a finite number, got ${iouThreshold}`);
  return boxes.shape[0]!;
}

/**
 * torchvision.ops.nms: indices of the boxes kept, by decreasing score. boxes [n, 4] as (x1, y1, x2, y2), scores [n].
 * Identical to torchvision 0.14 on the CPU (see the top of this file for the rules and assumptions). No gradient.
 */
export async function nms(boxes: Tensor, scores: Tensor, iouThreshold: number, options: NmsOptions = {}): Promise<Int32Array> {
  const n = checkInputs('nms', boxes, scores, iouThreshold);
  if (n === 0) return new Int32Array(0);
  return (await suppress(boxes, scores, iouThreshold, null, false, options)).index;
}

/**
 * torchvision.ops.batched_nms: nms within each class (boxes of different classes never suppress each other),
 * kept indices by decreasing score. `classes` [n]: integers, as an Int32Array or a tensor (read back).
 */
export async function batchedNms(boxes: Tensor, scores: Tensor, classes: Int32Array | Tensor, iouThreshold: number, options: NmsOptions = {}): Promise<Int32Array> {
  const n = checkInputs('batchedNms', boxes, scores, iouThreshold);
  const cls = await classList(classes, n);
  if (n === 0) return new Int32Array(0);
  // torchvision's CPU switch: boxes.numel() > 4000 runs one nms per class.
  if (4 * n <= 4000) return (await suppress(boxes, scores, iouThreshold, cls, false, options)).index;
  const kept = await suppress(boxes, scores, iouThreshold, cls, true, options);
  // keep_indices = where(keep_mask) (increasing), then keep_indices[scores[keep_indices].sort(descending=True)].
  const order = Int32Array.from(kept.index.keys()).sort((a, b) => kept.index[a]! - kept.index[b]!);
  const index = Int32Array.from(order, (k) => kept.index[k]!);
  const keys = Uint32Array.from(order, (k) => kept.scoreKey[k]!);
  const byScore = Int32Array.from(index.keys()).sort((a, b) => keys[a]! - keys[b]! || a - b);
  let tied = false;
  for (let k = 1; k < byScore.length && !tied; k++) tied = keys[byScore[k]!] === keys[byScore[k - 1]!];
  const perm = tied ? torchSortDescending(Array.from(keys, scoreOfKey)) : byScore;
  return Int32Array.from(perm, (k) => index[k]!);
}

async function classList(classes: Int32Array | Tensor, n: number): Promise<Int32Array> {
  if (classes instanceof Int32Array) {
    if (classes.length !== n) throw new Error(`batchedNms: classes has ${classes.length} entries but there are ${n} boxes`);
    return classes;
  }
  if (!(classes instanceof Tensor) || classes.rank !== 1 || classes.shape[0] !== n) throw new Error(`batchedNms: classes must be an Int32Array or a [${n}] tensor, got ${classes instanceof Tensor ? `[${classes.shape.join(', ')}]` : typeof classes}`);
  const values = n ? await classes.toArray() : new Float32Array(0);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 24) throw new Error(`batchedNms: classes must hold integers below 2^24 in magnitude, got ${v} at ${i}`);
    out[i] = v;
  }
  return out;
}
