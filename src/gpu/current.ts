// The engine that tensors and ops run on. One per process, set by `init` (or `setEngine` in tests).
import type { Engine } from './engine.ts';

let current: Engine | null = null;

export function setEngine(engine: Engine | null): void {
  current = engine;
}

export function engine(): Engine {
  if (!current) throw new Error('dlc-gpu is not initialised: call `await init()` first');
  return current;
}
