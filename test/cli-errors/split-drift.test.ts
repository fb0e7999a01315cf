// Issue 19, case 1: a shuffle trains and evaluates on exactly the frames its split was made from (the merged
// labels create-dataset wrote into training-datasets/), whatever happens to labeled-data afterwards; changes
// are reported by frame, with what to run.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openProjectData } from '../../src/data/index.ts';
import { HAS_OPENFIELD, REPO_ROOT } from '../project/openfield.ts';
import { changedFiles, cleanup, cli, DATASET, fileHashes, LABELS, POSE1, scratchProject } from './helpers.ts';

afterAll(cleanup);

const SPLIT = `${DATASET}/split-openfield_95shuffle1.yaml`;
const readSplit = (dir: string) => parse(readFileSync(join(dir, SPLIT), 'utf8')) as { test_images: string[]; train_images: string[]; num_frames: number };

/** A new labeled-data/<video>/ folder that sorts before m4s1, so a fresh merge shifts every row by one. */
function addFolder(dir: string): string {
  const folder = join(dir, 'labeled-data', 'a0new');
  mkdirSync(folder);
  copyFileSync(join(dir, 'labeled-data/m4s1/img0000.png'), join(folder, 'img0000.png'));
  const header = readFileSync(join(dir, LABELS), 'utf8').split('\n').slice(0, 3).join('\n');
  writeFileSync(join(folder, 'CollectedData_Pranav.csv'), `${header}\nlabeled-data/a0new/img0000.png,10,20,30,40,50,60,70,80\n`);
  return 'labeled-data/a0new/img0000.png';
}

