// The matmul kernels renumber workgroups into blocks of SWZ (8) column tiles (kernels/_matmul.wgsl tileOf): every
// output tile must still be computed exactly once, including the last, partial block. Shapes with many column tiles
// that are not a multiple of 8 (and rows over several tile rows), forward and both gradients (the gradients take the
// transposed entry points: A^T for dB, B^T for dA), against a float64 product on the host.
import { describe, it } from 'vitest';
import * as dg from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { useGpu } from './helpers/gpu.ts';
import { checkMatmulEpilogue } from './helpers/matmul-epilogue.ts';

function hostMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta = false, tb = false): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

describe('matmul tile order covers every tile once', () => {
  useGpu();
  // [m, k, n]: n = 420 gives 14 vec4 column tiles of 32 (one block of 8 and a partial one of 6); n = 419 the scalar
  // entry point (18 tiles of 24); m = 70 five tile rows, the last partial.
  for (const [m, k, n] of [
    [70, 96, 420],
    [70, 36, 419],
    [33, 64, 1000],
  ] as const) {
    it(`[${m}, ${k}] x [${k}, ${n}]`, async () => {
      await dg.scope(async () => {
        const a = dg.randn([m, k], { seed: 1 });
        const b = dg.randn([k, n], { seed: 2 });
        const g = dg.randn([m, n], { seed: 3 });
        a.requiresGrad = b.requiresGrad = true;
        const y = dg.matmul(a, b);
        y.backward(g);
        const [av, bv, gv] = [await a.toArray(), await b.toArray(), await g.toArray()];
        expectClose(await y.toArray(), hostMatmul(av, bv, m, k, n), 1e-4, 'forward');
        // dA = G B^T [m, k]; dB = A^T G [k, n].
        expectClose(await a.grad!.toArray(), hostMatmul(gv, bv, m, n, k, false, true), 1e-4, 'grad A');
        expectClose(await b.grad!.toArray(), hostMatmul(av, gv, k, m, n, true, false), 1e-4, 'grad B');
      });
    });
  }
});

// sumBatch (kernels/_matmul.wgsl zsum): each workgroup walks the batch and C is the sum of the products, in every
// entry point (main: n odd; main_n4: n % 4 == 0, !TB; main_k4: TB, k % 4 == 0) and with transposed operands.
describe('matmul summed over the batch', () => {
  useGpu();
  for (const [m, k, n, ta, tb] of [
    [20, 12, 37, false, false],
    [20, 12, 40, false, false],
    [20, 12, 40, true, false],
    [20, 12, 37, false, true],
    [33, 16, 30, false, true],
    [33, 16, 30, true, true],
  ] as const) {
    it(`3 x [${m}, ${k}] x [${k}, ${n}]${ta ? ', A^T' : ''}${tb ? ', B^T' : ''}`, async () => {
      await dg.scope(async () => {
        const batch = 3;
        const a = dg.randn([batch, m * k], { seed: 4 });
        const b = dg.randn([batch, k * n], { seed: 5 });
        const c = await dg.matmulRaw(a, b, m, n, k, batch, m * k, k * n, ta, tb, true).toArray();
        const [av, bv] = [await a.toArray(), await b.toArray()];
        const want = new Float32Array(m * n);
        for (let z = 0; z < batch; z++) {
          const p = hostMatmul(av.subarray(z * m * k, (z + 1) * m * k), bv.subarray(z * k * n, (z + 1) * k * n), m, k, n, ta, tb);
          for (let i = 0; i < p.length; i++) want[i]! += p[i]!;
        }
        expectClose(c, want, 1e-4, 'summed product');
      });
    });
  }
});

