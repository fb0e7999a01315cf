// The normalise pass's fused epilogue (NormEpilogue: residual add, ReLU), which ends ResNet and HRNet blocks: equal to
// the separate ops it replaces (themselves checked against PyTorch in norm.test.ts and ops-parity.test.ts), forward
// and every gradient, on each normalise kernel (vec4 rows, scalar rows, the flat kernel for short rows) and for
// batchNorm in training, eval and frozen-statistics modes; finite differences; and the passes it saves.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { BatchNorm2d, GroupNorm, normRelu } from '../src/nn/norm-layers.ts';
import { Bottleneck } from '../src/models/backbones/resnet.ts';
import { expectClose } from './helpers/compare.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';

type Norm = (x: Tensor, w: Tensor, b: Tensor, epi: dg.NormEpilogue) => Tensor;

/** Output and the gradients of x, weight, bias and residual under loss sum(y * probe). */
async function outputsAndGrads(norm: Norm, shape: number[], epi: { relu: boolean; residual: boolean }, fused: boolean): Promise<Float32Array[]> {
  return dg.scope(async () => {
    const C = shape[1]!;
    const x = dg.randn(shape, { seed: 1 });
    const w = dg.add(dg.randn([C], { seed: 2 }), dg.ones([C]));
    const b = dg.randn([C], { seed: 3 });
    const r = dg.randn(shape, { seed: 4 });
    for (const t of [x, w, b, r]) t.requiresGrad = true;
    const residual = epi.residual ? r : null;
    let y: Tensor;
    if (fused) y = norm(x, w, b, { relu: epi.relu, residual });
    else {
      y = norm(x, w, b, {});
      if (residual) y = dg.add(y, residual);
      if (epi.relu) y = dg.relu(y);
    }
    dg.sum(dg.mul(y, dg.randn(shape, { seed: 5 }))).backward();
    const out = [await y.toArray(), await x.grad!.toArray(), await w.grad!.toArray(), await b.grad!.toArray()];
    if (epi.residual) out.push(await r.grad!.toArray());
    return out;
  });
}

const gn: Norm = (x, w, b, epi) => dg.groupNorm(x, 4, w, b, 1e-5, epi);
const bn =
  (mode: 'training' | 'eval' | 'frozen'): Norm =>
  (x, w, b, epi) => {
    const C = x.shape[1]!;
    const rm = dg.mulScalar(dg.randn([C], { seed: 6 }), 0.1);
    const rv = dg.addScalar(dg.rand([C], { seed: 7 }), 0.5);
    return dg.batchNorm2d(x, w, b, rm, rv, { training: mode !== 'eval', frozenStats: mode === 'frozen', ...epi });
  };

const CASES: [string, Norm, number[]][] = [
  ['groupNorm, vec4 rows (S = 64)', gn, [2, 8, 8, 8]],
  ['groupNorm, scalar rows (S = 81)', gn, [2, 8, 9, 9]],
  ['groupNorm, flat kernel (S = 15)', gn, [2, 8, 3, 5]],
  ['batchNorm training', bn('training'), [2, 8, 8, 8]],
  ['batchNorm eval', bn('eval'), [3, 4, 5, 7]],
  ['batchNorm frozen statistics', bn('frozen'), [2, 4, 8, 8]],
];
const EPILOGUES = [
  { relu: true, residual: false },
  { relu: true, residual: true },
  { relu: false, residual: true },
];

