// Shared by the subgroup and portable matmul tests: the partial statistics a matmul's store leaves for a groupNorm
// (kernels/_matmul.wgsl STATS, src/ops/row-partials.ts) against float64 host sums, for blocks of 8 rows in 16- and
// 32-row tiles, columns past a tile's edge and a batch of 2; then the groupNorm they feed against the
// statistics pass.
import { expect } from 'vitest';
import * as dg from '../../src/index.ts';
import { takeRowPartials } from '../../src/ops/row-partials.ts';
import { expectClose } from './compare.ts';

export async function checkRowPartials(): Promise<void> {
  // Groups of 2 or 4 rows get none (the norm's statistics pass).
  await dg.scope(async () => {
    const out = dg.matmulRaw(dg.randn([16, 8]), dg.randn([1, 8, 8]), 16, 8, 8, 1, 0, 64, false, false, false, { rowStats: 4 });
    expect(takeRowPartials(out, 16, 8, 4)).toBeNull();
  });
  for (const [M, N, K, groupRows] of [[40, 20, 12, 8], [256, 100, 8, 16], [64, 36, 16, 32], [24, 8, 4, 8]] as const) {
    await dg.scope(async () => {
      const a = dg.randn([M, K], { seed: M + N });
      const b = dg.randn([2, K, N], { seed: K });
      // A bias far from 0 next to the spread: the partials' shift must keep their M2 exact.
      const bias = dg.add(dg.mul(dg.randn([M], { seed: 3 }), 0.1), 300);
      const [ha, hb, hbias] = await Promise.all([a, b, bias].map((t) => t.toArray()));
      const out = dg.matmulRaw(a, b, M, N, K, 2, 0, K * N, false, false, false, { bias, rowStats: groupRows });
      const part = takeRowPartials(out, 2 * M, N, groupRows);
      expect(part, 'partials kept beside the output').not.toBeNull();
      const R = 8;
      const got = await part!.partials.toArray();
      part!.partials.dispose();
      const want = new Float64Array(got.length);
      for (let z = 0; z < 2; z++)
        for (let blk = 0; blk < M / R; blk++)
          for (let q = 0; q < N / 4; q++) {
            const v: number[] = [];
            for (let r = 0; r < R; r++)
              for (let c = 0; c < 4; c++) {
                const m = blk * R + r;
                let s = hbias[m]!;
                for (let k = 0; k < K; k++) s += ha[m * K + k]! * hb[z * K * N + k * N + 4 * q + c]!;
                v.push(s);
              }
            const mean = v.reduce((x, y) => x + y, 0) / v.length;
            const i = ((z * M) / R + blk) * (N / 4) + q;
            want[2 * i] = mean;
            want[2 * i + 1] = v.reduce((x, y) => x + (y - mean) ** 2, 0);
          }
      expectClose(got.filter((_, i) => i % 2 === 0), want.filter((_, i) => i % 2 === 0), 1e-6, `means ${M}x${N}x${K}`);
      expectClose(got.filter((_, i) => i % 2 === 1), want.filter((_, i) => i % 2 === 1), 1e-3, `M2 ${M}x${N}x${K}`);
    });
  }
}

/** groupNorm of a 1x1 conv given `normGroups` against the same without (the statistics pass), on this engine. */
export async function checkGroupNormFromPartials(): Promise<void> {
  for (const [N, Cin, Cout, H, W, G] of [[2, 16, 64, 5, 20, 8], [1, 32, 256, 12, 16, 32], [2, 8, 64, 3, 12, 4]] as const) {
    await dg.scope(async () => {
      const x = dg.randn([N, Cin, H, W], { seed: Cout });
      const w = dg.randn([Cout, Cin, 1, 1], { seed: 2 });
      const b = dg.add(dg.randn([Cout], { seed: 3 }), 50);
      const gw = dg.randn([Cout], { seed: 4 });
      const gb = dg.randn([Cout], { seed: 5 });
      const want = await dg.groupNorm(dg.conv2d(x, w, b), G, gw, gb).toArray();
      const y = dg.conv2d(x, w, b, { normGroups: G });
      const left = takeRowPartials(y, N * Cout, H * W, Cout / G);
      expect(left, 'partials left by the conv').not.toBeNull();
      left?.partials.dispose();
      const y2 = dg.conv2d(x, w, b, { normGroups: G });
      expectClose(await dg.groupNorm(y2, G, gw, gb).toArray(), want, 1e-4, `groupNorm ${N}x${Cout}x${H}x${W}/${G}`);
      y.dispose();
    });
  }
}