// A^T of one matrix (shared by the batch, or batch 1) with K % 4 == 0, N >= 64 and N * batch >= 4096 is multiplied
// as an [M, K] copy; the first case stays on TA.
describe('matmul with a transposed, shared A', () => {
  useGpu();
  for (const [batch, m, k, n, tb] of [
    [1, 20, 12, 64, false],
    [1, 20, 12, 4096, false],
    [3, 20, 12, 1376, false],
    [3, 33, 16, 1370, true],
  ] as const) {
    it(`${batch} x [${k}, ${m}]^T x [${k}, ${n}]${tb ? '^T' : ''}`, async () => {
      await dg.scope(async () => {
        const a = dg.randn([k, m], { seed: 6 });
        const b = dg.randn([batch, k * n], { seed: 7 });
        const c = await dg.matmulRaw(a, b, m, n, k, batch, 0, k * n, true, tb).toArray();
        const [av, bv] = [await a.toArray(), await b.toArray()];
        for (let z = 0; z < batch; z++) {
          const want = hostMatmul(av, bv.subarray(z * k * n, (z + 1) * k * n), m, k, n, true, tb);
          expectClose(c.subarray(z * m * n, (z + 1) * m * n), want, 1e-4, `product ${z}`);
        }
      });
    });
  }
});

// 32-row tiles (kernels/_matmul.wgsl G = 4, picked by src/ops/matmul.ts tileRows where M fills them and there are
// enough workgroups): M = 250 leaves the last tile's rows 250-255 clamped, K = 37 runs the 1-step k tail, N = 419
// the scalar entry point; every entry point, transposed operands and the batch sum.
describe('matmul with 32-row tiles and vec4 loads of a transposed A', () => {
  useGpu();
  for (const [batch, m, k, n, ta, tb, sum] of [
    [1, 250, 37, 520, false, false, false],
    [1, 250, 37, 520, true, false, false],
    [2, 250, 37, 419, false, false, false],
    [1, 250, 37, 419, true, true, false],
    [1, 250, 36, 419, false, true, false],
    [2, 250, 36, 419, true, true, false],
    [3, 250, 12, 520, false, false, true],
    [3, 256, 16, 419, false, true, true],
    // TAV (A transposed, M % 4 == 0): lanes load a tile's rows at one k as vec4s; M = 252 clamps the last vec4s
    // (rows 252-255 come from rows 248-251 and are not stored), M = 36 leaves a 16-row tile's second group past M.
    [1, 252, 37, 520, true, false, false],
    [2, 252, 36, 419, true, true, false],
    [2, 252, 37, 419, true, false, false],
    [3, 252, 12, 520, true, false, true],
    [1, 36, 37, 64, true, false, false],
    [2, 36, 36, 61, true, true, false],
  ] as const) {
    it(`${batch} x [${m}, ${k}]${ta ? '^T' : ''} x [${k}, ${n}]${tb ? '^T' : ''}${sum ? ', summed' : ''}`, async () => {
      await dg.scope(async () => {
        const a = dg.randn([batch, m * k], { seed: 8 });
        const b = dg.randn([batch, k * n], { seed: 9 });
        const c = await dg.matmulRaw(a, b, m, n, k, batch, m * k, k * n, ta, tb, sum).toArray();
        const [av, bv] = [await a.toArray(), await b.toArray()];
        const products = Array.from({ length: batch }, (_, z) =>
          hostMatmul(av.subarray(z * m * k, (z + 1) * m * k), bv.subarray(z * k * n, (z + 1) * k * n), m, k, n, ta, tb));
        if (sum) {
          const want = new Float32Array(m * n);
          for (const p of products) for (let i = 0; i < p.length; i++) want[i]! += p[i]!;
          expectClose(c, want, 1e-4, 'summed product');
        } else {
          products.forEach((want, z) => expectClose(c.subarray(z * m * n, (z + 1) * m * n), want, 1e-4, `product ${z}`));
        }
      });
    });
  }
});

describe('matmul store epilogue', () => {
  useGpu();
  it('adds the bias per row, the residual and relu in its store', () => checkMatmulEpilogue());
});
