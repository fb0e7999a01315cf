// One training run per shuffle: `train` holds <train folder>/train.lock (the process id, host, start time and
// command) for as long as it runs. A second run on the shuffle refuses, naming the process holding it; a lock
// left by a process that no longer exists (a crash, a kill -9) is cleared. The lock is removed at exit.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  command: string;
}

export class LockedError extends Error {
  constructor(readonly file: string, readonly owner: LockOwner) {
    super(
      `another training run is using this shuffle: process ${owner.pid} on ${owner.host}, started ${owner.started} (${owner.command}); ` +
        `wait for it to finish or stop it (kill ${owner.pid}). The lock is ${file}`,
    );
    this.name = 'LockedError';
  }
}

export const LOCK_NAME = 'train.lock';

function readOwner(file: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return Number.isInteger(o.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** Whether the owner may still be running: signal 0 reaches it (EPERM: it exists under another user). */
function alive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine on a shared disk: cannot tell, so assume it runs
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(file: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The live process holding the lock in `trainDir`, or null (no lock, or a stale one). */
export function runningTrain(trainDir: string): LockOwner | null {
  const owner = readOwner(join(trainDir, LOCK_NAME));
  return owner && alive(owner) ? owner : null;
}

export interface RunLock {
  file: string;
  /** A stale lock this run cleared (its owner had exited), for the log. */
  cleared: LockOwner | null;
  release(): void;
}

/** Takes the shuffle's lock in `trainDir`, or throws LockedError naming the running process. */
export function acquireRunLock(trainDir: string, command: string): RunLock {
  mkdirSync(trainDir, { recursive: true });
  const file = join(trainDir, LOCK_NAME);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  let cleared: LockOwner | null = null;
  for (let attempt = 0; !tryCreate(file, me); attempt++) {
    const owner = readOwner(file);
    if (owner === null) {
      // Unreadable: another run may be between creating and writing it; only an old one is debris.
      let age = Infinity;
      try {
        age = Date.now() - statSync(file).mtimeMs;
      } catch {
        continue; // it went away: try again
      }
      if (age < 10_000 || attempt > 2) throw new LockedError(file, { pid: -1, host: '?', started: 'just now', command: 'unknown (the lock file is being written)' });
    } else if (alive(owner) || attempt > 2) throw new LockedError(file, owner);
    // Stale: move it aside atomically, and put it back if what was moved is not the lock judged stale.
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    const moved = readOwner(aside);
    if (owner && moved && (moved.pid !== owner.pid || moved.started !== owner.started)) {
      renameSync(aside, file);
      throw new LockedError(file, moved);
    }
    rmSync(aside, { force: true });
    cleared = owner;
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const owner = readOwner(file);
    if (owner?.pid === me.pid && owner.started === me.started) rmSync(file, { force: true });
  };
  // Also on process.exit (a second Ctrl-C exits at once) and on uncaught errors.
  process.on('exit', release);
  return { file, cleared, release };
}
