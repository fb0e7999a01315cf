// Issue 19: one short real training run (tiny model, 1 step) for what needs a snapshot. Overrides apply to the
// run only and are recorded in train.txt and in the snapshot; a second train on the running shuffle refuses
// naming it; a stale lock is cleared; a failing run leaves pytorch_config.yaml as it was and train.txt says why;
// evaluate and predict rebuild the model from the snapshot's recorded overrides; predict goes on past a corrupt image.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writePng } from '../../src/io/image.ts';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cliAsync, TINY_SETS } from '../runner-e2e/helpers.ts';
import { cleanup, cli, POSE1, scratchProject } from './helpers.ts';

afterAll(cleanup);

const QUICK = ['--epochs', '1', '--steps-per-epoch', '1', '--batch-size', '1', '--eval-images', '1', ...TINY_SETS];

describe.skipIf(!HAS_OPENFIELD)('a training run and what it leaves', () => {
  it('overrides, locks, the ending error, and evaluate/predict from the recorded overrides', async () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const pose = join(dir, POSE1);
    const train = join(pose, '..');
    const original = readFileSync(pose, 'utf8');

    // A lock left by a process that has exited.
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    mkdirSync(train, { recursive: true });
    writeFileSync(join(train, 'train.lock'), JSON.stringify({ pid: dead, host: hostname(), started: 'earlier', command: 'dlc-gpu train' }));

    const child = cliAsync('train', join(dir, 'config.yaml'), ...QUICK);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // While it runs, the lock is the child's and a second run refuses naming it.
    for (let i = 0; i < 300 && !readLock(train)?.includes(`"pid":${child.pid}`); i++) await new Promise((r) => setTimeout(r, 100));
    const second = cli('train', join(dir, 'config.yaml'), ...QUICK);
    const code = await exited;
    expect(code, out).toBe(0);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another training run is using this shuffle: process ${child.pid} on ${hostname()}`);
    expect(existsSync(join(train, 'train.lock'))).toBe(false);

    // The user's config is as it was; the overrides are in train.txt and in the snapshot.
    expect(readFileSync(pose, 'utf8')).toBe(original);
    const log = readFileSync(join(train, 'train.txt'), 'utf8');
    expect(log).toContain(`Cleared a stale lock left by process ${dead}`);
    expect(log).toContain(`Overrides for this run (${pose} is unchanged; --save-overrides writes them): train_settings.epochs=1, train_settings.batch_size=1, model.backbone.model_name=resnet18`);
    const snapshots = readdirSync(train).filter((f) => f.endsWith('.pt'));
    expect(snapshots.length).toBeGreaterThan(0);
    const meta = readSnapshot(join(train, snapshots[0]!)).metadata;
    expect(meta.overrides).toEqual(['train_settings.epochs=1', 'train_settings.batch_size=1', ...TINY_SETS.filter((a) => a !== '--set')]);

    // Results that cannot be written are refused before any image is predicted.
    writeFileSync(join(dir, 'evaluation-results-pytorch'), 'a file where the results folder goes');
    const blocked = cli('evaluate', join(dir, 'config.yaml'), '--max-images', '1');
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain(`cannot write evaluation results to ${join(dir, 'evaluation-results-pytorch/iteration-0/openfieldOct30-trainset95shuffle1')}: `);
    expect(blocked.stdout).not.toContain('Predicting');
    rmSync(join(dir, 'evaluation-results-pytorch'));

    // evaluate --snapshot <train folder>: the folder's snapshot, the model rebuilt from the recorded overrides.
    const ev = cli('evaluate', join(dir, 'config.yaml'), '--snapshot', train, '--max-images', '1');
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toContain('was trained with: train_settings.epochs=1, train_settings.batch_size=1, model.backbone.model_name=resnet18');

    // predict on a folder with a corrupt image and a text file: the others get rows, the failure is listed, exit 1.
    const images = join(dir, 'to-predict');
    mkdirSync(images);
    copyFileSync(join(dir, 'labeled-data/m4s1/img0001.png'), join(images, 'a.png'));
    copyFileSync(join(dir, 'labeled-data/m4s1/img0002.png'), join(images, 'c.png'));
    writeFileSync(join(images, 'b.png'), readFileSync(join(dir, 'labeled-data/m4s1/img0003.png')).subarray(0, 300));
    writeFileSync(join(images, 'notes.txt'), 'not an image');
    writePng(join(images, 'd.png'), { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) });
    const pr = cli('predict', train, images);
    expect(pr.code, pr.stderr).toBe(1);
    expect(pr.stderr).toContain('Skipping 1 file of unsupported types (.txt)');
    expect(pr.stderr).toMatch(/1 of 4 images could not be read and have no row:\n {2}.*b\.png/);
    expect(pr.stderr).toContain(`Warning: ${join(images, 'd.png')}: 8x8 is smaller than the model's stride (16 px)`);
    const csv = readdirSync(images).find((f) => f.endsWith('.csv'))!;
    expect(readFileSync(join(images, csv), 'utf8').trim().split('\n').slice(3).map((l) => l.split(',')[0])).toEqual(['a.png', 'c.png', 'd.png']);

    // Another architecture's snapshot: both net types and a handful of keys, not every key name.
    expect(cli('create-dataset', join(dir, 'config.yaml'), '--shuffle', '2', '--net-type', 'hrnet_w18').code).toBe(0);
    const foreign = cli('evaluate', join(dir, 'config.yaml'), '--shuffle', '2', '--snapshot', join(train, snapshots[0]!), '--max-images', '1');
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain(`${join(train, snapshots[0]!)} was not trained as this config's model (net_type hrnet_w18); the shuffle it comes from has net_type resnet_50`);
    expect(foreign.stderr).toMatch(/missing keys \(\d+\): [^\n]*, \.\.\. \(\d+ more\)/);
    expect(foreign.stdout).not.toContain('was trained with');
    expect(foreign.stderr.length).toBeLessThan(2000);

    // Resuming needs the snapshot's model again: its recorded model.* overrides are applied first.
    const crops = TINY_SETS.filter((a) => a.startsWith('data.')).flatMap((a) => ['--set', a]);
    const resumed = cli('train', join(dir, 'config.yaml'), '--snapshot', train, '--epochs', '1', '--steps-per-epoch', '1', '--batch-size', '1', '--eval-images', '1', ...crops);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('Model overrides recorded in the snapshot resumed from: model.backbone.model_name=resnet18, model.backbone_output_channels=512');
    expect(resumed.stdout).toMatch(/Resuming from .*snapshot-001\.pt \(epoch 1/);
    expect(readFileSync(pose, 'utf8')).toBe(original);

    // A run that fails (weights that do not exist): the config keeps no trace of it; train.txt says why it ended.
    const failed = cli('train', join(dir, 'config.yaml'), ...QUICK, '--set', `model.backbone.pretrained=${join(dir, 'missing.safetensors')}`);
    expect(failed.code).toBe(1);
    expect(readFileSync(pose, 'utf8')).toBe(original);
    expect(readFileSync(join(train, 'train.txt'), 'utf8')).toMatch(/ - ERROR - Training ended with an error: .*missing\.safetensors/);
    expect(existsSync(join(train, 'train.lock'))).toBe(false);

    // --save-overrides is the explicit way to keep them (validated first, like config set).
    const saved = cli('train', join(dir, 'config.yaml'), '--save-overrides', '--set', 'runner.optimizer.type=Adamw');
    expect(saved.code).toBe(1);
    expect(saved.stderr).toMatch(/the overrides would make the config invalid \(nothing was written\)/);
    expect(readFileSync(pose, 'utf8')).toBe(original);
    // Saved once valid, before the run: here the run then fails on the weights, and the file keeps what was asked.
    const kept = cli('train', join(dir, 'config.yaml'), '--save-overrides', '--set', 'train_settings.epochs=3', '--set', `model.backbone.pretrained=${join(dir, 'missing.safetensors')}`);
    expect(kept.code).toBe(1);
    const now = readFileSync(pose, 'utf8');
    expect(now).toMatch(/^ {2}epochs: 3$/m);
    expect(now).toContain(`pretrained: ${join(dir, 'missing.safetensors')}`);
    expect(readFileSync(join(train, 'train.txt'), 'utf8')).toContain(`Overrides saved to ${pose}: train_settings.epochs=3`);
  }, 300_000);
});

function readLock(train: string): string | undefined {
  try {
    return readFileSync(join(train, 'train.lock'), 'utf8');
  } catch {
    return undefined;
  }
}
