// DeepLabCut's FasterRCNN detector (fasterrcnn_mobilenet_v3_large_fpn, pretrained false) through the
// DetectorTrainingRunner unchanged, on the multi-animal demo project: one training step (torchvision's four loss
// terms and their sum), one evaluation (COCO bbox metrics), a snapshot-detector file with torchvision's keys
// that loadDetector loads back strictly. torchvision's default 800 / 1333 transform applies, so it is kept short.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openProjectData } from '../../src/data/index.ts';
import { writeDemoProject } from '../../src/demo/project.ts';
import { FasterRCNN } from '../../src/models/detectors/faster-rcnn.ts';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { DetectorTrainingRunner, loadDetector, requireDetectorType } from '../../src/runner/detector-train.ts';
import { useGpu } from '../helpers/gpu.ts';
import { runCli as cli } from '../project/openfield.ts';

useGpu();
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('FasterRCNN in the DetectorTrainingRunner', () => {
  it('trains a step, evaluates, and writes a snapshot that loadDetector loads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-frcnn-'));
    temps.push(dir);
    const project = writeDemoProject(join(dir, 'project'), { frames: 6, width: 64, height: 48, seed: 5, trainFraction: 0.67, animals: 2 });
    expect(cli('create-dataset', project, '--net-type', 'top_down_resnet_18').code).toBe(0);
    const root = join(dir, 'project/dlc-models-pytorch/iteration-0');
    const pose = join(root, readdirSync(root)[0]!, 'train/pytorch_config.yaml');
    const data = openProjectData(pose, { mode: 'bottom-up' });
    const config = structuredClone(data.config);
    // DeepLabCut's fasterrcnn_mobilenet_v3_large_fpn.yaml model block.
    config.detector!.model = { type: 'FasterRCNN', variant: 'fasterrcnn_mobilenet_v3_large_fpn', freeze_bn_stats: true, freeze_bn_weights: false } as never;
    config.detector!.runner.eval_interval = 1;
    config.detector!.data.train = { normalize_images: true } as never;
    requireDetectorType(config);
    const logged: string[] = [];
    const steps: Record<string, number>[] = [];
    const trainDir = join(pose, '..');
    const runner = new DetectorTrainingRunner({
      config,
      trainDir,
      train: data.train,
      test: data.test,
      epochs: 1,
      batchSize: 1,
      maxStepsPerEpoch: 1,
      maxEvalImages: 1,
      log: { info: (m: string) => logged.push(m), progress: () => {}, endProgress: () => {} },
      handleSignals: false,
      onLosses: (_, __, l) => steps.push(l),
    });
    expect(runner.model).toBeInstanceOf(FasterRCNN);
    const result = await runner.fit();
    runner.dispose();
    expect(result.status).toBe('completed');
    expect(steps).toHaveLength(1);
    expect(Object.keys(steps[0]!).sort()).toEqual(['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_rpn_box_reg', 'total_loss']);
    const l = steps[0]!;
    expect(Object.values(l).every(Number.isFinite)).toBe(true);
    expect(l.total_loss).toBeCloseTo(l.loss_box_reg! + l.loss_classifier! + l.loss_objectness! + l.loss_rpn_box_reg!, 4);
    // No weights: the BatchNorm statistics DeepLabCut's config freezes are trained, and the log says so.
    expect(logged.some((m) => m.includes('detector.model.freeze_bn_stats is true, but the detector has no pretrained weights'))).toBe(true);
    const file = readdirSync(trainDir).find((f) => /^snapshot-detector-(best-)?001\.pt$/.test(f));
    expect(file).toBeTruthy();
    const snap = readSnapshot(join(trainDir, file!));
    expect(Object.keys(snap.metadata.metrics)).toContain('metrics/test.mAP@50:95');
    expect([...snap.model.keys()].slice(0, 2)).toEqual(['backbone.body.0.0.weight', 'backbone.body.0.1.weight']);
    expect(snap.model.has('roi_heads.box_predictor.cls_score.weight')).toBe(true);
    const back = loadDetector(config, join(trainDir, file!));
    try {
      expect(back).toBeInstanceOf(FasterRCNN);
      expect(back.training).toBe(false);
    } finally {
      back.dispose();
    }
  }, 240_000);
});
