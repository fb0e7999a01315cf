// WandbLogger against a local fake W&B server: the run is created by a GraphQL upsertBucket carrying
// the config, each logged epoch is one wandb-history.jsonl line at the next offset, and the run ends with
// {"complete": true}; with no key, an unreachable server or a GraphQL error it warns exactly once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { netrcPassword, WandbLogger } from '../../src/runner/wandb.ts';
import { deadUrl, fakeWandb, type Received } from '../helpers/fake-wandb.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

const settings = { project_name: 'dlc-demo', run_name: 'resnet18-shuffle1', tags: ['demo', 'split=1'], wandb_kwargs: { notes: 'from a test' } };

describe('WandbLogger', () => {
  it('creates the run with its config and streams one history line per logged epoch', async () => {
    const fake = await fakeWandb();
    servers.push(fake.server);
    const warnings: string[] = [];
    const logger = new WandbLogger(settings, { net_type: 'resnet_50', train_settings: { epochs: 2 } }, (m) => warnings.push(m), { baseUrl: fake.url, apiKey: 'secret' });
    logger.log(1, { 'losses/train.total_loss': 0.5 });
    logger.log(2, { 'losses/train.total_loss': 0.25, 'metrics/test.rmse': 7.5, 'metrics/test.rmse_pcutoff': NaN });
    await logger.finish(0);
    expect(warnings).toEqual([]);
    expect(fake.requests).toHaveLength(4);
    const [create, h1, h2, done] = fake.requests;
    expect(create!.path).toBe('/graphql');
    expect(create!.auth).toBe(`Basic ${Buffer.from('api:secret').toString('base64')}`);
    expect(create!.body.query).toMatch(/mutation UpsertBucket\(/);
    expect(create!.body.query).toMatch(/upsertBucket\(input: \{/);
    expect(create!.body.variables).toMatchObject({ name: logger.runId, project: 'dlc-demo', displayName: 'resnet18-shuffle1', tags: ['demo', 'split=1'], notes: 'from a test' });
    expect(JSON.parse(create!.body.variables.config)).toEqual({ net_type: { desc: null, value: 'resnet_50' }, train_settings: { desc: null, value: { epochs: 2 } } });

    const stream = `/files/ent/dlc-demo/${logger.runId}/file_stream`;
    expect([h1!.path, h2!.path, done!.path]).toEqual([stream, stream, stream]);
    const history = (r: Received) => r.body.files['wandb-history.jsonl'];
    expect(history(h1!).offset).toBe(0);
    expect(history(h2!).offset).toBe(1);
    // Lines are JSON as Python's json.loads reads it (NaN allowed), with _step = epoch.
    const line1 = JSON.parse(history(h1!).content[0]);
    expect(line1).toMatchObject({ _step: 1, 'losses/train.total_loss': 0.5 });
    expect(typeof line1._timestamp).toBe('number');
    const line2 = history(h2!).content[0] as string;
    expect(line2).toContain('"metrics/test.rmse_pcutoff":NaN');
    expect(JSON.parse(line2.replace('NaN', 'null'))).toMatchObject({ _step: 2, 'losses/train.total_loss': 0.25, 'metrics/test.rmse': 7.5 });
    expect(JSON.parse(h2!.body.files['wandb-summary.json'].content[0].replace('NaN', 'null'))).toMatchObject({ _step: 2, 'metrics/test.rmse': 7.5 });
    expect(done!.body).toEqual({ complete: true, exitcode: 0 });
    expect(logger.url).toBe(`${fake.url}/ent/dlc-demo/runs/${logger.runId}`);
  });

  it('without an API key warns once, naming WANDB_API_KEY, and sends nothing', async () => {
    const fake = await fakeWandb();
    servers.push(fake.server);
    const warnings: string[] = [];
    const logger = new WandbLogger(settings, {}, (m) => warnings.push(m), { baseUrl: fake.url, apiKey: null });
    logger.log(1, { loss: 1 });
    await logger.finish(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/set WANDB_API_KEY/);
    expect(fake.requests).toHaveLength(0);
    expect(logger.enabled).toBe(false);
  });

  it('an unreachable server gives exactly one warning and no error', async () => {
    const warnings: string[] = [];
    const url = await deadUrl();
    const logger = new WandbLogger(settings, {}, (m) => warnings.push(m), { baseUrl: url, apiKey: 'k' });
    for (let e = 1; e <= 3; e++) logger.log(e, { loss: 1 / e });
    await logger.finish(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`W&B is not reachable at ${url}`);
    expect(warnings[0]).toMatch(/logging locally only/);
  });

  it('a GraphQL error stops the logger with one warning quoting it', async () => {
    const fake = await fakeWandb(true);
    servers.push(fake.server);
    const warnings: string[] = [];
    const logger = new WandbLogger(settings, {}, (m) => warnings.push(m), { baseUrl: fake.url, apiKey: 'k' });
    logger.log(1, { loss: 1 });
    await logger.finish(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('permission denied');
    expect(fake.requests.map((r) => r.path)).toEqual(['/graphql']);
  });
});

describe('netrcPassword', () => {
  it('reads the password of the machine entry for the host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-netrc-'));
    try {
      const file = join(dir, 'netrc');
      writeFileSync(file, 'machine example.com login a password b\nmachine api.wandb.ai\n  login user\n  password abc123\n');
      expect(netrcPassword('api.wandb.ai', file)).toBe('abc123');
      expect(netrcPassword('example.com', file)).toBe('b');
      expect(netrcPassword('other.host', file)).toBeNull();
      expect(netrcPassword('api.wandb.ai', join(dir, 'missing'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
