// "Learning works" (issue #8): our training loss curve against PyTorch's from the same initial weights and the
// same batches, augmentation off. The default resnet_50 pose model (resnet50_gn, OS16, heatmap + locref heads,
// Gaussian targets, weighted MSE + Huber, the config's AdamW) on openfield frames resized to 256x256.
//
// Phases (default: all of them, in order):
//   prepare  seeded random init (train_settings.seed, as the runner does) -> <work>/init.pt (our torch writer);
//            the openfield train split through our inference-style pipeline (plain resize to 256x256, no
//            augmentation, ImageNet normalisation) -> <work>/images.f32 [N,3,256,256], <work>/keypoints.f32
//            [N,K,3] in 256x256 pixels, and <work>/meta.json with the batch order (PoseLoader's seeded shuffle,
//            full batches only, epochs 1, 2, ... until --steps batches).
//   torch    /usr/bin/python3 bench/pytorch/learning_curve.py <work> (PyTorch 1.13 CPU, 2 threads) -> <work>/torch.json
//   ours     --steps training steps on the dumped batches -> <work>/ours.json
//   compare  per-step relative difference of total_loss, pass/fail (2% through step 20, 10% through step 100),
//            bench/results/learning-curve.json, learning-curve.png (both curves) and learning-curve-reldiff.png;
//            with <work>/torch_float64.json (learning_curve.py <work> --float64, slow) also the float64 control:
//            how far PyTorch's own float32 run drifts from float64 next to how far ours does
// Run: npx tsx bench/learning-curve.ts [prepare|torch|ours|compare ...] [--steps 100] [--batch 4] [--work DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AugmentationPipeline, openProjectData, PoseLoader } from '../src/data/index.ts';
import * as dg from '../src/index.ts';
import { PoseModel } from '../src/models/pose-model.ts';
import { manualSeed } from '../src/ops/creation.ts';
import { renderLineChart } from '../src/report/line-chart.ts';
import { buildOptimizer } from '../src/runner/build-optimizer.ts';
import { snapshotObject } from '../src/runner/checkpoint.ts';
import { writeTorchFile } from '../src/io/index.ts';
import { printTable, writeResults } from './lib/harness.ts';

const ROOT = join(import.meta.dirname, '..');
const OPENFIELD = join(ROOT, '../shared/datasets/openfield-Pranav-2018-10-30');
const SIZE = 256;

function opt(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const STEPS = Number(opt('--steps', '100'));
const BATCH = Number(opt('--batch', '4'));
const WORK = opt('--work', '/tmp/dlc-gpu-learning-curve');
const PHASES = ['prepare', 'torch', 'ours', 'compare'];
const asked = process.argv.slice(2).filter((a, i, all) => PHASES.includes(a) && !all[i - 1]?.startsWith('--'));
const phases = asked.length ? asked : PHASES;
mkdirSync(WORK, { recursive: true });

interface Meta {
  size: number;
  batch: number;
  steps: number;
  keypoints: number;
  images: number;
  relPaths: string[];
  /** steps x batch indices into images.f32 */
  order: number[][];
  seed: number;
  optimizer: { type: string; params: Record<string, unknown> };
  modelName: string;
  stride: number;
}

interface Curve {
  side: string;
  device: string;
  total_loss: number[];
  heatmap: number[];
  locref: number[];
  stepSeconds: number[];
}

function openData() {
  const data = openProjectData(join(OPENFIELD, 'config.yaml'));
  return data;
}

async function prepare(): Promise<void> {
  const data = openData();
  const cfg = data.config;
  const seed = cfg.train_settings.seed;
  // Initial weights exactly as PoseTrainingRunner makes them (manualSeed(seed), then the model with that seed).
  manualSeed(seed);
  const model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed });
  const state = await model.stateDict();
  writeTorchFile(join(WORK, 'init.pt'), snapshotObject({ metadata: { epoch: 0, metrics: {}, losses: {} }, model: state }));
  const stride = model.stride();
  model.dispose();

  // Every train image through the pipeline once, augmentation off: resize to 256x256 (aspect not kept) + normalise.
  const pipeline = new AugmentationPipeline({ resize: { height: SIZE, width: SIZE, keep_ratio: false }, normalize_images: true } as never);
  const train = data.train;
  const N = train.length;
  const K = train.bodyparts.length;
  const images = new Float32Array(N * 3 * SIZE * SIZE);
  const keypoints = new Float32Array(N * K * 3);
  const relPaths: string[] = [];
  for (let i = 0; i < N; i++) {
    const s = train.sample(i);
    const batch = pipeline.run([s], [train.loadImage(i)], [0]);
    if (batch.height !== SIZE || batch.width !== SIZE || batch.individuals !== 1) throw new Error(`unexpected batch ${batch.height}x${batch.width}x${batch.individuals}`);
    images.set(await batch.images.toArray(), i * 3 * SIZE * SIZE);
    keypoints.set(batch.keypoints, i * K * 3);
    relPaths.push(s.relPath);
    batch.dispose();
  }
  // The batch order: PoseLoader's seeded shuffle per epoch, full batches only.
  const loader = new PoseLoader(train, pipeline, { batchSize: BATCH, seed, dropLast: true });
  const order: number[][] = [];
  for (let epoch = 1; order.length < STEPS; epoch++) {
    const o = loader.order(epoch);
    for (let k = 0; k < loader.length && order.length < STEPS; k++) order.push(o.slice(k * BATCH, (k + 1) * BATCH));
  }
  writeFileSync(join(WORK, 'images.f32'), new Uint8Array(images.buffer));
  writeFileSync(join(WORK, 'keypoints.f32'), new Uint8Array(keypoints.buffer));
  const meta: Meta = {
    size: SIZE, batch: BATCH, steps: STEPS, keypoints: K, images: N, relPaths, order, seed,
    optimizer: cfg.runner.optimizer as Meta['optimizer'],
    modelName: (cfg.model.backbone as { model_name: string }).model_name,
    stride,
  };
  writeFileSync(join(WORK, 'meta.json'), JSON.stringify(meta));
  const vis = Array.from({ length: N * K }, (_, j) => keypoints[j * 3 + 2]!).filter((v) => v > 0).length;
  console.log(`prepare: ${N} images, ${K} keypoints (${vis} visible), ${order.length} batches of ${BATCH}, optimizer ${JSON.stringify(meta.optimizer)}, init.pt with ${state.size} tensors -> ${WORK}`);
}

