// The engine that tensors and ops run on. One per process, set by `init` (or `setEngine` in tests).
import type { Engine } from './engine.ts';

let current: Engine | null = null;

/** Makes `engine` the one tensors and ops run on (what `init` does); null clears it. */
export function setEngine(engine: Engine | null): void {
  current = engine;
}

/** The current engine (set by `init`); throws when dlc-gpu is not initialised. */
export function engine(): Engine {
  if (!current) throw new Error('dlc-gpu is not initialised: call `await init()` first');
  return current;
}
