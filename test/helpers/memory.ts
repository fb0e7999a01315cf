// Runs a training step many times and checks the engine's buffer count (live plus pooled) never moves from
// what the first step left: a loop that leaks, or grows its pool, fails at the iteration where it happens.
import type { Engine, Tensor } from '../../src/index.ts';

export interface FlatLoopResult {
  firstLoss: number;
  lastLoss: number;
  liveAfterFirst: number;
  liveAtEnd: number;
}

/** `step` returns the loss (the caller's tidy keeps only it); it is read on the first and last iteration and every `readEvery`. */
export async function runFlatLoop(engine: () => Engine, step: () => Tensor, iterations: number, readEvery = 250): Promise<FlatLoopResult> {
  const first = step();
  const firstLoss = await first.item();
  first.dispose();
  const stats = engine().stats();
  const held = stats.liveBuffers + stats.pooledBuffers;
  let lastLoss = firstLoss;
  for (let i = 1; i < iterations; i++) {
    const loss = step();
    if (i % readEvery === 0 || i === iterations - 1) lastLoss = await loss.item();
    loss.dispose();
    const s = engine().stats();
    if (s.liveBuffers + s.pooledBuffers !== held) throw new Error(`iteration ${i}: ${s.liveBuffers} live + ${s.pooledBuffers} pooled buffers, expected ${held} in all`);
  }
  return { firstLoss, lastLoss, liveAfterFirst: stats.liveBuffers, liveAtEnd: engine().stats().liveBuffers };
}
