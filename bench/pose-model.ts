// The resnet_50 pose model (DeepLabCut's default config: ResNet-50-GN, OS16, heatmap + locref heads,
// AdamW) at batch 8 and 256x256 / 448x448 inputs: forward (eval, no grad) and training-step images/s and
// peak GPU memory, beside PyTorch 1.13 on this machine's CPU (bench/pytorch/pose_model.py, 2 threads)
// as a ratio. With --profile, one extra step per size is timed per dispatch (timestamp queries) and the
// time is broken down by phase and kernel.
// Run: npx tsx bench/pose-model.ts [--sizes 256,448] [--batch 8] [--steps 2] [--warmup 1] [--profile] [--no-torch]
//      (writes bench/results/pose-model.json)
import { join } from 'node:path';
import { summarize } from '../src/gpu/profiler.ts';
import { engine, init } from '../src/index.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';
import { arg, defaultPoseConfig, flag, measurePoseModel, runTorch } from './lib/pose-step.ts';

const SIZES = arg('--sizes', '256,448').split(',').map(Number);
const BATCH = Number(arg('--batch', '8'));
const STEPS = Number(arg('--steps', '2'));
const WARMUP = Number(arg('--warmup', '1'));

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

interface Torch {
  forward_images_per_s: number;
  train_images_per_s: number;
  train_step_s: number;
  train_first_step_s: number;
  peak_rss_above_start_mib: number;
}

const torchSide = (size: number) =>
  flag('--no-torch') ? null : runTorch<Torch>(join(import.meta.dirname, 'pytorch/pose_model.py'), ['--size', String(size), '--batch', String(BATCH), '--steps', String(STEPS), '--warmup', String(WARMUP)]);

const rows: Row[] = [];
const results: Record<string, unknown>[] = [];
for (const size of SIZES) {
  const ours = await measurePoseModel(defaultPoseConfig('resnet_50'), { batch: BATCH, size, steps: STEPS, warmup: WARMUP, profile: flag('--profile') });
  console.log(`size ${size}: pipelines compiled in ${ours.compileS.toFixed(1)} s`);
  const torch = torchSide(size);
  const ratio = (a: number, b: number | undefined) => (b ? +(a / b).toFixed(3) : '-');
  rows.push({
    input: `${BATCH}x3x${size}x${size}`,
    'fwd img/s': +ours.forwardIps.toPrecision(3),
    'torch fwd img/s': torch ? +torch.forward_images_per_s.toPrecision(3) : '-',
    'fwd ratio': ratio(ours.forwardIps, torch?.forward_images_per_s),
    'train img/s': +ours.trainIps.toPrecision(3),
    'torch train img/s': torch ? +torch.train_images_per_s.toPrecision(3) : '-',
    'train ratio': ratio(ours.trainIps, torch?.train_images_per_s),
    'first step s': +ours.firstStepS.toFixed(1),
    'torch first step s': torch ? +torch.train_first_step_s.toFixed(1) : '-',
    'peak live MiB': Math.round(ours.peakLiveMiB),
    'peak held MiB': Math.round(ours.peakHeldMiB),
    'torch peak RSS MiB': torch ? Math.round(torch.peak_rss_above_start_mib) : '-',
  });
  const { profile, ...rest } = ours;
  const entry: Record<string, unknown> = { size, batch: BATCH, ours: rest, torch };
  if (profile) {
    const total = profile.reduce((a, t) => a + t.ms, 0);
    const phases = summarize(profile, (t) => t.label);
    const kernels = summarize(profile, (t) => `${t.label} ${t.kernel}`).slice(0, 25);
    printTable(phases.map((p) => ({ phase: p.key, ms: +p.ms.toFixed(0), dispatches: p.count, share: +(p.share * 100).toFixed(1) })), `profile ${size}: ${profile.length} dispatches, ${total.toFixed(0)} ms of GPU time`);
    printTable(kernels.map((k) => ({ kernel: k.key, ms: +k.ms.toFixed(0), dispatches: k.count, share: +(k.share * 100).toFixed(1) })), `profile ${size}: top kernels`);
    const top = [...profile].sort((a, b) => b.ms - a.ms).slice(0, 20);
    printTable(top.map((t) => ({ kernel: t.kernel, phase: t.label, grid: t.workgroups, ms: +t.ms.toFixed(1) })), `profile ${size}: slowest dispatches`);
    entry.profile = { totalMs: total, phases, kernels };
  }
  results.push(entry);
}
printTable(rows, `resnet_50 pose model, batch ${BATCH}, ${STEPS} timed steps after ${WARMUP} warm-up: ${device} vs PyTorch CPU (2 threads)`);
console.log(`wrote ${writeResults('pose-model', { device, batch: BATCH, steps: STEPS, warmup: WARMUP, results, rows })}`);
