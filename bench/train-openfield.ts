// Training throughput on the openfield project with the default resnet_50 config (ResNet-50-GN,
// data.train augmentation with 448x448 crops), batch 8, through the real PoseTrainingRunner: a fixed
// number of steps after warm-up steps (pipeline compiles, buffer pool fill), each step read back
// (display_iters 1) so its time includes its GPU work. Reports images/s, time per step, and the
// peak of live GPU bytes sampled after each backward pass (engine().stats().liveBytes; parameters,
// optimizer state, activations and gradients held at that point).
// Run: npx tsx bench/train-openfield.ts [--steps N] [--warmup N] [--batch B]
//      (writes bench/results/train-openfield.json; the project is copied to a temp folder)
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProjectData } from '../src/data/index.ts';
import { engine, init } from '../src/index.ts';
import { createDataset, readProject } from '../src/project/index.ts';
import { PoseTrainingRunner, type LogSink, type StepInfo } from '../src/runner/index.ts';
import { printTable, writeResults, type Row } from './lib/harness.ts';

const OPENFIELD = join(import.meta.dirname, '../../shared/datasets/openfield-Pranav-2018-10-30');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < (name === '--warmup' ? 0 : 1)) throw new Error(`${name} must be a positive integer`);
  return v;
}
const STEPS = arg('--steps', 4);
const WARMUP = arg('--warmup', 1);
const BATCH = arg('--batch', 8);

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-bench-train-'));
try {
  cpSync(OPENFIELD, dir, { recursive: true, filter: (src) => !src.includes('/videos') });
  for (const p of [dir, join(dir, 'labeled-data'), join(dir, 'labeled-data', 'm4s1')]) chmodSync(p, 0o755);
  for (const f of ['config.yaml', 'labeled-data/m4s1/CollectedData_Pranav.csv']) chmodSync(join(dir, f), 0o644);
  const created = createDataset(readProject(join(dir, 'config.yaml')), { shuffle: 1, seed: 42, netType: 'resnet_50', trainFraction: 0.95 });
  const data = openProjectData(created.layout.poseConfig);
  const config = structuredClone(data.config);
  config.train_settings.display_iters = 1; // read every step back: its time then includes its GPU work
  config.runner.eval_interval = 1_000_000; // no evaluation in the timed run
  const crop = config.data.train.crop_sampling as { width: number; height: number } | undefined;

  const steps: StepInfo[] = [];
  const quiet: LogSink = { info: () => {}, progress: () => {}, endProgress: () => {} };
  const beforeModel = engine().stats().liveBytes;
  const runner = new PoseTrainingRunner({
    config,
    trainDir: join(created.layout.modelDir, 'train'),
    train: data.train,
    test: data.test,
    pcutoff: data.project.pcutoff,
    epochs: 1,
    batchSize: BATCH,
    maxStepsPerEpoch: WARMUP + STEPS,
    log: quiet,
    handleSignals: false,
    onStep: (s) => {
      steps.push(s);
      console.log(`step ${s.step}: ${(s.seconds * 1000).toFixed(0)} ms, ${(s.liveBytes / 2 ** 20).toFixed(0)} MiB live`);
    },
  });
  const modelBytes = engine().stats().liveBytes - beforeModel;
  const t0 = performance.now();
  const result = await runner.fit();
  const totalS = (performance.now() - t0) / 1000;
  if (result.status !== 'completed') throw new Error(`training ${result.status}: ${result.message}`);
  const timed = steps.slice(WARMUP);
  const seconds = timed.reduce((a, s) => a + s.seconds, 0);
  const images = timed.reduce((a, s) => a + s.images, 0);
  const sorted = timed.map((s) => s.seconds * 1000).sort((a, b) => a - b);
  const peak = Math.max(...steps.map((s) => s.liveBytes));
  const params = runner.model.parameters().reduce((a, p) => a + p.size, 0);
  const row: Row = {
    model: `${config.model.backbone.model_name} (${(params / 1e6).toFixed(1)}M params)`,
    batch: BATCH,
    crop: crop ? `${crop.width}x${crop.height}` : 'full',
    'timed steps': timed.length,
    'images/s': +(images / seconds).toPrecision(3),
    'ms/step (mean)': +((seconds / timed.length) * 1000).toFixed(0),
    'ms/step (median)': +sorted[Math.floor(sorted.length / 2)]!.toFixed(0),
    'first step ms': +(steps[0]!.seconds * 1000).toFixed(0),
    'peak live MiB': +(peak / 2 ** 20).toFixed(0),
    'model MiB': +(modelBytes / 2 ** 20).toFixed(0),
  };
  runner.dispose();
  printTable([row], `train on openfield (default resnet_50 config, AdamW), ${device}`);
  const file = writeResults('train-openfield', {
    device,
    batchSize: BATCH,
    crop: crop ? [crop.width, crop.height] : null,
    warmupSteps: WARMUP,
    steps: timed.length,
    imagesPerSecond: images / seconds,
    msPerStep: (seconds / timed.length) * 1000,
    stepMs: steps.map((s) => s.seconds * 1000),
    peakLiveBytes: peak,
    modelBytes,
    parameters: params,
    wallSecondsIncludingSnapshot: totalS,
    row,
  });
  console.log(`wrote ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
