// Where the shared openfield project lives; tests that need it skip only when ../shared is absent.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const OPENFIELD = resolve(REPO_ROOT, '../shared/datasets/openfield-Pranav-2018-10-30');
export const HAS_OPENFIELD = existsSync(resolve(OPENFIELD, 'config.yaml'));

// CI always has ../shared beside the clone: there a missing project is a failure, never a skip.
if (!HAS_OPENFIELD && process.env.CI) throw new Error(`CI: the openfield project is missing at ${OPENFIELD}`);

/** A writable copy of the project in a new temp folder (the shared one is read-only), without videos. */
export function copyOpenfield(prefix = 'dlc-gpu-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(OPENFIELD, dir, { recursive: true, filter: (src) => !src.includes('/videos') });
  for (const p of [dir, join(dir, 'labeled-data'), join(dir, 'labeled-data', 'm4s1')]) chmodSync(p, 0o755);
  for (const f of ['config.yaml', 'labeled-data/m4s1/CollectedData_Pranav.csv']) chmodSync(join(dir, f), 0o644);
  return dir;
}

/** Runs the real binary to completion. */
export function runCli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/dlc-gpu.js'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
