import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  concatBytes,
  HostTensor,
  parseTorchFile,
  PickleWriteError,
  PyCounter,
  PyFloat,
  PyOrderedDict,
  readTorchFile,
  serializeTorchFileChunks,
  swapBytes,
  toFloat32,
  toNumbers,
  TorchFileError,
  tuple,
  writeTorchFile,
  writeZip,
  ZipReader,
} from '../../src/io/index.ts';
import { canonical } from './canonical.ts';
import { buildIoSamples, FIXTURES } from './samples.ts';

const fixture = (name: string) => path.join(FIXTURES, name);
const expected = JSON.parse(fs.readFileSync(fixture('expected.json'), 'utf8'));
const serialize = (v: unknown) => concatBytes(serializeTorchFileChunks(v));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'dlc-io-'));

describe('reading files written by torch.save (PyTorch 1.13)', () => {
  for (const name of ['snapshot.pt', 'tensors.pt']) {
    it(`${name} gives exactly the values PyTorch had`, () => {
      expect(canonical(readTorchFile(fixture(name), { exactFloats: true }))).toEqual(expected[name]);
    });
  }

  it('reads a DeepLabCut snapshot into usable parts', () => {
    const snap = readTorchFile(fixture('snapshot.pt')) as Map<string, unknown>;
    expect([...snap.keys()]).toEqual(['metadata', 'model', 'optimizer', 'scheduler']);
    const model = snap.get('model') as PyOrderedDict<string, HostTensor>;
    expect(model).toBeInstanceOf(PyOrderedDict);
    expect([...model.keys()].slice(0, 3)).toEqual(['half_scale', 'bf16_scale', 'transposed']);
    expect(model.attributes?.get('_metadata')).toBeInstanceOf(Map); // BUILD state kept out of the items
    const nbt = model.get('bn.num_batches_tracked')!;
    expect([nbt.dtype, nbt.shape, toNumbers(nbt)]).toEqual(['int64', [], [1]]);
    expect(Array.from(toFloat32(model.get('half_scale')!))).toEqual([0.5, -1.25, 65504, halfOf(6e-8)]);
    expect(model.get('bf16_scale')!.dtype).toBe('bfloat16');
    expect(toNumbers(model.get('bf16_scale')!).slice(0, 2)).toEqual([1, -3.140625]);
    // arange(12).reshape(3, 4).t(): strides (1, 4), materialised in C order
    const tr = model.get('transposed')!;
    expect([tr.shape, toNumbers(tr)]).toEqual([[4, 3], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]]);
    // base[2:8].view(2, 3) shares base's storage at offset 2
    const base = Array.from(model.get('base')!.data as Float32Array);
    expect(toNumbers(model.get('window')!)).toEqual(base.slice(2, 8));
    expect(model.get('conv.weight')!.shape).toEqual([4, 3, 1, 1]);

    const opt = snap.get('optimizer') as Map<string, unknown>;
    const state = opt.get('state') as Map<number, Map<string, HostTensor>>;
    expect([...state.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...state.get(0)!.keys()]).toEqual(['step', 'exp_avg', 'exp_avg_sq']);
    expect(toNumbers(state.get(0)!.get('step')!)).toEqual([1]);
    expect(state.get(0)!.get('exp_avg')!.shape).toEqual([4, 3, 1, 1]);
    const group = (opt.get('param_groups') as Map<string, unknown>[])[0]!;
    expect(group.get('lr')).toBe(0.001);
    expect(group.get('betas')).toEqual([0.9, 0.999]);
    expect(Object.isFrozen(group.get('betas'))).toBe(true);
    expect(group.get('params')).toEqual([0, 1, 2, 3, 4, 5]);
    const sched = snap.get('scheduler') as Map<string, unknown>;
    expect(sched.get('milestones')).toBeInstanceOf(PyCounter);
    expect(sched.get('last_epoch')).toBe(1);
    const meta = snap.get('metadata') as Map<string, unknown>;
    expect((meta.get('metrics') as Map<string, unknown>).get('test.mAP')).toBe(100); // a number without exactFloats
    expect(meta.get('big')).toBe(2n ** 70n);
    expect(meta.get('unicode')).toBe('Maus 🐭');
  });

  it('reads every layout: 0-d, empty, permuted, strided, expanded, shared views, parameters', () => {
    const t = readTorchFile(fixture('tensors.pt')) as Map<unknown, unknown>;
    const get = (k: string) => t.get(k) as HostTensor;
    expect(toNumbers(get('permuted'))).toEqual([0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23]);
    expect([get('strided').shape, toNumbers(get('strided'))]).toEqual([[2, 2], [13, 15, 21, 23]]);
    expect(toNumbers(get('expanded'))).toEqual([1, 1, 1, 2, 2, 2]);
    expect(get('scalar').shape).toEqual([]);
    expect(get('empty').shape).toEqual([0, 3]);
    const [all, mid, col] = t.get('views') as HostTensor[];
    expect([toNumbers(all!), toNumbers(mid!), toNumbers(col!)]).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 4, 5, 6], [1, 6]]);
    expect(get('parameter').requiresGrad).toBe(true);
    expect(t.get('size')).toEqual([3, 4]);
    expect(Array.from(get('int64').data as BigInt64Array)).toEqual([0n, -1n, 2n ** 62n + 1n, -(2n ** 63n), 2n ** 63n - 1n]);
    expect(t.get(3)).toBe('int key');
  });
});

