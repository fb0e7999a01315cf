// The files our writers produce for PyTorch to verify (scripts/fixtures/write_io_samples.ts writes them to
// test/fixtures/io/written-by-us/, make_io_fixtures.py --verify loads them with torch.load). Deterministic,
// so the vitest suite can rebuild them and check they are byte-identical to the verified ones.

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTorchFile } from '../../src/io/index.ts';
import { serializeTorchFileChunks } from '../../src/io/torch-file.ts';
import { serializeSafetensors } from '../../src/io/safetensors.ts';
import { concatBytes } from '../../src/io/zip.ts';
import { fromNumbers, HostTensor, HOST_DTYPES, type HostDType } from '../../src/io/host-tensor.ts';
import { PyCounter, PyFloat, PyOrderedDict, tuple } from '../../src/io/py-values.ts';
import { canonical, canonTensor } from './canonical.ts';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/io');
export const WRITTEN_BY_US = path.join(FIXTURES, 'written-by-us');

/** Values that exercise each dtype's range and rounding. */
function sampleTensor(dtype: HostDType, shape: number[], seed = 0): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => {
    const x = Math.sin(i * 1.7 + seed) * 100;
    return dtype === 'bool' ? i % 2 : dtype === 'uint8' ? Math.abs(Math.round(x * 2.5)) % 256 : x;
  });
  const t = fromNumbers(values, shape, dtype);
  if (dtype === 'int64') (t.data as BigInt64Array)[0] = -(2n ** 63n) + 5n;
  if (dtype === 'int32') (t.data as Int32Array)[0] = -(2 ** 31);
  return t;
}

export function allDtypeTensors(): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>();
  HOST_DTYPES.forEach((dtype, i) => m.set(dtype, sampleTensor(dtype, [2, 3], i)));
  return m;
}

function valuesSample(): unknown {
  const sharedData = new Float32Array([1, 2.5, -3, 4.25, 5, 6]);
  const withGrad = sampleTensor('float32', [3]);
  withGrad.requiresGrad = true;
  return new Map<unknown, unknown>([
    ['ints', [0, 1, 255, 256, 65535, 65536, -1, -256, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1,
      Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2n ** 70n, -(2n ** 70n), 2n ** 63n, -(2n ** 63n), 2n ** 2000n]],
    ['floats', [0.5, -0, 1e-300, new PyFloat(3), Infinity, -Infinity, NaN, 2 ** 60, 1.5e300, -2.2250738585072014e-308]],
    ['strings', ['', 'ascii', 'Maus \u{1f42d} \u00e9', 'a\nb\u0000c']],
    ['bytes', new Uint8Array([0, 255, 128, 65, 10])],
    ['empty bytes', new Uint8Array(0)],
    ['none', null],
    ['bools', tuple(true, false)],
    ['tuples', tuple(tuple(), tuple(1), tuple(1, 2), tuple(1, 2, 3), tuple(1, 2, 3, 4, tuple('nested')))],
    ['long list', Array.from({ length: 1200 }, (_, i) => i - 600)],
    ['empty list', []],
    ['int keys', new Map<unknown, unknown>([[0, 'zero'], [-5, 'minus five'], [2n ** 70n, 'big'], [1.5, 'float key']])],
    ['tuple key', new Map<unknown, unknown>([[tuple(1, 'a'), 1]])],
    ['object', { plain: 'object', nested: { a: [1, null] } }],
    ['counter', new PyCounter([[2, 1], [4, 3]])],
    ['ordered', new PyOrderedDict<unknown, unknown>([['b', 1], ['a', 2]])],
    ['tensors', allDtypeTensors()],
    ['shared', [new HostTensor('float32', [6], sharedData), new HostTensor('float32', [2, 3], sharedData)]],
    ['scalar', new HostTensor('float32', [], new Float32Array([2.75]))],
    ['empty', new HostTensor('float64', [0, 3], new Float64Array(0))],
    ['requires_grad', withGrad],
  ]);
}

/** What torch.load(weights_only=True) in 1.13 accepts: no floats (it lacks BINFLOAT), only tensors, ints, str... */
function weightsSample(): unknown {
  const sd = new PyOrderedDict<string, unknown>();
  for (const [k, t] of allDtypeTensors()) sd.set(`layer.${k}`, t);
  sd.set('bn.num_batches_tracked', new HostTensor('int64', [], new BigInt64Array([42n])));
  sd.attributes = new Map([['_metadata', new PyOrderedDict([['', new Map([['version', 1]])], ['bn', new Map([['version', 2]])]])]]);
  return new Map<unknown, unknown>([
    ['state_dict', sd],
    ['info', new Map<unknown, unknown>([['epoch', 12], ['name', 'resnet_50'], ['big', 2n ** 64n], ['shape', tuple(3, 224, 224)], ['flag', true], ['none', null]])],
  ]);
}

export interface IoSamples {
  files: Map<string, Uint8Array>;
  expected: unknown;
}

export function buildIoSamples(): IoSamples {
  const files = new Map<string, Uint8Array>();
  const pt: Record<string, unknown> = {};
  const addPt = (name: string, value: unknown, forceZip64 = false) => {
    files.set(name, concatBytes(serializeTorchFileChunks(value, { forceZip64 })));
    pt[name] = canonical(value);
  };
  addPt('values.pt', valuesSample());
  addPt('weights.pt', weightsSample());
  addPt('zip64.pt', new Map<unknown, unknown>([['w', sampleTensor('float32', [4, 4])], ['n', 7]]), true);

  // torch's own snapshot, read and written back: verified against the original and loaded into the model.
  const snapshot = readTorchFile(path.join(FIXTURES, 'snapshot.pt'), { exactFloats: true }) as Map<string, unknown>;
  files.set('snapshot-resaved.pt', concatBytes(serializeTorchFileChunks(snapshot)));
  files.set('model-resaved.pt', concatBytes(serializeTorchFileChunks(snapshot.get('model'))));

  const st = allDtypeTensors();
  st.set('scalar', new HostTensor('float32', [], new Float32Array([-1.5])));
  st.set('empty', new HostTensor('int32', [2, 0], new Int32Array(0)));
  const metadata = { format: 'pt', written_by: 'dlc-gpu' };
  files.set('ours.safetensors', serializeSafetensors(st, metadata));
  const safetensors = {
    'ours.safetensors': { metadata, tensors: Object.fromEntries([...st].map(([k, t]) => [k, canonTensor(t)])) },
  };
  return { files, expected: { pt, weights_only: ['weights.pt'], safetensors } };
}
