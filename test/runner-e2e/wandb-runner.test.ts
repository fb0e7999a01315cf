// The training runner with `logger: {type: WandbLogger}` on a small demo project: against a fake W&B
// server the run is created and every epoch's learning_stats.csv row arrives as a history line; against
// an unreachable server there is exactly one warning and the local logs are what a run without a logger writes.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import type { PoseConfig } from '../../src/config/index.ts';
import { openProjectData } from '../../src/data/index.ts';
import { writeDemoProject } from '../../src/demo/project.ts';
import { createDataset, readProject } from '../../src/project/index.ts';
import { PoseTrainingRunner, type LogSink } from '../../src/runner/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { deadUrl, fakeWandb } from '../helpers/fake-wandb.ts';
import { tinyModelConfig } from './helpers.ts';

useGpu();
const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-wandb-'));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function small(cfg: PoseConfig, logger: unknown): PoseConfig {
  const c = tinyModelConfig(cfg, 48);
  c.runner.eval_interval = 2;
  c.logger = logger;
  return c;
}

describe('PoseTrainingRunner with a WandbLogger', () => {
  const config = writeDemoProject(join(dir, 'project'), { frames: 6, width: 48, height: 48, seed: 2, trainFraction: 0.67 });
  const result = createDataset(readProject(config), { shuffle: 1, seed: 42, netType: 'resnet_50', trainFraction: 0.67, overwrite: false });
  const data = openProjectData(result.layout.poseConfig);

  async function train(name: string, logger: unknown, wandb?: { baseUrl: string; apiKey: string }) {
    const trainDir = join(dir, name);
    mkdirSync(trainDir, { recursive: true });
    const lines: string[] = [];
    const log: LogSink = { info: (m) => lines.push(m), progress: () => {}, endProgress: () => {} };
    const runner = new PoseTrainingRunner({
      config: small(data.config, logger), trainDir, train: data.train, test: data.test, pcutoff: 0.6,
      epochs: 2, maxStepsPerEpoch: 1, maxEvalImages: 1, log, handleSignals: false, wandb,
    });
    const r = await runner.fit();
    runner.dispose();
    expect(r.status).toBe('completed');
    return { lines, stats: readFileSync(join(trainDir, 'learning_stats.csv'), 'utf8') };
  }

  it('streams each epoch to W&B, and keeps the local logs unchanged when W&B is unreachable', async () => {
    const plain = await train('plain', null);
    const logger = { type: 'WandbLogger', project_name: 'demo', run_name: 'shuffle1', tags: ['t'] };

    const fake = await fakeWandb();
    servers.push(fake.server);
    const streamed = await train('fake', logger, { baseUrl: fake.url, apiKey: 'k' });
    expect(streamed.lines.filter((l) => l.startsWith('Warning'))).toEqual([]);
    expect(fake.requests[0]!.body.variables).toMatchObject({ project: 'demo', displayName: 'shuffle1', tags: ['t'] });
    expect(JSON.parse(fake.requests[0]!.body.variables.config).net_type.value).toBe('resnet_50');
    const history = fake.requests.slice(1, -1).map((r) => JSON.parse(r.body.files['wandb-history.jsonl'].content[0].replace(/NaN/g, 'null')));
    expect(history.map((h) => h._step)).toEqual([1, 2]);
    // Each history line carries the learning_stats.csv row of its epoch.
    const [header, ...rows] = streamed.stats.trim().split('\n').map((l) => l.split(','));
    rows.forEach((row, i) => {
      header!.slice(1).forEach((col, j) => {
        const cell = row[j + 1]!;
        if (cell === '' || cell === 'nan') return;
        expect(history[i]![col], `epoch ${i + 1} ${col}`).toBeCloseTo(Number(cell), 6);
      });
    });
    // Epoch 2 was evaluated: its line has the metrics (NaN ones too, as JSON NaN).
    expect(Object.keys(history[1]!)).toEqual(expect.arrayContaining(['metrics/test.rmse', 'metrics/test.mAP', 'losses/eval.total_loss']));
    expect(Object.keys(history[0]!)).not.toContain('metrics/test.rmse');
    expect(fake.requests.at(-1)!.body).toEqual({ complete: true, exitcode: 0 });

    const dead = await train('dead', logger, { baseUrl: await deadUrl(), apiKey: 'k' });
    const warnings = dead.lines.filter((l) => l.startsWith('Warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/WandbLogger: W&B is not reachable/);
    // Same seed, same run: the local log is byte for byte what the run without a logger wrote.
    expect(dead.stats).toBe(plain.stats);
    expect(streamed.stats).toBe(plain.stats);
  });

  it('image_log_interval: uploads train-0 and test-0 inputs, heatmaps and targets as PNGs the history row refers to', async () => {
    const fake = await fakeWandb();
    servers.push(fake.server);
    const logger = { type: 'WandbLogger', project_name: 'demo', run_name: 'images', image_log_interval: 2 };
    const run = await train('images', logger, { baseUrl: fake.url, apiKey: 'k' });
    expect(run.lines.filter((l) => l.startsWith('Warning'))).toEqual([]);
    expect(run.lines).toContain('WandbLogger: run images at http://127.0.0.1:' + new URL(fake.url).port + '/ent/demo/runs/' + fake.requests[0]!.body.variables.name);
    const creates = fake.requests.filter((r) => r.path === '/graphql' && String(r.body.query).includes('createRunFiles'));
    // Only epoch 2 is a multiple of the interval: one createRunFiles, for 2 x (input + 4 bodypart heatmaps).
    expect(creates).toHaveLength(1);
    const files = creates[0]!.body.variables.files as string[];
    const keys = ['input', 'heatmap.0', 'heatmap.1', 'heatmap.2', 'heatmap.3'];
    expect(files.map((f) => f.replace(/_2_[0-9a-f]{20}\.png$/, ''))).toEqual([...keys.map((k) => `media/images/train-0.${k}`), ...keys.map((k) => `media/images/test-0.${k}`)]);
    expect(creates[0]!.body.variables).toMatchObject({ entity: 'ent', project: 'demo' });
    const history = fake.requests.filter((r) => r.path.endsWith('/file_stream') && r.body.files).map((r) => JSON.parse(r.body.files['wandb-history.jsonl'].content[0].replace(/NaN/g, 'null')));
    expect(history.map((h) => h._step)).toEqual([1, 2]);
    expect(history[0]!['train-0.input']).toBeUndefined();
    for (const f of files) {
      const key = f.replace(/^media\/images\//, '').replace(/_2_[0-9a-f]{20}\.png$/, '');
      const up = fake.uploads.get(f);
      expect(up, f).toBeDefined();
      expect(up!.headers['content-type']).toBe('image/png');
      const png = decode(up!.body);
      expect(history[1]![key]).toEqual({ _type: 'image-file', path: f, sha256: createHash('sha256').update(up!.body).digest('hex'), size: up!.body.length, format: 'png', width: png.width, height: png.height });
      if (key.endsWith('.input')) {
        // The 48x48 model input, in colour, with the ground truth drawn in pure red.
        expect([png.width, png.height, png.channels]).toEqual([48, 48, 3]);
        let red = 0;
        for (let i = 0; i < png.data.length; i += 3) if (png.data[i] === 255 && png.data[i + 1] === 0 && png.data[i + 2] === 0) red++;
        expect(red).toBeGreaterThan(20);
      } else {
        // Heatmap above its target, grey: 48 px / 16 = 3 features, deconv (kernel 3, stride 2) to 7x7.
        expect([png.width, png.height, png.channels]).toEqual([7, 14, 1]);
        // The Gaussian target (bottom half) peaks near 255 for the train image's visible keypoints.
        const target = Array.from(png.data.slice(49));
        if (key.startsWith('train-0')) expect(Math.max(...target)).toBeGreaterThan(150);
      }
    }
  });
});
