// Issue 19, case 2: one training run per shuffle. The lock names the process holding it; a lock whose
// process has exited is cleared; a refused train changes nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireRunLock, LockedError } from '../../src/project/run-lock.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { changedFiles, cleanup, cli, fileHashes, POSE1, scratchProject } from './helpers.ts';

const dirs: string[] = [];
afterAll(() => {
  cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The id of a process that has exited (and so cannot hold a lock). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const lockText = (pid: number, command = 'dlc-gpu train x') => `${JSON.stringify({ pid, host: hostname(), started: '2026-01-01T00:00:00.000Z', command })}\n`;

describe('the run lock', () => {
  it('refuses a second holder naming the first, and is gone once released', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-lock-'));
    dirs.push(dir);
    const lock = acquireRunLock(dir, 'dlc-gpu train a');
    expect(JSON.parse(readFileSync(join(dir, 'train.lock'), 'utf8'))).toMatchObject({ pid: process.pid, command: 'dlc-gpu train a' });
    expect(() => acquireRunLock(dir, 'dlc-gpu train b')).toThrow(LockedError);
    expect(() => acquireRunLock(dir, 'dlc-gpu train b')).toThrow(`process ${process.pid} on ${hostname()}`);
    lock.release();
    expect(existsSync(join(dir, 'train.lock'))).toBe(false);
    acquireRunLock(dir, 'dlc-gpu train b').release();
  });

  it('clears a stale lock left by a process that no longer exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-lock-'));
    dirs.push(dir);
    const pid = deadPid();
    writeFileSync(join(dir, 'train.lock'), lockText(pid));
    const lock = acquireRunLock(dir, 'dlc-gpu train c');
    expect(lock.cleared).toMatchObject({ pid });
    expect(JSON.parse(readFileSync(join(dir, 'train.lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu train on a shuffle in use', () => {
  it('train and create-dataset --overwrite refuse, naming the running process, and change no file', async () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    // A live process holding the lock (a stand-in for a running train).
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const train = join(dir, POSE1, '..');
      mkdirSync(train, { recursive: true });
      writeFileSync(join(train, 'train.lock'), lockText(holder.pid!, 'dlc-gpu train config.yaml --epochs 200'));
      const hashes = fileHashes(dir);
      const r = cli('train', join(dir, 'config.yaml'), '--epochs', '1');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`another training run is using this shuffle: process ${holder.pid} on ${hostname()}, started 2026-01-01T00:00:00.000Z (dlc-gpu train config.yaml --epochs 200)`);
      expect(r.stderr).toContain(`kill ${holder.pid}`);
      expect(changedFiles(hashes, fileHashes(dir))).toEqual([]);
      // Nor may create-dataset --overwrite replace the split and config under it.
      const over = cli('create-dataset', join(dir, 'config.yaml'), '--overwrite');
      expect(over.code).toBe(1);
      expect(over.stderr).toContain(`another training run is using this shuffle: process ${holder.pid}`);
      expect(changedFiles(hashes, fileHashes(dir))).toEqual([]);
    } finally {
      holder.kill();
    }
  });
});
