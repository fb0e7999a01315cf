// MobileNetV3-Large against torchvision 0.14 (scripts/fixtures/make_mobilenet_fixtures.py): state-dict keys and
// shapes for the default, reduced_tail, FrozenBatchNorm2d and dilated builds; eval forward at the detection stage
// indices and the logits on [2, 3, 96, 128]; a training-mode forward (batch statistics) and the running
// statistics it leaves; SSDLite's backbone split and fasterrcnn's features[13] / [16]; gradients of small
// InvertedResidual and SqueezeExcitation blocks against torch's float64 ones, and finite differences.
// Weights are not stored: every state-dict entry comes from mulberry32 (seed = its index), as in the script.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { FrozenBatchNorm2d, withoutFrozenBnCounters } from '../../src/nn/frozen-batch-norm.ts';
import { BatchNorm2d } from '../../src/nn/norm-layers.ts';
import { InvertedResidual, makeDivisible, MobileNetV3, mobileNetV3Config, ssdliteStages, type MobileNetNorm } from '../../src/models/detectors/mobilenet-v3.ts';
import { SqueezeExcitation } from '../../src/models/detectors/squeeze-excitation.ts';
import { expectClose } from '../helpers/compare.ts';
import { fillDeterministic, signed } from '../helpers/deterministic-weights.ts';
import { gradcheck } from '../helpers/gradcheck.ts';
import { useGpu } from '../helpers/gpu.ts';
import { runFlatLoop } from '../helpers/memory.ts';
import { expectSampled as expectSampledAt, type Sampled } from '../helpers/sampled.ts';

