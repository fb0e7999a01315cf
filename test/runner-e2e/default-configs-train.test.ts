// hrnet_w32 (bottom-up) and top_down_hrnet_w32 from their default configs through the same training runner
// as ResNet, on a copy of openfield: the default configs keep auto_padding, and a short run with small
// crops (multiples of 32, as HRNet needs) completes with finite losses and writes a snapshot.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openProjectData } from '../../src/data/index.ts';
import { createDataset, readProject } from '../../src/project/index.ts';
import { PoseTrainingRunner, type LogSink } from '../../src/runner/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, copyProject, POSE_CONFIG } from './helpers.ts';

useGpu();
afterAll(cleanup);

const quiet: LogSink = { info: () => {}, progress: () => {}, endProgress: () => {} };
const CROP = 64;

describe.skipIf(!HAS_OPENFIELD)('HRNet pose models train through PoseTrainingRunner', () => {
  for (const netType of ['hrnet_w32', 'top_down_hrnet_w32'])
    it(`${netType}: default config, 2 steps`, async () => {
      const dir = copyProject();
      createDataset(readProject(join(dir, 'config.yaml')), { shuffle: 1, seed: 42, netType, trainFraction: 0.95, overwrite: false });
      const data = openProjectData(join(dir, POSE_CONFIG));
      const cfg = structuredClone(data.config) as typeof data.config & { model: any; data: any; runner: any; train_settings: any };
      expect(cfg.model.backbone).toMatchObject({ type: 'HRNet', model_name: 'hrnet_w32' });
      for (const mode of ['train', 'inference']) expect(cfg.data[mode].auto_padding).toMatchObject({ pad_width_divisor: 32, pad_height_divisor: 32 });
      // Small crops keep lavapipe fast; both are multiples of 32.
      if (netType.startsWith('top_down_')) for (const mode of ['train', 'inference']) Object.assign(cfg.data[mode].top_down_crop, { width: CROP, height: CROP });
      else Object.assign(cfg.data.train.crop_sampling, { width: CROP, height: CROP });
      cfg.runner.eval_interval = 100;
      cfg.train_settings.display_iters = 1;
      const trainDir = join(dir, 'hrnet-run');
      mkdirSync(trainDir, { recursive: true });
      const losses: number[] = [];
      const runner = new PoseTrainingRunner({
        config: cfg, trainDir, train: data.train, test: data.test, pcutoff: 0.4, epochs: 1, batchSize: 2, maxStepsPerEpoch: 2,
        log: quiet, handleSignals: false, onLosses: (_e, _s, l) => losses.push(l.total_loss!),
      });
      const result = await runner.fit();
      runner.dispose();
      expect(result.status).toBe('completed');
      expect(losses).toHaveLength(2);
      expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      expect(result.snapshots.length).toBeGreaterThan(0);
    });
});
