// A multi-animal top-down shuffle through the CLI with a plugin detector (test/extend/plugins/one-box-detector.ts):
// train trains the detector and then the pose model (snapshot-detector-*.pt, learning_stats_detector.csv, then the
// pose snapshot); evaluate crops around the detector's boxes (the scorer names the detector snapshot) or, with
// --gt-boxes, around the ground truth; DeepLabCut's FasterRCNN detector trains too.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDemoProject } from '../../src/demo/project.ts';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { REPO_ROOT, runCli as cli } from '../project/openfield.ts';
import { HAS_PANDAS, python } from '../video/python.ts';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const DETECTOR = join(REPO_ROOT, 'test/extend/plugins/one-box-detector.ts');
const QUICK = ['--epochs', '1', '--detector-epochs', '1', '--steps-per-epoch', '2', '--batch-size', '2', '--detector-batch-size', '2', '--eval-images', '2'];

describe('top-down through the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-topdown-'));
  temps.push(dir);
  const config = writeDemoProject(join(dir, 'project'), { frames: 10, width: 112, height: 96, seed: 4, trainFraction: 0.8, animals: 2 });
  const poseFile = () => {
    const root = join(dir, 'project/dlc-models-pytorch/iteration-0');
    return join(root, readdirSync(root)[0]!, 'train/pytorch_config.yaml');
  };

  it('trains the detector, then the pose model, and evaluates with detections or ground-truth boxes', () => {
    expect(cli('create-dataset', config, '--net-type', 'top_down_resnet_18').code).toBe(0);
    const pose = poseFile();
    const set = cli('config', 'set', pose, `plugins=[${DETECTOR}]`, 'detector.model={type: OneBoxDetector}', 'detector.runner.eval_interval=1',
      'data.train.top_down_crop.width=64', 'data.train.top_down_crop.height=64', 'data.inference.top_down_crop.width=64', 'data.inference.top_down_crop.height=64');
    expect(set.code, set.stderr).toBe(0);
    const trained = cli('train', config, ...QUICK);
    expect(trained.code, trained.stderr + trained.stdout).toBe(0);
    expect(trained.stdout).toContain('Top-down model: training the detector (OneBoxDetector) first, then the pose model');
    const train = dirname(pose);
    const files = readdirSync(train);
    expect(files.some((f) => /^snapshot-detector-(best-)?001\.pt$/.test(f)), files.join()).toBe(true);
    expect(files.some((f) => /^snapshot-(best-)?001\.pt$/.test(f))).toBe(true);
    expect(readFileSync(join(train, 'learning_stats_detector.csv'), 'utf8')).toContain('metrics/test.mAP@50:95');
    expect(existsSync(join(train, 'learning_stats.csv'))).toBe(true);

    const withDetector = cli('evaluate', config, '--max-images', '2', '--plot');
    expect(withDetector.code, withDetector.stderr).toBe(0);
    expect(withDetector.stdout).toMatch(/Top-down model: detections from .*snapshot-detector-(best-)?001\.pt/);
    const results = join(dir, 'project/evaluation-results-pytorch/iteration-0', readdirSync(join(dir, 'project/evaluation-results-pytorch/iteration-0')).find((f) => !f.endsWith('.csv'))!);
    expect(readdirSync(results).some((f) => /^DLC_Resnet18_demomice\w+shuffle1_detector_(best-)?001_snapshot_(best-)?001-results\.csv$/.test(f)), readdirSync(results).join()).toBe(true);

    const gt = cli('evaluate', config, '--max-images', '2', '--gt-boxes', '--plot');
    expect(gt.code, gt.stderr).toBe(0);
    // --plot draws each detection as a red rectangle: the same image has more pure red than when drawn with
    // ground-truth boxes (a keypoint colour may be red too, so the two plots are compared).
    const redOf = (withDetector: boolean) => {
      const dirName = readdirSync(results).find((f) => f.startsWith('LabeledImages_') && f.includes('_detector_') === withDetector)!;
      const png = decode(readFileSync(join(results, dirName, readdirSync(join(results, dirName)).sort()[0]!)));
      let red = 0;
      for (let i = 0; i < png.width * png.height; i++) if (png.data[i * png.channels] === 255 && png.data[i * png.channels + 1] === 0 && png.data[i * png.channels + 2] === 0) red++;
      return red;
    };
    expect(redOf(true)).toBeGreaterThan(redOf(false) + 40);
    expect(gt.stdout).toContain('--gt-boxes, so poses are predicted in crops around the ground-truth boxes');
    expect(readdirSync(results).some((f) => /^DLC_Resnet18_demomice\w+shuffle1_snapshot_(best-)?001-results\.csv$/.test(f))).toBe(true);

    // predict (DeepLabCut's analyze_images) on a folder of images: the detector's boxes, then the pose in each;
    // max_individuals (2) poses per image, -1 past the detections (OneBoxDetector finds one box per image).
    const video = readdirSync(join(dir, 'project/labeled-data'))[0]!;
    const predicted = cli('predict', train, join(dir, 'project/labeled-data', video), '--out', join(dir, 'predictions'));
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stdout).toMatch(/Top-down model: detections from .*snapshot-detector-(best-)?001\.pt/);
    const outputs = readdirSync(join(dir, 'predictions')).sort();
    expect(outputs).toHaveLength(2);
    expect(outputs[0]).toMatch(/^image_predictions_DLC_Resnet18_demomice\w+shuffle1_detector_(best-)?001_snapshot_(best-)?001\.csv$/);
    expect(outputs[1]).toBe(outputs[0]!.replace(/\.csv$/, '.h5'));
    const csv = readFileSync(join(dir, 'predictions', outputs[0]!), 'utf8').trim().split('\n');
    expect(csv.slice(0, 4).map((l) => l.split(',')[0])).toEqual(['scorer', 'individuals', 'bodyparts', 'coords']);
    expect(csv).toHaveLength(4 + 10);
    const cells = csv[4]!.split(',');
    const perIndividual = (cells.length - 1) / 2;
    expect(cells.slice(1 + perIndividual).every((c) => c === '-1')).toBe(true);
    expect(cells.slice(1, 1 + perIndividual).every((c) => c !== '-1' && c !== '')).toBe(true);
    if (HAS_PANDAS) {
      const h5 = python(
        'import sys, pandas as pd\n' +
          'df = pd.read_hdf(sys.argv[1], "predictions")\n' +
          'assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]\n' +
          'assert df.index[0].startswith(sys.argv[2]), df.index[0]\n' +
          'print(df.shape[0], int((df == -1).sum().sum()), df.shape[1])',
        join(dir, 'predictions', outputs[1]!),
        join(dir, 'project/labeled-data', video),
      );
      const [rows, minusOnes, columns] = h5.trim().split(' ').map(Number);
      expect([rows, minusOnes]).toEqual([10, 10 * (columns! / 2)]);
    }

    // The pose model alone: --detector-epochs 0 skips the detector.
    const poseOnly = cli('train', config, ...QUICK.filter((a, i, all) => a !== '--detector-epochs' && all[i - 1] !== '--detector-epochs'), '--detector-epochs', '0');
    expect(poseOnly.code, poseOnly.stderr).toBe(0);
    expect(poseOnly.stdout).not.toContain('training the detector');
  });

  it("trains DeepLabCut's default SSDLite detector and the pose model, and evaluates with its detections", () => {
    const project = writeDemoProject(join(dir, 'ssdlite'), { frames: 10, width: 160, height: 128, seed: 3, trainFraction: 0.8, animals: 2 });
    expect(cli('create-dataset', project, '--net-type', 'top_down_resnet_18').code).toBe(0);
    const root = join(dir, 'ssdlite/dlc-models-pytorch/iteration-0');
    const pose = join(root, readdirSync(root)[0]!, 'train/pytorch_config.yaml');
    const set = cli('config', 'set', pose, 'detector.runner.eval_interval=1', 'data.train.top_down_crop.width=64', 'data.train.top_down_crop.height=64', 'data.inference.top_down_crop.width=64', 'data.inference.top_down_crop.height=64');
    expect(set.code, set.stderr).toBe(0);
    const trained = cli('train', project, ...QUICK);
    expect(trained.code, trained.stderr + trained.stdout).toBe(0);
    expect(trained.stdout).toContain('training the detector (SSDLite) first');
    // Randomly initialised: the BatchNorm statistics DeepLabCut's config freezes are trained, and the log says so.
    expect(trained.stdout).toContain('detector.model.freeze_bn_stats is true, but the detector has no pretrained weights');
    expect(trained.stdout).toMatch(/metrics\/test\.mAP@50:95: \d/);
    const evaluated = cli('evaluate', project, '--max-images', '2');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/Top-down model: detections from .*snapshot-detector-(best-)?001\.pt/);
    expect(evaluated.stdout).toMatch(/test rmse\s+(\d|NaN)/);
  });

  it("DeepLabCut's FasterRCNN detector (fasterrcnn_mobilenet_v3_large_fpn) trains through the CLI, no longer refused", () => {
    const pose = poseFile();
    const set = cli('config', 'set', pose, 'detector.model={type: FasterRCNN, variant: fasterrcnn_mobilenet_v3_large_fpn}');
    expect(set.code, set.stderr).toBe(0);
    // One step and one evaluation image: torchvision's 800 / 1333 transform makes each ~10 s on lavapipe.
    const r = cli('train', config, '--epochs', '0', '--detector-epochs', '1', '--steps-per-epoch', '1', '--detector-batch-size', '1', '--eval-images', '1');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('Top-down model: training the detector (FasterRCNN) first');
    expect(r.stdout).toMatch(/metrics\/test\.mAP@50:95: \d/);
    // The newest detector snapshot (the first test's OneBoxDetector wrote the same names).
    const file = readdirSync(dirname(pose))
      .filter((f) => /^snapshot-detector-(best-)?001\.pt$/.test(f))
      .sort((a, b) => statSync(join(dirname(pose), b)).mtimeMs - statSync(join(dirname(pose), a)).mtimeMs)[0]!;
    expect([...readSnapshot(join(dirname(pose), file)).model.keys()]).toContain('roi_heads.box_predictor.cls_score.weight');
  });

  it('detector flags on a bottom-up shuffle are a usage error naming the file', () => {
    const single = writeDemoProject(join(dir, 'single'), { frames: 6, width: 64, height: 64, seed: 1, trainFraction: 0.67 });
    expect(cli('create-dataset', single, '--net-type', 'resnet_18').code).toBe(0);
    const r = cli('train', single, '--detector-epochs', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--detector-epochs is for top-down shuffles, whose pytorch_config\.yaml has a detector block; .*pytorch_config\.yaml has none \(net_type resnet_18\)/);
  });
});
