// A real child process (the dlc-gpu CLI) gets a real SIGINT mid-training: it finishes the current step,
// writes a snapshot that loads, and exits with 130.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTorchFile } from '../../src/io/index.ts';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, cli, cliAsync, copyProject, SHUFFLE_DIR, TINY_SETS } from './helpers.ts';

afterAll(cleanup);

describe.skipIf(!HAS_OPENFIELD)('SIGINT during training', () => {
  it('writes a loadable snapshot and exits 130', async () => {
    const dir = copyProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const child = cliAsync(
      'train', join(dir, 'config.yaml'), '--epochs', '5', '--batch-size', '2', ...TINY_SETS,
      '--set', 'train_settings.display_iters=1', '--set', 'runner.eval_interval=100', '--set', 'runner.snapshots.save_epochs=100',
    );
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout!.on('data', (d) => {
        stdout += d;
        // After two steps have been read back, interrupt.
        if (!signalled && /Number of iterations: 2,/.test(stdout)) {
          signalled = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(signalled, stdout + stderr).toBe(true);
    expect(code, stdout + stderr).toBe(130);
    expect(stdout).toMatch(/Training stopped by SIGINT during epoch 1; saved .*snapshot-001\.pt/);
    const train = join(dir, SHUFFLE_DIR, 'train');
    expect(readdirSync(train).filter((f) => f.endsWith('.pt'))).toEqual(['snapshot-001.pt']);
    const path = join(train, 'snapshot-001.pt');
    expect(existsSync(path)).toBe(true);
    expect(readTorchFile(path)).toBeInstanceOf(Map);
    const snap = readSnapshot(path);
    expect(snap.metadata.epoch).toBe(1);
    expect(snap.model.size).toBeGreaterThan(50);
    // No temporary files left behind by the atomic writes.
    expect(readdirSync(train).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
