// The multi-animal demo project (the fixture for top-down and multi-animal work): a DeepLabCut multi-animal
// project whose labels sit on the rendered animals, with frames showing one animal only and frames with an
// animal in view but unlabeled; and a top-down pose model trained on it from ground-truth boxes through the CLI.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { demoFrameContents, demoIndividuals, DEMO_MULTI_TASK, DEMO_MULTI_VIDEO, DEMO_SCORER, writeDemoProject } from '../../src/demo/project.ts';
import { DEMO_BODYPARTS, MOUSE_COLORS, renderMice } from '../../src/demo/render.ts';
import { readImage } from '../../src/io/image.ts';
import { readLabeledData, readProject } from '../../src/project/index.ts';
import { runCli as cli } from '../project/openfield.ts';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'dlc-gpu-mademo-'));
  temps.push(d);
  return d;
};
const near = (a: readonly number[], b: readonly number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);
const OPTIONS = { frames: 14, width: 160, height: 128, seed: 5, trainFraction: 0.75, animals: 3 };

describe('multi-animal demo project', () => {
  it('is a DeepLabCut multi-animal project whose labels sit on the rendered animals', () => {
    const dir = tempDir();
    const config = writeDemoProject(dir, OPTIONS, new Date(2024, 9, 30));
    const raw = parse(readFileSync(config, 'utf8'));
    expect(raw).toMatchObject({
      Task: DEMO_MULTI_TASK,
      multianimalproject: true,
      identity: false,
      individuals: ['mouse1', 'mouse2', 'mouse3'],
      multianimalbodyparts: [...DEMO_BODYPARTS],
      uniquebodyparts: [],
      bodyparts: 'MULTI!',
      default_net_type: 'top_down_resnet_50',
    });
    const project = readProject(config);
    expect(project.multiAnimal).toBe(true);
    expect(project.individuals).toEqual(demoIndividuals(3));
    const csv = readFileSync(join(dir, 'labeled-data', DEMO_MULTI_VIDEO, `CollectedData_${DEMO_SCORER}.csv`), 'utf8').split('\n');
    expect(csv.slice(0, 4).map((l) => l.split(',')[0])).toEqual(['scorer', 'individuals', 'bodyparts', 'coords']);
    expect(csv[1]!.split(',').slice(3)).toEqual(demoIndividuals(3).flatMap((i) => DEMO_BODYPARTS.flatMap(() => [i, i])));

    const labels = readLabeledData(project);
    expect(labels.frames).toHaveLength(OPTIONS.frames);
    const partColor = [MOUSE_COLORS.nose, MOUSE_COLORS.ear, MOUSE_COLORS.ear, MOUSE_COLORS.tail];
    let oneAnimal = 0;
    let skipped = 0;
    labels.frames.forEach((frame, i) => {
      const { present, labeled } = demoFrameContents(i, 3);
      const img = readImage(join(dir, ...frame.path));
      const drawn = renderMice(OPTIONS.seed, i, OPTIONS.width, OPTIONS.height, present).animals;
      frame.keypoints.forEach((points, a) => {
        if (!labeled[a]) {
          expect(points.every(([x, y]) => Number.isNaN(x) && Number.isNaN(y)), `${frame.path.join('/')} mouse${a + 1} is unlabeled`).toBe(true);
          return;
        }
        points.forEach(([x, y], k) => {
          expect(Math.abs(x - drawn[a]![k]![0]) <= 0.005 && Math.abs(y - drawn[a]![k]![1]) <= 0.005).toBe(true);
          const o = (Math.round(y) * img.width + Math.round(x)) * 3;
          const pixel = [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
          expect(near(pixel, partColor[k]!, 7), `${frame.path.join('/')} mouse${a + 1} ${DEMO_BODYPARTS[k]} at ${x},${y} is ${pixel}`).toBe(true);
        });
      });
      if (present.filter(Boolean).length === 1) oneAnimal++;
      if (present.some((p, a) => p && !labeled[a])) skipped++;
    });
    expect(oneAnimal).toBeGreaterThan(0);
    expect(skipped).toBeGreaterThan(0);
    // The same seed gives the same project.
    const again = tempDir();
    writeDemoProject(again, OPTIONS, new Date(2024, 9, 30));
    const name = readdirSync(join(dir, 'labeled-data', DEMO_MULTI_VIDEO)).find((f) => f.endsWith('.png'))!;
    expect(readFileSync(join(again, 'labeled-data', DEMO_MULTI_VIDEO, name))).toEqual(readFileSync(join(dir, 'labeled-data', DEMO_MULTI_VIDEO, name)));
  });

  it('trains a top-down pose model from ground-truth boxes and evaluates it, with the individuals header', () => {
    const dir = tempDir();
    const config = writeDemoProject(dir, OPTIONS);
    const made = cli('create-dataset', config, '--net-type', 'top_down_resnet_18');
    expect(made.code, made.stderr).toBe(0);
    const small = ['data.train.top_down_crop.width=64', 'data.train.top_down_crop.height=64', 'data.inference.top_down_crop.width=64', 'data.inference.top_down_crop.height=64'];
    const trained = cli('train', config, '--detector-epochs', '0', '--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '2', '--eval-images', '2', ...small.flatMap((s) => ['--set', s]));
    expect(trained.code, trained.stderr + trained.stdout).toBe(0);
    // One training item per labeled animal, not per frame.
    const annotations = Array.from({ length: OPTIONS.frames }, (_, i) => demoFrameContents(i, 3).labeled.filter(Boolean).length).reduce((a, b) => a + b);
    const [, items, tests] = /2 steps of 2 images each, (\d+) train \/ (\d+) test images/.exec(trained.stdout)!;
    expect(Number(items) + Number(tests)).toBe(annotations);
    expect(annotations).toBeGreaterThan(OPTIONS.frames);
    const evaluated = cli('evaluate', config, '--max-images', '2');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/test rmse\s+\d/);
    const evalDir = join(dir, 'evaluation-results-pytorch', 'iteration-0');
    const shuffle = readdirSync(evalDir).find((f) => f.includes('shuffle1') && !f.endsWith('.csv'))!;
    const predictions = readdirSync(join(evalDir, shuffle)).find((f) => f.endsWith('.csv') && !f.endsWith('-results.csv'))!;
    const rows = readFileSync(join(evalDir, shuffle, predictions), 'utf8').split('\n');
    expect(rows[1]!.split(',').slice(3)).toEqual(demoIndividuals(3).flatMap((i) => DEMO_BODYPARTS.flatMap(() => [i, i, i])));
    expect(rows[3]!.split(',').slice(3, 6)).toEqual(['x', 'y', 'likelihood']);
    // One row per image (2 train + 2 test), every crop of an image in it, not a row per crop.
    const images = rows.slice(4).filter((r) => r).map((r) => r.split(',').slice(0, 3).join('/'));
    expect(images).toHaveLength(4);
    expect(new Set(images).size).toBe(4);
  });

  it('dlc-gpu demo --multi-animal renders, trains the detector and the pose model, and evaluates with detections', () => {
    const out = join(tempDir(), 'demo');
    const r = cli('demo', '--multi-animal', '--out', out, '--frames', '8', '--epochs', '1', '--batch-size', '2');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('== dlc-gpu create-dataset --net-type top_down_resnet_18');
    expect(r.stdout).toContain('training the detector (SSDLite) first');
    expect(r.stdout).toContain('Top-down model: detections from');
    expect(r.stdout).toMatch(/Multi-animal demo finished in \d+ s\.\n {2}project: .*\n {2}detector: {8}bbox mAP@50:95 [\d.]+ on the test frames/);
    const project = readProject(join(out, 'config.yaml'));
    expect(project.multiAnimal).toBe(true);
    // DeepLabCut reads the labels from the .h5 files, the project's and create_training_dataset's.
    expect(readdirSync(join(out, 'labeled-data', DEMO_MULTI_VIDEO)).filter((f) => f.startsWith('CollectedData_')).sort()).toEqual([`CollectedData_${DEMO_SCORER}.csv`, `CollectedData_${DEMO_SCORER}.h5`]);
    expect(readdirSync(join(out, 'training-datasets/iteration-0', `UnaugmentedDataSet_${DEMO_MULTI_TASK}${project.date}`))).toContain(`CollectedData_${DEMO_SCORER}.h5`);
    const evalDir = join(out, 'evaluation-results-pytorch/iteration-0', `${DEMO_MULTI_TASK}${project.date}-trainset80shuffle1`);
    const plots = readdirSync(evalDir).find((f) => f.startsWith('LabeledImages_'))!;
    expect(plots).toMatch(/_detector_(best-)?001_snapshot_(best-)?001$/);
    expect(readdirSync(join(evalDir, plots))).toHaveLength(8);
    const again = cli('demo', '--multi-animal', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists and is not empty');
  });
});
