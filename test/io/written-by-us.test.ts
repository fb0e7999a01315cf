// The files in test/fixtures/io/written-by-us/ were produced by our writers and then loaded by PyTorch 1.13
// (scripts/fixtures/make_io_fixtures.py --verify), which recorded each file's SHA-256 and what it checked in
// verified.json. Rebuilding them must give the same bytes: if a writer changes, regenerate and re-verify
// (npx tsx scripts/fixtures/write_io_samples.ts && /usr/bin/python3 scripts/fixtures/make_io_fixtures.py --verify).
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildIoSamples, WRITTEN_BY_US } from './samples.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('files we wrote, as verified by PyTorch', () => {
  const { files, expected } = buildIoSamples();
  const verified = JSON.parse(fs.readFileSync(path.join(WRITTEN_BY_US, 'verified.json'), 'utf8')) as {
    torch_version: string;
    files: Record<string, Record<string, string>>;
  };

  it('PyTorch verified every file', () => {
    expect(verified.torch_version).toMatch(/^1\.13/);
    expect(Object.keys(verified.files).sort()).toEqual([...files.keys()].sort());
    for (const [name, checks] of Object.entries(verified.files)) {
      const { sha256: _, ...rest } = checks;
      expect(Object.keys(rest).length, name).toBeGreaterThan(0);
      for (const [check, result] of Object.entries(rest)) expect(result, `${name}: ${check}`).toMatch(/^verified/);
    }
    expect(verified.files['weights.pt']!['torch.load(weights_only=True)']).toBe('verified');
    expect(verified.files['snapshot-resaved.pt']!['model/optimizer/scheduler load_state_dict']).toBe('verified');
  });

  for (const name of ['values.pt', 'weights.pt', 'zip64.pt', 'snapshot-resaved.pt', 'model-resaved.pt', 'ours.safetensors']) {
    it(`today's writer produces exactly the verified ${name}`, () => {
      const bytes = files.get(name)!;
      expect(sha256(bytes)).toBe(verified.files[name]!.sha256);
      expect(sha256(fs.readFileSync(path.join(WRITTEN_BY_US, name)))).toBe(verified.files[name]!.sha256);
    });
  }

  it('the committed expected.json is what the samples mean', () => {
    expect(JSON.parse(fs.readFileSync(path.join(WRITTEN_BY_US, 'expected.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(expected)));
  });
});
