// For the bad-input CLI tests: scratch copies of openfield (the shared project-copy helper), and a record
// of every file in a project so a test can check that a refused command changed none of them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { copyOpenfield, runCli } from '../project/openfield.ts';

const temps: string[] = [];

/** A writable copy of the openfield project, removed by cleanup(). */
export function scratchProject(): string {
  const dir = copyOpenfield('dlc-gpu-errors-');
  temps.push(dir);
  return dir;
}

export function cleanup(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const cli = runCli;

/** Relative path -> sha1 of every file under `dir`. */
export function fileHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p), createHash('sha1').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** The files added, removed or changed between two fileHashes() records. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((n) => before.get(n) !== after.get(n)).sort();
}

export const SHUFFLE1 = 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle1';
export const POSE1 = `${SHUFFLE1}/train/pytorch_config.yaml`;
export const DATASET = 'training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30';
export const LABELS = 'labeled-data/m4s1/CollectedData_Pranav.csv';
