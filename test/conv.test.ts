// conv2d and convTranspose2d against PyTorch 1.13 (scripts/fixtures/make_conv_fixtures.py): forward values
// and gradients for input, weight and bias; finite differences on tiny shapes; argument errors.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';

interface Case {
  name: string;
  op: 'conv2d' | 'conv_transpose2d';
  opts: Record<string, any>;
  seed: number;
  /** Stored values are every step-th element of each result. */
  step: number;
  x: number[];
  w: number[];
  bias: boolean;
  y: number[];
  out: number[];
  dx: number[];
  dw: number[];
  db: number[] | null;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/conv.json', import.meta.url), 'utf8')) as { probe: number[]; cases: Case[] };
const cases = fixture.cases;

/** The fixture inputs (scripts/fixtures/make_conv_fixtures.py `formula`): top 16 bits of i * 0x9E3779B1 + 97 seed, as k / 2^15 - 1. */
function hashInput(shape: number[], seed: number, scale = 1): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = (((Math.imul(i, 0x9e3779b1) + 97 * seed) >>> 0 >>> 16) / 32768 - 1) * scale;
  return out;
}

const every = (a: Float32Array, step: number) => a.filter((_, i) => i % step === 0);

function run(c: Case, x: dg.Tensor, w: dg.Tensor, b: dg.Tensor | null): dg.Tensor {
  const o = c.opts;
  if (c.op === 'conv2d') return dg.conv2d(x, w, b, { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups });
  return dg.convTranspose2d(x, w, b, { stride: o.stride, padding: o.padding, outputPadding: o.output_padding, dilation: o.dilation, groups: o.groups });
}

describe('conv fixture', () => {
  it('inputs are reproduced exactly', () => {
    expect(Array.from(hashInput([6], 5))).toEqual(fixture.probe);
  });
});

// 'winograd2' (F(2x2, 3x3)) and 'direct' differ from 'auto' (F(4x4, 3x3)) only where 'auto' takes Winograd.
for (const algorithm of ['auto', 'winograd2', 'direct', 'gemm'] as const) {
describe(`convolutions match PyTorch (forward, input, weight and bias gradients), algorithm ${algorithm}`, () => {
  useGpu();
  beforeAll(() => {
    dg.setConvAlgorithm(algorithm);
  });
  afterAll(() => {
    dg.setConvAlgorithm('auto');
  });
  for (const c of cases.filter((k) => algorithm === 'auto' || algorithm === 'gemm' || k.name.startsWith('Winograd'))) {
    it(`${c.op} ${c.name}`, async () => {
      await dg.scope(async () => {
        const leaf = (data: Float32Array, shape: number[]) => {
          const t = dg.tensor(data, shape);
          t.requiresGrad = true;
          return t;
        };
        const x = leaf(hashInput(c.x, c.seed), c.x);
        const w = leaf(hashInput(c.w, c.seed + 1, 0.125), c.w);
        const cout = c.op === 'conv2d' ? c.w[0]! : c.w[1]! * (c.opts.groups ?? 1);
        const b = c.bias ? leaf(hashInput([cout], c.seed + 2), [cout]) : null;
        const y = run(c, x, w, b);
        expect(y.shape).toEqual(c.y);
        expectClose(every(await y.toArray(), c.step), c.out, 1e-3, 'forward');
        y.backward(dg.tensor(hashInput(c.y, c.seed + 3), c.y));
        expectClose(every(await x.grad!.toArray(), c.step), c.dx, 1e-3, 'input gradient');
        expectClose(every(await w.grad!.toArray(), c.step), c.dw, 1e-3, 'weight gradient');
        if (b) expectClose(await b.grad!.toArray(), c.db!, 1e-3, 'bias gradient');
      });
    });
  }
});
}

// Without a tape (inference, evaluation) stride-1 3x3 convs with >= 64 channels take Winograd F(4x4, 3x3), the
// fixture cases above F(2x2, 3x3) or the direct kernels (their outputs are recorded for the gradients).
describe('convolutions without a tape match PyTorch (Winograd F(4x4, 3x3) where it applies)', () => {
  useGpu();
  for (const c of cases.filter((k) => k.name.startsWith('Winograd') || k.name.startsWith('ResNet-50-like'))) {
    it(`${c.op} ${c.name}`, async () => {
      await dg.scope(async () => {
        const x = dg.tensor(hashInput(c.x, c.seed), c.x);
        const w = dg.tensor(hashInput(c.w, c.seed + 1, 0.125), c.w);
        const cout = c.op === 'conv2d' ? c.w[0]! : c.w[1]! * (c.opts.groups ?? 1);
        const b = c.bias ? dg.tensor(hashInput([cout], c.seed + 2), [cout]) : null;
        dg.engine().startProfile();
        const y = dg.noGrad(() => run(c, x, w, b));
        const values = await y.toArray();
        const kernels = (await dg.engine().stopProfile()).map((d) => d.kernel);
        const f4 = c.name.startsWith('Winograd') || (c.w[2] === 3 && c.w[3] === 3 && !c.opts.stride && Math.min(c.x[1]!, c.w[0]!) >= 64);
        expect(kernels.includes('conv_winograd:input4'), kernels.join(' ')).toBe(f4);
        expectClose(every(values, c.step), c.out, 1e-3, 'forward');
      });
    });
  }
});

