// `dlc-gpu demo`: the synthetic project is a DeepLabCut project our reader loads, with every label on the
// rendered part it names; and the real CLI runs the whole demo (small) to the files a user is pointed at.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO_SCORER, DEMO_VIDEO, writeDemoProject } from '../../src/demo/project.ts';
import { DEMO_BODYPARTS, MOUSE_COLORS, renderMouse } from '../../src/demo/render.ts';
import { readImage } from '../../src/io/image.ts';
import { readTorchFile } from '../../src/io/index.ts';
import { readLabeledData, readProject } from '../../src/project/index.ts';
import { cli } from './helpers.ts';

const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'dlc-gpu-demo-'));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const near = (a: readonly number[], b: readonly number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

describe('demo project', () => {
  it('is a DeepLabCut project whose labels sit on the rendered body parts', () => {
    const dir = tempDir();
    const config = writeDemoProject(dir, { frames: 12, width: 96, height: 80, seed: 7, trainFraction: 0.8 }, new Date(2024, 9, 30));
    const raw = parse(readFileSync(config, 'utf8'));
    expect(raw).toMatchObject({ Task: 'demomouse', scorer: DEMO_SCORER, date: 'Oct30', bodyparts: [...DEMO_BODYPARTS], TrainingFraction: [0.8], multianimalproject: false });
    expect(Object.keys(raw.video_sets)).toEqual([join(dir, 'videos', `${DEMO_VIDEO}.mp4`)]);

    const project = readProject(config);
    const labels = readLabeledData(project);
    expect(labels.frames).toHaveLength(12);
    const csv = readFileSync(join(dir, 'labeled-data', DEMO_VIDEO, `CollectedData_${DEMO_SCORER}.csv`), 'utf8').split('\n');
    expect(csv.slice(0, 3).map((l) => l.split(',')[0])).toEqual(['scorer', 'bodyparts', 'coords']);
    const partColor = [MOUSE_COLORS.nose, MOUSE_COLORS.ear, MOUSE_COLORS.ear, MOUSE_COLORS.tail];
    for (const frame of labels.frames) {
      const img = readImage(join(dir, ...frame.path));
      expect([img.width, img.height]).toEqual([96, 80]);
      frame.keypoints[0]!.forEach(([x, y], k) => {
        const o = (Math.round(y) * img.width + Math.round(x)) * 3;
        const pixel = [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
        // The renderer's grain is +-6 per channel.
        expect(near(pixel, partColor[k]!, 7), `${frame.path.join('/')} ${DEMO_BODYPARTS[k]} at ${x},${y} is ${pixel}`).toBe(true);
      });
      // The animal's left ear is on its left, seen from above.
      const [snout, left, right, tailbase] = frame.keypoints[0]!;
      const heading = [snout![0]! - tailbase![0]!, snout![1]! - tailbase![1]!];
      const side = (p: number[]) => heading[0]! * (p[1]! - snout![1]!) - heading[1]! * (p[0]! - snout![0]!);
      // y points down: a point on the animal's left has a negative cross product with its heading.
      expect(side(left!)).toBeLessThan(0);
      expect(side(right!)).toBeGreaterThan(0);
    }
  });

  it('renders the same frame from the same seed and a different one from another seed', () => {
    const a = renderMouse(3, 5, 64, 64);
    expect(renderMouse(3, 5, 64, 64)).toEqual(a);
    expect(renderMouse(4, 5, 64, 64).keypoints).not.toEqual(a.keypoints);
  });
});

describe('dlc-gpu demo', () => {
  it('refuses a non-empty output folder', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const r = cli('demo', '--out', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir} already exists and is not empty`);
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('renders, trains, evaluates and plots through the real CLI', () => {
    const out = join(tempDir(), 'demo');
    mkdirSync(out); // an empty folder is fine
    const r = cli('demo', '--out', out, '--frames', '8', '--size', '64', '--epochs', '2', '--batch-size', '2');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/== dlc-gpu create-dataset/);
    expect(r.stdout).toMatch(/Epoch 2\/2 \(lr=/);

    const config = join(out, 'config.yaml');
    const project = readProject(config);
    const name = `demomouse${project.date}-trainset80shuffle1`;
    const train = join(out, 'dlc-models-pytorch/iteration-0', name, 'train');
    const snaps = readdirSync(train).filter((f) => f.endsWith('.pt'));
    expect(snaps.length).toBeGreaterThan(0);
    for (const f of snaps) expect((readTorchFile(join(train, f)) as Map<string, unknown>).has('model')).toBe(true);
    const stats = readFileSync(join(train, 'learning_stats.csv'), 'utf8').trim().split('\n');
    expect(stats.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2']);
    const curve = decode(readFileSync(join(train, 'learning_curve.png')));
    expect(curve.width).toBeGreaterThan(100);

    const evalDir = join(out, 'evaluation-results-pytorch/iteration-0', name);
    const results = readdirSync(evalDir).filter((f) => f.endsWith('-results.csv'));
    expect(results).toHaveLength(1);
    const [header, row] = readFileSync(join(evalDir, results[0]!), 'utf8').trim().split('\n').map((l) => l.split(','));
    const testRmse = Number(row![header!.indexOf('test rmse')]);
    expect(testRmse).toBeGreaterThanOrEqual(0);

    const plots = readdirSync(evalDir).find((f) => f.startsWith('LabeledImages_'))!;
    const pngs = readdirSync(join(evalDir, plots)).sort();
    expect(pngs).toHaveLength(8);
    expect(pngs.filter((f) => f.startsWith('Test-mouse-img'))).toHaveLength(2);
    expect(pngs.filter((f) => f.startsWith('Training-mouse-img'))).toHaveLength(6);
    const labeled = decode(readFileSync(join(evalDir, plots, pngs[0]!)));
    expect([labeled.width, labeled.height]).toEqual([64, 64]);

    expect(r.stdout).toContain(`test RMSE:       ${row![header!.indexOf('test rmse')]} px`);
    // Names say what was trained: a ResNet-18, net type resnet_18, in the config, the scorer and the folders.
    expect(r.stdout).toMatch(/labeled images: .*LabeledImages_DLC_Resnet18_demomouse/);
    expect(results[0]).toMatch(/^DLC_Resnet18_demomouse.*-results\.csv$/);
    const poseConfig = parse(readFileSync(join(train, 'pytorch_config.yaml'), 'utf8'));
    expect(poseConfig).toMatchObject({ net_type: 'resnet_18', model: { backbone: { model_name: 'resnet18' }, backbone_output_channels: 512 } });
    expect(poseConfig.data.train.crop_sampling).toMatchObject({ width: 64, height: 64 });
    expect(existsSync(join(out, 'labeled-data/mouse/CollectedData_synthetic.csv'))).toBe(true);
  });
});
