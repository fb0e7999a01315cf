// The runner in-process on a copy of openfield with the tiny model: same seed -> same losses; a run
// resumed from a snapshot (model, optimizer, scheduler, epoch) continues the exact loss curve of an
// uninterrupted one; a non-finite loss stops the run naming epoch, step and terms, keeping the last snapshot.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PoseConfig } from '../../src/config/index.ts';
import { openProjectData } from '../../src/data/index.ts';
import { engine } from '../../src/index.ts';
import { createDataset, readProject } from '../../src/project/index.ts';
import { PoseTrainingRunner, readSnapshot, type LogSink, type PoseTrainingOptions } from '../../src/runner/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, copyProject, POSE_CONFIG, tinyModelConfig } from './helpers.ts';

useGpu();
afterAll(cleanup);

const quiet: LogSink = { info: () => {}, progress: () => {}, endProgress: () => {} };

function tiny(cfg: PoseConfig): PoseConfig {
  const c = tinyModelConfig(cfg, 64);
  c.train_settings.display_iters = 1;
  c.runner.eval_interval = 100;
  c.runner.snapshots = { max_snapshots: 5, save_epochs: 1, save_optimizer_state: true };
  // A milestone at epoch 1 so the resumed run must restore the scheduler to get the right LR.
  c.runner.scheduler = { type: 'LRListScheduler', params: { lr_list: [[2e-4]], milestones: [1] } };
  return c;
}

describe.skipIf(!HAS_OPENFIELD)('PoseTrainingRunner', () => {
  const dir = HAS_OPENFIELD ? copyProject() : '';
  if (HAS_OPENFIELD) createDataset(readProject(join(dir, 'config.yaml')), { shuffle: 1, seed: 42, netType: 'resnet_50', trainFraction: 0.95, overwrite: false });
  const data = HAS_OPENFIELD ? openProjectData(join(dir, POSE_CONFIG)) : (null as never);

  async function run(name: string, o: Partial<PoseTrainingOptions> & { config?: PoseConfig } = {}) {
    const trainDir = join(dir, name);
    mkdirSync(trainDir, { recursive: true });
    const losses: number[] = [];
    const lrs: number[] = [];
    const runner = new PoseTrainingRunner({
      config: tiny(data.config), trainDir, train: data.train, test: data.test, pcutoff: 0.4,
      maxStepsPerEpoch: 3, log: quiet, handleSignals: false,
      onLosses: (_e, _s, l) => {
        losses.push(l.total_loss!);
        lrs.push(runner.lr);
      },
      ...o,
    });
    const result = await runner.fit();
    runner.dispose();
    return { result, losses, lrs, trainDir };
  }

  it('keeps GPU memory flat across epochs, evaluation included', async () => {
    const perStep: { epoch: number; step: number; bytes: number; buffers: number }[] = [];
    const config = tiny(data.config) as PoseConfig & { runner: { eval_interval: number } };
    config.runner.eval_interval = 1;
    const r = await run('flat', {
      config, epochs: 4, maxStepsPerEpoch: 2, maxEvalImages: 2,
      onStep: (s) => perStep.push({ epoch: s.epoch, step: s.step, bytes: s.liveBytes, buffers: engine().stats().liveBuffers }),
    });
    expect(r.result.status).toBe('completed');
    expect(perStep).toHaveLength(8);
    // The first epoch creates the optimizer state; from then on every epoch's steps hold the same buffers and bytes.
    const epoch = (e: number) => perStep.filter((s) => s.epoch === e).map(({ step, bytes, buffers }) => ({ step, bytes, buffers }));
    expect(epoch(3)).toEqual(epoch(2));
    expect(epoch(4)).toEqual(epoch(2));
  });

  it('resumed training continues the exact loss curve of an uninterrupted run', async () => {
    const before = engine().stats().liveBuffers;
    const full = await run('full', { epochs: 2 });
    expect(full.result.status).toBe('completed');
    expect(full.losses).toHaveLength(6);
    expect(full.losses.every(Number.isFinite)).toBe(true);

    const first = await run('split', { epochs: 1 });
    // Same seed, same losses.
    expect(first.losses).toEqual(full.losses.slice(0, 3));
    const snap = join(first.trainDir, 'snapshot-001.pt');
    expect(existsSync(snap)).toBe(true);
    expect(readSnapshot(snap).metadata.epoch).toBe(1);

    const resumed = await run('split', { epochs: 1, snapshot: snap });
    expect(resumed.result).toMatchObject({ status: 'completed', startEpoch: 1, endEpoch: 2 });
    expect(resumed.losses).toEqual(full.losses.slice(3));
    expect(existsSync(join(first.trainDir, 'snapshot-002.pt'))).toBe(true);
    // Nothing left on the GPU by the three runs (model, optimizer and step temporaries released).
    expect(engine().stats().liveBuffers).toBeLessThanOrEqual(before + 8);
  });

  it('stops on a non-finite loss, naming epoch, step and terms, and keeps the last good snapshot', async () => {
    const plainCfg = tiny(data.config) as PoseConfig & { runner: any };
    plainCfg.runner.snapshots.save_optimizer_state = false;
    const good = await run('diverge', { epochs: 1, config: plainCfg });
    const snap = join(good.trainDir, 'snapshot-001.pt');
    const cfg = tiny(data.config) as PoseConfig & { runner: any };
    cfg.runner.optimizer = { type: 'SGD', params: { lr: 1e30 } };
    cfg.runner.scheduler = null;
    cfg.runner.snapshots.save_optimizer_state = false;
    const bad = await run('diverge', { epochs: 1, snapshot: snap, config: cfg });
    expect(bad.result.status).toBe('diverged');
    expect(bad.result.message).toMatch(/non-finite loss at epoch 2, step \d+: bodypart_heatmap=.*total_loss=/);
    expect(bad.result.message).toContain(snap);
    expect(existsSync(snap)).toBe(true);
    expect(existsSync(join(good.trainDir, 'snapshot-002.pt'))).toBe(false);
  });
});
