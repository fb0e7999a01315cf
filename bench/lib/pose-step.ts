// Shared by the pose-model benchmarks (pose-model.ts, hrnet.ts): a default DeepLabCut pose model on random
// inputs, timed for forward (eval, no grad) and training steps, with peak GPU memory and an optional
// per-dispatch profile of one more step; and the PyTorch CPU side run as a child process.
import { spawnSync } from 'node:child_process';
import { makePoseConfig } from '../../src/config/index.ts';
import type { DispatchTime } from '../../src/gpu/profiler.ts';
import { engine, noGrad, randn, tidy, type Tensor } from '../../src/index.ts';
import { PoseModel, type PoseModelConfig } from '../../src/models/pose-model.ts';
import { buildOptimizer } from '../../src/runner/build-optimizer.ts';

export const argv = process.argv;
export const flag = (name: string): boolean => argv.includes(name);
export function arg(name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1]! : fallback;
}

const BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'];

export interface PoseBenchConfig {
  model: PoseModelConfig;
  runner: { optimizer: Parameters<typeof buildOptimizer>[0] };
}

/** The pytorch_config.yaml DeepLabCut's create_training_dataset writes for `netType` (4 bodyparts). */
export function defaultPoseConfig(netType: string): PoseBenchConfig {
  return makePoseConfig({
    netType,
    multiAnimal: false,
    metadata: { project_path: '/tmp', pose_config_path: '/tmp/pytorch_config.yaml', bodyparts: BODYPARTS, unique_bodyparts: [], individuals: ['animal'], with_identity: null },
  } as Parameters<typeof makePoseConfig>[0]) as unknown as PoseBenchConfig;
}

/** Deterministic visible keypoints spread over a size x size input. */
function keypoints(batch: number, size: number) {
  const K = BODYPARTS.length;
  const data = new Float32Array(batch * K * 3);
  for (let i = 0; i < batch * K; i++) {
    data[i * 3] = 8 + ((i * 37) % (size - 16));
    data[i * 3 + 1] = 8 + ((i * 53) % (size - 16));
    data[i * 3 + 2] = 1;
  }
  return { data, batch, individuals: 1 };
}

async function seconds(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export interface StepTimes {
  forwardIps: number;
  forwardFirstS: number;
  trainIps: number;
  trainStepS: number;
  firstStepS: number;
  peakLiveMiB: number;
  /** Live plus pooled (freed, kept for reuse) bytes: what the process holds on the device. */
  peakHeldMiB: number;
  compileS: number;
  /** One more training step timed per dispatch (labels: forward, targets+loss, backward, optimizer). */
  profile?: DispatchTime[];
}

/** Times the model of `cfg` at batch x 3 x size x size: first forward, `steps` forwards, first step, warm-up, `steps` steps. */
export async function measurePoseModel(cfg: PoseBenchConfig, o: { batch: number; size: number; steps: number; warmup: number; profile: boolean }): Promise<StepTimes> {
  const compile0 = engine().compileMs;
  const model = new PoseModel(cfg.model, { seed: 0 });
  const optimizer = buildOptimizer(cfg.runner.optimizer, model.parameters());
  const x = randn([o.batch, 3, o.size, o.size], { seed: 1 });
  const kp = keypoints(o.batch, o.size);
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
  try {
    const forwardFirstS = await seconds(forward);
    let fwd = 0;
    for (let i = 0; i < o.steps; i++) fwd += await seconds(forward);
    const firstStepS = await seconds(step);
    for (let i = 1; i < o.warmup; i++) await step();
    let train = 0;
    for (let i = 0; i < o.steps; i++) train += await seconds(step);
    let profile: DispatchTime[] | undefined;
    if (o.profile) {
      engine().startProfile();
      await step();
      profile = await engine().stopProfile();
    }
    return {
      forwardIps: (o.batch * o.steps) / fwd,
      forwardFirstS,
      trainIps: (o.batch * o.steps) / train,
      trainStepS: train / o.steps,
      firstStepS,
      peakLiveMiB: peakLive / 2 ** 20,
      peakHeldMiB: peakHeld / 2 ** 20,
      compileS: (engine().compileMs - compile0) / 1000,
      profile,
    };
  } finally {
    model.dispose();
    x.dispose();
    optimizer.dispose();
    engine().trim();
  }
}

/** Runs a bench/pytorch script with Debian's PyTorch; its last stdout line is JSON. Null (and a note) when it fails. */
export function runTorch<T>(script: string, args: string[]): T | null {
  const r = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`PyTorch side skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
