// Debian's Python with pandas and PyTables (scripts/setup.sh installs python3-pandas python3-tables), for
// checking that pandas reads our files as DeepLabCut's users would. CI must have it: there a missing
// pandas is a failure, never a skip.
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export const HAS_PANDAS = spawnSync(PYTHON, ['-c', 'import pandas, tables'], { encoding: 'utf8' }).status === 0;
if (!HAS_PANDAS && process.env.CI) throw new Error(`CI: ${PYTHON} with pandas and tables is missing (scripts/setup.sh installs python3-pandas python3-tables)`);

/** Runs a Python snippet with the given arguments (sys.argv[1:]); returns stdout, throwing with stderr on failure. */
export function python(code: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}
