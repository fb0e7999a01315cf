import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DTYPE_BYTES,
  HostTensor,
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from '../../src/io/index.ts';
import { canonTensor } from './canonical.ts';
import { allDtypeTensors, FIXTURES } from './samples.ts';

const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'))['torch.safetensors'];

/** A safetensors file from a header object and data bytes, for malformed cases. */
function craft(header: unknown, data = new Uint8Array(0), pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('reads the file safetensors.torch.save_file wrote, exactly', () => {
    const { tensors, metadata } = readSafetensors(path.join(FIXTURES, 'torch.safetensors'));
    expect(metadata).toEqual(expected.metadata);
    expect(Object.fromEntries([...tensors].map(([k, t]) => [k, canonTensor(t)]))).toEqual(expected.tensors);
  });

  it('round-trips every dtype through a file (ours -> ours), with metadata', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlc-st-'));
    try {
      const tensors = allDtypeTensors();
      tensors.set('scalar', new HostTensor('float32', [], new Float32Array([0.25])));
      tensors.set('empty', new HostTensor('int8', [0, 4], new Int8Array(0)));
      tensors.set('__proto__', new HostTensor('uint8', [1], new Uint8Array([7])));
      const file = path.join(dir, 'w.safetensors');
      writeSafetensors(file, tensors, { epoch: '3' });
      expect(fs.readdirSync(dir)).toEqual(['w.safetensors']);
      const back = readSafetensors(file);
      expect(back.metadata).toEqual({ epoch: '3' });
      expect(back.tensors.size).toBe(tensors.size);
      for (const [k, t] of tensors) expect(canonTensor(back.tensors.get(k)!)).toEqual(canonTensor(t));
      expect(parseSafetensors(serializeSafetensors({ a: tensors.get('float32')! })).metadata).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lays data out largest element first, so every tensor is aligned', () => {
    const bytes = serializeSafetensors(allDtypeTensors());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [name, info] of Object.entries(header) as [string, { dtype: string; data_offsets: number[] }][]) {
      expect(info.data_offsets[0]! % DTYPE_BYTES[name as keyof typeof DTYPE_BYTES]).toBe(0);
    }
  });

  it('refuses malformed files, naming the file and the problem', () => {
    const f32 = (n: number) => new Uint8Array(4 * n);
    const ok = craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(2));
    expect(parseSafetensors(ok).tensors.get('a')!.shape).toEqual([2]);
    const bad = (bytes: Uint8Array, re: RegExp) => expect(() => parseSafetensors(bytes, { name: 'w.st' })).toThrow(re);
    bad(ok.subarray(0, 5), /^w\.st: only 5 bytes.*truncated/);
    bad(ok.subarray(0, ok.length - 1), /^w\.st: tensor 'a': data ends at 8 but the file has only 7 data bytes \(truncated\?\)/);
    bad(ok.subarray(0, 20), /^w\.st: header of \d+ bytes runs past the end/);
    bad(craft({ a: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /^w\.st: tensor 'a': unsupported dtype 'F8_E4M3'/);
    bad(craft({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2)), /needs 12 bytes, data_offsets give 8/);
    bad(craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /leave a gap/);
    bad(craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /overlap/);
    bad(craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2)), /4 bytes after the last tensor/);
    bad(craft({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /bad shape/);
    bad(craft({ __metadata__: { n: 3 } }), /__metadata__ value for 'n' is not a string/);
    bad(craft([1, 2]), /does not start with "{"/);
    const notJson = craft({});
    notJson[9] = 0x2c; // "{,"
    bad(notJson, /cannot be parsed/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    bad(huge, /header length \d+ is implausible/);
  });

  it('refuses to write what it cannot represent', () => {
    expect(() => serializeSafetensors({ a: new Float32Array(2) as unknown as HostTensor })).toThrow(/not a HostTensor/);
    const t = new HostTensor('float32', [1], new Float32Array(1));
    expect(() => serializeSafetensors(new Map([['__metadata__', t]]))).toThrow(/__metadata__/);
    expect(() => serializeSafetensors({ a: t }, { n: 1 as unknown as string })).toThrow(/must be a string/);
  });
});
