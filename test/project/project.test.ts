import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.ts';
import { LabelsError, makeSplit, readLabeledData, readProject, shuffleLayout } from '../../src/project/index.ts';
import { HAS_OPENFIELD, OPENFIELD } from './openfield.ts';

const temps: string[] = [];
afterEach(() => temps.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function copyOpenfield(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-project-'));
  temps.push(dir);
  cpSync(OPENFIELD, dir, { recursive: true, filter: (src) => !src.includes('/videos') });
  chmodSync(dir, 0o755);
  for (const p of [dir, join(dir, 'labeled-data'), join(dir, 'labeled-data', 'm4s1')]) chmodSync(p, 0o755);
  chmodSync(join(dir, 'config.yaml'), 0o644);
  chmodSync(join(dir, 'labeled-data', 'm4s1', 'CollectedData_Pranav.csv'), 0o644);
  return dir;
}

describe.skipIf(!HAS_OPENFIELD)('openfield project', () => {
  it('reads config.yaml', () => {
    const project = readProject(join(OPENFIELD, 'config.yaml'));
    expect(project).toMatchObject({
      task: 'openfield', scorer: 'Pranav', date: 'Oct30', multiAnimal: false, withIdentity: false,
      bodyparts: ['snout', 'leftear', 'rightear', 'tailbase'], uniqueBodyparts: [], individuals: ['individual_1'],
      trainingFractions: [0.95], iteration: 0, pcutoff: 0.4, defaultNetType: 'resnet_50', root: OPENFIELD,
    });
    expect(shuffleLayout(project, 0.95, 1).name).toBe('openfieldOct30-trainset95shuffle1');
  });

  it('reads all 116 labelled frames, sorted, fully labelled', () => {
    const data = readLabeledData(readProject(join(OPENFIELD, 'config.yaml')));
    expect(data.frames).toHaveLength(116);
    expect(data.frames[0]!.path).toEqual(['labeled-data', 'm4s1', 'img0000.png']);
    expect(data.frames[115]!.path).toEqual(['labeled-data', 'm4s1', 'img0115.png']);
    expect(data.frames[0]!.keypoints).toEqual([[[21.521, 265.428], [33.819, 265.941], [19.984, 250.05599999999998], [87.11, 152.69799999999998]]]);
    const xs = data.frames.flatMap((f) => f.keypoints[0]!.map(([x]) => x));
    expect(xs.every(Number.isFinite)).toBe(true);
    expect(Math.min(...xs)).toBeCloseTo(10.2, 1);
    expect(Math.max(...xs)).toBeCloseTo(235.7, 1);
  });

  it('rejects a CSV whose bodyparts differ from config.yaml, naming the file', () => {
    const dir = copyOpenfield();
    const csv = join(dir, 'labeled-data', 'm4s1', 'CollectedData_Pranav.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8').replace('bodyparts,snout,snout', 'bodyparts,nose,nose'));
    expect(() => readLabeledData(readProject(join(dir, 'config.yaml')))).toThrow(
      new LabelsError(csv, 'bodyparts differ from config.yaml (missing snout; not in config.yaml: nose)', 2),
    );
  });

  it('rejects a row that points to a missing image, naming file and line', () => {
    const dir = copyOpenfield();
    const csv = join(dir, 'labeled-data', 'm4s1', 'CollectedData_Pranav.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8').replace('img0003.png', 'img9999.png'));
    expect(() => readLabeledData(readProject(join(dir, 'config.yaml')))).toThrow(`${csv}:7: row points to a missing image labeled-data/m4s1/img9999.png`);
  });

  it('reports config.yaml problems with their line', () => {
    const dir = copyOpenfield();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('- 0.95', '- 95'));
    try {
      readProject(file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/config\.yaml:44:3: TrainingFraction\[0\]: expected a value <1, got 95/);
    }
  });
});

describe('split', () => {
  it('is reproducible for a seed, disjoint, complete, and int(n * fraction) long', () => {
    const a = makeSplit(116, 0.95, 42);
    expect(a).toEqual(makeSplit(116, 0.95, 42));
    expect(a.train).toHaveLength(110);
    expect(a.test).toHaveLength(6);
    expect([...a.train, ...a.test].sort((x, y) => x - y)).toEqual(Array.from({ length: 116 }, (_, i) => i));
    expect(makeSplit(116, 0.95, 43).test).not.toEqual(a.test);
    expect(makeSplit(10, 0.57, 1).train).toHaveLength(5);
  });
});
