// The hrnet_w32 pose model (DeepLabCut's default bottom-up config: HRNet-W32 branch 0, heatmap + locref deconv
// heads, BatchNorm statistics frozen, AdamW) at batch 8 and 256x256: forward (eval, no grad) and training-step
// images/s and peak GPU memory, with the fuse layers on the fused upsample-add kernel and unfused (interpolate,
// then add: the upsampled tensors materialised), beside PyTorch 1.13 on this machine's CPU
// (bench/pytorch/hrnet_pose.py, 2 threads) as a ratio. One extra training step per fuse mode is timed per dispatch
// (timestamp queries) for the fuse-layer time: the fused kernel's time against interpolate plus the extra
// element-wise dispatches the unfused model runs (everything else is the same work in both).
// Run: npx tsx bench/hrnet.ts [--size 256] [--batch 8] [--steps 2] [--warmup 1] [--no-torch] [--no-unfused]
//      (writes bench/results/hrnet.json)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makePoseConfig } from '../src/config/index.ts';
import { summarize, type DispatchTime } from '../src/gpu/profiler.ts';
import { engine, init, noGrad, randn, tidy, type Tensor } from '../src/index.ts';
import { setHrnetFuseMode, type FuseMode } from '../src/models/backbones/hrnet-module.ts';
import { PoseModel, type PoseModelConfig } from '../src/models/pose-model.ts';
import { buildOptimizer } from '../src/runner/build-optimizer.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';

const argv = process.argv;
const flag = (name: string) => argv.includes(name);
function arg(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : fallback;
}
const SIZE = Number(arg('--size', '256'));
const BATCH = Number(arg('--batch', '8'));
const STEPS = Number(arg('--steps', '2'));
const WARMUP = Number(arg('--warmup', '1'));
const K = 4;

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

function poseConfig() {
  return makePoseConfig({
    netType: 'hrnet_w32',
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
  trainIps: number;
  trainStepS: number;
  firstStepS: number;
  peakLiveMiB: number;
  peakHeldMiB: number;
  stepGpuMs: number;
  profile: DispatchTime[];
}

async function measure(fuse: FuseMode): Promise<Ours> {
  const cfg = poseConfig();
  setHrnetFuseMode(fuse);
  const model = new PoseModel(cfg.model, { seed: 0 });
  const optimizer = buildOptimizer(cfg.runner.optimizer, model.parameters());
  const x = randn([BATCH, 3, SIZE, SIZE], { seed: 1 });
  const kp = keypoints(SIZE);
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
  await forward();
  let fwd = 0;
  for (let i = 0; i < STEPS; i++) fwd += await seconds(forward);
  const firstStepS = await seconds(step);
  for (let i = 1; i < WARMUP; i++) await step();
  let train = 0;
  for (let i = 0; i < STEPS; i++) train += await seconds(step);
  engine().startProfile();
  await step();
  const profile = await engine().stopProfile();
  model.dispose();
  x.dispose();
  optimizer.dispose();
  engine().trim();
  return {
    forwardIps: (BATCH * STEPS) / fwd,
    trainIps: (BATCH * STEPS) / train,
    trainStepS: train / STEPS,
    firstStepS,
    peakLiveMiB: peakLive / 2 ** 20,
    peakHeldMiB: peakHeld / 2 ** 20,
    stepGpuMs: profile.reduce((a, t) => a + t.ms, 0),
    profile,
  };
}

interface Torch {
  forward_gflop_per_image: number;
  forward_images_per_s: number;
  train_images_per_s: number;
  train_step_s: number;
  train_first_step_s: number;
  peak_rss_above_start_mib: number;
}

function torchSide(): Torch | null {
  if (flag('--no-torch')) return null;
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'pytorch/hrnet_pose.py'), '--size', String(SIZE), '--batch', String(BATCH), '--steps', String(STEPS), '--warmup', String(WARMUP)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`PyTorch side skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Torch;
}

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
