// HRNet backbones against the PyTorch 1.13 rendering of timm's HRNet (scripts/fixtures/make_hrnet_fixtures.py):
// timm's state-dict keys and shapes for hrnet_w18/w32/w48 with and without incre modules; a torch.save'd
// state dict read by our .pt reader and loaded strictly gives the same branch outputs; the hrnet_w18 pose
// model at 256x256, batch 2 (formula weights, frozen BatchNorm statistics as DeepLabCut's HRNet configs set)
// gives the same backbone features, heatmaps, locref maps, loss terms and parameter gradients, with branch 0
// and with interpolate_branches; inputs not divisible by 32 fail pointing to auto_padding.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { makePoseConfig } from '../../src/config/index.ts';
import { isHostTensor, readTorchFile, toFloat32 } from '../../src/io/index.ts';
import { HRNet } from '../../src/models/backbones/hrnet.ts';
import { setHrnetFuseMode } from '../../src/models/backbones/hrnet-module.ts';
import type { HeatmapHead } from '../../src/models/heads/heatmap-head.ts';
import { PoseModel, type PoseModelConfig } from '../../src/models/pose-model.ts';
import type { ModuleDict } from '../../src/nn/layers.ts';
import type { StateDict } from '../../src/nn/module.ts';
import { BatchNorm2d } from '../../src/nn/norm-layers.ts';
import { expectClose } from '../helpers/compare.ts';
import { useGpu } from '../helpers/gpu.ts';
import { formulaValues } from './formula-weights.ts';

