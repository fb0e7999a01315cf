// Shared by the subgroup and portable matmul tests: matmulRaw's store epilogue (bias per row, residual, relu)
// against a float64 host product, for vec4 columns (main_n4, N % 4 == 0) and scalar ones (main), 16- and 32-row tiles.
import { expect } from 'vitest';
import * as dg from '../../src/index.ts';
import { expectClose } from './compare.ts';

export async function checkMatmulEpilogue(): Promise<void> {
  for (const [M, N, K] of [[40, 20, 12], [40, 21, 12], [256, 64, 8]] as const) {
    await dg.scope(async () => {
      const a = dg.randn([M, K], { seed: M + N });
      const b = dg.randn([2, K, N], { seed: K });
      const bias = dg.randn([M], { seed: 3 });
      const res = dg.randn([2, M, N], { seed: 4 });
      const [ha, hb, hbias, hres] = await Promise.all([a, b, bias, res].map((t) => t.toArray()));
      const want = new Float32Array(2 * M * N);
      for (let z = 0; z < 2; z++)
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += ha[m * K + k]! * hb[z * K * N + k * N + n]!;
            const i = z * M * N + m * N + n;
            want[i] = Math.max(0, s + hbias[m]! + hres[i]!);
          }
      const got = await dg.matmulRaw(a, b, M, N, K, 2, 0, K * N, false, false, false, { bias, residual: res, relu: true }).toArray();
      expect(got.some((v) => v === 0) && got.some((v) => v > 0)).toBe(true);
      expectClose(got, want, 1e-4, `epilogue ${M}x${N}x${K}`);
    });
  }
}
