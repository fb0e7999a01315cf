// roiAlign at Faster R-CNN's box-head shapes (256 channels, 7x7 bins, sampling 2, aligned=false): one image's
// stride-16 map [1, 256, 50, 68] and mobilenet_v3 FPN's two-image stride-32 map [2, 256, 25, 34], with 512 and
// 1000 RPN-like proposals (sides 16-512 px, clipped to an 800x1088 image), and resnet50-FPN's four-level
// MultiScaleRoIAlign. Forward and forward+backward (given upstream gradient), median ms, beside torchvision
// 0.14 on this machine's CPU (bench/pytorch/roi_align_bench.py, same ROIs) in the same run.
// Run: npx tsx bench/roi-align.ts [--runs 5] [--no-torch] [--no-fpn] [--only TEXT (cases whose name contains it)]
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dg from '../src/index.ts';
import { multiScaleRoiAlign, roiAlign } from '../src/ops/roi-align.ts';
import { printTable, timeGpu, writeResults, type Row } from './lib/harness.ts';
import { arg, flag, runTorch } from './lib/pose-step.ts';
import { mulberry32 } from './lib/random.ts';

const runs = Number(arg('--runs', '5'));
const IMAGE: [number, number] = [800, 1088];
const OUT = 7;
const SAMPLING = 2;

const random = mulberry32;

/** Proposal-like boxes (x1, y1, x2, y2): log-uniform sides 16-512 px, aspect 1/2-2, clipped to the image. */
function proposals(count: number, seed: number): number[][] {
  const r = random(seed);
  return Array.from({ length: count }, () => {
    const side = 16 * 32 ** r();
    const aspect = 2 ** (2 * r() - 1);
    const w = side * Math.sqrt(aspect);
    const h = side / Math.sqrt(aspect);
    const cx = r() * IMAGE[1];
    const cy = r() * IMAGE[0];
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    return [clip(cx - w / 2, IMAGE[1]), clip(cy - h / 2, IMAGE[0]), clip(cx + w / 2, IMAGE[1]), clip(cy + h / 2, IMAGE[0])];
  });
}

interface Case {
  name: string;
  op: 'roiAlign' | 'multiScaleRoiAlign';
  features: number[][];
  /** Per image. */
  boxes: number[][][];
  spatialScale: number;
}

const perImage = (images: number, total: number, seed: number) => Array.from({ length: images }, (_, i) => proposals(total / images, seed + i));
const cases: Case[] = [];
for (const rois of [512, 1000]) {
  cases.push({ name: `[1,256,50,68] 1/16, ${rois} ROIs`, op: 'roiAlign', features: [[1, 256, 50, 68]], boxes: perImage(1, rois, rois), spatialScale: 1 / 16 });
  cases.push({ name: `[2,256,25,34] 1/32, ${rois} ROIs`, op: 'roiAlign', features: [[2, 256, 25, 34]], boxes: perImage(2, rois, rois + 7), spatialScale: 1 / 32 });
}
if (!flag('--no-fpn'))
  cases.push({ name: 'FPN 4 levels [1,256,200,272]..[1,256,25,34], 512 ROIs', op: 'multiScaleRoiAlign', features: [[1, 256, 200, 272], [1, 256, 100, 136], [1, 256, 50, 68], [1, 256, 25, 34]], boxes: perImage(1, 512, 99), spatialScale: 0 });

const only = arg('--only', '');
if (only) cases.splice(0, cases.length, ...cases.filter((c) => c.name.includes(only)));

const roisOf = (c: Case) => c.boxes.flatMap((b, i) => b.map((box) => [i, ...box]));

/** MB a pass must move at least: read the features and write the output (forward), or the reverse (backward). */
function traffic(c: Case): number {
  const feat = c.features.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0) * 4;
  return (feat + roisOf(c).length * 256 * OUT * OUT * 4) / 1e6;
}

await dg.init();
const info = dg.engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

interface TorchCase { name: string; fwd_ms: number; fwd_min_ms: number; fwd_bwd_ms: number; fwd_bwd_min_ms: number }
/** torchvision on one case, run just before ours so that both see the same load on the machine. */
function torchOn(c: Case): TorchCase | null {
  if (flag('--no-torch')) return null;
  const file = join(tmpdir(), `dlc-gpu-roi-align-${process.pid}.json`);
  writeFileSync(file, JSON.stringify([{ ...c, outputSize: OUT, samplingRatio: SAMPLING, rois: roisOf(c), imageSizes: c.boxes.map(() => IMAGE) }]));
  const r = runTorch<{ cases: TorchCase[] }>(join(import.meta.dirname, 'pytorch/roi_align_bench.py'), [file, '--runs', String(runs)]);
  rmSync(file, { force: true });
  return r?.cases[0] ?? null;
}

const rows: Row[] = [];
const results: Record<string, unknown>[] = [];
const ms = (t: number) => +t.toFixed(1);
for (const c of cases) {
  const t = torchOn(c);
  const features = c.features.map((s, i) => dg.randn(s, { seed: 1 + i }));
  const rois = dg.tensor(roisOf(c).flat(), [roisOf(c).length, 5]);
  const boxes = c.boxes.map((b) => dg.tensor(b.flat(), [b.length, 4]));
  const run = () =>
    c.op === 'roiAlign'
      ? roiAlign(features[0]!, rois, { outputSize: OUT, spatialScale: c.spatialScale, samplingRatio: SAMPLING })
      : multiScaleRoiAlign(features, boxes, c.boxes.map(() => IMAGE), { outputSize: OUT, samplingRatio: SAMPLING });
  const upstream = dg.randn([roisOf(c).length, 256, OUT, OUT], { seed: 50 });
  const fwd = await timeGpu(`${c.name} fwd`, () => dg.tidy(() => dg.noGrad(run)), { runs });
  for (const f of features) f.requiresGrad = true;
  const both = await timeGpu(`${c.name} fwd+bwd`, () => {
    dg.tidy(() => run().backward(upstream));
    for (const f of features) {
      f.grad?.dispose();
      f.grad = null;
    }
  }, { runs });
  // The machine is shared: medians move with other jobs, minimums less so; the ratio is of minimums.
  const ratio = (ours: number, theirs: number | undefined) => (theirs ? +(theirs / ours).toFixed(2) : '-');
  rows.push({
    case: c.name,
    'fwd ms (min)': `${ms(fwd.medianMs)} (${ms(fwd.minMs)})`,
    'torch fwd ms (min)': t ? `${ms(t.fwd_ms)} (${ms(t.fwd_min_ms)})` : '-',
    'fwd speed-up': ratio(fwd.minMs, t?.fwd_min_ms),
    'fwd+bwd ms (min)': `${ms(both.medianMs)} (${ms(both.minMs)})`,
    'torch fwd+bwd ms (min)': t ? `${ms(t.fwd_bwd_ms)} (${ms(t.fwd_bwd_min_ms)})` : '-',
    'fwd+bwd speed-up': ratio(both.minMs, t?.fwd_bwd_min_ms),
    'fwd GB/s': +(traffic(c) / fwd.minMs).toPrecision(2),
  });
  results.push({ case: c.name, ours: { fwd, fwdBwd: both }, torch: t });
  for (const x of [...features, rois, ...boxes, upstream]) x.dispose();
  dg.engine().trim();
}
printTable(rows, `roi align, ${OUT}x${OUT} bins, sampling ${SAMPLING}, median of ${runs}: ${device} vs torchvision 0.14 CPU (speed-up = torch min / our min)`);
console.log(`results: ${writeResults('roi-align', { device, runs, rows, results })}`);
process.exit(0);