function readMeta(): { meta: Meta; images: Float32Array; keypoints: Float32Array } {
  const meta = JSON.parse(readFileSync(join(WORK, 'meta.json'), 'utf8')) as Meta;
  const img = readFileSync(join(WORK, 'images.f32'));
  const kp = readFileSync(join(WORK, 'keypoints.f32'));
  return {
    meta,
    images: new Float32Array(img.buffer, img.byteOffset, img.byteLength / 4),
    keypoints: new Float32Array(kp.buffer, kp.byteOffset, kp.byteLength / 4),
  };
}

async function ours(): Promise<void> {
  const { meta, images, keypoints } = readMeta();
  const data = openData();
  const cfg = data.config;
  const model = new PoseModel(cfg.model as ConstructorParameters<typeof PoseModel>[0], { seed: meta.seed });
  // The very weights PyTorch loads: read back from init.pt (also checks our writer/reader round trip).
  const raw = dg.io.readTorchFile(join(WORK, 'init.pt')) as Map<string, unknown> | Record<string, unknown>;
  const sd = (raw instanceof Map ? raw.get('model') : raw.model) as Map<string, dg.io.HostTensor>;
  model.loadStateDict(new Map([...sd].map(([k, t]) => [k, { shape: [...t.shape], data: dg.io.toFloat32(t) }])));
  const optimizer = buildOptimizer(meta.optimizer as never, model.parameters());
  model.train();
  const per = 3 * meta.size * meta.size;
  const K = meta.keypoints;
  const curve: Curve = { side: 'dlc-gpu', device: '', total_loss: [], heatmap: [], locref: [], stepSeconds: [] };
  const info = dg.engine().adapter.info;
  curve.device = `${info.vendor} ${info.architecture} ${info.description}`.trim();
  for (let step = 0; step < meta.steps; step++) {
    const ids = meta.order[step]!;
    const B = ids.length;
    const x = new Float32Array(B * per);
    const kp = new Float32Array(B * K * 3);
    ids.forEach((id, b) => {
      x.set(images.subarray(id * per, (id + 1) * per), b * per);
      kp.set(keypoints.subarray(id * K * 3, (id + 1) * K * 3), b * K * 3);
    });
    const t0 = performance.now();
    optimizer.zeroGrad();
    const vec = dg.tidy(() => {
      const input = dg.tensor(x, [B, 3, meta.size, meta.size]);
      const out = model.forward(input);
      const targets = model.getTarget({ data: kp, batch: B, individuals: 1 }, out);
      const terms = model.getLoss(out, targets);
      terms.total_loss!.backward();
      optimizer.step();
      return dg.concat(['total_loss', 'bodypart_heatmap', 'bodypart_locref'].map((n) => dg.reshape(terms[n]!, [1])), 0);
    });
    const v = await vec.toArray();
    vec.dispose();
    const s = (performance.now() - t0) / 1000;
    curve.total_loss.push(v[0]!);
    curve.heatmap.push(v[1]!);
    curve.locref.push(v[2]!);
    curve.stepSeconds.push(s);
    console.log(`ours step ${step + 1}: total ${v[0]!.toPrecision(7)} heatmap ${v[1]!.toPrecision(7)} locref ${v[2]!.toPrecision(7)} (${s.toFixed(1)} s)`);
    writeFileSync(join(WORK, 'ours.json'), JSON.stringify(curve));
  }
  optimizer.dispose();
  model.dispose();
}