describe.skipIf(!HAS_OPENFIELD)('a split keeps its frames when labeled-data changes', () => {
  it('a frame added in a new folder: the split still uses its own frames, says what changed, and --overwrite makes a new split', () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const before = readSplit(dir);
    expect(before.train_images).toHaveLength(110);
    const added = addFolder(dir);

    const data = openProjectData(join(dir, POSE1));
    const rel = (p: string) => p.slice(dir.length + 1);
    expect(Array.from({ length: data.test.length }, (_, i) => rel(data.test.imagePath(i)))).toEqual(before.test_images);
    expect(Array.from({ length: data.train.length }, (_, i) => rel(data.train.imagePath(i)))).toEqual(before.train_images);
    expect(data.changes).toEqual({ added: [added], removed: [], relabelled: [] });
    expect(data.warnings).toHaveLength(1);
    expect(data.warnings[0]).toContain(`1 frame(s) added (${added})`);
    expect(data.warnings[0]).toContain(`run 'dlc-gpu create-dataset ${join(dir, 'config.yaml')} --overwrite' to take them (a new split)`);

    // Through the CLI: the first test image is the split's, and the warning is printed.
    const preview = cli('data', 'preview', join(dir, POSE1), '--split', 'test', '--n', '1', '--out', join(dir, 'preview'));
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(`<- ${before.test_images[0]} (epoch 0)`);
    expect(preview.stderr).toMatch(/Warning: labeled-data has changed since the split of openfieldOct30-trainset95shuffle1 was made: 1 frame\(s\) added \(labeled-data\/a0new\/img0000\.png\)/);

    const again = cli('create-dataset', join(dir, 'config.yaml'), '--overwrite');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`1 frame(s) added (${added}); made a new split`);
    expect(again.stdout).toMatch(/117 frames, 111 train \/ 6 test \(split new\)/);
    expect(readSplit(dir).num_frames).toBe(117);
    expect(openProjectData(join(dir, POSE1)).warnings).toEqual([]);
  });

  it('a frame removed: train refuses naming the frame and what to run, and changes nothing but train.txt', () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const victim = readSplit(dir).test_images[0]!;
    const csv = join(dir, LABELS);
    writeFileSync(csv, readFileSync(csv, 'utf8').split('\n').filter((l) => !l.startsWith(`${victim},`)).join('\n'));

    // Only the row is gone: the split's frames are still all there, and the removal is reported.
    const data = openProjectData(join(dir, POSE1));
    expect(data.labels.frames).toHaveLength(116);
    expect(data.changes!.removed).toEqual([victim]);

    rmSync(join(dir, victim));
    const hashes = fileHashes(dir);
    const r = cli('train', join(dir, 'config.yaml'), '--epochs', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`1 image(s) of the split no longer exist (${victim}); run 'dlc-gpu create-dataset ${join(dir, 'config.yaml')} --overwrite' to make a new split from the current labels`);
    expect(changedFiles(hashes, fileHashes(dir))).toEqual([`${POSE1.replace('pytorch_config.yaml', 'train.txt')}`]);
    expect(readFileSync(join(dir, POSE1.replace('pytorch_config.yaml', 'train.txt')), 'utf8')).toMatch(/ - ERROR - Training ended with an error: .*image\(s\) of the split no longer exist/);

    const made = cli('create-dataset', join(dir, 'config.yaml'), '--overwrite');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain(`1 removed (${victim}); made a new split`);
    expect(made.stdout).toMatch(/115 frames/);
  });

  it('relabelled frames keep the split (create-dataset --overwrite takes the new coordinates)', () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const before = readSplit(dir);
    const csv = join(dir, LABELS);
    writeFileSync(csv, readFileSync(csv, 'utf8').replace('labeled-data/m4s1/img0001.png,10.248,', 'labeled-data/m4s1/img0001.png,11.5,'));
    const data = openProjectData(join(dir, POSE1));
    expect(data.changes).toEqual({ added: [], removed: [], relabelled: ['labeled-data/m4s1/img0001.png'] });
    expect(data.warnings[0]).toContain('to take them (the split is kept)');
    expect(data.labels.frames[1]!.keypoints[0]![0]).toEqual([10.248, 288.487]);

    const made = cli('create-dataset', join(dir, 'config.yaml'), '--overwrite');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain('the split is kept; labels changed since it was made: 1 relabelled (labeled-data/m4s1/img0001.png)');
    expect(readSplit(dir).test_images).toEqual(before.test_images);
    const now = openProjectData(join(dir, POSE1));
    expect(now.warnings).toEqual([]);
    expect(now.labels.frames[1]!.keypoints[0]![0]).toEqual([11.5, 288.487]);
  });

  it("a DeepLabCut split whose train images moved is not reused; --overwrite replaces it", () => {
    const dir = scratchProject();
    mkdirSync(join(dir, DATASET), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'test/project/fixtures/Documentation_data-openfield_95shuffle1-named.pickle'), join(dir, DATASET, 'Documentation_data-openfield_95shuffle1.pickle'));
    addFolder(dir);
    const hashes = fileHashes(dir);
    const r = cli('create-dataset', join(dir, 'config.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Documentation_data-openfield_95shuffle1.pickle: labeled-data has changed since this split was made: 110 split index(es) no longer point at the frames the split was made from (index 0 is labeled-data/a0new/img0000.png, the split says labeled-data/m4s1/img0000.png');
    expect(r.stderr).toContain('pass --overwrite to make a new split from the current labels');
    expect(changedFiles(hashes, fileHashes(dir))).toEqual([]);
    const made = cli('create-dataset', join(dir, 'config.yaml'), '--overwrite');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/labeled-data has changed since the earlier split \(.*Documentation_data-openfield_95shuffle1\.pickle\) was made: .*; made a new split/);
    expect(made.stdout).toMatch(/117 frames, 111 train \/ 6 test \(split new\)/);
  });

  it('a split whose merged labels were replaced is refused, naming the indices', () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const merged = join(dir, DATASET, 'CollectedData_Pranav.csv');
    const lines = readFileSync(merged, 'utf8').split('\n');
    // Swap two rows: the same frames, but the split's indices now point at each other's.
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    writeFileSync(merged, lines.join('\n'));
    const hashes = fileHashes(dir);
    const r = cli('data', 'preview', join(dir, POSE1), '--out', join(dir, 'preview'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, SPLIT)}: 2 split index(es) no longer point at the frames the split was made from (index 1 is labeled-data/m4s1/img0002.png, the split says labeled-data/m4s1/img0001.png, index 2 is labeled-data/m4s1/img0001.png`);
    expect(r.stderr).toContain('--overwrite');
    expect(changedFiles(hashes, fileHashes(dir))).toEqual([]);
  });
});
