// The vec4 binary kernel (kernels/binary.wgsl main4) does several vec4s per invocation, WG apart: tensors long
// enough to span several workgroups and every step, contiguous and broadcast (a splatted innermost operand, a
// broadcast middle axis), with a length that ends inside a workgroup's last step, against the host.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { useGpu } from './helpers/gpu.ts';

describe('binary ops over many vec4 steps', () => {
  useGpu();
  const cases: [number[], number[]][] = [
    [[3, 5, 40, 44], [3, 5, 40, 44]],
    [[3, 5, 40, 44], [1, 5, 1, 44]],
    [[3, 5, 40, 44], [3, 5, 40, 1]],
    [[7, 1029, 4], [1, 1, 4]],
  ];
  for (const [sa, sb] of cases) {
    it(`[${sa.join(', ')}] - [${sb.join(', ')}]`, async () => {
      await dg.scope(async () => {
        const a = dg.randn(sa, { seed: 1 });
        const b = dg.randn(sb, { seed: 2 });
        const [y, av, bv] = await Promise.all([dg.sub(a, b).toArray(), a.toArray(), b.toArray()]);
        expect(y.length).toBe(av.length);
        // Row-major index of the output mapped into b's (broadcast) shape.
        const strides = (s: number[]) => s.map((_, d) => s.slice(d + 1).reduce((p, v) => p * v, 1));
        const so = strides(sa);
        const sbStr = strides(sb);
        let worst = 0;
        for (let i = 0; i < y.length; i++) {
          let j = 0;
          for (let d = 0; d < sa.length; d++) {
            const c = Math.floor(i / so[d]!) % sa[d]!;
            j += (sb[d] === 1 ? 0 : c) * sbStr[d]!;
          }
          worst = Math.max(worst, Math.abs(y[i]! - Math.fround(av[i]! - bv[j]!)));
        }
        expect(worst).toBe(0);
      });
    });
  }
});
