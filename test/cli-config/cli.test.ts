// Runs the real binary (node bin/dlc-gpu.js) against temp copies of the openfield project.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { copyOpenfield, HAS_OPENFIELD, REPO_ROOT, runCli } from '../project/openfield.ts';
import { HAS_PANDAS, python } from '../video/python.ts';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cli = runCli;

function copyProject(): string {
  const dir = copyOpenfield('dlc-gpu-cli-');
  temps.push(dir);
  return dir;
}

const SHUFFLE1 = 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle1/train/pytorch_config.yaml';
const DATASET = 'training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30';

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu create-dataset + config check', () => {
  it('makes a shuffle from a clean copy that config check accepts', () => {
    const dir = copyProject();
    const made = cli('create-dataset', join(dir, 'config.yaml'));
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/openfieldOct30-trainset95shuffle1: 116 frames, 110 train \/ 6 test \(split new\)/);

    const split = parse(readFileSync(join(dir, DATASET, 'split-openfield_95shuffle1.yaml'), 'utf8'));
    expect(split).toMatchObject({ train_fraction: 0.95, seed: 42, num_frames: 116 });
    expect(split.train_indices).toHaveLength(110);
    expect(split.test_images[0]).toMatch(/^labeled-data\/m4s1\/img\d{4}\.png$/);
    expect(readFileSync(join(dir, DATASET, 'CollectedData_Pranav.csv'), 'utf8').split('\n')).toHaveLength(116 + 3 + 1);
    // The merged .h5 DeepLabCut's loader reads holds what DeepLabCut's own labeled-data .h5 holds.
    const mergedH5 = join(dir, DATASET, 'CollectedData_Pranav.h5');
    expect(existsSync(mergedH5)).toBe(true);
    if (HAS_PANDAS) {
      const same = python(
        'import sys, pandas as pd\n' +
          'a = pd.read_hdf(sys.argv[1]); b = pd.read_hdf(sys.argv[2])\n' +
          'b.index = pd.MultiIndex.from_tuples([tuple(str(i).split("/")) if isinstance(i, str) else i for i in b.index])\n' +
          'b = b.sort_index()\n' +
          'assert list(a.columns) == list(b.columns) and list(a.index) == list(b.index)\n' +
          'pd.testing.assert_frame_equal(a, b, check_names=False)\n' +
          'print(a.shape)',
        mergedH5,
        join(dir, 'labeled-data', 'm4s1', 'CollectedData_Pranav.h5'),
      );
      expect(same.trim()).toBe('(116, 8)');
    }
    expect(parse(readFileSync(join(dir, DATASET, 'metadata.yaml'), 'utf8')).shuffles['openfieldOct30-trainset95shuffle1']).toMatchObject({ engine: 'pytorch', train_fraction: 0.95 });
    expect(parse(readFileSync(join(dir, 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle1/test/pose_cfg.yaml'), 'utf8')))
      .toMatchObject({ num_joints: 4, all_joints_names: ['snout', 'leftear', 'rightear', 'tailbase'] });

    const checked = cli('config', 'check', join(dir, SHUFFLE1));
    expect(checked.code, checked.stderr).toBe(0);
    const resolved = parse(checked.stdout);
    expect(resolved.metadata).toMatchObject({ project_path: dir, pose_config_path: join(dir, SHUFFLE1), bodyparts: ['snout', 'leftear', 'rightear', 'tailbase'] });
    expect(resolved.model.heads.bodypart.heatmap_config.channels).toEqual([2048, 4]);
    expect(resolved.model.heads.bodypart.locref_config.channels).toEqual([2048, 8]);
    expect(resolved.runner.load_scheduler_state_dict).toBe(true);

    // A second run keeps the existing config; --overwrite reuses the split it wrote.
    const again = cli('create-dataset', join(dir, 'config.yaml'));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/pytorch_config\.yaml already exists; pass --overwrite/);
    const over = cli('create-dataset', join(dir, 'config.yaml'), '--overwrite', '--seed', '9');
    expect(over.code, over.stderr).toBe(0);
    expect(over.stdout).toMatch(/split reused from an earlier run/);
    expect(parse(readFileSync(join(dir, DATASET, 'split-openfield_95shuffle1.yaml'), 'utf8')).test_indices).toEqual(split.test_indices);
  });

  it('makes a top-down shuffle with the chosen detector, reproducibly for a seed', () => {
    const dir = copyProject();
    const args = ['--net-type', 'top_down_hrnet_w32', '--detector', 'fasterrcnn_resnet50_fpn_v2', '--shuffle', '2', '--train-fraction', '0.8', '--seed', '7'];
    expect(cli('create-dataset', join(dir, 'config.yaml'), ...args).code).toBe(0);
    const configPath = join(dir, 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset80shuffle2/train/pytorch_config.yaml');
    const checked = cli('config', 'check', configPath);
    expect(checked.code, checked.stderr).toBe(0);
    const resolved = parse(checked.stdout);
    expect(resolved).toMatchObject({ method: 'td', net_type: 'top_down_hrnet_w32' });
    expect(resolved.detector.model).toMatchObject({ type: 'FasterRCNN', variant: 'fasterrcnn_resnet50_fpn_v2' });
    expect(resolved.model.heads.bodypart.heatmap_config.final_conv).toEqual({ out_channels: 4, kernel_size: 1 });

    const other = copyProject();
    expect(cli('create-dataset', join(other, 'config.yaml'), ...args).code).toBe(0);
    const splitFile = `${DATASET}/split-openfield_80shuffle2.yaml`;
    const a = parse(readFileSync(join(dir, splitFile), 'utf8'));
    expect(a.train_indices).toHaveLength(92);
    expect(parse(readFileSync(join(other, splitFile), 'utf8'))).toEqual(a);
  });

  it("reuses the indices of a split DeepLabCut already made for the shuffle", () => {
    const dir = copyProject();
    mkdirSync(join(dir, DATASET), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'test/project/fixtures/Documentation_data-openfield_95shuffle1.pickle'), join(dir, DATASET, 'Documentation_data-openfield_95shuffle1.pickle'));
    const made = cli('create-dataset', join(dir, 'config.yaml'));
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/split reused from DeepLabCut/);
    const split = parse(readFileSync(join(dir, DATASET, 'split-openfield_95shuffle1.yaml'), 'utf8'));
    expect(split.test_indices).toEqual([23, 25, 47, 67, 68, 83]);
    expect(split.test_images[0]).toBe('labeled-data/m4s1/img0023.png');
  });

  it('fails on labels that do not match config.yaml and writes nothing', () => {
    const dir = copyProject();
    const csv = join(dir, 'labeled-data/m4s1/CollectedData_Pranav.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8').replace(/,tailbase/g, ',tail'));
    const r = cli('create-dataset', join(dir, 'config.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${csv}:2: bodyparts differ from config.yaml (missing tailbase; not in config.yaml: tail)`);
    expect(existsSync(join(dir, 'dlc-models-pytorch'))).toBe(false);
    expect(existsSync(join(dir, 'training-datasets'))).toBe(false);
  });

  it('fails on a row pointing to a missing image', () => {
    const dir = copyProject();
    rmSync(join(dir, 'labeled-data/m4s1/img0042.png'));
    const r = cli('create-dataset', join(dir, 'config.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CollectedData_Pranav\.csv:46: row points to a missing image labeled-data\/m4s1\/img0042\.png/);
  });
});

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu config set', () => {
  it('edits keys by dot-path, keeping comments and order, and refuses edits that break the file', () => {
    const dir = copyProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const file = join(dir, SHUFFLE1);
    const original = readFileSync(file, 'utf8').replace('  optimizer:\n', '  # tuned by hand\n  optimizer:\n').replace('lr: 0.0005', 'lr: 0.0005 # initial rate');
    writeFileSync(file, original);

    const r = cli('config', 'set', file, 'runner.optimizer.params.lr=1e-3', 'runner.gpus=[0]', 'train_settings.epochs=50', 'runner.load_scheduler_state_dict=false');
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('  # tuned by hand\n  optimizer:');
    expect(text).toContain('lr: 0.001 # initial rate');
    expect(text.split('\n').filter((l) => /^\S/.test(l))).toEqual(original.split('\n').filter((l) => /^\S/.test(l)));
    const resolved = parse(cli('config', 'check', file).stdout);
    expect(resolved.runner).toMatchObject({ gpus: [0], load_scheduler_state_dict: false, optimizer: { params: { lr: 0.001 } } });
    expect(resolved.train_settings.epochs).toBe(50);

    const bad = cli('config', 'set', file, 'runner.optimizer.type=Adamw', 'method=up');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not written/);
    expect(bad.stderr).toMatch(/runner\.optimizer\.type: expected one of .* got "Adamw"; did you mean 'AdamW'\?/);
    expect(bad.stderr).toMatch(/:\d+:\d+: method: expected one of bu, td/);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('dlc-gpu config check on bad input', () => {
  it('exits 1 listing every problem with file, line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-bad-'));
    temps.push(dir);
    const file = join(dir, 'pytorch_config.yaml');
    writeFileSync(file, 'net_type: resnet_50\nmethod: bu\nrunner:\n  eval_interval: often\nmetadat: {}\n');
    const r = cli('config', 'check', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}:4:18: runner.eval_interval: expected number, got "often"`);
    expect(r.stderr).toContain(`${file}:5:1: metadat: unknown key 'metadat'; did you mean 'metadata'?`);
    expect(r.stderr).toMatch(/missing required key 'train_settings'/);
  });

  it('exits 1 for malformed YAML and for a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-bad-'));
    temps.push(dir);
    writeFileSync(join(dir, 'broken.yaml'), 'runner: [1, 2\n');
    const broken = cli('config', 'check', join(dir, 'broken.yaml'));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken\.yaml:\d+:\d+: \(top level\): malformed YAML/);
    const missing = cli('config', 'check', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.yaml/);
  });

  it('exits 2 on usage errors', () => {
    expect(cli('config').code).toBe(2);
    expect(cli('config', 'lint', 'x.yaml').code).toBe(2);
    expect(cli('config', 'set', 'x.yaml').code).toBe(2);
    expect(cli('create-dataset').code).toBe(2);
    const unknown = cli('create-dataset', 'config.yaml', '--fraction', '0.5');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --fraction/);
  });
});
