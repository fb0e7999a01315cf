// DeepLabCut keeps each video's labels twice, labeled-data/<video>/CollectedData_<scorer>.csv and .h5, and
// trains from the .h5; dlc-gpu reads the CSV (its errors can name a line). Before a dataset is made, the two are
// reconciled: a folder with only the .h5 gets the CSV written from it (as DeepLabCut's own tools keep both), and
// a CSV that says something else than its .h5 (hand-edited, say) is a warning, since DeepLabCut would train from
// the .h5's labels.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDataFrameH5 } from '../io/hdf5-frame-read.ts';
import { Hdf5Error } from '../io/hdf5-dataframe.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { labelFolders } from './labeled-data.ts';
import { LabelsError, parseLabelsCsv, type LabelsTable } from './labels-csv.ts';
import { frameCsv } from './labels-writer.ts';
import type { Project } from './project-config.ts';

export interface LabelFilesReport {
  /** CSVs written from an .h5 that had none. */
  written: string[];
  warnings: string[];
}

const key = (path: readonly string[]) => path.join('/');
const same = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** Frames whose labels differ between two readings of one video's labels (paths present in only one count too). */
function differences(csv: LabelsTable, h5: LabelsTable): string[] {
  const points = (t: LabelsTable) =>
    new Map(t.frames.map((f) => [key(f.path), [...f.keypoints.flat(), ...f.unique].flat()]));
  const a = points(csv);
  const b = points(h5);
  const out: string[] = [];
  for (const [path, values] of a) {
    const other = b.get(path);
    if (!other) out.push(`${path} (only in the CSV)`);
    else if (other.length !== values.length || values.some((v, i) => !same(v, other[i]!))) out.push(path);
  }
  for (const path of b.keys()) if (!a.has(path)) out.push(`${path} (only in the .h5)`);
  return out;
}

export async function reconcileLabelFiles(project: Project): Promise<LabelFilesReport> {
  const report: LabelFilesReport = { written: [], warnings: [] };
  for (const folder of labelFolders(project)) {
    const csv = join(project.root, 'labeled-data', folder, `CollectedData_${project.scorer}.csv`);
    const h5 = csv.replace(/\.csv$/, '.h5');
    if (!existsSync(h5)) continue;
    let fromH5: string;
    try {
      fromH5 = frameCsv(await readDataFrameH5(h5));
    } catch (e) {
      const why = e instanceof Hdf5Error ? e.message : `${h5}: ${(e as Error).message}`;
      if (!existsSync(csv)) throw new LabelsError(h5, `cannot read the labels (and there is no CSV beside it): ${why.replace(`${h5}: `, '')}`);
      report.warnings.push(`${why}; using ${csv} (DeepLabCut would fail on this .h5)`);
      continue;
    }
    if (!existsSync(csv)) {
      // Parse before writing, so an .h5 whose header DeepLabCut could not use fails here, naming the .h5.
      parseLabelsCsv(fromH5, h5);
      writeFileAtomic(csv, fromH5);
      report.written.push(csv);
      continue;
    }
    const diff = differences(parseLabelsCsv(readFileSync(csv, 'utf8'), csv), parseLabelsCsv(fromH5, h5));
    if (diff.length) {
      report.warnings.push(
        `${csv} and ${h5} differ in ${diff.length} frame${diff.length === 1 ? '' : 's'} (${diff.slice(0, 3).join(', ')}${diff.length > 3 ? ', ...' : ''}): ` +
          `dlc-gpu uses the CSV, DeepLabCut trains from the .h5; make them agree (DeepLabCut's convertcsv2h5 rewrites the .h5 from the CSV)`,
      );
    }
  }
  return report;
}
