// nms / batchedNms at detector sizes: RPN pre-NMS proposals (1000, 5000 and 20000 boxes in one class at IoU 0.7;
// 5000 and 10000 over 5 FPN levels, torchvision's batched_nms per level) and SSD's postprocess candidates (3000
// boxes in 1 class, DeepLabCut's single animal class, and over 90 COCO classes, at IoU 0.55). Median ms of the
// whole call (sort, bitmask, greedy pass, readback of the kept indices; inputs already on the GPU) beside
// torchvision 0.14 on this machine's CPU (bench/pytorch/nms_bench.py, the same inputs) in the same run, with
// the kept indices checked identical; and RPN's per-level topk on the largest resnet50-FPN level. Then the greedy pass's two homes, one GPU workgroup vs the host after
// reading the mask back, for n = 300 .. 20000.
// Run: npx tsx bench/nms.ts [--runs 5] [--no-torch] [--no-greedy]
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dg from '../src/index.ts';
import { batchedNms, nms, type GreedyMode } from '../src/ops/nms.ts';
import { topkIndices } from '../src/ops/sort.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { arg, flag, runTorch } from './lib/pose-step.ts';
import { mulberry32 } from './lib/random.ts';

const runs = Number(arg('--runs', '5'));
const IMAGE: [number, number] = [800, 1088];

const random = mulberry32;

interface Case {
  name: string;
  op: 'nms' | 'batchedNms' | 'topk';
  /** topk's k. */
  k?: number;
  threshold: number;
  boxes: Float32Array;
  scores: Float32Array;
  classes: Int32Array;
}

/** Proposal-like boxes: log-uniform sides 16-512 px, aspect 1/2-2, centres clustered around a few objects, clipped. */
function makeCase(name: string, op: Case['op'], n: number, classes: number, threshold: number, seed: number): Case {
  const r = random(seed);
  const objects = Array.from({ length: 40 }, () => [r() * IMAGE[1], r() * IMAGE[0], 32 * 16 ** r()]);
  const boxes = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  const cls = new Int32Array(n);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let i = 0; i < n; i++) {
    const [ox, oy, os] = objects[Math.floor(r() * objects.length)]!;
    const side = os! * 2 ** (r() - 0.5);
    const aspect = 2 ** (2 * r() - 1);
    const w = side * Math.sqrt(aspect);
    const h = side / Math.sqrt(aspect);
    const cx = ox! + (r() - 0.5) * side;
    const cy = oy! + (r() - 0.5) * side;
    boxes.set([clip(cx - w / 2, IMAGE[1]), clip(cy - h / 2, IMAGE[0]), clip(cx + w / 2, IMAGE[1]) + 1, clip(cy + h / 2, IMAGE[0]) + 1], 4 * i);
    scores[i] = 1 / (1 + Math.exp(-4 * (r() - 0.5)));
    cls[i] = Math.floor(r() * classes);
  }
  return { name, op, threshold, boxes, scores, classes: cls };
}

const cases: Case[] = [
  makeCase('RPN nms 1000', 'nms', 1000, 1, 0.7, 1),
  makeCase('RPN nms 5000', 'nms', 5000, 1, 0.7, 2),
  makeCase('RPN nms 20000', 'nms', 20000, 1, 0.7, 3),
  makeCase('RPN batched 5000 (5 levels)', 'batchedNms', 5000, 5, 0.7, 4),
  makeCase('RPN batched 10000 (5 levels)', 'batchedNms', 10000, 5, 0.7, 5),
  makeCase('SSD batched 3000 x 1 class', 'batchedNms', 3000, 1, 0.55, 6),
  makeCase('SSD batched 3000 x 90 classes', 'batchedNms', 3000, 90, 0.55, 7),
  // RPN's per-level pre-NMS top-n on resnet50-FPN's largest level (200 x 272 x 3 anchors at 800 x 1088).
  { ...makeCase('RPN topk 2000 of 163200 (auto: host here)', 'topk', 163200, 1, 0, 8), k: 2000 },
  { ...makeCase('RPN topk 2000 of 163200 (GPU sort)', 'topk', 163200, 1, 0, 8), k: 2000 },
];

await dg.init();
const info = dg.engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

