// createDawnGpu sets lavapipe's thread count (LP_NUM_THREADS, read when the driver starts) to
// LAVAPIPE_THREADS_PER_CORE per core unless the user set it: checked in child processes, whose environment
// is their own (Dawn's null backend: no driver needed).
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAVAPIPE_THREADS_PER_CORE } from '../src/gpu/dawn.ts';
import { REPO_ROOT } from './project/openfield.ts';

const script = `
import { createDawnGpu } from ${JSON.stringify(join(REPO_ROOT, 'src/gpu/dawn.ts'))};
createDawnGpu('null');
process.stdout.write(String(process.env.LP_NUM_THREADS));
process.exit(0);
`;

function threadsAfterCreate(env: Record<string, string | undefined>): string {
  const { LP_NUM_THREADS: _, ...rest } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: REPO_ROOT, env: { ...rest, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('lavapipe threads', () => {
  it('defaults LP_NUM_THREADS to a few threads per core', () => {
    expect(threadsAfterCreate({})).toBe(String(Math.min(32, LAVAPIPE_THREADS_PER_CORE * availableParallelism())));
  });
  it("keeps the user's LP_NUM_THREADS", () => {
    expect(threadsAfterCreate({ LP_NUM_THREADS: '3' })).toBe('3');
  });
});
