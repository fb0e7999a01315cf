// Issue 19: bad input through the real CLI on scratch copies of openfield: each error names the file, key or
// line and what to do, the exit code is 1 (2 for usage), and no file the user had is changed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { changedFiles, cleanup, cli, fileHashes, LABELS, POSE1, scratchProject } from './helpers.ts';

afterAll(cleanup);

/** Runs the command and checks that it changed no file of the project. */
function refused(dir: string, ...args: string[]) {
  const hashes = fileHashes(dir);
  const r = cli(...args);
  expect(changedFiles(hashes, fileHashes(dir)), r.stderr).toEqual([]);
  return r;
}

describe.skipIf(!HAS_OPENFIELD)('labels CSV rows that do not match the header', () => {
  it('a stray value after the image path, or a value too few, is an error naming file and line', () => {
    const dir = scratchProject();
    const csv = join(dir, LABELS);
    const text = readFileSync(csv, 'utf8');
    writeFileSync(csv, text.replace('labeled-data/m4s1/img0002.png,', 'labeled-data/m4s1/img0002.png,7,'));
    const extra = refused(dir, 'create-dataset', join(dir, 'config.yaml'));
    expect(extra.code).toBe(1);
    expect(extra.stderr).toContain(`${csv}:6: row has 10 fields but the coords header row has 9: 1 value(s) too many; fix or delete this row`);

    writeFileSync(csv, text.replace(/(labeled-data\/m4s1\/img0004\.png,.*),[\d.]+\n/, '$1\n'));
    const short = refused(dir, 'create-dataset', join(dir, 'config.yaml'));
    expect(short.code).toBe(1);
    expect(short.stderr).toContain(`${csv}:8: row has 8 fields but the coords header row has 9: 1 value(s) missing`);
  });

  it("';' separators from a European spreadsheet locale are named as such", () => {
    const dir = scratchProject();
    const csv = join(dir, LABELS);
    writeFileSync(csv, readFileSync(csv, 'utf8').replace(/,/g, ';').replace(/(\d)\.(\d)/g, '$1,$2'));
    const r = refused(dir, 'create-dataset', join(dir, 'config.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${csv}:1: fields are separated by ';', not ','`);
    expect(r.stderr).toContain("save it as CSV with ',' between fields and '.' as the decimal point");
  });
});

describe.skipIf(!HAS_OPENFIELD)('labelled images checked at create-dataset', () => {
  it('a corrupt frame is named before any training; labels far outside their image are a warning naming the file', () => {
    const dir = scratchProject();
    const image = join(dir, 'labeled-data/m4s1/img0005.png');
    const good = readFileSync(image);
    writeFileSync(image, good.subarray(0, good.length - 2000));
    const r = refused(dir, 'create-dataset', join(dir, 'config.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, LABELS)}: the labelled image ${image}: truncated PNG`);
    expect(r.stderr).toContain('replace the image, or delete its row here, then run create-dataset again');

    writeFileSync(image, good);
    const csv = join(dir, LABELS);
    writeFileSync(csv, readFileSync(csv, 'utf8').replace('labeled-data/m4s1/img0001.png,10.248,', 'labeled-data/m4s1/img0001.png,5000,'));
    const w = cli('create-dataset', join(dir, 'config.yaml'));
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain(`Warning: ${csv}: labels far outside their image, which training ignores (fix them in the labelling GUI): labeled-data/m4s1/img0001.png snout (5000, 288.487) in a 640x480 image`);
  });
});

describe.skipIf(!HAS_OPENFIELD)('create-dataset options', () => {
  it('an unknown --net-type is a usage error (exit 2); a train fraction that leaves no train frame is refused', () => {
    const dir = scratchProject();
    const net = refused(dir, 'create-dataset', join(dir, 'config.yaml'), '--net-type', 'resnet_51');
    expect(net.code).toBe(2);
    expect(net.stderr).toMatch(/--net-type: unknown net type 'resnet_51'; available: .*resnet_50/);
    const detector = refused(dir, 'create-dataset', join(dir, 'config.yaml'), '--net-type', 'top_down_resnet_50', '--detector', 'yolo');
    expect(detector.code).toBe(2);
    expect(detector.stderr).toMatch(/--detector: unknown detector 'yolo'; available: /);
    const none = refused(dir, 'create-dataset', join(dir, 'config.yaml'), '--train-fraction', '0.005');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('a train fraction of 0.005 leaves no train frame of the 116 labelled frames: choose --train-fraction of at least 0.009 and at most 0.991');
  });
});

describe.skipIf(!HAS_OPENFIELD)('config, evaluate and predict on the wrong kind of path', () => {
  it('config check/set on a project config.yaml say it is a project file and which file they work on', () => {
    const dir = scratchProject();
    for (const args of [['check', join(dir, 'config.yaml')], ['set', join(dir, 'config.yaml'), 'pcutoff=0.5']]) {
      const r = refused(dir, 'config', ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${join(dir, 'config.yaml')} is a DeepLabCut project file (config.yaml), not a model config`);
      expect(r.stderr).toMatch(/work on a shuffle's pytorch_config\.yaml, e\.g\. .*dlc-models-pytorch\/iteration-0\/.*\/train\/pytorch_config\.yaml/);
    }
  });

  it('evaluate --snapshot <folder> takes the folder as predict does (no EISDIR); predict checks --out before predicting', () => {
    const dir = scratchProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const ev = refused(dir, 'evaluate', join(dir, 'config.yaml'), '--snapshot', empty);
    expect(ev.code).toBe(1);
    expect(ev.stderr).toContain(`${empty}: no snapshots yet`);
    expect(ev.stderr).not.toMatch(/EISDIR/);

    // --out below a file cannot be created: refused before the snapshot is even read.
    const train = join(dir, POSE1, '..');
    writeFileSync(join(train, 'snapshot-001.pt'), 'not read before --out is checked');
    const out = join(dir, LABELS, 'predictions');
    const pr = refused(dir, 'predict', join(train, 'snapshot-001.pt'), join(dir, 'labeled-data/m4s1'), '--out', out);
    expect(pr.code).toBe(1);
    expect(pr.stderr).toContain(`cannot write predictions to ${out}: `);
    expect(pr.stderr).toContain('pass --out with a folder you can write');
    expect(pr.stdout).toBe('');
  });
});