// In training, stride-1 3x3 convs with >= 128 channels take their weight gradient through Winograd F(2x2)'s
// transposes (the fixture cases above check the values against PyTorch); here the route, and batches in chunks.
describe('the Winograd weight gradient', () => {
  useGpu();
  const weightGrad = async (x: dg.Tensor, w: dg.Tensor, gy: dg.Tensor, opts: dg.Conv2dOptions) => {
    const xl = dg.tensor(await x.toArray(), x.shape);
    const wl = dg.tensor(await w.toArray(), w.shape);
    wl.requiresGrad = true;
    dg.engine().startProfile();
    dg.conv2d(xl, wl, null, opts).backward(gy);
    const dw = await wl.grad!.toArray();
    const kernels = (await dg.engine().stopProfile()).map((d) => d.kernel);
    for (const t of [xl, wl]) t.dispose();
    return { dw, kernels };
  };
  it('is taken from 128 channels, and equals the direct kernel over a batch split in chunks', async () => {
    await dg.scope(async () => {
      // 16 x 128 x 32 x 32 float per image of the transforms (8 MiB at 64x64), so 9 images take two 64 MiB chunks.
      const x = dg.randn([9, 128, 64, 64], { seed: 11 });
      const w = dg.randn([128, 128, 3, 3], { seed: 12, std: 0.05 });
      const gy = dg.randn([9, 128, 64, 64], { seed: 13 });
      const wino = await weightGrad(x, w, gy, { padding: 1 });
      expect(wino.kernels).toContain('conv_winograd:weightGrad');
      expect(wino.kernels).not.toContain('conv2d_wgrad:main');
      dg.setConvAlgorithm('direct');
      try {
        const direct = await weightGrad(x, w, gy, { padding: 1 });
        expect(direct.kernels).toContain('conv2d_wgrad:main');
        expectClose(wino.dw, direct.dw, 1e-3, 'weight gradient');
      } finally {
        dg.setConvAlgorithm('auto');
      }
    });
  });
  it('is not taken below 128 channels or for strided convs', async () => {
    await dg.scope(async () => {
      const x = dg.randn([1, 64, 12, 12], { seed: 14 });
      expect((await weightGrad(x, dg.randn([64, 64, 3, 3], { seed: 15 }), dg.randn([1, 64, 12, 12], { seed: 16 }), { padding: 1 })).kernels).not.toContain('conv_winograd:weightGrad');
      const x2 = dg.randn([1, 128, 12, 12], { seed: 17 });
      expect((await weightGrad(x2, dg.randn([128, 128, 3, 3], { seed: 18 }), dg.randn([1, 128, 6, 6], { seed: 19 }), { padding: 1, stride: 2 })).kernels).not.toContain('conv_winograd:weightGrad');
    });
  });
});

describe('convolutions agree with finite differences', () => {
  useGpu();
  it('conv2d stride 2, padding 1, groups 2', async () => {
    expect(await gradcheck(([x, w]) => dg.conv2d(x!, w!, null, { stride: 2, padding: 1, groups: 2 }), [randomInput([1, 2, 4, 5], 31), randomInput([2, 1, 3, 3], 32)])).toBeLessThan(2e-2);
  });
  it('conv2d 3x3 same padding with bias (direct kernels: forward, rotated-weight input gradient, weight gradient)', async () => {
    expect(await gradcheck(([x, w, b]) => dg.conv2d(x!, w!, b!, { padding: 'same' }), [randomInput([2, 2, 5, 4], 41), randomInput([3, 2, 3, 3], 42), randomInput([3], 43)])).toBeLessThan(2e-2);
  });
  it('depthwise conv2d, dilation 2, stride 2', async () => {
    expect(await gradcheck(([x, w]) => dg.conv2d(x!, w!, null, { stride: 2, padding: 2, dilation: 2, groups: 3 }), [randomInput([1, 3, 6, 7], 44), randomInput([3, 1, 3, 3], 45)])).toBeLessThan(2e-2);
  });
  it('1x1 conv2d, strides 3 and 2 (subsample + matmul), and its transpose with output padding (matmul + upsample)', async () => {
    expect(await gradcheck(([x, w]) => dg.conv2d(x!, w!, null, { stride: [3, 2] }), [randomInput([2, 3, 7, 5], 35), randomInput([4, 3, 1, 1], 36)])).toBeLessThan(2e-2);
    expect(await gradcheck(([x, w]) => dg.convTranspose2d(x!, w!, null, { stride: 2, outputPadding: 1 }), [randomInput([1, 3, 3, 4], 37), randomInput([3, 2, 1, 1], 38)])).toBeLessThan(2e-2);
    const [x, w] = [dg.randn([1, 8, 6, 6], { seed: 1 }), dg.randn([4, 8, 1, 1], { seed: 2 })];
    dg.engine().startProfile();
    const y = dg.conv2d(x, w, null, { stride: 2 });
    await y.toArray();
    expect((await dg.engine().stopProfile()).map((d) => d.kernel)).toEqual(['conv:subsample', 'matmul:main']);
  });
  it('convTranspose2d stride 2, output padding 1', async () => {
    expect(await gradcheck(([x, w]) => dg.convTranspose2d(x!, w!, null, { stride: 2, padding: 1, outputPadding: 1 }), [randomInput([1, 2, 3, 3], 33), randomInput([2, 2, 3, 3], 34)])).toBeLessThan(2e-2);
  });
});

