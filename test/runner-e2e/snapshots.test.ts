// Snapshot naming, pruning and best handling (DeepLabCut's TorchSnapshotManager), the learning_stats.csv
// logger and the snapshot file layout: fast, no GPU.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostTensor, PyOrderedDict, readTorchFile } from '../../src/io/index.ts';
// Imported from the files (not src/runner/index.ts) so this suite needs no model code.
import { readSnapshot, resolveSnapshotPath, writeSnapshot } from '../../src/runner/checkpoint.ts';
import { ConsoleLog, LearningStatsLogger, progressBar } from '../../src/runner/logging.ts';
import { listSnapshots, SnapshotManager, snapshotName } from '../../src/runner/snapshots.ts';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'dlc-gpu-snap-'));
  temps.push(d);
  return d;
}

const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.pt')).sort();
const write = (path: string) => writeFileSync(path, 'x');

describe('snapshot names', () => {
  it('pads epochs to 3 digits and grows beyond', () => {
    expect(snapshotName(7)).toBe('snapshot-007.pt');
    expect(snapshotName(42, true)).toBe('snapshot-best-042.pt');
    expect(snapshotName(1234)).toBe('snapshot-1234.pt');
    expect(snapshotName(5, false, 'snapshot-detector')).toBe('snapshot-detector-005.pt');
  });

  it('lists by epoch with the best last, ignoring other files', () => {
    const d = tmp();
    for (const f of ['snapshot-010.pt', 'snapshot-best-015.pt', 'snapshot-005.pt', 'snapshot-1000.pt', 'snapshot-x.pt', 'other-001.pt', 'snapshot-002.pth']) write(join(d, f));
    expect(listSnapshots(d).map((s) => s.name)).toEqual(['snapshot-005.pt', 'snapshot-010.pt', 'snapshot-1000.pt', 'snapshot-best-015.pt']);
    expect(listSnapshots(d, 'snapshot', false).map((s) => s.epoch)).toEqual([5, 10, 15, 1000]);
    expect(resolveSnapshotPath(d)).toBe(join(d, 'snapshot-1000.pt'));
  });
});

describe('SnapshotManager.update', () => {
  const policy = (dir: string, o: Partial<ConstructorParameters<typeof SnapshotManager>[0]> = {}) =>
    new SnapshotManager({ dir, maxSnapshots: 2, saveEpochs: 2, keyMetric: 'test.mAP', keyMetricAsc: true, ...o });

  it('saves every save_epochs and the last epoch, keeping max_snapshots', async () => {
    const d = tmp();
    const m = policy(d);
    for (let e = 1; e <= 7; e++) await m.update(e, {}, e === 7, write);
    // 2, 4, 6 saved; 7 as the last; only the newest 2 kept.
    expect(files(d)).toEqual(['snapshot-006.pt', 'snapshot-007.pt']);
  });

  it('a new best replaces the regular snapshot of that epoch and renames or deletes the old best', async () => {
    const d = tmp();
    const m = policy(d, { maxSnapshots: 5 });
    await m.update(1, { 'metrics/test.mAP': 10 }, false, write); // best at 1 (not a save epoch)
    expect(files(d)).toEqual(['snapshot-best-001.pt']);
    await m.update(2, { 'metrics/test.mAP': 20 }, false, write); // new best at 2: old best (1) deleted, no regular 2
    expect(files(d)).toEqual(['snapshot-best-002.pt']);
    await m.update(3, { 'metrics/test.mAP': 20 }, false, write); // not strictly better: nothing
    expect(files(d)).toEqual(['snapshot-best-002.pt']);
    await m.update(4, { 'metrics/test.mAP': 15 }, false, write); // worse, save epoch: regular
    expect(files(d)).toEqual(['snapshot-004.pt', 'snapshot-best-002.pt']);
    await m.update(5, { 'metrics/test.mAP': 30 }, true, write); // best at the last epoch: old best (2, a save epoch) renamed
    expect(files(d)).toEqual(['snapshot-002.pt', 'snapshot-004.pt', 'snapshot-best-005.pt']);
  });

  it('the best does not count toward max_snapshots; NaN metrics never make a best', async () => {
    const d = tmp();
    const m = policy(d, { maxSnapshots: 1, saveEpochs: 1 });
    await m.update(1, { 'metrics/test.mAP': NaN }, false, write);
    expect(files(d)).toEqual(['snapshot-001.pt']);
    await m.update(2, { 'metrics/test.mAP': 1 }, false, write);
    await m.update(3, { 'metrics/test.mAP': 0.5 }, false, write);
    await m.update(4, { 'metrics/test.mAP': 0.5 }, true, write);
    expect(files(d)).toEqual(['snapshot-004.pt', 'snapshot-best-002.pt']);
  });

  it('key_metric_asc false: lower is better (rmse)', async () => {
    const d = tmp();
    const m = policy(d, { keyMetric: 'test.rmse', keyMetricAsc: false, saveEpochs: 100 });
    await m.update(1, { 'metrics/test.rmse': 9 }, false, write);
    await m.update(2, { 'metrics/test.rmse': 12 }, false, write);
    await m.update(3, { 'metrics/test.rmse': 3 }, false, write);
    expect(files(d)).toEqual(['snapshot-best-003.pt']);
  });

  it('forgets the best metric on resume: the first evaluation replaces the old best', async () => {
    const d = tmp();
    await policy(d, { saveEpochs: 5 }).update(5, { 'metrics/test.mAP': 90 }, false, write);
    const resumed = policy(d, { saveEpochs: 5 });
    await resumed.update(6, { 'metrics/test.mAP': 10 }, false, write);
    expect(files(d)).toEqual(['snapshot-005.pt', 'snapshot-best-006.pt']);
  });

  it('saveNow writes a regular snapshot whatever the policy', async () => {
    const d = tmp();
    const m = policy(d, { saveEpochs: 100 });
    const u = await m.saveNow(3, write);
    expect(u.saved).toBe(join(d, 'snapshot-003.pt'));
    expect(existsSync(u.saved!)).toBe(true);
  });
});

