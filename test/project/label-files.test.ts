// DeepLabCut trains from CollectedData_<scorer>.h5, dlc-gpu reads the CSV beside it: an .h5-only folder gets its
// CSV (read from either pandas layout: openfield's table format with path strings, or the fixed format with
// MultiIndex rows that convertcsv2h5 and napari-deeplabcut write), and a CSV that disagrees with its .h5 is a
// warning naming the frames.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataFrameH5 } from '../../src/io/hdf5-frame-read.ts';
import { writeFixedFrameH5 } from '../../src/io/hdf5-fixed-frame.ts';
import { parseLabelsCsv, readProject, reconcileLabelFiles } from '../../src/project/index.ts';
import { copyOpenfield, HAS_OPENFIELD, runCli } from './openfield.ts';

const M4S1 = ['labeled-data', 'm4s1'];
const CSV = 'CollectedData_Pranav.csv';
const H5 = 'CollectedData_Pranav.h5';

const frames = (text: string, file: string) =>
  parseLabelsCsv(text, file).frames.map((f) => [f.path.join('/'), ...f.keypoints.flat().flat()] as (string | number)[]);

describe.skipIf(!HAS_OPENFIELD)('labeled-data CSV and .h5 (DeepLabCut reads the .h5)', () => {
  it("reads openfield's table-format .h5 (path-string rows) to the labels of its CSV", async () => {
    const dir = copyOpenfield();
    const frame = await readDataFrameH5(join(dir, ...M4S1, H5));
    expect(frame.levelNames).toEqual(['scorer', 'bodyparts', 'coords']);
    expect(frame.index).toHaveLength(116);
    expect(frame.index[0]).toEqual(['labeled-data', 'm4s1', 'img0000.png']);
    const report = await reconcileLabelFiles(readProject(join(dir, 'config.yaml')));
    expect(report).toEqual({ written: [], warnings: [] });
  });

  it('an .h5-only folder gets its CSV written from the .h5, equal to the original CSV; create-dataset says so', async () => {
    const dir = copyOpenfield();
    const original = readFileSync(join(dir, ...M4S1, CSV), 'utf8');
    rmSync(join(dir, ...M4S1, CSV));
    const made = runCli('create-dataset', join(dir, 'config.yaml'));
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain(`Wrote ${join(dir, ...M4S1, CSV)} from the .h5`);
    expect(made.stdout).toMatch(/116 frames/);
    const written = readFileSync(join(dir, ...M4S1, CSV), 'utf8');
    expect(frames(written, 'written')).toEqual(frames(original, 'original'));
  });

  it('reads the fixed format with MultiIndex rows under another key (napari-deeplabcut writes "keypoints")', async () => {
    const dir = copyOpenfield();
    const csvPath = join(dir, ...M4S1, CSV);
    const original = frames(readFileSync(csvPath, 'utf8'), csvPath);
    const table = await readDataFrameH5(join(dir, ...M4S1, H5));
    await writeFixedFrameH5(join(dir, ...M4S1, H5), 'keypoints', table);
    rmSync(csvPath);
    const report = await reconcileLabelFiles(readProject(join(dir, 'config.yaml')));
    expect(report.written).toEqual([csvPath]);
    expect(frames(readFileSync(csvPath, 'utf8'), csvPath)).toEqual(original);
  });

  it('a hand-edited CSV that no longer matches its .h5 is a warning naming the frame; an unreadable .h5 too', async () => {
    const dir = copyOpenfield();
    const csvPath = join(dir, ...M4S1, CSV);
    const lines = readFileSync(csvPath, 'utf8').split('\n');
    const row = lines.findIndex((l) => l.startsWith('labeled-data/m4s1/img0005.png') || l.startsWith('labeled-data,m4s1,img0005.png'));
    expect(row).toBeGreaterThan(0);
    const cells = lines[row]!.split(',');
    cells[cells.length - 1] = String(Number(cells.at(-1)) + 3);
    lines[row] = cells.join(',');
    writeFileSync(csvPath, lines.join('\n'));
    const project = readProject(join(dir, 'config.yaml'));
    const report = await reconcileLabelFiles(project);
    expect(report.written).toEqual([]);
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toContain('differ in 1 frame (labeled-data/m4s1/img0005.png)');
    expect(report.warnings[0]).toContain('DeepLabCut trains from the .h5');

    writeFileSync(join(dir, ...M4S1, H5), 'not hdf5');
    const broken = await reconcileLabelFiles(project);
    expect(broken.warnings[0]).toMatch(/CollectedData_Pranav\.h5: not a readable HDF5 file.*using .*CollectedData_Pranav\.csv/);
    rmSync(csvPath);
    await expect(reconcileLabelFiles(project)).rejects.toThrow(/CollectedData_Pranav\.h5: cannot read the labels \(and there is no CSV beside it\)/);
  });
});