describe('convolution arguments', () => {
  useGpu();
  it('names the shapes when channels or groups do not fit', () => {
    const x = dg.zeros([1, 4, 5, 5]);
    expect(() => dg.conv2d(x, dg.zeros([2, 3, 3, 3]))).toThrow(/weight \[2, 3, 3, 3\] expects 3 input channels with groups 1, input \[1, 4, 5, 5\] has 4/);
    expect(() => dg.conv2d(x, dg.zeros([3, 2, 3, 3]), null, { groups: 2 })).toThrow(/groups 2 must divide input channels 4 and output channels 3/);
    expect(() => dg.conv2d(x, dg.zeros([2, 4, 7, 7]))).toThrow(/smaller than the kernel 7x7/);
    expect(() => dg.conv2d(x, dg.zeros([2, 4, 3, 3]), null, { stride: 2, padding: 'same' })).toThrow(/'same' needs stride 1/);
    expect(() => dg.conv2d(x, dg.zeros([2, 4, 3, 3]), dg.zeros([3]))).toThrow(/bias \[3\] should be \[2\]/);
    expect(() => dg.convTranspose2d(x, dg.zeros([3, 2, 3, 3]))).toThrow(/weight \[3, 2, 3, 3\] expects 3 input channels, input \[1, 4, 5, 5\] has 4/);
    expect(() => dg.convTranspose2d(x, dg.zeros([4, 2, 3, 3]), null, { groups: 3 })).toThrow(/groups 3 must divide input channels 4/);
    expect(() => dg.convTranspose2d(x, dg.zeros([4, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/output padding must be smaller/);
  });
  it('frees every temporary of forward and backward (direct, depthwise, strided, transposed routes)', async () => {
    const e = dg.engine();
    const configs: [number[], number[], dg.Conv2dOptions & dg.ConvTranspose2dOptions, boolean][] = [
      [[2, 8, 12, 16], [8, 8, 3, 3], { padding: 1 }, false],
      [[2, 8, 12, 16], [16, 8, 1, 1], { stride: 2 }, false],
      [[2, 8, 12, 16], [8, 1, 5, 5], { padding: 2, groups: 8 }, false],
      [[2, 16, 4, 4], [16, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }, true],
    ];
    for (const [xs, ws, o, transpose] of configs) {
      const x = dg.randn(xs, { seed: 1 });
      const w = dg.randn(ws, { seed: 2 });
      const b = dg.randn([transpose ? ws[1]! : ws[0]!], { seed: 3 });
      x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
      const step = () => {
        dg.tidy(() => dg.sum(transpose ? dg.convTranspose2d(x, w, b, o) : dg.conv2d(x, w, b, o)).backward());
        for (const t of [x, w, b]) {
          t.grad?.dispose();
          t.grad = null;
        }
      };
      step();
      await e.sync();
      const live = e.stats().liveBuffers;
      step();
      step();
      await e.sync();
      expect(e.stats().liveBuffers).toBe(live);
      for (const t of [x, w, b]) t.dispose();
    }
  });
  it('chunks large batches through the column matrix without changing results', async () => {
    // 1x3x180x180 with a 7x7 kernel: 147 x 32400 columns per image (19 MB), so a batch of 5 takes two chunks.
    const x = dg.randn([5, 3, 180, 180], { seed: 5 });
    const w = dg.randn([2, 3, 7, 7], { seed: 6 });
    const all = await dg.conv2d(x, w, null, { padding: 3 }).toArray();
    const last = await dg.conv2d(dg.narrow(x, 0, 4, 1), w, null, { padding: 3 }).toArray();
    expectClose(all.slice(4 * 2 * 180 * 180), last, 1e-5, 'last image');
  });
});