/** Medians of two variants timed alternately, so that load from other processes weighs on both alike. */
async function interleaved(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  for (let i = 0; i < 2; i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [fn, out] of [[a, sa], [b, sb]] as const) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
  }
  const mid = (v: number[]) => v.sort((x, y) => x - y)[v.length >> 1]!;
  return [mid(sa), mid(sb)];
}

function call(c: Case, boxes: dg.Tensor, scores: dg.Tensor, greedy: GreedyMode): Promise<Int32Array> {
  if (c.op === 'topk') return topkIndices(scores, c.k!, { where: c.name.includes('GPU') ? 'gpu' : 'auto' });
  return c.op === 'nms' ? nms(boxes, scores, c.threshold, { greedy }) : batchedNms(boxes, scores, c.classes, c.threshold, { greedy });
}

// The PyTorch side reads the same inputs from a binary file.
type Torch = { cases: { name: string; ms: number; keep: number[] }[] };
let torch: Torch | null = null;
if (!flag('--no-torch')) {
  const index: Record<string, unknown>[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const c of cases) {
    const n = c.scores.length;
    index.push({ name: c.name, op: c.op, threshold: c.threshold, k: c.k ?? 0, n, offset });
    for (const a of [c.boxes, c.scores, c.classes]) parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    offset += 24 * n;
  }
  const dir = tmpdir();
  writeFileSync(join(dir, 'dlc-gpu-nms-cases.json'), JSON.stringify(index));
  writeFileSync(join(dir, 'dlc-gpu-nms-data.bin'), Buffer.concat(parts));
  torch = runTorch<Torch>(join(import.meta.dirname, 'pytorch/nms_bench.py'), [join(dir, 'dlc-gpu-nms-cases.json'), join(dir, 'dlc-gpu-nms-data.bin'), '--runs', String(runs)]);
}

const rows: Row[] = [];
const results: Record<string, unknown>[] = [];
for (const c of cases) {
  const n = c.scores.length;
  await dg.scope(async () => {
    const boxes = dg.tensor(c.boxes, [n, 4]);
    const scores = dg.tensor(c.scores, [n]);
    const keep = await call(c, boxes, scores, 'auto');
    const ms = await median(() => call(c, boxes, scores, 'auto'));
    const peer = torch?.cases.find((t) => t.name === c.name);
    const same = peer ? peer.keep.length === keep.length && peer.keep.every((v, i) => v === keep[i]) : null;
    rows.push({ case: c.name, n, kept: keep.length, 'dlc-gpu ms': +ms.toFixed(2), 'torchvision ms': peer ? +peer.ms.toFixed(2) : '-', 'speed vs torchvision': peer ? +(peer.ms / ms).toFixed(2) : '-', identical: same === null ? '-' : same ? 'yes' : 'NO' });
    results.push({ case: c.name, n, kept: keep.length, ms, torchMs: peer?.ms ?? null, identical: same });
  });
}
printTable(rows, `nms / batchedNms, median of ${runs} (${device}; greedy pass 'auto')`);

const greedyRows: Row[] = [];
if (!flag('--no-greedy')) {
  for (const n of [300, 1000, 2000, 5000, 10000, 20000]) {
    const c = makeCase(`nms ${n}`, 'nms', n, 1, 0.7, 100 + n);
    await dg.scope(async () => {
      const boxes = dg.tensor(c.boxes, [n, 4]);
      const scores = dg.tensor(c.scores, [n]);
      const [gpu, host] = await interleaved(() => call(c, boxes, scores, 'gpu'), () => call(c, boxes, scores, 'host'));
      const words = Math.ceil(n / 32);
      greedyRows.push({ n, 'mask MiB': +((n * (words + 1) * 2) / 2 ** 20).toFixed(2), 'GPU greedy ms': +gpu.toFixed(2), 'host greedy ms': +host.toFixed(2), faster: gpu < host ? 'GPU' : 'host' });
    });
  }
  printTable(greedyRows, `greedy pass: one GPU workgroup vs the host after reading the mask back (whole nms call, median of ${runs})`);
}
console.log(`results: ${writeResults('nms', { device, runs, rows: results, greedy: greedyRows })}`);
process.exit(0);
