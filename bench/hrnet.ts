// The hrnet_w32 pose model (DeepLabCut's default bottom-up config: HRNet-W32 branch 0, heatmap + locref deconv
// heads, BatchNorm statistics frozen, AdamW) at batch 8 and 256x256: forward (eval, no grad) and training-step
// images/s and peak GPU memory, with the fuse layers on the fused upsample-add kernel and unfused (interpolate,
// then add: the upsampled tensors materialised), beside PyTorch 1.13 on this machine's CPU
// (bench/pytorch/hrnet_pose.py, 2 threads) as a ratio. One extra training step per fuse mode is timed per dispatch
// (timestamp queries) for the fuse-layer time: the fused kernel's time against interpolate plus the extra
// element-wise dispatches the unfused model runs (everything else is the same work in both).
// Run: npx tsx bench/hrnet.ts [--size 256] [--batch 8] [--steps 2] [--warmup 1] [--no-torch] [--no-unfused]
//      (writes bench/results/hrnet.json)
import { join } from 'node:path';
import { summarize, type DispatchTime } from '../src/gpu/profiler.ts';
import { engine, init } from '../src/index.ts';
import { setHrnetFuseMode, type FuseMode } from '../src/models/backbones/hrnet-module.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { arg, defaultPoseConfig, flag, measurePoseModel, runTorch, type StepTimes } from './lib/pose-step.ts';

const SIZE = Number(arg('--size', '256'));
const BATCH = Number(arg('--batch', '8'));
const STEPS = Number(arg('--steps', '2'));
const WARMUP = Number(arg('--warmup', '1'));

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

type Ours = StepTimes & { stepGpuMs: number; profile: DispatchTime[] };

async function measure(fuse: FuseMode): Promise<Ours> {
  setHrnetFuseMode(fuse);
  const t = await measurePoseModel(defaultPoseConfig('hrnet_w32'), { batch: BATCH, size: SIZE, steps: STEPS, warmup: WARMUP, profile: true });
  const profile = t.profile!;
  return { ...t, profile, stepGpuMs: profile.reduce((a, d) => a + d.ms, 0) };
}

interface Torch {
  forward_gflop_per_image: number;
  forward_images_per_s: number;
  train_images_per_s: number;
  train_step_s: number;
  train_first_step_s: number;
  peak_rss_above_start_mib: number;
}

const torchSide = () =>
  flag('--no-torch') ? null : runTorch<Torch>(join(import.meta.dirname, 'pytorch/hrnet_pose.py'), ['--size', String(SIZE), '--batch', String(BATCH), '--steps', String(STEPS), '--warmup', String(WARMUP)]);

/** GPU ms of one profiled step by kernel family (file:entry). */
const byKernel = (p: DispatchTime[]) => new Map(summarize(p, (t) => t.kernel).map((s) => [s.key, s.ms]));
const family = (m: Map<string, number>, prefix: string) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);

const fused = await measure('kernel');
const unfused = flag('--no-unfused') ? null : await measure('materialised');
const torch = torchSide();
const ratio = (a: number, b: number | undefined) => (b ? +(a / b).toFixed(3) : '-');

const rows: Row[] = [];
for (const [name, o] of [['fused', fused], ['unfused', unfused]] as const) {
  if (!o) continue;
  rows.push({
    'fuse layers': name,
    'fwd img/s': +o.forwardIps.toPrecision(3),
    'torch fwd img/s': torch ? +torch.forward_images_per_s.toPrecision(3) : '-',
    'fwd ratio': ratio(o.forwardIps, torch?.forward_images_per_s),
    'train img/s': +o.trainIps.toPrecision(3),
    'torch train img/s': torch ? +torch.train_images_per_s.toPrecision(3) : '-',
    'train ratio': ratio(o.trainIps, torch?.train_images_per_s),
    'first step s': +o.firstStepS.toFixed(1),
    'step GPU ms (profiled)': Math.round(o.stepGpuMs),
    'peak live MiB': Math.round(o.peakLiveMiB),
    'peak held MiB': Math.round(o.peakHeldMiB),
    'torch peak RSS MiB': torch ? Math.round(torch.peak_rss_above_start_mib) : '-',
  });
}
printTable(rows, `hrnet_w32 pose model, ${BATCH}x3x${SIZE}x${SIZE}, ${STEPS} timed steps after ${WARMUP} warm-up: ${device} vs PyTorch CPU (2 threads)`);

let fuseRows: Row[] = [];
if (unfused) {
  // Work the fused kernel replaces: in the unfused model, interpolate plus the element-wise dispatches (adds, ReLUs,
  // their gradients) it runs beyond the fused model's; the rest of the step is the same dispatches in both.
  const f = byKernel(fused.profile);
  const u = byKernel(unfused.profile);
  const elementwise = (m: Map<string, number>) => family(m, 'binary:') + family(m, 'unary:');
  const fusedMs = family(f, 'hrnet_fuse:');
  const unfusedMs = family(u, 'resample:') + elementwise(u) - elementwise(f);
  fuseRows = [
    { 'fuse layers': 'fused (hrnetUpsampleAdd)', 'upsample-add GPU ms per train step': +fusedMs.toFixed(1), 'step GPU ms': Math.round(fused.stepGpuMs) },
    { 'fuse layers': 'unfused (interpolate + add)', 'upsample-add GPU ms per train step': +unfusedMs.toFixed(1), 'step GPU ms': Math.round(unfused.stepGpuMs) },
  ];
  printTable(fuseRows, 'fuse layers, one profiled training step (forward + backward)');
}
const flops = torch?.forward_gflop_per_image;
if (flops) console.log(`forward: ${flops.toFixed(2)} GFLOP per image (convolutions); ours ${(flops * fused.forwardIps).toFixed(1)} GFLOP/s, PyTorch ${(flops * torch!.forward_images_per_s).toFixed(1)} GFLOP/s`);
const top = summarize(fused.profile, (t) => `${t.label} ${t.kernel}`).slice(0, 15);
printTable(top.map((k) => ({ kernel: k.key, ms: +k.ms.toFixed(0), dispatches: k.count, share: +(k.share * 100).toFixed(1) })), 'fused model, profiled step: top kernels');
const strip = ({ profile: _p, ...rest }: Ours) => rest;
console.log(`wrote ${writeResults('hrnet', { device, size: SIZE, batch: BATCH, steps: STEPS, warmup: WARMUP, fused: strip(fused), unfused: unfused && strip(unfused), torch, rows, fuseRows, topKernels: top })}`);
process.exit(0);
