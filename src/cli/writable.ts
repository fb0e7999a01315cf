// Output folders are checked before the work that fills them: a folder that cannot be written would
// otherwise fail only after every image was predicted.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cli-error.ts';

/** Creates `dir` and writes and removes a probe file in it; `fix` says what to do when that fails. */
export function checkWritable(dir: string, what: string, fix: string): void {
  const probe = join(dir, `.dlc-gpu-write-test-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new CliError(`cannot write ${what} to ${dir}: ${(err as Error).message}; ${fix}`, 1);
  }
}
