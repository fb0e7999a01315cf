import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  bfloat16ToFloat,
  floatToBfloat16,
  floatToHalf,
  fromNumbers,
  halfToFloat,
  HostTensor,
  hostTensorBytes,
  hostTensorFromBytes,
  toFloat32,
  toNumbers,
  zerosHost,
} from '../../src/io/host-tensor.ts';
import { FIXTURES } from './samples.ts';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('half floats', () => {
  it('decodes known bit patterns', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('round-trips all 65536 bit patterns (NaNs stay NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = halfToFloat(h);
      if (Number.isNaN(x)) expect(Number.isNaN(halfToFloat(floatToHalf(x)))).toBe(true);
      else if (floatToHalf(x) !== h) throw new Error(`0x${h.toString(16)} -> ${x} -> 0x${floatToHalf(x).toString(16)}`);
    }
  });

  it('rounds to nearest even, overflows to infinity, underflows through subnormals', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie, even is 1.0
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, rounds up to even
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(-1e10)).toBe(0xfc00);
    expect(floatToHalf(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(floatToHalf(3 * 2 ** -26)).toBe(1);
    expect(floatToHalf(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the smallest normal
    expect(floatToHalf(-0)).toBe(0x8000);
  });
});

describe('bfloat16', () => {
  it('round-trips all 65536 bit patterns (NaNs stay NaN)', () => {
    for (let b = 0; b < 0x10000; b++) {
      const x = bfloat16ToFloat(b);
      if (Number.isNaN(x)) expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16(x)))).toBe(true);
      else if (floatToBfloat16(x) !== b) throw new Error(`0x${b.toString(16)}`);
    }
  });

  it('rounds to nearest even', () => {
    expect(floatToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBfloat16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(floatToBfloat16(3.4e38)).toBe(0x7f80); // rounds past the largest finite value
  });
});

describe('conversions match PyTorch', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'));
  const tensorFrom = (key: string) => {
    const entry = (expected['tensors.pt'].dict as [unknown, { hex: string }][]).find(([k]) => k === key)!;
    return entry[1].hex;
  };

  it('float -> float16 and bfloat16 give the bits torch.tensor(..., dtype) gives', () => {
    expect(hex(hostTensorBytes(fromNumbers([1.0, 6e-8, 65504.0, -0.0, Infinity, 0.1], [6], 'float16')))).toBe(tensorFrom('float16'));
    expect(hex(hostTensorBytes(fromNumbers([1.0, -2.5, 3e38, 1e-40, 0.1], [5], 'bfloat16')))).toBe(tensorFrom('bfloat16'));
  });
});

describe('HostTensor', () => {
  it('checks dtype, data type and shape', () => {
    expect(() => new HostTensor('float32', [2, 2], new Float32Array(3))).toThrow(/needs 4 elements/);
    expect(() => new HostTensor('float32', [2], new Float64Array(2) as unknown as Float32Array)).toThrow(/Float32Array/);
    expect(() => new HostTensor('complex64' as 'float32', [1], new Float32Array(1))).toThrow(/unknown dtype/);
    expect(() => new HostTensor('int32', [-1], new Int32Array(0))).toThrow(/bad shape/);
    expect(new HostTensor('float32', [], new Float32Array([3])).numel).toBe(1);
    expect(zerosHost('int64', [2, 0]).data).toBeInstanceOf(BigInt64Array);
  });

  it('converts every dtype to float32', () => {
    expect(Array.from(toFloat32(new HostTensor('int64', [3], new BigInt64Array([-3n, 2n ** 40n, 7n]))))).toEqual([-3, 2 ** 40, 7]);
    expect(Array.from(toFloat32(new HostTensor('float16', [2], new Uint16Array([0x3c00, 0xc100]))))).toEqual([1, -2.5]);
    expect(Array.from(toFloat32(new HostTensor('bfloat16', [2], new Uint16Array([0x3f80, 0xc020]))))).toEqual([1, -2.5]);
    expect(Array.from(toFloat32(new HostTensor('bool', [2], new Uint8Array([1, 0]))))).toEqual([1, 0]);
    expect(Array.from(toFloat32(new HostTensor('int8', [2], new Int8Array([-128, 127]))))).toEqual([-128, 127]);
    expect(Array.from(toFloat32(new HostTensor('float64', [1], new Float64Array([0.1]))))).toEqual([Math.fround(0.1)]);
    expect(toNumbers(new HostTensor('int64', [1], new BigInt64Array([5n])))).toEqual([5]);
  });

  it('builds from bytes (copied) and gives its bytes back', () => {
    const bytes = new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    const t = hostTensorFromBytes('float32', [2], bytes.subarray(0));
    expect(Array.from(t.data)).toEqual([1, -2]);
    bytes[3] = 0;
    expect(t.data[0]).toBe(1);
    expect(Array.from(hostTensorBytes(t))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(() => hostTensorFromBytes('float32', [3], bytes)).toThrow(/needs 12 bytes/);
  });

  it('fromNumbers truncates integers and maps bool', () => {
    expect(Array.from(fromNumbers([1.9, -1.9], [2], 'int32').data)).toEqual([1, -1]);
    expect(Array.from(fromNumbers([1.9, -1.9], [2], 'int64').data)).toEqual([1n, -1n]);
    expect(Array.from(fromNumbers([0, 0.5, -2], [3], 'bool').data)).toEqual([0, 1, 1]);
  });
});