const engine = useGpu();

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/detection/${name}`, import.meta.url), 'utf8')) as T;

// ---- fixture types ----

interface Config {
  name: string;
  options: { reducedTail?: boolean; dilated?: boolean; arch?: 'large' | 'small' };
  norm: MobileNetNorm;
  keys: [string, number[]][];
  stages: Record<string, Sampled>;
  logits?: Sampled;
  train?: { stages: Record<string, Sampled>; running: Record<string, Sampled> };
  ssdlite?: { c4_pos: number; keys: [string, number[]][]; outputs: Sampled[] };
}
const parity = fixture<{ input: { shape: number[]; seed: number }; configs: Config[] }>('mobilenet_v3.json');
const config = (name: string) => parity.configs.find((c) => c.name === name)!;

const TOL = 1e-3;

const expectSampled = (t: Tensor, want: Sampled, what: string) => expectSampledAt(t, want, what, TOL);

function build(c: Config, classifier = true): MobileNetV3 {
  const m = new MobileNetV3({ ...c.options, norm: c.norm, classifier });
  fillDeterministic(m);
  return m.eval();
}

const input = () => dg.tensor(signed(parity.input.seed, parity.input.shape.reduce((a, b) => a * b, 1)), parity.input.shape);

describe('MobileNetV3-Large matches torchvision 0.14', () => {
  it('has torchvision\'s state-dict keys and shapes (default, reduced_tail, FrozenBatchNorm2d, dilated, small)', async () => {
    for (const c of parity.configs) {
      const m = new MobileNetV3({ ...c.options, norm: c.norm });
      try {
        expect(m.stateDictShapes().map(([k, s]) => [k, [...s]]), c.name).toEqual(c.keys);
      } finally {
        m.dispose();
      }
    }
  });

  it('forward in eval mode: features[0, 2, 4, 7, 13, 16] and the logits', async () => {
    const c = config('default');
    const m = build(c);
    try {
      await dg.scope(async () => {
        const x = input();
        const outs = dg.noGrad(() => m.forwardFeatures(x, [0, 2, 4, 7, 13, 16]));
        for (const [i, t] of [0, 2, 4, 7, 13, 16].entries()) await expectSampled(outs[i]!, c.stages[String(t)]!, `features[${t}]`);
        await expectSampled(dg.noGrad(() => m.forward(x)), c.logits!, 'logits');
      });
    } finally {
      m.dispose();
    }
  });

  it('forward in training mode uses batch statistics and updates the running estimates (momentum 0.01)', async () => {
    const c = config('default');
    const m = build(c, false);
    try {
      m.train();
      await dg.scope(async () => {
        const outs = dg.noGrad(() => m.forwardFeatures(input(), [4, 13, 16]));
        for (const [i, t] of [4, 13, 16].entries()) await expectSampled(outs[i]!, c.train!.stages[String(t)]!, `train features[${t}]`);
      });
      const state = await m.stateDict();
      for (const [k, want] of Object.entries(c.train!.running)) {
        const got = state.get(k)!;
        expect(got, k).toBeDefined();
        expectClose(want.data.map((_, i) => got.data[i * want.step]!), want.data, TOL, k);
      }
    } finally {
      m.dispose();
    }
  });

  it('reduced_tail: SSDLite\'s two backbone stages have torchvision\'s keys and outputs', async () => {
    const c = config('reduced_tail');
    const m = build(c, false);
    try {
      expect(m.c4Pos).toBe(c.ssdlite!.c4_pos);
      const stages = ssdliteStages(m);
      const keys = stages.flatMap((s, i) => s.stateDictShapes().map(([k, shape]) => [`${i}.${k}`, [...shape]]));
      expect(keys).toEqual(c.ssdlite!.keys);
      await dg.scope(async () => {
        const [f13, f16] = dg.noGrad(() => m.forwardFeatures(input(), [13, 16]));
        await expectSampled(f13!, c.stages['13']!, 'features[13]');
        await expectSampled(f16!, c.stages['16']!, 'features[16]');
        const s0 = dg.noGrad(() => stages[0].forward(input()));
        await expectSampled(s0, c.ssdlite!.outputs[0]!, 'SSDLite stage 0 (C4 expansion)');
        await expectSampled(dg.noGrad(() => stages[1].forward(s0)), c.ssdlite!.outputs[1]!, 'SSDLite stage 1');
      });
    } finally {
      m.dispose();
    }
  });

  it('FrozenBatchNorm2d: fasterrcnn\'s features[13] and [16], the same in training mode', async () => {
    const c = config('frozen');
    const m = build(c, false);
    try {
      for (const mode of ['eval', 'train'] as const) {
        m.train(mode === 'train');
        await dg.scope(async () => {
          const [f13, f16] = dg.noGrad(() => m.forwardFeatures(input(), [13, 16]));
          await expectSampled(f13!, c.stages['13']!, `${mode} features[13]`);
          await expectSampled(f16!, c.stages['16']!, `${mode} features[16]`);
        });
      }
    } finally {
      m.dispose();
    }
  });

  it('dilated: the C4 blocks at dilation 2 keep output stride 16', async () => {
    const c = config('dilated');
    const m = build(c, false);
    try {
      await dg.scope(async () => {
        const [f13, f16] = dg.noGrad(() => m.forwardFeatures(input(), [13, 16]));
        await expectSampled(f13!, c.stages['13']!, 'features[13]');
        await expectSampled(f16!, c.stages['16']!, 'features[16]');
      });
    } finally {
      m.dispose();
    }
  });

  it('mobilenet_v3_small: features[1, 4, 9, 12] and the logits', async () => {
    const c = config('small');
    const m = build(c);
    try {
      expect(m.stageIndices).toEqual([0, 1, 2, 4, 9, 12]);
      await dg.scope(async () => {
        const x = input();
        const outs = dg.noGrad(() => m.forwardFeatures(x, [1, 4, 9, 12]));
        for (const [i, t] of [1, 4, 9, 12].entries()) await expectSampled(outs[i]!, c.stages[String(t)]!, `features[${t}]`);
        await expectSampled(dg.noGrad(() => m.forward(x)), c.logits!, 'logits');
      });
    } finally {
      m.dispose();
    }
  });
});

// ---- gradients of small blocks ----

interface GradCase {
  name: string;
  spec: { block?: [number, number, number, number, boolean, 'RE' | 'HS', number, number]; norm?: 'batchnorm' | 'frozen'; se?: [number, number] };
  training: boolean;
  input: { shape: number[]; seed: number };
  upstream_seed: number;
  keys: [string, number[]][];
  out: { shape: number[]; data: number[] };
  grads: Record<string, number[]>;
}

function blockOf(c: GradCase): InvertedResidual | SqueezeExcitation {
  if (c.spec.se) return new SqueezeExcitation(c.spec.se[0], c.spec.se[1]);
  const [inputChannels, kernel, expandedChannels, outChannels, useSe, act, stride, dilation] = c.spec.block!;
  const norm: MobileNetNorm = c.spec.norm === 'frozen' ? { kind: 'frozen' } : { kind: 'batchnorm', eps: 0.001, momentum: 0.01 };
  return new InvertedResidual({ inputChannels, kernel, expandedChannels, outChannels, useSe, useHs: act === 'HS', stride, dilation }, norm);
}

describe('InvertedResidual and SqueezeExcitation gradients match torch', () => {
  for (const c of fixture<{ cases: GradCase[] }>('mobilenet_v3_grad.json').cases) {
    it(c.name, async () => {
      const block = blockOf(c);
      try {
        expect(block.stateDictShapes().map(([k, s]) => [k, [...s]])).toEqual(c.keys);
        fillDeterministic(block);
        block.train(c.training);
        await dg.scope(async () => {
          const n = c.input.shape.reduce((a, b) => a * b, 1);
          const x = dg.tensor(signed(c.input.seed, n), c.input.shape);
          x.requiresGrad = true;
          const out = block.forward(x);
          expect(out.shape).toEqual(c.out.shape);
          expectClose(await out.toArray(), c.out.data, TOL, 'forward');
          out.backward(dg.tensor(signed(c.upstream_seed, out.size), out.shape));
          expectClose(await x.grad!.toArray(), c.grads.input!, TOL, 'input gradient');
          const params = block.namedParameters();
          expect(params.map(([k]) => k).sort()).toEqual(Object.keys(c.grads).filter((k) => k !== 'input').sort());
          for (const [k, p] of params) expectClose(await p.grad!.toArray(), c.grads[k]!, TOL, `gradient of ${k}`);
        });
      } finally {
        block.dispose();
      }
    });
  }

  it('passes finite differences through an SE inverted residual with FrozenBatchNorm2d', async () => {
    const block = new InvertedResidual({ inputChannels: 4, kernel: 3, expandedChannels: 8, outChannels: 4, useSe: true, useHs: true, stride: 1, dilation: 1 }, { kind: 'frozen' });
    try {
      fillDeterministic(block);
      const x = { data: signed(77, 2 * 4 * 5 * 6), shape: [2, 4, 5, 6] };
      expect(await gradcheck(([t]) => block.forward(t!), [x])).toBeLessThan(2e-2);
    } finally {
      block.dispose();
    }
  });
});

// ---- building blocks and errors ----

describe('MobileNetV3 construction', () => {
  it('computes torchvision\'s _make_divisible and channel table', () => {
    expect([makeDivisible(12, 8), makeDivisible(18, 8), makeDivisible(60, 8), makeDivisible(3, 8), makeDivisible(22.4, 8), makeDivisible(36, 8)]).toEqual([16, 24, 64, 8, 24, 40]);
    const { blocks, lastChannel } = mobileNetV3Config('large', { reducedTail: true });
    expect(blocks.map((b) => b.outChannels)).toEqual([16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 80, 80, 80]);
    expect(lastChannel).toBe(640);
    expect(mobileNetV3Config('large', { widthMult: 0.75 }).blocks.map((b) => b.expandedChannels)).toEqual([16, 48, 56, 56, 88, 88, 184, 152, 136, 136, 360, 504, 504, 720, 720]);
    expect(() => mobileNetV3Config('huge' as 'large')).toThrow(/arch must be 'large' or 'small'/);
  });

  it('has torchvision\'s stage indices and freezes like _mobilenet_extractor', () => {
    const m = new MobileNetV3({ classifier: false });
    try {
      expect(m.stageIndices).toEqual([0, 2, 4, 7, 13, 16]);
      expect(m.outChannels).toBe(960);
      m.setTrainableLayers(3);
      m.train();
      const frozen = (prefix: string) => m.namedParameters().filter(([k]) => k.startsWith(prefix)).every(([, p]) => !p.requiresGrad);
      const trainable = (prefix: string) => m.namedParameters().filter(([k]) => k.startsWith(prefix)).every(([, p]) => p.requiresGrad);
      expect(frozen('features.0.') && frozen('features.6.')).toBe(true);
      expect(trainable('features.7.') && trainable('features.16.')).toBe(true);
      m.setTrainableLayers(6);
      expect(trainable('features.0.')).toBe(true);
      m.setTrainableLayers(0);
      expect(frozen('features.16.')).toBe(true);
      expect(() => m.setTrainableLayers(7)).toThrow(/trainable layers must be in \[0, 6\]/);
      expect(() => m.forwardFeatures(dg.zeros([1, 3, 32, 32]), [17])).toThrow(/index 17 is outside features\[0..16\]/);
    } finally {
      m.dispose();
    }
  });

  it('FrozenBatchNorm2d: torchvision\'s keys, formula and errors; BatchNorm checkpoints load without num_batches_tracked', async () => {
    const bn = new FrozenBatchNorm2d(3);
    try {
      expect(bn.stateDictKeys()).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
      fillDeterministic(bn);
      const state = await bn.stateDict();
      const [w, b, rm, rv] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => state.get(k)!.data);
      await dg.scope(async () => {
        const xs = signed(5, 2 * 3 * 2 * 2);
        const y = await bn.forward(dg.tensor(xs, [2, 3, 2, 2])).toArray();
        const want = Array.from(xs, (v, i) => {
          const c = Math.floor(i / 4) % 3;
          const scale = w![c]! / Math.sqrt(rv![c]! + 1e-5);
          return v * scale + (b![c]! - rm![c]! * scale);
        });
        expectClose(y, want, 1e-5, 'FrozenBatchNorm2d');
      });
      expect(() => bn.forward(dg.zeros([1, 4, 2, 2]))).toThrow(/FrozenBatchNorm2d\(3\): input must be \[N, 3, H, W\]/);
    } finally {
      bn.dispose();
    }
    const plain = new MobileNetV3({ classifier: false });
    const frozen = new MobileNetV3({ classifier: false, norm: { kind: 'frozen' } });
    try {
      const state = await plain.stateDict();
      expect(() => frozen.loadStateDict(state)).toThrow(/unexpected keys \(46\): features.0.1.num_batches_tracked/);
      frozen.loadStateDict(withoutFrozenBnCounters(frozen, state));
    } finally {
      plain.dispose();
      frozen.dispose();
    }
  });

  it('initialises as torchvision: unit norms, zero biases, fan_out kaiming convs', async () => {
    const m = new MobileNetV3({ seed: 3 });
    try {
      const state = await m.stateDict();
      const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
      const conv = state.get('features.16.0.weight')!; // [960, 160, 1, 1]: fan_out 960
      expect(std(conv.data)).toBeCloseTo(Math.sqrt(2 / 960), 3);
      const lin = state.get('classifier.0.weight')!;
      expect(std(lin.data)).toBeCloseTo(0.01, 3);
      expect(state.get('features.4.block.2.fc1.bias')!.data.every((v) => v === 0)).toBe(true);
      expect(state.get('features.4.block.2.fc1.weight')!.shape).toEqual([24, 72, 1, 1]);
      expect(state.get('features.0.1.weight')!.data.every((v) => v === 1)).toBe(true);
      const bn = m.features.layers[0]!.child('1');
      expect(bn instanceof BatchNorm2d && bn.momentum).toBe(0.01);
    } finally {
      m.dispose();
    }
  });

  it('keeps the buffer count flat over training steps (batch statistics) and FrozenBatchNorm2d forwards in tidy', async () => {
    for (const norm of [undefined, { kind: 'frozen' } as const]) {
      const m = new MobileNetV3({ arch: 'small', classifier: false, norm }).train();
      const x = dg.randn([2, 3, 32, 32], { seed: 9 });
      try {
        const r = await runFlatLoop(engine, () => dg.tidy(() => {
          m.zeroGrad();
          const loss = dg.mean(dg.square(m.forward(x)));
          loss.backward();
          return loss;
        }), 3);
        expect(Number.isFinite(r.lastLoss)).toBe(true);
      } finally {
        m.zeroGrad();
        m.dispose();
        x.dispose();
      }
    }
  });

  it('rejects bad blocks and inputs with named errors', () => {
    expect(() => new InvertedResidual({ inputChannels: 8, kernel: 3, expandedChannels: 8, outChannels: 8, useSe: false, useHs: false, stride: 3, dilation: 1 }, { kind: 'frozen' })).toThrow(/illegal stride value 3/);
    expect(() => new SqueezeExcitation(0, 8)).toThrow(/inputChannels must be a positive integer/);
    const se = new SqueezeExcitation(8, 8);
    try {
      expect(() => se.forward(dg.zeros([1, 4, 3, 3]))).toThrow(/SqueezeExcitation\(8\): input must be \[N, 8, H, W\]/);
    } finally {
      se.dispose();
    }
    expect(() => new MobileNetV3({ norm: { kind: 'group' } as unknown as MobileNetNorm, classifier: false })).toThrow(/norm.kind must be 'batchnorm' or 'frozen'/);
  });
});