function halfOf(x: number): number {
  return toNumbers(new HostTensor('float16', [1], new Uint16Array([Math.round(x / 2 ** -24)])))[0]!;
}

describe('clear errors', () => {
  const snapshot = fs.readFileSync(fixture('snapshot.pt'));
  const bytes = new Uint8Array(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);

  it('a truncated file names the file and says it is truncated', () => {
    for (const n of [bytes.length - 1, bytes.length - 30, Math.floor(bytes.length / 2), 100, 3]) {
      expect(() => parseTorchFile(bytes.subarray(0, n), { name: 'snap.pt' })).toThrow(/^snap\.pt: .*truncated/);
    }
    expect(() => parseTorchFile(new Uint8Array(0), { name: 'e.pt' })).toThrow('e.pt: the file is empty');
  });

  it('a damaged record is caught by its CRC', () => {
    const damaged = bytes.slice();
    const zip = new ZipReader(damaged);
    damaged[zip.entries.get('snapshot/data/3')!.dataOffset] ^= 0x40;
    expect(() => parseTorchFile(damaged, { name: 'd.pt' })).toThrow(/^d\.pt: .*'snapshot\/data\/3' is corrupt/);
  });

  it('files that are not torch.save zips', () => {
    expect(() => readTorchFile(fixture('legacy.pt'))).toThrow(/legacy.pt: this is a legacy PyTorch file \(torch.save before 1.6/);
    expect(() => readTorchFile(fixture('plain.pkl'))).toThrow(/plain.pkl: this is a plain Python pickle/);
    expect(() => readTorchFile(fixture('torch.safetensors'))).toThrow(/torch.safetensors: this looks like a safetensors file/);
    expect(() => parseTorchFile(new TextEncoder().encode('hello world, not weights'), { name: 'x.bin' })).toThrow(
      'x.bin: not a PyTorch file: neither a zip archive nor a pickle (starts with 68 65 6c 6c 6f 20 77 6f ...)',
    );
    const jit = writeZip([{ name: 'm/constants.pkl', data: new Uint8Array([0x80, 2, 0x4e, 0x2e]) }, { name: 'm/code/__torch__.py', data: new Uint8Array(1) }]);
    expect(() => parseTorchFile(jit, { name: 'j.pt' })).toThrow(/j.pt: this is a TorchScript archive/);
    expect(() => parseTorchFile(writeZip([{ name: 'a/readme', data: new Uint8Array(1) }]), { name: 'z.zip' })).toThrow(/z.zip: a zip archive without data.pkl/);
  });

  it('an unsupported dtype names the storage class', () => {
    expect(() => readTorchFile(fixture('complex.pt'))).toThrow(/complex.pt: unsupported tensor dtype: storage class torch.ComplexFloatStorage/);
  });

  it('a missing or short storage record', () => {
    const zip = new ZipReader(serialize({ w: new HostTensor('float32', [2], new Float32Array([1, 2])) }));
    const records = zip.names().map((name) => ({ name, data: zip.read(name) }));
    const missing = writeZip(records.filter((r) => r.name !== 'archive/data/0'));
    expect(() => parseTorchFile(missing, { name: 'm.pt' })).toThrow(/m.pt: storage record 'archive\/data\/0' is missing/);
    const short = writeZip(records.map((r) => (r.name === 'archive/data/0' ? { ...r, data: r.data.subarray(0, 4) } : r)));
    expect(() => parseTorchFile(short, { name: 's.pt' })).toThrow(/s.pt: storage '0' should hold 2 float32 elements \(8 bytes\) but has 4 bytes/);
  });
});

describe('writing .pt files', () => {
  it('our files read back exactly (ours -> ours), for every sample PyTorch verified', () => {
    const { files, expected: exp } = buildIoSamples();
    const pt = (exp as { pt: Record<string, unknown> }).pt;
    for (const [name, canon] of Object.entries(pt)) {
      expect(canonical(parseTorchFile(files.get(name)!, { exactFloats: true, name }))).toEqual(canon);
    }
  });

  it('torch -> ours -> ours keeps the snapshot exactly', () => {
    const snap = readTorchFile(fixture('snapshot.pt'), { exactFloats: true });
    expect(canonical(parseTorchFile(serialize(snap), { exactFloats: true }))).toEqual(expected['snapshot.pt']);
    const tensors = readTorchFile(fixture('tensors.pt'), { exactFloats: true });
    expect(canonical(parseTorchFile(serialize(tensors), { exactFloats: true }))).toEqual(expected['tensors.pt']);
  });

  it('writes atomically to a path and replaces an existing file', () => {
    const dir = tmp();
    try {
      const file = path.join(dir, 'model.pt');
      fs.writeFileSync(file, 'old contents');
      const value = new Map<unknown, unknown>([['w', new HostTensor('float16', [2], new Uint16Array([0x3c00, 0x4000]))], ['lr', new PyFloat(1)], ['t', tuple(1, 2)]]);
      writeTorchFile(file, value);
      expect(fs.readdirSync(dir)).toEqual(['model.pt']);
      expect(canonical(readTorchFile(file, { exactFloats: true }))).toEqual(canonical(value));
      // A value that cannot be pickled leaves the old file alone and no temporary behind.
      expect(() => writeTorchFile(file, { bad: new Date() })).toThrow(PickleWriteError);
      expect(fs.readdirSync(dir)).toEqual(['model.pt']);
      expect(canonical(readTorchFile(file, { exactFloats: true }))).toEqual(canonical(value));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tensors that share a data array share one storage', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const zip = new ZipReader(serialize([new HostTensor('float32', [4], data), new HostTensor('float32', [2, 2], data)]));
    expect(zip.names().filter((n) => n.includes('/data/'))).toEqual(['archive/data/0']);
    expect(zip.names()).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/version']);
    expect(new TextDecoder().decode(zip.read('archive/version'))).toBe('3\n');
  });

  it('reads big-endian storages when byteorder says so', () => {
    const zip = new ZipReader(serialize({ w: new HostTensor('int32', [2], new Int32Array([1, -2])) }));
    const records = zip.names().map((name) => {
      let data = zip.read(name).slice();
      if (name === 'archive/byteorder') data = new TextEncoder().encode('big');
      if (name === 'archive/data/0') swapBytes(data, 4);
      return { name, data };
    });
    const back = parseTorchFile(writeZip(records)) as Map<string, HostTensor>;
    expect(toNumbers(back.get('w')!)).toEqual([1, -2]);
  });

  it('large tensors round-trip quickly', () => {
    const data = new Float32Array(1024 * 1024 * 4); // 16 MB
    for (let i = 0; i < data.length; i++) data[i] = i;
    const big = new HostTensor('float32', [1024, 1024, 4], data);
    const t0 = performance.now();
    const back = parseTorchFile(serialize({ big })) as Map<string, HostTensor>;
    expect(performance.now() - t0).toBeLessThan(2000); // about 0.1 s here
    const a = back.get('big')!.data as Float32Array;
    expect(Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), new Uint8Array(data.buffer))).toBe(0);
  });

  it('refuses values that are not picklable, saying where', () => {
    expect(() => serialize({ model: { w: Symbol('x') } })).toThrow(/symbol \(at \["model"\]\["w"\]\)/);
    expect(() => parseTorchFile(new Uint8Array([0x80, 2, 0x4e, 0x2e]), { name: 'n.pkl' })).toThrow(TorchFileError);
  });
});
