// The resnet_50 pose model (DeepLabCut's default config: ResNet-50-GN, OS16, heatmap + locref heads,
// AdamW) at batch 8 and 256x256 / 448x448 inputs: forward (eval, no grad) and training-step images/s and
// peak GPU memory, beside PyTorch 1.13 on this machine's CPU (bench/pytorch/pose_model.py, 2 threads)
// as a ratio. With --profile, one extra step per size is timed per dispatch (timestamp queries) and the
// time is broken down by phase and kernel.
// Run: npx tsx bench/pose-model.ts [--sizes 256,448] [--batch 8] [--steps 2] [--warmup 1] [--profile] [--no-torch]
//      (writes bench/results/pose-model.json)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makePoseConfig } from '../src/config/index.ts';
import { summarize, type DispatchTime } from '../src/gpu/profiler.ts';
import { engine, init, noGrad, randn, tidy, type Tensor } from '../src/index.ts';
import { PoseModel, type PoseModelConfig } from '../src/models/pose-model.ts';
import { buildOptimizer } from '../src/runner/build-optimizer.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';

const argv = process.argv;
const flag = (name: string) => argv.includes(name);
function arg(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : fallback;
}
const SIZES = arg('--sizes', '256,448').split(',').map(Number);
const BATCH = Number(arg('--batch', '8'));
const STEPS = Number(arg('--steps', '2'));
const WARMUP = Number(arg('--warmup', '1'));
const K = 4;

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

function poseConfig() {
  return makePoseConfig({
    netType: 'resnet_50',
    multiAnimal: false,
    metadata: { project_path: '/tmp', pose_config_path: '/tmp/pytorch_config.yaml', bodyparts: ['snout', 'leftear', 'rightear', 'tailbase'], unique_bodyparts: [], individuals: ['animal'], with_identity: null },
  } as Parameters<typeof makePoseConfig>[0]) as { model: PoseModelConfig; runner: { optimizer: Parameters<typeof buildOptimizer>[0] } };
}

function keypoints(size: number) {
  const data = new Float32Array(BATCH * K * 3);
  for (let i = 0; i < BATCH * K; i++) {
    data[i * 3] = 8 + ((i * 37) % (size - 16));
    data[i * 3 + 1] = 8 + ((i * 53) % (size - 16));
    data[i * 3 + 2] = 1;
  }
  return { data, batch: BATCH, individuals: 1 };
}

async function seconds(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

interface Ours {
  forwardIps: number;
  forwardFirstS: number;
  trainIps: number;
  trainStepS: number;
  firstStepS: number;
  peakLiveMiB: number;
  peakHeldMiB: number;
  profile?: DispatchTime[];
}

async function measure(size: number): Promise<Ours> {
  const cfg = poseConfig();
  const compile0 = engine().compileMs;
  const model = new PoseModel(cfg.model, { seed: 0 });
  const optimizer = buildOptimizer(cfg.runner.optimizer, model.parameters());
  const x = randn([BATCH, 3, size, size], { seed: 1 });
  const kp = keypoints(size);
  let peakLive = 0;
  let peakHeld = 0;
  const forward = async () => {
    model.eval();
    const y = noGrad(() => tidy(() => model.forward(x).bodypart!.heatmap));
    await y.toArray();
    y.dispose();
  };
  const step = async () => {
    model.train();
    optimizer.zeroGrad();
    const p = engine().profiler;
    const loss: Tensor = tidy(() => {
      if (p) p.label = 'forward';
      const out = model.forward(x);
      if (p) p.label = 'targets+loss';
      const terms = model.getLoss(out, model.getTarget(kp, out));
      if (p) p.label = 'backward';
      terms.total_loss!.backward();
      if (p) p.label = 'optimizer';
      optimizer.step();
      const s = engine().stats();
      peakLive = Math.max(peakLive, s.liveBytes);
      peakHeld = Math.max(peakHeld, s.liveBytes + s.pooledBytes);
      return terms.total_loss!;
    });
    await loss.item();
    loss.dispose();
  };
  const forwardFirstS = await seconds(forward);
  let fwd = 0;
  for (let i = 0; i < STEPS; i++) fwd += await seconds(forward);
  const firstStepS = await seconds(step);
  for (let i = 1; i < WARMUP; i++) await step();
  let train = 0;
  for (let i = 0; i < STEPS; i++) train += await seconds(step);
  let profile: DispatchTime[] | undefined;
  if (flag('--profile')) {
    engine().startProfile();
    await step();
    profile = await engine().stopProfile();
  }
  console.log(`size ${size}: pipelines compiled in ${((engine().compileMs - compile0) / 1000).toFixed(1)} s`);
  model.dispose();
  x.dispose();
  optimizer.dispose();
  engine().trim();
  return {
    forwardIps: (BATCH * STEPS) / fwd,
    forwardFirstS,
    trainIps: (BATCH * STEPS) / train,
    trainStepS: train / STEPS,
    firstStepS,
    peakLiveMiB: peakLive / 2 ** 20,
    peakHeldMiB: peakHeld / 2 ** 20,
    profile,
  };
}

interface Torch {
  forward_images_per_s: number;
  train_images_per_s: number;
  train_step_s: number;
  train_first_step_s: number;
  peak_rss_above_start_mib: number;
}

function torchSide(size: number): Torch | null {
  if (flag('--no-torch')) return null;
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'pytorch/pose_model.py'), '--size', String(size), '--batch', String(BATCH), '--steps', String(STEPS), '--warmup', String(WARMUP)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`PyTorch side skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Torch;
}

const rows: Row[] = [];
const results: Record<string, unknown>[] = [];
for (const size of SIZES) {
  const ours = await measure(size);
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
