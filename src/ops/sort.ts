// Sorting with PyTorch 1.13's CPU order. On the GPU (kernels/sort.wgsl): a deterministic bitonic sort of (segment,
// score, index) keys, which is exactly torch's *stable* descending order (what torchvision 0.14's nms uses). On the
// host: libstdc++'s std::sort / std::partial_sort / std::nth_element replayed step for step, because torch's CPU
// `sort` (descending, not stable) and `topk` call those on (value, index) pairs and leave equal values in the order
// their introsort leaves them, not by index (checked against torch 1.13 on thousands of tie-heavy arrays). Callers
// that need the unstable order take the GPU's where no two relevant scores are equal and replay it where some are.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { Tensor } from '../tensor/tensor.ts';

// ---- libstdc++'s algorithms on (value, index) pairs, comparing values only (torch's KeyValueCompDesc) ----

/** torch's descending comparator: NaN first (NaNs equal), then larger values. */
const before = (a: number, b: number): boolean => (a !== a && b === b) || a > b;

/** A sequence of (value, index) pairs that the replayed algorithms permute in place. */
class Pairs {
  constructor(
    readonly v: Float64Array,
    readonly ix: Int32Array,
  ) {}
  swap(a: number, b: number): void {
    const tv = this.v[a]!;
    const ti = this.ix[a]!;
    this.v[a] = this.v[b]!;
    this.ix[a] = this.ix[b]!;
    this.v[b] = tv;
    this.ix[b] = ti;
  }
  move(to: number, from: number): void {
    this.v[to] = this.v[from]!;
    this.ix[to] = this.ix[from]!;
  }
  less(a: number, b: number): boolean {
    return before(this.v[a]!, this.v[b]!);
  }
}

const THRESHOLD = 16; // libstdc++'s _S_threshold
const lg = (n: number): number => 31 - Math.clz32(n);

function moveMedianToFirst(s: Pairs, result: number, a: number, b: number, c: number): void {
  if (s.less(a, b)) {
    if (s.less(b, c)) s.swap(result, b);
    else if (s.less(a, c)) s.swap(result, c);
    else s.swap(result, a);
  } else if (s.less(a, c)) s.swap(result, a);
  else if (s.less(b, c)) s.swap(result, c);
  else s.swap(result, b);
}

function unguardedPartition(s: Pairs, first: number, last: number, pivot: number): number {
  for (;;) {
    while (s.less(first, pivot)) first++;
    last--;
    while (s.less(pivot, last)) last--;
    if (!(first < last)) return first;
    s.swap(first, last);
    first++;
  }
}

function unguardedPartitionPivot(s: Pairs, first: number, last: number): number {
  const mid = first + ((last - first) >> 1);
  moveMedianToFirst(s, first, first + 1, mid, last - 1);
  return unguardedPartition(s, first + 1, last, first);
}

function unguardedLinearInsert(s: Pairs, last: number): void {
  const v = s.v[last]!;
  const ix = s.ix[last]!;
  let next = last - 1;
  while (before(v, s.v[next]!)) {
    s.move(last, next);
    last = next;
    next--;
  }
  s.v[last] = v;
  s.ix[last] = ix;
}

function insertionSort(s: Pairs, first: number, last: number): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    if (s.less(i, first)) {
      const v = s.v[i]!;
      const ix = s.ix[i]!;
      for (let k = i; k > first; k--) s.move(k, k - 1);
      s.v[first] = v;
      s.ix[first] = ix;
    } else unguardedLinearInsert(s, i);
  }
}

function pushHeap(s: Pairs, first: number, hole: number, top: number, v: number, ix: number): void {
  let parent = ((hole - 1) / 2) | 0;
  while (hole > top && before(s.v[first + parent]!, v)) {
    s.move(first + hole, first + parent);
    hole = parent;
    parent = ((hole - 1) / 2) | 0;
  }
  s.v[first + hole] = v;
  s.ix[first + hole] = ix;
}

function adjustHeap(s: Pairs, first: number, hole: number, len: number, v: number, ix: number): void {
  const top = hole;
  let second = hole;
  while (second < (len - 1) >> 1) {
    second = 2 * (second + 1);
    if (s.less(first + second, first + second - 1)) second--;
    s.move(first + hole, first + second);
    hole = second;
  }
  if ((len & 1) === 0 && second === (len - 2) >> 1) {
    second = 2 * (second + 1);
    s.move(first + hole, first + second - 1);
    hole = second - 1;
  }
  pushHeap(s, first, hole, top, v, ix);
}

function makeHeap(s: Pairs, first: number, last: number): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = (len - 2) >> 1; ; parent--) {
    adjustHeap(s, first, parent, len, s.v[first + parent]!, s.ix[first + parent]!);
    if (parent === 0) return;
  }
}