describe('normalisation epilogue (residual add, ReLU) in the normalise pass', () => {
  useGpu();
  for (const [name, norm, shape] of CASES) {
    for (const epi of EPILOGUES) {
      it(`${name}: ${epi.residual ? 'residual + ' : ''}${epi.relu ? 'ReLU' : ''} equals the separate ops, forward and gradients`, async () => {
        const fused = await outputsAndGrads(norm, shape, epi, true);
        const separate = await outputsAndGrads(norm, shape, epi, false);
        const what = ['y', 'dx', 'dweight', 'dbias', 'dresidual'];
        // One rounding fewer at most (the sum is not stored between the ops); the reductions are the same kernels.
        fused.forEach((v, i) => expectClose(v, separate[i]!, 1e-5, what[i]));
        if (epi.relu) expect(fused[0]!.some((v) => v === 0)).toBe(true);
      });
    }
  }

  const tiny = (shape: number[], seed: number) => randomInput(shape, seed, -2, 2);
  // Seeds whose pre-ReLU values all lie over 0.05 from the kink, which a step of eps = 1e-2 would cross.
  it('groupNorm + residual + ReLU passes finite differences', async () => {
    const err = await gradcheck(
      ([x, w, b, r]) => dg.groupNorm(x!, 2, w!, b!, 1e-5, { relu: true, residual: r! }),
      [tiny([2, 4, 2, 3], 21), randomInput([4], 22, 0.5, 1.5), randomInput([4], 23), tiny([2, 4, 2, 3], 24)],
    );
    expect(err).toBeLessThan(2e-2);
  });
  it('batchNorm (training) + residual + ReLU passes finite differences', async () => {
    const err = await gradcheck(
      ([x, w, b, r]) => dg.batchNorm2d(x!, w!, b!, null, null, { training: true, relu: true, residual: r! }),
      [tiny([2, 2, 2, 3], 41), randomInput([2], 42, 0.5, 1.5), randomInput([2], 43), tiny([2, 2, 2, 3], 44)],
    );
    expect(err).toBeLessThan(2e-2);
  });

  // Against a float64 host reference, with real affine parameters, plain and with the ReLU whose gradient the row
  // kernels mask themselves: rows over several workgroups (S = 1188: 297 vec4s, the last chunk partial), rows
  // sharing a workgroup (4 or 16 lanes a row: S = 64, 256, 1200), a last workgroup row only partly filled (15 rows
  // of 4 or 16 a workgroup), and one row per workgroup row (S = 4096).
  const HOST_CASES: [number, number, number, number, number][] = [
    [2, 4, 33, 36, 2],
    [3, 5, 16, 16, 5],
    [1, 6, 30, 40, 3],
    [2, 3, 8, 8, 1],
    [1, 2, 64, 64, 2],
  ];
  for (const [N, C, H, W, G] of HOST_CASES) {
    for (const relu of [false, true]) {
      it(`the vec4 row kernels match the host: groupNorm [${N}, ${C}, ${H}, ${W}], ${G} groups${relu ? ', ReLU' : ''}: y, dx, dweight, dbias`, async () => {
        await dg.scope(async () => {
          const x = dg.randn([N, C, H, W], { seed: 11 });
          const w = dg.add(dg.randn([C], { seed: 13 }), dg.ones([C]));
          const b = dg.randn([C], { seed: 14 });
          for (const t of [x, w, b]) t.requiresGrad = true;
          const probe = dg.randn([N, C, H, W], { seed: 12 });
          const y = dg.groupNorm(x, G, w, b, 1e-5, { relu });
          dg.sum(dg.mul(y, probe)).backward();
          const [xs, gs, ws, bs] = [await x.toArray(), await probe.toArray(), await w.toArray(), await b.toArray()];
          const S = H * W;
          const L = (C / G) * S;
          const wantY = new Float64Array(xs.length);
          const wantDx = new Float64Array(xs.length);
          const wantDw = new Float64Array(C);
          const wantDb = new Float64Array(C);
          for (let g0 = 0; g0 < xs.length; g0 += L) {
            let mean = 0;
            for (let i = 0; i < L; i++) mean += xs[g0 + i]!;
            mean /= L;
            let v = 0;
            for (let i = 0; i < L; i++) v += (xs[g0 + i]! - mean) ** 2;
            const inv = 1 / Math.sqrt(v / L + 1e-5);
            const xh = new Float64Array(L);
            const dxh = new Float64Array(L);
            let m1 = 0;
            let m2 = 0;
            for (let i = 0; i < L; i++) {
              const c = Math.floor((g0 + i) / S) % C;
              xh[i] = (xs[g0 + i]! - mean) * inv;
              const pre = xh[i]! * ws[c]! + bs[c]!;
              wantY[g0 + i] = relu ? Math.max(pre, 0) : pre;
              const gp = relu && pre <= 0 ? 0 : gs[g0 + i]!;
              wantDw[c] += gp * xh[i]!;
              wantDb[c] += gp;
              dxh[i] = gp * ws[c]!;
              m1 += dxh[i]! / L;
              m2 += (dxh[i]! * xh[i]!) / L;
            }
            for (let i = 0; i < L; i++) wantDx[g0 + i] = inv * (dxh[i]! - m1 - xh[i]! * m2);
          }
          expectClose(await y.toArray(), Float32Array.from(wantY), 1e-4, 'y');
          expectClose(await x.grad!.toArray(), Float32Array.from(wantDx), 1e-4, 'dx');
          // Sums over N * H * W elements: the reduction tolerance.
          expectClose(await w.grad!.toArray(), Float32Array.from(wantDw), 1e-3, 'dweight');
          expectClose(await b.grad!.toArray(), Float32Array.from(wantDb), 1e-3, 'dbias');
          if (relu) expect(wantY.some((v) => v === 0)).toBe(true);
        });
      });
    }
  }

  // batchNorm's backward sums (bn_sums4 for S % 4 == 0: 64 lanes walking N runs of S / 4 vec4s) against a float64
  // host reference: runs shorter than a workgroup's stride (S = 16, 60), equal to it (256), longer (1200); batch
  // statistics (training) and frozen running statistics (whose dx has no mean terms).
  const BN_CASES: [number, number, number, number][] = [
    [8, 4, 2, 8],
    [3, 2, 6, 10],
    [2, 3, 16, 16],
    [1, 2, 30, 40],
  ];
  for (const [N, C, H, W] of BN_CASES) {
    for (const frozen of [false, true]) {
      it(`batchNorm's backward sums match the host: [${N}, ${C}, ${H}, ${W}], ${frozen ? 'frozen' : 'batch'} statistics: dx, dweight, dbias`, async () => {
        await dg.scope(async () => {
          const x = dg.addScalar(dg.randn([N, C, H, W], { seed: 31 }), 0.5);
          const w = dg.add(dg.randn([C], { seed: 32 }), dg.ones([C]));
          const b = dg.randn([C], { seed: 33 });
          const rm = dg.mulScalar(dg.randn([C], { seed: 34 }), 0.1);
          const rv = dg.addScalar(dg.rand([C], { seed: 35 }), 0.5);
          for (const t of [x, w, b]) t.requiresGrad = true;
          const [rms, rvs] = [await rm.toArray(), await rv.toArray()];
          const probe = dg.randn([N, C, H, W], { seed: 36 });
          const y = dg.batchNorm2d(x, w, b, rm, rv, { training: true, frozenStats: frozen });
          dg.sum(dg.mul(y, probe)).backward();
          const [xs, gs, ws] = [await x.toArray(), await probe.toArray(), await w.toArray()];
          const S = H * W;
          const M = N * S;
          const at = (n: number, c: number, i: number) => (n * C + c) * S + i;
          const wantDx = new Float64Array(xs.length);
          const wantDw = new Float64Array(C);
          const wantDb = new Float64Array(C);
          for (let c = 0; c < C; c++) {
            let mean = rms[c]!;
            let varc = rvs[c]!;
            if (!frozen) {
              mean = 0;
              for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) mean += xs[at(n, c, i)]! / M;
              varc = 0;
              for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) varc += (xs[at(n, c, i)]! - mean) ** 2 / M;
            }
            const inv = 1 / Math.sqrt(varc + 1e-5);
            for (let n = 0; n < N; n++)
              for (let i = 0; i < S; i++) {
                const k = at(n, c, i);
                wantDw[c] += gs[k]! * (xs[k]! - mean) * inv;
                wantDb[c] += gs[k]!;
              }
            for (let n = 0; n < N; n++)
              for (let i = 0; i < S; i++) {
                const k = at(n, c, i);
                const xh = (xs[k]! - mean) * inv;
                wantDx[k] = frozen ? ws[c]! * inv * gs[k]! : ws[c]! * inv * (gs[k]! - wantDb[c]! / M - (xh * wantDw[c]!) / M);
              }
          }
          expectClose(await x.grad!.toArray(), Float32Array.from(wantDx), 1e-4, 'dx');
          expectClose(await w.grad!.toArray(), Float32Array.from(wantDw), 1e-3, 'dweight');
          expectClose(await b.grad!.toArray(), Float32Array.from(wantDb), 1e-3, 'dbias');
        });
      });
    }
  }

  it('names a residual of the wrong shape', () => {
    dg.tidy(() => {
      const x = dg.zeros([2, 8, 4, 4]);
      expect(() => dg.groupNorm(x, 4, null, null, 1e-5, { residual: dg.zeros([2, 8, 4, 1]) })).toThrow(/groupNorm: residual \[2, 8, 4, 1\] must have the input's shape \[2, 8, 4, 4\]/);
      expect(() => dg.batchNorm2d(x, null, null, null, null, { training: true, residual: dg.zeros([8, 4, 4]) })).toThrow(/batchNorm: residual/);
    });
  });

  it('normRelu fuses for BatchNorm2d and GroupNorm and falls back to separate ops for other norm layers', async () => {
    await dg.scope(async () => {
      const x = dg.randn([1, 8, 4, 4], { seed: 8 });
      const r = dg.randn([1, 8, 4, 4], { seed: 9 });
      const layers = [new GroupNorm(4, 8), new BatchNorm2d(8)];
      const plain = new (class extends GroupNorm {})(4, 8);
      for (const l of [...layers, plain]) l.eval();
      for (const layer of layers) {
        const d0 = dg.engine().stats().dispatches;
        const fused = normRelu(layer, x, r);
        const passes = dg.engine().stats().dispatches - d0;
        const separate = dg.relu(dg.add(layer.forward(x), r));
        expectClose(await fused.toArray(), await separate.toArray(), 1e-6);
        // statistics + normalise (GroupNorm), running statistics + normalise (BatchNorm2d): no add or ReLU pass.
        expect(passes).toBe(2);
      }
      // A subclass is still a GroupNorm: fused. A layer of another kind takes the composite path.
      const other = { forward: (t: Tensor) => dg.mulScalar(t, 2) } as unknown as GroupNorm;
      expectClose(await normRelu(other, x, r).toArray(), await dg.relu(dg.add(dg.mulScalar(x, 2), r)).toArray(), 1e-6);
      expectClose(await normRelu(plain, x).toArray(), await dg.relu(plain.forward(x)).toArray(), 1e-6);
    });
  });

  it("a ResNet bottleneck's forward has no separate ReLU or residual-add pass", async () => {
    await dg.scope(async () => {
      const block = new Bottleneck({ norm: 'groupnorm', seed: 0 }, 128, 32, 1, null);
      block.eval();
      const x = dg.randn([1, 128, 8, 8], { seed: 10 });
      dg.engine().startProfile();
      await block.forward(x).toArray();
      const kernels = (await dg.engine().stopProfile()).map((d) => d.kernel.split(':')[0]);
      expect(kernels.filter((k) => k === 'unary' || k === 'binary')).toEqual([]);
      // Three GroupNorms: statistics + normalise each.
      expect(kernels.filter((k) => k === 'norm').length).toBe(6);
    });
  });

  it("a ResNet bottleneck's backward masks the ReLU gradient inside the GroupNorm kernels where no residual needs it", async () => {
    await dg.scope(async () => {
      const block = new Bottleneck({ norm: 'groupnorm', seed: 0 }, 128, 32, 1, null);
      const x = dg.randn([2, 128, 8, 8], { seed: 10 });
      x.requiresGrad = true;
      const loss = dg.sum(dg.mul(block.forward(x), dg.randn([2, 128, 8, 8], { seed: 11 })));
      dg.engine().startProfile();
      loss.backward();
      await x.grad!.toArray();
      const kernels = (await dg.engine().stopProfile()).map((d) => d.kernel);
      // relu(gn1) and relu(gn2) mask in row_sums4 / dx_rows4 (unfused: two binary passes more); relu(gn3 + x) masks
      // once (its gradient also feeds x). The other binary passes: the loss's product and the sum of x's two gradients.
      expect(kernels.filter((k) => k === 'binary:main4').length).toBe(3);
      expect(kernels.filter((k) => k === 'norm:row_sums4').length).toBe(3);
    });
  });
});
