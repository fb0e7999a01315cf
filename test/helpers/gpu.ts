// One engine per test file (vitest runs files in separate processes).
import { beforeAll } from 'vitest';
import { engine as current, init, type Engine } from '../../src/index.ts';

let engine: Engine | null = null;

export function useGpu(): () => Engine {
  beforeAll(async () => {
    engine ??= await init({ device: 'auto' });
  });
  // The current engine: a test may replace it (after deliberately breaking one).
  return () => current();
}
