// Every net type's default config trains from random initialisation through PoseTrainingRunner, on a
// copy of openfield, with small crops (multiples of 32, as HRNet needs): finite, sane losses and a
// snapshot. HRNet's defaults freeze BatchNorm statistics (DeepLabCut starts from ImageNet weights);
// from random init the runner trains them instead and says so once, else hrnet_w32's loss reached 1e11.
// The HRNet run also reproduces the conditions of issue 12's segmentation fault: 64x64 crops, batch 2,
// no readback for many steps. Recording then ran ahead of lavapipe without bound (about 30 MB of
// driver memory a step) until the driver crashed; the process's memory must stay flat.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NET_TYPES } from '../../src/config/schema/pose-config.ts';
import { openProjectData } from '../../src/data/index.ts';
import { createDataset, readProject } from '../../src/project/index.ts';
import { PoseTrainingRunner, type LogSink } from '../../src/runner/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, copyProject, POSE_CONFIG } from './helpers.ts';

useGpu();
afterAll(cleanup);

const CROP = 64;
const NOTICE = /freeze_bn_stats is true, but the backbone has no pretrained weights: its BatchNorm statistics are trained in this run/;

async function trainDefault(netType: string, steps: number) {
  const dir = copyProject();
  createDataset(readProject(join(dir, 'config.yaml')), { shuffle: 1, seed: 42, netType, trainFraction: 0.95, overwrite: false });
  const data = openProjectData(join(dir, POSE_CONFIG));
  const cfg = structuredClone(data.config) as typeof data.config & { model: any; data: any; runner: any; train_settings: any };
  for (const mode of ['train', 'inference']) {
    if (cfg.model.backbone.type === 'HRNet') expect(cfg.data[mode].auto_padding).toMatchObject({ pad_width_divisor: 32, pad_height_divisor: 32 });
    if (netType.startsWith('top_down_')) Object.assign(cfg.data[mode].top_down_crop, { width: CROP, height: CROP });
  }
  if (!netType.startsWith('top_down_')) Object.assign(cfg.data.train.crop_sampling, { width: CROP, height: CROP });
  cfg.runner.eval_interval = 100;
  // Losses are read back only at the end of the epoch, as with the defaults (display_iters 500).
  cfg.train_settings.display_iters = 1000;
  const trainDir = join(dir, 'run');
  mkdirSync(trainDir, { recursive: true });
  const info: string[] = [];
  const log: LogSink = { info: (m) => info.push(m), progress: () => {}, endProgress: () => {} };
  const losses: number[] = [];
  const rss: number[] = [];
  const runner = new PoseTrainingRunner({
    config: cfg, trainDir, train: data.train, test: data.test, pcutoff: 0.4, epochs: 1, batchSize: 2, maxStepsPerEpoch: steps,
    log, handleSignals: false, onLosses: (_e, _s, l) => losses.push(l.total_loss!), onStep: () => rss.push(process.memoryUsage().rss),
  });
  const frozenInConfig = cfg.model.backbone.freeze_bn_stats === true;
  const hasBatchNorm = runner.model.backbone.hasBatchNorm;
  const frozen = runner.model.backbone.freezeBnStats;
  const result = await runner.fit();
  runner.dispose();
  return { result, losses, rss, info, frozenInConfig, hasBatchNorm, frozen };
}

describe.skipIf(!HAS_OPENFIELD)('default configs train from random initialisation', () => {
  for (const netType of NET_TYPES)
    it(`${netType}: 2 steps, finite and sane losses, a snapshot`, async () => {
      const r = await trainDefault(netType, 2);
      expect(r.result.status).toBe('completed');
      expect(r.losses).toHaveLength(2);
      // Heatmap MSE and locref Huber terms start well below 1; a diverging network gives 1e8 and more.
      for (const l of r.losses) expect(Number.isFinite(l) && l > 0 && l < 1, `loss ${l}`).toBe(true);
      expect(r.result.snapshots.length).toBeGreaterThan(0);
      expect(r.frozen).toBe(false);
      const notices = r.info.filter((m) => NOTICE.test(m));
      expect(notices).toHaveLength(r.frozenInConfig && r.hasBatchNorm ? 1 : 0);
      if (netType.includes('hrnet')) expect(r.frozenInConfig).toBe(true);
    });

  it('hrnet_w18, 64x64 crops, 16 steps without a readback: memory stays flat (the issue-12 segfault)', async () => {
    const r = await trainDefault('hrnet_w18', 16);
    expect(r.result.status).toBe('completed');
    expect(r.losses).toHaveLength(16);
    expect(r.losses.every((l) => Number.isFinite(l) && l < 1)).toBe(true);
    // Unpaced, RSS grew by about 30 MB a step here (360 MB over these 12 steps) and crashed near 14.
    const growth = (r.rss[15]! - r.rss[3]!) / 2 ** 20;
    expect(growth, `RSS grew ${growth.toFixed(0)} MiB from step 4 to 16`).toBeLessThan(120);
  });
});