function torch(): void {
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'bench/pytorch/learning_curve.py'), WORK], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`learning_curve.py exited with ${r.status}`);
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

function compare(): void {
  const meta = JSON.parse(readFileSync(join(WORK, 'meta.json'), 'utf8')) as Meta;
  const a = JSON.parse(readFileSync(join(WORK, 'ours.json'), 'utf8')) as Curve;
  const b = JSON.parse(readFileSync(join(WORK, 'torch.json'), 'utf8')) as Curve;
  const n = Math.min(a.total_loss.length, b.total_loss.length);
  const rel = (x: number[], y: number[]) => Array.from({ length: n }, (_, i) => Math.abs(x[i]! - y[i]!) / Math.abs(y[i]!));
  const relTotal = rel(a.total_loss, b.total_loss);
  const maxUpTo = (r: number[], k: number) => Math.max(...r.slice(0, Math.min(k, n)));
  const argmax = (r: number[], k: number) => r.slice(0, Math.min(k, n)).indexOf(maxUpTo(r, k)) + 1;
  const max20 = maxUpTo(relTotal, 20);
  const max100 = maxUpTo(relTotal, 100);
  const pass20 = n >= 20 && max20 <= 0.02;
  const pass100 = n >= 100 && max100 <= 0.1;
  const relHm = rel(a.heatmap, b.heatmap);
  // Control (optional, `learning_curve.py --float64`): how far PyTorch's own float32 run drifts from float64.
  const f64File = join(WORK, 'torch_float64.json');
  const c = existsSync(f64File) ? (JSON.parse(readFileSync(f64File, 'utf8')) as Curve) : null;
  const nc = c ? Math.min(n, c.total_loss.length) : 0;
  const rel64 = (x: number[]) => (c ? Array.from({ length: nc }, (_, i) => Math.abs(x[i]! - c.total_loss[i]!) / Math.abs(c.total_loss[i]!)) : []);
  const torch32vs64 = rel64(b.total_loss);
  const ours32vs64 = rel64(a.total_loss);
  const control = c
    ? {
        steps: nc,
        torchFloat32VsFloat64: { max20: maxUpTo(torch32vs64, 20), max100: maxUpTo(torch32vs64, 100), perStep: torch32vs64 },
        oursVsTorchFloat64: { max20: maxUpTo(ours32vs64, 20), max100: maxUpTo(ours32vs64, 100), perStep: ours32vs64 },
      }
    : null;

  const relLoc = rel(a.locref, b.locref);
  // Steady-state step time: skip the first step (pipeline compiles / allocator warm-up).
  const oursS = median(a.stepSeconds.slice(1));
  const torchS = median(b.stepSeconds.slice(1));
  const rows = [1, 2, 5, 10, 20, 30, 50, 75, 100].filter((s) => s <= n).map((s) => ({
    step: s,
    'dlc-gpu total': a.total_loss[s - 1]!,
    'PyTorch total': b.total_loss[s - 1]!,
    'rel diff %': +(relTotal[s - 1]! * 100).toFixed(3),
    'heatmap rel %': +(relHm[s - 1]! * 100).toFixed(3),
    'locref rel %': +(relLoc[s - 1]! * 100).toFixed(3),
  }));
  printTable(rows, `learning curve: resnet50_gn ${meta.size}x${meta.size}, batch ${meta.batch}, ${meta.optimizer.type} ${JSON.stringify(meta.optimizer.params)}`);
  const summary = {
    'steps compared': n,
    'max rel diff 1-20 %': +(max20 * 100).toFixed(3),
    'at step': argmax(relTotal, 20),
    'max rel diff 1-100 %': +(max100 * 100).toFixed(3),
    'at step ': argmax(relTotal, 100),
    'pass (2% / 10%)': `${pass20 ? 'pass' : 'FAIL'} / ${pass100 ? 'pass' : 'FAIL'}`,
    'dlc-gpu s/step': +oursS.toFixed(2),
    'PyTorch s/step': +torchS.toFixed(3),
  };
  printTable([summary], 'agreement (total_loss) and timing (median s/step after the first)');
  if (control) {
    const head = relTotal.slice(0, nc);
    const upTo = `max rel 1-${Math.min(nc, 100)} %`;
    printTable(
      [
        { pair: 'dlc-gpu f32 vs PyTorch f32', 'max rel 1-20 %': +(maxUpTo(head, 20) * 100).toFixed(3), [upTo]: +(maxUpTo(head, 100) * 100).toFixed(3) },
        { pair: 'PyTorch f32 vs PyTorch f64', 'max rel 1-20 %': +(control.torchFloat32VsFloat64.max20 * 100).toFixed(3), [upTo]: +(control.torchFloat32VsFloat64.max100 * 100).toFixed(3) },
        { pair: 'dlc-gpu f32 vs PyTorch f64', 'max rel 1-20 %': +(control.oursVsTorchFloat64.max20 * 100).toFixed(3), [upTo]: +(control.oursVsTorchFloat64.max100 * 100).toFixed(3) },
      ],
      `control: float32 rounding alone (PyTorch float64 run, ${nc} steps)`,
    );
  }
  const png = renderLineChart({
    title: `Loss, ${meta.modelName} ${meta.size}px, batch ${meta.batch}, ${meta.optimizer.type} lr ${String(meta.optimizer.params.lr)}, no aug`,
    xLabel: 'step',
    yLabel: 'total_loss',
    series: [
      { name: 'dlc-gpu (WebGPU)', points: a.total_loss.slice(0, n).map((v, i) => [i + 1, v] as [number, number]) },
      { name: 'PyTorch 1.13 (CPU)', points: b.total_loss.slice(0, n).map((v, i) => [i + 1, v] as [number, number]) },
    ],
    width: 900,
    height: 540,
  });
  const pngPath = join(ROOT, 'bench/results/learning-curve.png');
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(pngPath, png);
  // The curves overlap at this scale: the relative difference per step on its own chart.
  const diffPng = renderLineChart({
    title: 'Relative difference, dlc-gpu vs PyTorch (%)',
    xLabel: 'step',
    yLabel: 'relative difference, %',
    series: [
      { name: 'total_loss', points: relTotal.map((v, i) => [i + 1, v * 100] as [number, number]) },
      { name: 'heatmap', points: relHm.map((v, i) => [i + 1, v * 100] as [number, number]) },
      { name: 'locref', points: relLoc.map((v, i) => [i + 1, v * 100] as [number, number]) },
      ...(control ? [{ name: 'total: PyTorch f32 vs f64', points: torch32vs64.map((v, i) => [i + 1, v * 100] as [number, number]) }] : []),
    ],
    width: 900,
    height: 540,
  });
  writeFileSync(join(ROOT, 'bench/results/learning-curve-reldiff.png'), diffPng);
  const file = writeResults('learning-curve', {
    setup: {
      model: meta.modelName, size: meta.size, batch: meta.batch, steps: meta.steps, seed: meta.seed, optimizer: meta.optimizer, stride: meta.stride,
      data: `openfield train split (${meta.images} images), plain resize 640x480 -> ${meta.size}x${meta.size}, ImageNet normalisation, no augmentation; PoseLoader order (seed ${meta.seed}), full batches`,
    },
    ours: { device: a.device, medianStepSeconds: oursS, firstStepSeconds: a.stepSeconds[0] },
    torch: { device: b.device, medianStepSeconds: torchS, firstStepSeconds: b.stepSeconds[0] },
    maxRelDiff20: max20, maxRelDiff100: max100, pass20, pass100,
    relDiffTotal: relTotal, relDiffHeatmap: relHm, relDiffLocref: relLoc,
    control,
    curves: { ours: a, torch: b, ...(c ? { torchFloat64: c } : {}) },
    png: 'bench/results/learning-curve.png',
    relDiffPng: 'bench/results/learning-curve-reldiff.png',
  });
  console.log(`wrote ${file} and ${pngPath}`);
}

if (phases.some((p) => p === 'prepare' || p === 'ours')) await dg.init({ device: 'auto' });
for (const p of phases) {
  if (p === 'prepare') await prepare();
  else if (p === 'torch') torch();
  else if (p === 'ours') {
    if (!existsSync(join(WORK, 'meta.json'))) throw new Error(`no ${WORK}/meta.json: run the prepare phase first`);
    await ours();
  } else compare();
}