function popHeap(s: Pairs, first: number, last: number, result: number): void {
  const v = s.v[result]!;
  const ix = s.ix[result]!;
  s.move(result, first);
  adjustHeap(s, first, 0, last - first, v, ix);
}

function heapSelect(s: Pairs, first: number, middle: number, last: number): void {
  makeHeap(s, first, middle);
  for (let i = middle; i < last; i++) if (s.less(i, first)) popHeap(s, first, middle, i);
}

function sortHeap(s: Pairs, first: number, last: number): void {
  while (last - first > 1) {
    last--;
    popHeap(s, first, last, last);
  }
}

function partialSort(s: Pairs, first: number, middle: number, last: number): void {
  heapSelect(s, first, middle, last);
  sortHeap(s, first, middle);
}

function introsortLoop(s: Pairs, first: number, last: number, depth: number): void {
  while (last - first > THRESHOLD) {
    if (depth === 0) {
      partialSort(s, first, last, last);
      return;
    }
    depth--;
    const cut = unguardedPartitionPivot(s, first, last);
    introsortLoop(s, cut, last, depth);
    last = cut;
  }
}

function stdSort(s: Pairs, first: number, last: number): void {
  if (first === last) return;
  introsortLoop(s, first, last, lg(last - first) * 2);
  if (last - first > THRESHOLD) {
    insertionSort(s, first, first + THRESHOLD);
    for (let i = first + THRESHOLD; i < last; i++) unguardedLinearInsert(s, i);
  } else insertionSort(s, first, last);
}

function nthElement(s: Pairs, first: number, nth: number, last: number): void {
  if (first === last || nth === last) return;
  let depth = lg(last - first) * 2;
  while (last - first > 3) {
    if (depth === 0) {
      heapSelect(s, first, nth + 1, last);
      s.swap(first, nth);
      return;
    }
    depth--;
    const cut = unguardedPartitionPivot(s, first, last);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(s, first, last);
}

function pairsOf(values: ArrayLike<number>): Pairs {
  const n = values.length;
  const s = new Pairs(Float64Array.from(values), new Int32Array(n));
  for (let i = 0; i < n; i++) s.ix[i] = i;
  return s;
}

/**
 * The permutation torch 1.13's CPU `values.sort(0, descending=True)` returns (std::sort on (value, index)
 * pairs): positions into `values`, largest first, NaN first, equal values in introsort's order.
 */
export function torchSortDescending(values: ArrayLike<number>): Int32Array {
  const s = pairsOf(values);
  stdSort(s, 0, s.v.length);
  return s.ix;
}

/** The indices torch 1.13's CPU `values.topk(k)` returns (largest, sorted): partial_sort when k * 64 <= n, else nth_element then sort. */
export function torchTopkDescending(values: ArrayLike<number>, k: number): Int32Array {
  const n = values.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`topk: k must be an integer in [0, ${n}], got ${k}`);
  if (k === 0) return new Int32Array(0);
  const s = pairsOf(values);
  if (k * 64 <= n) partialSort(s, 0, k, n);
  else {
    nthElement(s, 0, k - 1, n);
    stdSort(s, 0, k - 1);
  }
  return s.ix.slice(0, k);
}

// ---- the GPU sort ----

const K = {
  makeKeys: kernel('sort', 'make_keys'),
  sortLocal: kernel('sort', 'sort_local'),
  mergeLocal: kernel('sort', 'merge_local'),
  mergeGlobal: kernel('sort', 'merge_global'),
};
const BLOCK = 512;

/** Where the sort keys' segments come from: one per `rowLen` elements, or an i32 class per element. */
export type Segments = { rowLen: number } | { classes: GPUBuffer };

/** The sorted keys: `buffer` holds N (a power of two >= n) vec4<u32> (segment, score key, index, 0); the caller releases it. */
export interface SortedKeys {
  buffer: GPUBuffer;
  N: number;
}

/** Rounds n up to a power of two, at least one sorting block. */
export const paddedLength = (n: number): number => Math.max(BLOCK, 2 ** Math.ceil(Math.log2(Math.max(n, 1))));

function params(n: number, N: number, k: number, j: number, rowLen: number, segMode: number): Uniforms {
  return new Uniforms().u32(n).u32(N).u32(k).u32(j).u32(rowLen).u32(segMode).u32(0).u32(0);
}

/** 1-D work of `count` workgroups as a grid within the per-dimension limit. */
function groups(count: number): [number, number] {
  return count <= 65535 ? [count, 1] : [65535, Math.ceil(count / 65535)];
}

/**
 * Sorts the scores in `scores` (n float32) on the GPU into keys by (segment, decreasing score, index): torch's
 * stable descending order within each segment. n must be below 2^31.
 */
