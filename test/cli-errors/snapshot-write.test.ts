// A snapshot that cannot be written (disk full, a folder that is not one) names the file and its folder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SnapshotError, writeSnapshot } from '../../src/runner/checkpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-snapwrite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeSnapshot on a path it cannot write', () => {
  it('throws a SnapshotError naming the file and the folder', () => {
    writeFileSync(join(dir, 'train'), 'a file where the train/ folder should be');
    const path = join(dir, 'train', 'snapshot-001.pt');
    const model = new Map([['w', { shape: [2], data: Float32Array.of(1, 2), dtype: 'float32' as const }]]);
    const write = () => writeSnapshot(path, { metadata: { epoch: 1, metrics: {}, losses: {} }, model });
    expect(write).toThrow(SnapshotError);
    expect(write).toThrow(`cannot write the snapshot ${path} in the folder ${join(dir, 'train')} (ENOTDIR`);
    expect(write).toThrow(/Snapshots written before are intact$/);
  });
});