useGpu();

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/hrnet/${name}`, import.meta.url), 'utf8')) as T;

interface Sampled {
  shape: number[];
  step: number;
  data: number[];
}
interface Summary {
  sum: number;
  sumsq: number;
  idx: number[];
  values: number[];
}
interface Parity {
  width: number;
  interpolate_branches: boolean;
  size: number;
  batch: number;
  keypoints: number;
  stride: number;
  backbone_output_channels: number;
  state_keys: string[];
  shapes: Record<string, number[]>;
  features: Sampled;
  heatmap: Sampled;
  locref: Sampled;
  loss: { heatmap: number; locref: number; total: number; total_float64: number };
  /** float64 gradients. */
  grads: Record<string, Summary>;
  /** summaryError of PyTorch's float32 gradients against `grads`. */
  torch_float32_grad_error: Record<string, number>;
  no_grad: string[];
}

const BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'];

function hrnetPoseConfig(netType: string): PoseModelConfig {
  return (makePoseConfig({
    netType,
    multiAnimal: false,
    metadata: { project_path: '/tmp', pose_config_path: '/tmp/pytorch_config.yaml', bodyparts: BODYPARTS, unique_bodyparts: [], individuals: ['animal'], with_identity: null },
  } as Parameters<typeof makePoseConfig>[0]) as { model: PoseModelConfig }).model;
}

/** The fixture's model config: hrnet_w18's defaults, with interpolate_branches widening the head's input. */
function parityConfig(f: Parity): PoseModelConfig {
  const cfg = hrnetPoseConfig('hrnet_w18');
  cfg.backbone.interpolate_branches = f.interpolate_branches;
  cfg.backbone_output_channels = f.backbone_output_channels;
  const head = cfg.heads.bodypart!;
  head.heatmap_config!.channels = [f.backbone_output_channels, f.keypoints];
  head.locref_config!.channels = [f.backbone_output_channels, 2 * f.keypoints];
  return cfg;
}

function images(size: number, batch: number, step: number): dg.Tensor {
  const n = batch * 3 * size * size;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.013 + step * 0.5) * Math.cos(i * 0.0007);
  return dg.tensor(data, [batch, 3, size, size]);
}

/** keypoint_batch() of the fixture script. */
function keypoints(f: Parity) {
  const data = new Float32Array(f.batch * f.keypoints * 3);
  for (let b = 0; b < f.batch; b++)
    for (let j = 0; j < f.keypoints; j++) {
      const o = (b * f.keypoints + j) * 3;
      data[o] = ((17 + 53 * j + 29 * b) % 230) + 10.5;
      data[o + 1] = ((23 + 37 * j + 41 * b) % 230) + 12.25;
      data[o + 2] = 1;
    }
  data[(1 * f.keypoints + 3) * 3 + 2] = 0;
  return { data, batch: f.batch, individuals: 1 };
}

/** Formula weights, then frozen BatchNorm statistics taken from batch 1 (momentum 1), as the fixture script does. */
function formulaModel(f: Parity): PoseModel {
  const model = new PoseModel(parityConfig(f));
  model.loadStateDict(new Map(model.stateDictKeys().map((k) => [k, { shape: f.shapes[k]!, data: formulaValues(k, f.shapes[k]!) }])));
  const bns = model.namedModules().map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  for (const bn of bns) {
    bn.freezeStats = false;
    bn.momentum = 1;
  }
  model.train();
  dg.tidy(() => dg.noGrad(() => model.forward(images(f.size, f.batch, 1))));
  for (const bn of bns) {
    bn.freezeStats = true;
    bn.momentum = 0.1;
  }
  return model.train();
}

const sample = (d: Float32Array, s: Sampled) => s.data.map((_, i) => d[i * s.step]!);

/** How far a gradient is from the reference's summary: sum of squares, sum (against its scale), sampled values. */
function summaryError(d: Float32Array, want: Summary): number {
  let sum = 0;
  let sumsq = 0;
  for (const v of d) {
    sum += v;
    sumsq += v * v;
  }
  const scale = Math.sqrt(want.sumsq / d.length);
  const peak = Math.max(...want.values.map(Math.abs), scale, 1e-12);
  return Math.max(
    Math.abs(sumsq - want.sumsq) / Math.max(want.sumsq, 1e-30),
    Math.abs(sum - want.sum) / Math.max(Math.sqrt(want.sumsq * d.length), 1e-30),
    ...want.values.map((v, k) => Math.abs(d[want.idx[k]!]! - v) / peak),
  );
}

describe('HRNet state dicts', () => {
  const keys = fixture<{ keys: Record<'plain' | 'incre', string[]>; shapes: Record<string, number[][]> }>('keys.json');

  for (const width of [18, 32, 48])
    for (const incre of [false, true])
      it(`hrnet_w${width}${incre ? ' with increased_channel_count' : ''} has timm's keys, in order, and shapes`, () => {
        const model = new HRNet({ width, increasedChannelCount: incre });
        expect(model.stateDictKeys()).toEqual(keys.keys[incre ? 'incre' : 'plain']);
        expect(model.stateDictShapes().map(([, s]) => [...s])).toEqual(keys.shapes[`hrnet_w${width}${incre ? '_incre' : ''}`]);
        expect(model.outChannels).toBe(incre ? 128 : width);
        model.dispose();
      });

  it('a torch.save state dict loads strictly through the .pt reader and gives the same branches', async () => {
    const tiny = fixture<{ width: number; input: { size: number; batch: number; step: number }; outputs: Sampled[] }>('tiny_w2.json');
    const file = readTorchFile(new URL('../fixtures/hrnet/tiny_w2.pt', import.meta.url).pathname) as Map<string, unknown>;
    const state: StateDict = new Map();
    for (const [k, t] of file) {
      if (!isHostTensor(t)) throw new Error(`${k} is not a tensor`);
      state.set(k, { shape: [...t.shape], data: toFloat32(t), dtype: t.dtype === 'int64' ? 'int64' : 'float32' });
    }
    const model = new HRNet({ width: tiny.width });
    model.loadStateDict(state, true);
    model.eval();
    await dg.scope(async () => {
      const ys = dg.noGrad(() => model.features(images(tiny.input.size, tiny.input.batch, tiny.input.step)));
      for (const [i, y] of ys.entries()) {
        expect(y.shape).toEqual(tiny.outputs[i]!.shape);
        expectClose(await y.toArray(), tiny.outputs[i]!.data, 1e-4, `branch ${i}`);
      }
    });
    model.dispose();
  });
});

