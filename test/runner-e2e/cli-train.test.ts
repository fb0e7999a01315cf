// The real CLI end to end on a copy of the openfield project: create-dataset, train a tiny model for
// 2 epochs of 2 steps, evaluate, predict; then the files DeepLabCut would expect exist and parse.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_PANDAS, python } from '../video/python.ts';
import { readTorchFile } from '../../src/io/index.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, cli, copyProject, POSE_CONFIG, SHUFFLE_DIR, TINY_SETS } from './helpers.ts';

afterAll(cleanup);

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu train / evaluate / predict', () => {
  it('trains, evaluates and predicts through the CLI', () => {
    const dir = copyProject();
    const made = cli('create-dataset', join(dir, 'config.yaml'));
    expect(made.code, made.stderr).toBe(0);
    const configText = readFileSync(join(dir, POSE_CONFIG), 'utf8');

    const t0 = Date.now();
    const trained = cli(
      'train', join(dir, 'config.yaml'), '--epochs', '2', '--batch-size', '2', '--steps-per-epoch', '2', '--eval-images', '1',
      ...TINY_SETS, '--set', 'runner.eval_interval=2', '--set', 'runner.snapshots.save_epochs=1', '--set', 'train_settings.display_iters=1',
    );
    expect(trained.code, trained.stderr + trained.stdout).toBe(0);
    const seconds = (Date.now() - t0) / 1000;
    expect(trained.stdout).toMatch(/Number of iterations: 1, loss: \d/);
    expect(trained.stdout).toMatch(/Epoch 2\/2 \(lr=[\d.e-]+\), train loss \d/);

    // Overrides apply to the run only (recorded in train.txt and the snapshots), not to pytorch_config.yaml.
    expect(readFileSync(join(dir, POSE_CONFIG), 'utf8')).toBe(configText);

    const train = join(dir, SHUFFLE_DIR, 'train');
    const snaps = readdirSync(train).filter((f) => f.endsWith('.pt')).sort();
    expect(snaps.length).toBeGreaterThan(0);
    for (const f of snaps) expect(f).toMatch(/^snapshot-(best-)?00[12]\.pt$/);
    // Always a final snapshot: a regular or a best one for epoch 2.
    expect(snaps.some((f) => f.endsWith('002.pt'))).toBe(true);
    // Epoch 1 (a save epoch, no evaluation yet) and epoch 2 (evaluated: the first best, or the last).
    expect(snaps).toContain('snapshot-001.pt');
    for (const f of snaps) {
      const s = readTorchFile(join(train, f)) as Map<string, unknown>;
      expect([...s.keys()].sort()).toEqual(['metadata', 'model', 'scheduler']);
      const meta = s.get('metadata') as Map<string, unknown>;
      expect(meta.get('epoch')).toBe(Number(/(\d+)\.pt$/.exec(f)![1]));
      const metrics = [...(meta.get('metrics') as Map<string, number>).keys()].sort();
      expect(metrics).toEqual(f.endsWith('002.pt') ? ['metrics/test.mAP', 'metrics/test.mAR', 'metrics/test.rmse', 'metrics/test.rmse_pcutoff'] : []);
      expect([...(meta.get('losses') as Map<string, number>).keys()]).toContain('train.total_loss');
      expect((s.get('model') as Map<string, unknown>).size).toBeGreaterThan(100);
    }

    const stats = readFileSync(join(train, 'learning_stats.csv'), 'utf8').trim().split('\n');
    expect(stats[0]!.split(',')).toEqual([
      'step', 'losses/eval.bodypart_heatmap', 'losses/eval.bodypart_locref', 'losses/eval.total_loss',
      'losses/train.bodypart_heatmap', 'losses/train.bodypart_locref', 'losses/train.total_loss',
      'metrics/test.mAP', 'metrics/test.mAR', 'metrics/test.rmse', 'metrics/test.rmse_pcutoff',
    ]);
    expect(stats.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2']);
    expect(stats[1]!.split(',')[1]).toBe(''); // no evaluation at epoch 1: empty cells
    expect(readFileSync(join(train, 'train.txt'), 'utf8')).toMatch(/ - INFO - Epoch 2\/2/);

    const evaluated = cli('evaluate', join(dir, 'config.yaml'), '--snapshot', 'last', '--max-images', '1');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const evalDir = join(dir, 'evaluation-results-pytorch/iteration-0/openfieldOct30-trainset95shuffle1');
    const results = readdirSync(evalDir).filter((f) => f.endsWith('-results.csv'));
    expect(results).toHaveLength(1);
    expect(results[0]).toMatch(/^DLC_Resnet50_openfieldOct30shuffle1_snapshot_(best-)?002-results\.csv$/);
    const [header, row] = readFileSync(join(evalDir, results[0]!), 'utf8').trim().split('\n');
    expect(header).toBe('%Training dataset,Shuffle number,Training epochs,Detector epochs (TD only),pcutoff,train rmse,train rmse_pcutoff,train mAP,train mAR,test rmse,test rmse_pcutoff,test mAP,test mAR');
    expect(row!.split(',').slice(0, 5)).toEqual(['0.95', '1', '2', '-1', '0.4']);
    // DeepLabCut's <scorer>.h5: every labelled image, the evaluated ones (one train, one test here) predicted.
    const h5 = join(evalDir, results[0]!.replace('-results.csv', '.h5'));
    if (HAS_PANDAS) {
      const shape = python(
        'import sys, pandas as pd\n' +
          'df = pd.read_hdf(sys.argv[1], "df_with_missing")\n' +
          'assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"], df.columns.names\n' +
          'assert df.index[0] == ("labeled-data", "m4s1", "img0000.png"), df.index[0]\n' +
          'print(df.shape[0], df.shape[1], int(df.notna().all(axis=1).sum()))',
        h5,
      );
      expect(shape.trim()).toBe('116 12 2');
    } else expect(existsSync(h5)).toBe(true);
    expect(existsSync(join(evalDir, '..', 'CombinedEvaluation-results.csv'))).toBe(true);
    const preds = readFileSync(join(evalDir, results[0]!.replace('-results.csv', '.csv')), 'utf8').split('\n');
    expect(preds[0]).toMatch(/^scorer,,,DLC_/);
    expect(preds[2]).toMatch(/^bodyparts,,,snout,snout,snout,leftear/);
    expect(preds[3]).toMatch(/^coords,,,x,y,likelihood/);
    expect(preds[4]).toMatch(/^labeled-data,m4s1,img\d{4}\.png,[\d.-]+,/);

    const out = join(dir, 'predictions');
    const predicted = cli('predict', train, join(dir, 'labeled-data/m4s1/img0001.png'), '--out', out);
    expect(predicted.code, predicted.stderr).toBe(0);
    const csv = readdirSync(out).filter((f) => f.endsWith('.csv'));
    expect(csv).toHaveLength(1);
    expect(readdirSync(out).sort()).toEqual([csv[0], csv[0]!.replace(/\.csv$/, '.h5')]);
    if (HAS_PANDAS) {
      const read = python('import sys, pandas as pd\ndf = pd.read_hdf(sys.argv[1], "predictions")\nprint(df.index[0], df.shape[1], list(df.columns.names))', join(out, csv[0]!.replace(/\.csv$/, '.h5')));
      expect(read.trim()).toBe(`${join(dir, 'labeled-data/m4s1/img0001.png')} 12 ['scorer', 'individuals', 'bodyparts', 'coords']`);
    }
    const lines = readFileSync(join(out, csv[0]!), 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(',')[0])).toEqual(['scorer', 'bodyparts', 'coords', 'img0001.png']);
    expect(lines[3]!.split(',')).toHaveLength(1 + 4 * 3);
    console.log(`train CLI: ${seconds.toFixed(1)} s for 2 epochs x 2 steps + eval`);
  }, 300_000);

  it('gives clear errors and exit codes for bad input', () => {
    const dir = copyProject();
    expect(cli('train').code).toBe(2);
    expect(cli('train', join(dir, 'config.yaml'), '--epochs', 'x').code).toBe(2);
    const noDataset = cli('train', join(dir, 'config.yaml'));
    expect(noDataset.code).toBe(1);
    expect(noDataset.stderr).toMatch(/pytorch_config\.yaml does not exist: run 'dlc-gpu create-dataset/);
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const badKey = cli('train', join(dir, 'config.yaml'), '--set', 'runner.optimizer.type=Nope');
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/runner\.optimizer\.type/);
    const badSnap = cli('train', join(dir, 'config.yaml'), '--snapshot', join(dir, 'missing.pt'));
    expect(badSnap.code).toBe(1);
    expect(badSnap.stderr).toMatch(/missing\.pt: snapshot does not exist/);
    const noSnap = cli('evaluate', join(dir, 'config.yaml'));
    expect(noSnap.code).toBe(1);
    expect(noSnap.stderr).toMatch(/no snapshots yet/);
    expect(cli('predict', join(dir, 'nothing.pt'), dir).code).toBe(1);
    for (const c of ['train', 'evaluate', 'predict']) expect(cli(c, '--help').stdout).toMatch(new RegExp(`Usage: dlc-gpu ${c}`));
  });
});
