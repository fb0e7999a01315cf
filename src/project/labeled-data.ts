// Merges every labeled-data/<video>/CollectedData_<scorer>.csv of a project into one table, as DeepLabCut's
// merge_annotateddatasets does: sorted by image path, bodyparts in config.yaml order.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { LabelsError, parseLabelsCsv, type LabeledFrame } from './labels-csv.ts';
import { writeLabelsH5 } from './labels-writer.ts';
import type { Project } from './project-config.ts';

export interface LabeledData {
  individuals: string[];
  bodyparts: string[];
  uniqueBodyparts: string[];
  /** Sorted by path; positions in this list are the indices a train/test split refers to. */
  frames: LabeledFrame[];
}

function comparePaths(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** Label folders named by video_sets; every folder when none of those exists (e.g. a demo project's placeholder). */
export function labelFolders(project: Project): string[] {
  const root = join(project.root, 'labeled-data');
  if (!existsSync(root)) throw new LabelsError(root, 'the project has no labeled-data folder');
  const all = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const named = project.videos.map((v) => basename(v, extname(v))).filter((stem) => all.includes(stem));
  return (named.length > 0 ? named : all).sort();
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** One CollectedData file's frames, in file order, with bodyparts in config.yaml order; checked against config.yaml. */
export function readLabelsFile(project: Project, file: string, options: { checkImages?: boolean } = {}): { individuals: string[]; frames: LabeledFrame[]; lines: number[] } {
  const table = parseLabelsCsv(readFileSync(file, 'utf8'), file);
  const missing = project.bodyparts.filter((b) => !table.bodyparts.includes(b));
  const extra = table.bodyparts.filter((b) => !project.bodyparts.includes(b));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length ? `missing ${missing.join(', ')}` : '',
      extra.length ? `not in config.yaml: ${extra.join(', ')}` : '',
    ].filter(Boolean);
    throw new LabelsError(file, `bodyparts differ from config.yaml (${parts.join('; ')})`, table.individuals.length > 1 || project.multiAnimal ? 3 : 2);
  }
  if (!sameSet(table.uniqueBodyparts, project.uniqueBodyparts)) {
    throw new LabelsError(file, `unique bodyparts [${table.uniqueBodyparts.join(', ')}] differ from config.yaml [${project.uniqueBodyparts.join(', ')}]`);
  }
  if (project.multiAnimal && !table.individuals.every((i) => project.individuals.includes(i))) {
    throw new LabelsError(file, `individuals [${table.individuals.join(', ')}] are not all in config.yaml [${project.individuals.join(', ')}]`, 2);
  }
  const order = project.bodyparts.map((b) => table.bodyparts.indexOf(b));
  const uniqueOrder = project.uniqueBodyparts.map((b) => table.uniqueBodyparts.indexOf(b));
  const individuals = project.multiAnimal ? project.individuals : table.individuals;
  const frames = table.frames.map((frame, row) => {
    if (options.checkImages !== false && !existsSync(join(project.root, ...frame.path))) {
      throw new LabelsError(file, `row points to a missing image ${frame.path.join('/')}`, table.lines[row]);
    }
    const keypoints = individuals.map((name) => {
      const i = table.individuals.indexOf(name);
      return order.map((b) => (i >= 0 ? frame.keypoints[i]![b]! : [NaN, NaN] as [number, number]));
    });
    return { path: frame.path, keypoints, unique: uniqueOrder.map((u) => frame.unique[u]!) };
  });
  return { individuals, frames, lines: table.lines };
}

/**
 * DeepLabCut's convertcsv2h5: each labeled-data/<video>/CollectedData_<scorer>.csv also as the .h5 beside it
 * (the file DeepLabCut's create_training_dataset reads). Returns the files written.
 */
export async function convertCsvToH5(project: Project): Promise<string[]> {
  const written: string[] = [];
  for (const folder of labelFolders(project)) {
    const file = join(project.root, 'labeled-data', folder, `CollectedData_${project.scorer}.csv`);
    if (!existsSync(file)) continue;
    const { individuals, frames } = readLabelsFile(project, file, { checkImages: false });
    const h5 = file.replace(/\.csv$/, '.h5');
    await writeLabelsH5(h5, project.scorer, { individuals, bodyparts: project.bodyparts, uniqueBodyparts: project.uniqueBodyparts, frames }, project.multiAnimal);
    written.push(h5);
  }
  return written;
}

export function readLabeledData(project: Project, options: { checkImages?: boolean } = {}): LabeledData {
  const frames: LabeledFrame[] = [];
  let individuals: string[] | undefined;
  for (const folder of labelFolders(project)) {
    const file = join(project.root, 'labeled-data', folder, `CollectedData_${project.scorer}.csv`);
    if (!existsSync(file)) continue;
    const read = readLabelsFile(project, file, options);
    individuals ??= read.individuals;
    frames.push(...read.frames);
  }
  if (frames.length === 0) {
    throw new LabelsError(join(project.root, 'labeled-data'), `no CollectedData_${project.scorer}.csv with labelled frames was found`);
  }
  frames.sort((a, b) => comparePaths(a.path, b.path));
  for (let i = 1; i < frames.length; i++) {
    if (comparePaths(frames[i - 1]!.path, frames[i]!.path) === 0) {
      throw new LabelsError(join(project.root, 'labeled-data'), `image ${frames[i]!.path.join('/')} is labelled twice`);
    }
  }
  return { individuals: individuals ?? ['individual_1'], bodyparts: project.bodyparts, uniqueBodyparts: project.uniqueBodyparts, frames };
}