for (const tag of ['w18_branch0', 'w18_interp']) {
  describe(`hrnet_w18 pose model (${tag}) matches PyTorch`, () => {
    const f = fixture<Parity>(`${tag}.json`);

    it('features, maps, loss terms and every parameter gradient after one backward pass', async () => {
      const model = formulaModel(f);
      expect(model.stateDictKeys()).toEqual(f.state_keys);
      expect(model.stride()).toBe(f.stride);
      await dg.scope(async () => {
        const features = model.backbone.forward(images(f.size, f.batch, 0));
        const head = (model.child('heads') as ModuleDict<HeatmapHead>).get('bodypart');
        const out = { bodypart: head.forward(features) };
        const losses = model.getLoss(out, model.getTarget(keypoints(f), out));
        expect(features.shape).toEqual(f.features.shape);
        expect(out.bodypart.heatmap.shape).toEqual(f.heatmap.shape);
        expectClose(sample(await features.toArray(), f.features), f.features.data, 1e-3, 'features');
        expectClose(sample(await out.bodypart.heatmap.toArray(), f.heatmap), f.heatmap.data, 1e-3, 'heatmap');
        expectClose(sample(await out.bodypart.locref!.toArray(), f.locref), f.locref.data, 1e-3, 'locref');
        const got = [await losses.bodypart_heatmap!.item(), await losses.bodypart_locref!.item(), await losses.total_loss!.item()];
        expectClose(got, [f.loss.heatmap, f.loss.locref, f.loss.total], 1e-3, 'losses');
        losses.total_loss!.backward();
      });
      // Gradients against float64 ones: float32 rounding compounds backwards through this deep untrained network,
      // so PyTorch's own float32 gradients are up to a few percent off on early layers. Each gradient is held to
      // 1e-3, or to 4x PyTorch float32's error where that is larger; and fewer of ours than of PyTorch's may
      // exceed 1e-3.
      const noGrad = new Set(f.no_grad);
      let over = 0;
      for (const [name, p] of model.namedParameters()) {
        if (noGrad.has(name)) {
          expect(p.grad, `${name} is outside the graph in PyTorch`).toBeNull();
          continue;
        }
        expect(p.grad, name).not.toBeNull();
        const err = summaryError(await p.grad!.toArray(), f.grads[name]!);
        const torch = f.torch_float32_grad_error[name]!;
        if (err > 1e-3) over++;
        expect(err, `grad ${name}: error ${err.toExponential(2)} (PyTorch float32: ${torch.toExponential(2)})`).toBeLessThanOrEqual(Math.max(1e-3, 4 * torch));
      }
      expect(over).toBeLessThanOrEqual(Object.values(f.torch_float32_grad_error).filter((e) => e > 1e-3).length);
      model.dispose();
    });
  });
}

describe('HRNet fuse layers', () => {
  it('the fused upsample-add kernel gives the outputs and gradients of interpolate + add', async () => {
    // Running statistics (eval), so the two runs see the same normalisation.
    const model = new HRNet({ width: 4, interpolateBranches: true, seed: 3 }).eval();
    const x = images(64, 2, 3);
    const weights = dg.randn([2, model.outChannels, 16, 16], { seed: 4 });
    const run = async () => {
      model.zeroGrad();
      const y = dg.tidy(() => {
        const out = model.forward(x);
        // A weighted sum, so every output element's gradient differs.
        dg.sum(dg.mul(out, weights)).backward();
        return out;
      });
      const grads = await Promise.all(model.parameters().map((p) => p.grad!.toArray()));
      const out = await y.toArray();
      y.dispose();
      return { out, grads };
    };
    const fused = await run();
    const prev = setHrnetFuseMode('materialised');
    try {
      const plain = await run();
      expectClose(fused.out, plain.out, 1e-5, 'features');
      // Only the order of additions differs, but it compounds through ~100 unnormalised layers back to the stem.
      fused.grads.forEach((g, i) => expectClose(g, plain.grads[i]!, 1e-3, `grad ${model.namedParameters()[i]![0]}`));
    } finally {
      setHrnetFuseMode(prev);
    }
    x.dispose();
    weights.dispose();
    model.dispose();
  });
});

describe('hrnet_w32 pose models from the default configs', () => {
  for (const [netType, stride, mapSize] of [['hrnet_w32', 2, 33], ['top_down_hrnet_w32', 4, 16]] as const)
    it(`${netType}: HRNet-W32 branch 0 (32 channels, stride 4) and the default head`, async () => {
      const cfg = hrnetPoseConfig(netType);
      expect(cfg.backbone).toMatchObject({ type: 'HRNet', model_name: 'hrnet_w32', freeze_bn_stats: true, freeze_bn_weights: false, interpolate_branches: false });
      const model = new PoseModel(cfg);
      expect(model.backbone.model).toBeInstanceOf(HRNet);
      expect([model.backbone.outChannels, model.backbone.stride, model.stride()]).toEqual([32, 4, stride]);
      expect(model.stateDictKeys().filter((k) => k.startsWith('backbone.model.')).length).toBe(fixture<{ keys: { plain: string[] } }>('keys.json').keys.plain.length);
      const out = dg.tidy(() => dg.noGrad(() => model.eval().forward(dg.zeros([1, 3, 64, 64]))));
      expect(out.bodypart!.heatmap.shape).toEqual([1, 4, mapSize, mapSize]);
      expect(out.bodypart!.locref!.shape).toEqual([1, 8, mapSize, mapSize]);
      out.bodypart!.heatmap.dispose();
      out.bodypart!.locref!.dispose();
      model.dispose();
    });
});

describe('HRNet inputs', () => {
  it('fails on sizes not divisible by 32, naming auto_padding', () => {
    const model = new PoseModel(hrnetPoseConfig('hrnet_w18'));
    expect(() => dg.tidy(() => model.forward(dg.zeros([1, 3, 100, 96])))).toThrow(/100x96.*data\.train\.auto_padding.*data\.inference\.auto_padding.*pad_height_divisor: 32/);
    model.dispose();
  });
});
