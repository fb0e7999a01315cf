// DetectorTrainingRunner on the shared loop, with a tiny test detector (one learnable box per image,
// test/extend/plugins/one-box-detector.ts) registered in DETECTORS as a plugin registers it, on the multi-animal demo project: snapshot-detector names and the best
// snapshot by test.mAP@50:95, learning_stats_detector.csv, and a resumed run whose losses equal an uninterrupted one.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { PoseConfig } from '../../src/config/index.ts';
import { openProjectData } from '../../src/data/index.ts';
import { writeDemoProject } from '../../src/demo/project.ts';
import registerOneBox from '../extend/plugins/one-box-detector.ts';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { DetectorTrainingRunner } from '../../src/runner/detector-train.ts';
import { useGpu } from '../helpers/gpu.ts';
import { runCli as cli } from '../project/openfield.ts';

useGpu();
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const quiet = { info: () => {}, progress: () => {}, endProgress: () => {} };

describe('DetectorTrainingRunner', () => {
  let dir: string;
  let config: PoseConfig;
  beforeAll(() => {
    registerOneBox(dg);
    dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-detector-'));
    temps.push(dir);
    const project = writeDemoProject(join(dir, 'project'), { frames: 10, width: 96, height: 80, seed: 2, trainFraction: 0.8, animals: 2 });
    expect(cli('create-dataset', project, '--net-type', 'top_down_resnet_18').code).toBe(0);
  });
  afterAll(() => dg.registries.DETECTORS.unregister('OneBoxDetector'));

  const open = () => {
    const train = readdirSync(join(dir, 'project/dlc-models-pytorch/iteration-0'))[0]!;
    const pose = join(dir, 'project/dlc-models-pytorch/iteration-0', train, 'train/pytorch_config.yaml');
    const data = openProjectData(pose, { mode: 'bottom-up' });
    const cfg = structuredClone(data.config);
    cfg.detector!.model = { type: 'OneBoxDetector' } as never;
    cfg.detector!.runner.eval_interval = 1;
    cfg.detector!.runner.snapshots.save_epochs = 1;
    cfg.detector!.runner.optimizer = { type: 'SGD', params: { lr: 0.01 } } as never;
    cfg.detector!.runner.scheduler = null as never;
    // Plain batches of the frames as they are (the default detector augmentation is tested elsewhere).
    cfg.detector!.data.train = { normalize_images: true } as never;
    config = cfg;
    return { data, trainDir: join(pose, '..') };
  };

  const run = async (trainDir: string, data: ReturnType<typeof open>['data'], epochs: number, snapshot?: string) => {
    const losses: number[] = [];
    const runner = new DetectorTrainingRunner({ config, trainDir, train: data.train, test: data.test, epochs, batchSize: 2, snapshot, log: quiet, handleSignals: false, onLosses: (_, __, l) => losses.push(l.total_loss!) });
    const result = await runner.fit();
    runner.dispose();
    return { result, losses };
  };

  it('trains, evaluates with bbox mAP and writes snapshot-detector files and learning_stats_detector.csv', async () => {
    const { data, trainDir } = open();
    const { result, losses } = await run(trainDir, data, 3);
    expect(result.status).toBe('completed');
    // 4 steps an epoch: the last epoch's mean loss is below the first's.
    expect(losses).toHaveLength(12);
    const epochMean = (e: number) => losses.slice(4 * e, 4 * e + 4).reduce((a, b) => a + b) / 4;
    expect(epochMean(2)).toBeLessThan(epochMean(0));
    // save_epochs 1: every epoch is kept, the best one (by test.mAP@50:95) under snapshot-detector-best-NNN.pt.
    const files = readdirSync(trainDir).filter((f) => f.startsWith('snapshot-detector')).sort();
    expect(files.every((f) => /^snapshot-detector-(best-)?00[123]\.pt$/.test(f)), files.join()).toBe(true);
    expect(files.map((f) => Number(/(\d+)\.pt$/.exec(f)![1])).sort()).toEqual([1, 2, 3]);
    expect(files.filter((f) => f.includes('-best-'))).toHaveLength(1);
    // The pose model's files are separate.
    expect(existsSync(join(trainDir, 'learning_stats.csv'))).toBe(false);
    const csv = readFileSync(join(trainDir, 'learning_stats_detector.csv'), 'utf8').trim().split('\n');
    expect(csv[0]!.split(',')).toEqual(expect.arrayContaining(['step', 'losses/train.loss_box', 'losses/train.total_loss', 'metrics/test.mAP@50:95', 'metrics/test.mAP@50', 'metrics/test.mAR@75']));
    expect(csv).toHaveLength(4);
    const snap = readSnapshot(join(trainDir, files.find((f) => f.endsWith('003.pt'))!));
    expect(snap.metadata.epoch).toBe(3);
    expect(Object.keys(snap.metadata.metrics)).toContain('metrics/test.mAP@50:95');
    expect([...snap.model.keys()]).toEqual(['box']);
  });

  it('resumes from a snapshot with the losses of an uninterrupted run', async () => {
    const { data, trainDir } = open();
    const clean = () => {
      for (const f of readdirSync(trainDir)) if (f.startsWith('snapshot-detector') || f.startsWith('learning_stats') || f.startsWith('learning_curve')) rmSync(join(trainDir, f));
    };
    clean();
    const straight = await run(trainDir, data, 2);
    clean();
    config.detector!.runner.snapshots.save_optimizer_state = true;
    const first = await run(trainDir, data, 1);
    const second = await run(trainDir, data, 1, join(trainDir, readdirSync(trainDir).find((f) => /^snapshot-detector-(best-)?001\.pt$/.test(f))!));
    expect(second.result.startEpoch).toBe(1);
    expect([...first.losses, ...second.losses]).toEqual(straight.losses);
  });

  it('starts from train_settings.weight_init.detector_snapshot_path, and names the file when it does not fit', async () => {
    const { data, trainDir } = open();
    const source = join(trainDir, readdirSync(trainDir).find((f) => /^snapshot-detector-(best-)?001\.pt$/.test(f))!);
    const weights = readSnapshot(source).model.get('box')!.data;
    config.train_settings.weight_init = { dataset: 'superanimal', detector_snapshot_path: source } as never;
    const logged: string[] = [];
    const runner = new DetectorTrainingRunner({ config, trainDir: join(trainDir, '..'), train: data.train, test: data.test, epochs: 1, log: { ...quiet, info: (m: string) => logged.push(m) }, handleSignals: false });
    expect(Array.from(await runner.model.stateDict().then((sd) => sd.get('box')!.data))).toEqual(Array.from(weights));
    expect(logged.some((m) => m.includes(`Detector weights from ${source}`))).toBe(true);
    runner.dispose();
    config.train_settings.weight_init = { dataset: 'superanimal', detector_snapshot_path: join(trainDir, 'no-such.pt') } as never;
    expect(() => new DetectorTrainingRunner({ config, trainDir: join(trainDir, '..'), train: data.train, test: data.test, epochs: 1, log: quiet, handleSignals: false })).toThrow(
      /train_settings\.weight_init\.detector_snapshot_path: .*no-such\.pt/,
    );
    config.train_settings.weight_init = null as never;
  });
});