export function sortKeys(scores: GPUBuffer, n: number, segments: Segments): SortedKeys {
  const e = engine();
  const N = paddedLength(n);
  const buffer = e.createStorage(N * 16);
  const rowLen = 'rowLen' in segments ? Math.max(1, segments.rowLen) : 1;
  const segMode = 'classes' in segments ? 1 : 0;
  const seg = 'classes' in segments ? segments.classes : scores;
  e.dispatch(K.makeKeys, groups(Math.ceil(N / 256)), [scores, seg, buffer], params(n, N, 0, 0, rowLen, segMode));
  const blocks = groups(N / BLOCK);
  e.dispatch(K.sortLocal, blocks, [buffer], params(n, N, 0, 0, rowLen, segMode));
  for (let k = 2 * BLOCK; k <= N; k *= 2) {
    for (let j = k / 2; j >= BLOCK; j /= 2) e.dispatch(K.mergeGlobal, groups(Math.ceil(N / 2 / 256)), [buffer], params(n, N, k, j, rowLen, segMode));
    e.dispatch(K.mergeLocal, blocks, [buffer], params(n, N, k, 0, rowLen, segMode));
  }
  return { buffer, N };
}

/** The score a key stands for (NaN for NaN keys; -0 reads back as +0). */
export function scoreOfKey(key: number): number {
  const ordered = ~key >>> 0;
  const bits = ordered & 0x80000000 ? (ordered ^ 0x80000000) >>> 0 : ~ordered >>> 0;
  scratch[0] = bits;
  return scratchF[0]!;
}
const scratch = new Uint32Array(1);
const scratchF = new Float32Array(scratch.buffer);

// ---- topk ----

/** Whether the adapter is a CPU implementation (lavapipe/llvmpipe, SwiftShader), where the host is the faster sorter. */
export function isCpuAdapter(): boolean {
  const info = engine().adapter.info;
  return /cpu|llvmpipe|lavapipe|swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

export interface TopkOptions {
  /**
   * Where to sort: 'gpu' (bitonic sort, then the k + 1 largest keys of each row read back), 'host' (the scores read
   * back and torch's algorithm replayed), or 'auto' (default): the host on CPU adapters, where the bitonic sort's
   * barriers are slow (a 163,200-anchor FPN level: about 1 s on lavapipe against 15 ms on the host), else the GPU.
   */
  where?: 'auto' | 'gpu' | 'host';
}

/**
 * torch.topk(scores, k) indices (largest first, sorted), with torch 1.13's CPU order for equal scores, for
 * `scores` [n] or for each row of [rows, n] (as topk along the last dimension: indices into the row, row-major).
 * On the GPU each row is sorted; where two of a row's k + 1 largest scores are equal, that row's order is replayed
 * on the host (torch's partial_sort / nth_element leave such ties in no simple order). No gradient (indices only).
 */
export async function topkIndices(scores: Tensor, k: number, options: TopkOptions = {}): Promise<Int32Array> {
  if (!(scores instanceof Tensor) || (scores.rank !== 1 && scores.rank !== 2)) throw new Error(`topkIndices: scores must be [n] or [rows, n], got ${scores instanceof Tensor ? `[${scores.shape.join(', ')}]` : typeof scores}`);
  const rows = scores.rank === 2 ? scores.shape[0]! : 1;
  const n = scores.shape[scores.rank - 1]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`topkIndices: k must be an integer in [0, ${n}] (the scores' last dimension), got ${k}`);
  const out = new Int32Array(rows * k);
  if (k === 0 || rows === 0) return out;
  const where = options.where ?? 'auto';
  if (where === 'host' || (where === 'auto' && isCpuAdapter())) {
    const values = await scores.toArray();
    for (let r = 0; r < rows; r++) out.set(torchTopkDescending(values.subarray(r * n, (r + 1) * n), k), r * k);
    return out;
  }
  const e = engine();
  const sorted = sortKeys(scores.buffer, rows * n, { rowLen: n });
  try {
    // Rows are contiguous in the sorted keys: row r's first k + 1 keys start at r * n (one row: read only those).
    const take = Math.min(k + 1, n);
    const keys = new Uint32Array(await e.read(sorted.buffer, (rows === 1 ? take : rows * n) * 16));
    let values: Float32Array | null = null;
    for (let r = 0; r < rows; r++) {
      let tied = false;
      for (let p = 1; p < take && !tied; p++) tied = keys[4 * (r * n + p) + 1] === keys[4 * (r * n + p - 1) + 1];
      if (!tied) {
        for (let p = 0; p < k; p++) out[r * k + p] = keys[4 * (r * n + p) + 2]! - r * n;
        continue;
      }
      values ??= await scores.toArray();
      out.set(torchTopkDescending(values.subarray(r * n, (r + 1) * n), k), r * k);
    }
    return out;
  } finally {
    e.releaseStorage(sorted.buffer);
  }
}
