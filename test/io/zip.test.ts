import { describe, expect, it } from 'vitest';
import { crc32, writeZip, ZipReader } from '../../src/io/zip.ts';

const enc = new TextEncoder();

describe('zip', () => {
  it('computes CRC-32', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const long = Uint8Array.from({ length: 1003 }, (_, i) => (i * 31) & 0xff);
    expect(crc32(long.subarray(500), crc32(long.subarray(0, 500)))).toBe(crc32(long));
  });

  for (const forceZip64 of [false, true]) {
    it(`writes stored entries aligned to 64 bytes and reads them back${forceZip64 ? ' (ZIP64)' : ''}`, () => {
      const entries = [
        { name: 'archive/data.pkl', data: enc.encode('pickle') },
        { name: 'archive/data/0', data: Uint8Array.from({ length: 100 }, (_, i) => i) },
        { name: 'archive/data/1', data: new Uint8Array(0) },
        { name: 'archive/ünïcode', data: enc.encode('x') },
      ];
      const bytes = writeZip(entries, { forceZip64 });
      const zip = new ZipReader(bytes);
      expect(zip.names()).toEqual(entries.map((e) => e.name));
      for (const e of entries) {
        expect(Array.from(zip.read(e.name))).toEqual(Array.from(e.data));
        expect(zip.entries.get(e.name)!.dataOffset % 64).toBe(0);
      }
    });
  }

  it('refuses truncated, compressed and corrupt archives', () => {
    const bytes = writeZip([{ name: 'a/b', data: enc.encode('hello world') }]);
    expect(() => new ZipReader(bytes.subarray(0, bytes.length - 30))).toThrow(/end-of-central-directory/);
    expect(() => new ZipReader(bytes.subarray(0, 10))).toThrow(/too short/);
    const compressed = bytes.slice();
    const cd = compressed.length - 22 - (46 + 3);
    compressed[cd + 10] = 8; // deflate
    expect(() => new ZipReader(compressed)).toThrow(/compressed/);
    const corrupt = bytes.slice();
    corrupt[new ZipReader(bytes).entries.get('a/b')!.dataOffset] ^= 1;
    expect(() => new ZipReader(corrupt).read('a/b')).toThrow(/CRC-32/);
    expect(new ZipReader(corrupt, { verifyCrc: false }).read('a/b').length).toBe(11);
    expect(() => new ZipReader(bytes).read('nope')).toThrow(/no entry/);
  });
});