describe('learning_stats.csv', () => {
  it('has step and the sorted metric names; merges rows; reloads and extends on resume', () => {
    const d = tmp();
    const path = join(d, 'learning_stats.csv');
    const log = new LearningStatsLogger(path);
    log.log(1, { 'losses/train.total_loss': 0.5, 'losses/train.bodypart_heatmap': 0.25 });
    log.log(2, { 'losses/train.total_loss': 0.25, 'metrics/test.mAP': 12.5, 'metrics/test.rmse': NaN });
    expect(log.text()).toBe(
      'step,losses/train.bodypart_heatmap,losses/train.total_loss,metrics/test.mAP,metrics/test.rmse\n1,0.25,0.5,,\n2,,0.25,12.5,nan\n',
    );
    const again = new LearningStatsLogger(path);
    again.load(1);
    again.log(2, { 'losses/train.total_loss': 0.125 });
    expect(again.text()).toBe('step,losses/train.bodypart_heatmap,losses/train.total_loss\n1,0.25,0.5\n2,,0.125\n');
  });
});

describe('snapshot files', () => {
  it("hold DeepLabCut's keys and round-trip model, optimizer and scheduler state", () => {
    const d = tmp();
    const path = join(d, 'snapshot-003.pt');
    writeSnapshot(path, {
      metadata: { epoch: 3, metrics: { 'metrics/test.mAP': 50 }, losses: { 'train.total_loss': 0.125 } },
      model: new Map([
        ['backbone.conv.weight', { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4), dtype: 'float32' as const }],
        ['backbone.bn.num_batches_tracked', { shape: [], data: Float32Array.of(7), dtype: 'int64' as const }],
      ]),
      optimizer: {
        state: new Map([[0, { step: 2, exp_avg: { shape: [2, 2], data: Float32Array.of(0.5, 0, 0, 1), dtype: 'float32' as const } }]]),
        param_groups: [{ lr: 1, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, amsgrad: false, params: [0] }],
      },
      scheduler: { base_lrs: [1], last_epoch: 3, _step_count: 4, _last_lr: [0.5], lr_list: [[0.5], [0.25]], milestones: [1, 2] },
    });
    const raw = readTorchFile(path, { exactFloats: true }) as Map<string, unknown>;
    expect([...raw.keys()]).toEqual(['metadata', 'model', 'optimizer', 'scheduler']);
    expect(raw.get('model')).toBeInstanceOf(PyOrderedDict);
    const nbt = (raw.get('model') as Map<string, HostTensor>).get('backbone.bn.num_batches_tracked')!;
    expect(nbt.dtype).toBe('int64');
    expect(nbt.shape).toEqual([]);
    const back = readSnapshot(path);
    expect(back.metadata).toEqual({ epoch: 3, metrics: { 'metrics/test.mAP': 50 }, losses: { 'train.total_loss': 0.125 } });
    expect(Array.from(back.model.get('backbone.conv.weight')!.data)).toEqual([1, 2, 3, 4]);
    expect(back.optimizer!.state.get(0)!.step).toBe(2);
    expect(back.optimizer!.param_groups[0]).toMatchObject({ lr: 1, betas: [0.9, 0.999], params: [0] });
    expect(back.scheduler).toMatchObject({ base_lrs: [1], last_epoch: 3, _last_lr: [0.5], lr_list: [[0.5], [0.25]], milestones: [1, 2] });
  });
});

describe('terminal output', () => {
  it('draws a progress bar with loss, images/s and ETA on a TTY, and plain lines otherwise', () => {
    const p = { epoch: 2, epochs: 10, step: 5, steps: 10, loss: 0.0123456, imagesPerSecond: 3.25, etaSeconds: 3725 };
    expect(progressBar(p, 10)).toBe('epoch 2/10 [#####-----] 5/10 loss 0.01235 3.3 img/s ETA 1:02:05');
    const d = tmp();
    let tty = '';
    const onTty = new ConsoleLog(join(d, 'a.txt'), { write: (s: string) => (tty += s), isTTY: true });
    onTty.progress(p);
    onTty.info('Epoch 2/10');
    expect(tty).toBe(`\r${progressBar(p)}\x1b[K\nEpoch 2/10\n`);
    let plain = '';
    const piped = new ConsoleLog(join(d, 'b.txt'), { write: (s: string) => (plain += s) });
    piped.progress(p);
    piped.info('Epoch 2/10');
    piped.endProgress();
    expect(plain).toBe('Epoch 2/10\n');
    expect(readFileSync(join(d, 'b.txt'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - INFO - Epoch 2\/10\n$/);
  });
});
