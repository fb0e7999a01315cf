// Plugins through the real CLI on openfield: a plugin backbone (test/extend/plugins/tiny-backbone.ts) and the
// example's plugin head trained for two steps, the snapshot reloaded by evaluate, predict and a resumed train;
// then each way a plugin goes wrong, as the user sees it: an error naming the file and the key or plugin.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { copyOpenfield, HAS_OPENFIELD, REPO_ROOT, runCli as cli } from '../project/openfield.ts';

const PLUGINS = join(REPO_ROOT, 'test/extend/plugins');
const BACKBONE = join(PLUGINS, 'tiny-backbone.ts');
const HEAD = join(REPO_ROOT, 'examples/custom-layer/coord-conv.ts');
const SHUFFLE = 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle1';
const QUICK = ['--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '2', '--eval-images', '1'];

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A line of `text` (1-based) holding `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe.skipIf(!HAS_OPENFIELD)('plugins through the CLI', () => {
  const dir = copyOpenfield('dlc-gpu-plugins-');
  temps.push(dir);
  const project = join(dir, 'config.yaml');
  const pose = join(dir, SHUFFLE, 'train', 'pytorch_config.yaml');
  const train = dirname(pose);

  it('trains a plugin backbone and a plugin head, and reloads the snapshot in evaluate, predict and train', () => {
    expect(cli('create-dataset', project, '--net-type', 'resnet_18').code).toBe(0);
    const set = cli(
      'config', 'set', pose,
      // One absolute path, one relative to the config file.
      `plugins=[${BACKBONE}, ${relative(train, HEAD)}]`,
      'model.backbone={type: TinyConvNet, channels: 16}',
      'model.backbone_output_channels=16',
      'model.heads.bodypart.type=CoordConvHeatmapHead',
      'model.heads.bodypart.heatmap_config.channels=[16,4]',
      'model.heads.bodypart.locref_config.channels=[16,8]',
      'data.train.crop_sampling.width=64',
      'data.train.crop_sampling.height=64',
    );
    expect(set.code, set.stderr).toBe(0);

    const run = cli('train', project, ...QUICK);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`Plugins: ${BACKBONE} (BACKBONES:TinyConvNet); ${HEAD} (HEADS:CoordConvHeatmapHead)`);
    const snapshot = join(train, 'snapshot-001.pt');
    const snap = readSnapshot(snapshot);
    expect(snap.metadata.plugins).toEqual([
      { path: BACKBONE, types: ['BACKBONES:TinyConvNet'] },
      { path: HEAD, types: ['HEADS:CoordConvHeatmapHead'] },
    ]);
    const keys = [...snap.model.keys()];
    expect(keys).toContain('backbone.model.body.0.weight');
    expect(keys).toContain('heads.bodypart.coord_conv.weight');
    expect(keys).toContain('heads.bodypart.heatmap_head.deconv_layers.0.weight');
    expect(readFileSync(join(train, 'train.txt'), 'utf8')).toContain('Plugins: ');

    const evaluated = cli('evaluate', project, '--max-images', '1');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/test rmse\s+\d/);

    const image = join(dir, 'labeled-data', 'm4s1', readdirSync(join(dir, 'labeled-data', 'm4s1')).find((f) => f.endsWith('.png'))!);
    const out = join(dir, 'predictions');
    mkdirSync(out);
    const predicted = cli('predict', train, image, '--out', out);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(readdirSync(out).some((f) => f.startsWith('image_predictions_') && f.endsWith('.csv'))).toBe(true);

    const resumed = cli('train', project, ...QUICK, '--snapshot', snapshot, '--epochs', '1');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(train, 'snapshot-002.pt'))).toBe(true);
  });

  it('a snapshot loaded without its plugins names the plugin; --plugin supplies it', () => {
    const bare = join(dir, 'bare-model');
    mkdirSync(bare);
    copyFileSync(join(train, 'snapshot-001.pt'), join(bare, 'snapshot-001.pt'));
    writeFileSync(join(bare, 'pytorch_config.yaml'), readFileSync(pose, 'utf8').replace(/^plugins:.*\n(?:\s+-.*\n)*/m, ''));
    expect(readFileSync(join(bare, 'pytorch_config.yaml'), 'utf8')).not.toMatch(/^plugins:/m);
    const image = join(dir, 'labeled-data', 'm4s1', readdirSync(join(dir, 'labeled-data', 'm4s1')).find((f) => f.endsWith('.png'))!);
    const missing = cli('predict', bare, image, '--out', bare);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      `${join(bare, 'snapshot-001.pt')} was trained with the plugin ${BACKBONE} (BACKBONES:TinyConvNet), which is not loaded: pass --plugin ${BACKBONE} or list it under plugins: in ${join(bare, 'pytorch_config.yaml')}`,
    );
    const supplied = cli('predict', bare, image, '--out', bare, '--plugin', BACKBONE, '--plugin', HEAD);
    expect(supplied.code, supplied.stderr).toBe(0);
  });

  it('each broken plugin or plugin config is a clear error naming the file and the key or plugin', () => {
    const good = readFileSync(pose, 'utf8');
    const variant = (name: string, text: string) => {
      const file = join(train, `${name}.yaml`);
      writeFileSync(file, text);
      return file;
    };
    const withPlugins = (paths: string[]) => good.replace(/^plugins:.*\n(?:\s+-.*\n)*/m, `plugins:\n${paths.map((p) => `  - ${p}\n`).join('')}`);

    // A key the plugin's schema does not have.
    const typo = good.replace('channels: 16', 'chanels: 16');
    const typoFile = variant('typo', typo);
    let r = cli('config', 'check', typoFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${typoFile}:${lineOf(typo, 'chanels')}:`);
    expect(r.stderr).toContain("model.backbone.chanels: unknown key 'chanels'; did you mean 'channels'? (backbone TinyConvNet, from " + BACKBONE + ')');

    // A type nobody registered.
    const unknown = good.replace('type: TinyConvNet', 'type: TinyConvNett');
    r = cli('config', 'check', variant('unknown', unknown));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`:${lineOf(unknown, 'TinyConvNett')}:`);
    expect(r.stderr).toContain("model.backbone.type: unknown backbone type 'TinyConvNett' (registered: HRNet, ResNet, TinyConvNet); did you mean 'TinyConvNet'?");

    // Plugin files that are missing, throw, register nothing, take a built-in name, or bring a schema that is not one.
    const cases: [string, string, RegExp | string][] = [
      ['missing', './no-such-plugin.ts', `plugins[0]: the plugin ${join(train, 'no-such-plugin.ts')} does not exist`],
      ['throws', join(PLUGINS, 'throws.ts'), `plugins[0]: the plugin ${join(PLUGINS, 'throws.ts')} failed to load: CoordAttention needs a kernel this plugin forgot to define`],
      ['nothing', join(PLUGINS, 'registers-nothing.mjs'), `the plugin ${join(PLUGINS, 'registers-nothing.mjs')} registered no types and exports no register function`],
      ['steals', join(PLUGINS, 'steals-builtin.mjs'), `HEADS: type 'HeatmapHead' is already registered by built-in; ${join(PLUGINS, 'steals-builtin.mjs')} cannot register it again`],
      ['bad-schema', join(PLUGINS, 'bad-schema.mjs'), `HEADS: the schema given for 'SloppyHead' by ${join(PLUGINS, 'bad-schema.mjs')} is not a valibot schema`],
    ];
    for (const [name, path, message] of cases) {
      const file = variant(name, withPlugins([path]));
      r = cli('config', 'check', file);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toContain(`${file}: `);
      expect(r.stderr, name).toContain(message);
    }

    // train refuses the same way, before it takes the lock or writes anything.
    const thrower = variant('throws-train', withPlugins([join(PLUGINS, 'throws.ts')]));
    const listing = readdirSync(train).sort();
    r = cli('train', thrower, ...QUICK);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('failed to load: CoordAttention needs a kernel');
    expect(readdirSync(train).sort()).toEqual(listing);
    r = cli('train', project, '--plugin', resolve(PLUGINS, 'nope.ts'), ...QUICK);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--plugin ${resolve(PLUGINS, 'nope.ts')}: the plugin ${resolve(PLUGINS, 'nope.ts')} does not exist`);
  });
});
