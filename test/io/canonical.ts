// The canonical JSON form of Python values that the fixture script (scripts/fixtures/make_io_fixtures.py,
// canonical()) writes and that tests compare against: exact for every type, tensors as raw bytes plus values.

import { PickleObject } from '../../src/io/pickle.ts';
import { PyCounter, PyFloat, PyOrderedDict } from '../../src/io/py-values.ts';
import { HostTensor, hostTensorBytes, toNumbers } from '../../src/io/host-tensor.ts';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function fmtFloat(x: number): number | string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return x;
}

export function canonTensor(t: HostTensor): unknown {
  let values: unknown[];
  if (t.dtype === 'int64') values = Array.from(t.data as BigInt64Array, String);
  else if (t.dtype.startsWith('float') || t.dtype === 'bfloat16') values = toNumbers(t).map(fmtFloat);
  else values = toNumbers(t);
  return { tensor: t.dtype, shape: t.shape, requires_grad: t.requiresGrad, hex: hex(hostTensorBytes(t)), values };
}

const entries = (m: Map<unknown, unknown>) => [...m].map(([k, v]) => [canonical(k), canonical(v)]);

export function canonical(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) && !Object.is(v, -0) ? v : { float: fmtFloat(v) };
  }
  if (typeof v === 'bigint') {
    return v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : { int: String(v) };
  }
  if (v instanceof PyFloat) return { float: fmtFloat(v.value) };
  if (v instanceof HostTensor) return canonTensor(v);
  if (v instanceof Uint8Array) return { bytes: hex(v) };
  if (Array.isArray(v)) return Object.isFrozen(v) ? { tuple: v.map(canonical) } : { list: v.map(canonical) };
  if (v instanceof PyOrderedDict) {
    const out: Record<string, unknown> = { odict: entries(v) };
    if (v.attributes && v.attributes.size > 0) out.attrs = entries(v.attributes);
    return out;
  }
  if (v instanceof PyCounter) return { counter: entries(v) };
  if (v instanceof Map) return { dict: entries(v) };
  if (v instanceof PickleObject) return { object: `${v.module}.${v.name}`, args: v.args.map(canonical), state: canonical(v.state) };
  if (typeof v === 'object') return { dict: Object.entries(v as object).map(([k, x]) => [k, canonical(x)]) };
  throw new Error(`no canonical form for ${typeof v}`);
}
