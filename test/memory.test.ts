// A training loop must not grow GPU memory: after the first iteration, the number of buffers the
// engine holds (live plus pooled) stays the same for 1,000 forward/backward/update iterations.
import { expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { useGpu } from './helpers/gpu.ts';
import { runFlatLoop } from './helpers/memory.ts';

const engine = useGpu();

it('1,000 iterations of forward, backward and SGD update keep the buffer count flat', async () => {
  const x = dg.randn([16, 8], { seed: 1 });
  const target = dg.randn([16, 1], { seed: 2 });
  const w1 = dg.mulScalar(dg.randn([8, 32], { seed: 3 }), 0.3);
  const w2 = dg.mulScalar(dg.randn([32, 1], { seed: 4 }), 0.3);
  const params = [w1, w2];
  for (const p of params) p.requiresGrad = true;

  const step = () =>
    dg.tidy(() => {
      const h = dg.relu(dg.matmul(x, w1));
      const loss = dg.mean(dg.square(dg.sub(dg.matmul(h, w2), target)));
      loss.backward();
      dg.noGrad(() => {
        for (const p of params) {
          p.assign(dg.sub(p, dg.mulScalar(p.grad!, 0.05)));
          p.grad!.dispose();
          p.grad = null;
        }
      });
      return loss;
    });

  const r = await runFlatLoop(engine, step, 1000);
  expect(r.liveAtEnd).toBe(r.liveAfterFirst);
  expect(r.lastLoss).toBeLessThan(r.firstLoss * 0.5);
});
