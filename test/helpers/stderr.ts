// Child processes whose stderr is a file: the way to see exactly what reached descriptor 2 (a pipe from
// Node is a socket, which Dawn's notices cannot be filtered from).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../project/openfield.ts';

/** Runs `args` with node, stderr into a file; returns the exit code and what reached stderr. */
export function runWithFileStderr(args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-test-stderr-'));
  const fd = openSync(join(dir, 'stderr.txt'), 'w');
  try {
    const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', fd], env: { ...process.env, ...env } });
    return { status: r.status, stdout: r.stdout, stderr: readFileSync(join(dir, 'stderr.txt'), 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

