// examples/custom-layer/run.sh on openfield, as a user runs it (a few steps at small crops): a new shuffle
// whose config lists the plugin and uses its head, trained through the CLI and evaluated from the snapshot.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../src/runner/checkpoint.ts';
import { copyOpenfield, HAS_OPENFIELD, REPO_ROOT } from '../project/openfield.ts';

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(!HAS_OPENFIELD)('examples/custom-layer/run.sh', () => {
  it('makes shuffle 3 with the CoordConv head, trains it and evaluates the snapshot', () => {
    const dir = copyOpenfield('dlc-gpu-example-');
    temps.push(dir);
    const r = spawnSync('bash', [join(REPO_ROOT, 'examples/custom-layer/run.sh'), join(dir, 'config.yaml'), '3'], {
      encoding: 'utf8',
      env: { ...process.env, STEPS: '2', CROP: '64', BATCH: '2', EVAL_IMAGES: '1' },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const train = join(dir, 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle3/train');
    const config = readFileSync(join(train, 'pytorch_config.yaml'), 'utf8');
    expect(config).toContain(`plugins: [ ${join(REPO_ROOT, 'examples/custom-layer/coord-conv.ts')} ]`);
    expect(config).toMatch(/bodypart:\n\s+type: CoordConvHeatmapHead\n/);
    const snap = readSnapshot(join(train, 'snapshot-001.pt'));
    expect(snap.metadata.plugins).toEqual([{ path: join(REPO_ROOT, 'examples/custom-layer/coord-conv.ts'), types: ['HEADS:CoordConvHeatmapHead'] }]);
    expect(snap.model.get('heads.bodypart.coord_conv.weight')?.shape).toEqual([512, 515, 1, 1]);
    expect(r.stdout).toMatch(/test rmse\s+\d/);
    const results = join(dir, 'evaluation-results-pytorch/iteration-0/openfieldOct30-trainset95shuffle3');
    expect(existsSync(results) && readdirSync(results).some((f) => f.endsWith('-results.csv'))).toBe(true);
  });
});
