// The training runner with `logger: {type: WandbLogger}` on a small demo project: against a fake W&B
// server the run is created and every epoch's learning_stats.csv row arrives as a history line; against
// an unreachable server there is exactly one warning and the local logs are what a run without a logger writes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
