// Box ops and torch's sort / topk order against torchvision 0.14 / torch 1.13 on the CPU (test/fixtures/boxops.json
// from scripts/fixtures/make_boxops_fixtures.py): values at 1e-5 relative, gradients against float64 autograd,
// finite differences, exact indices for removeSmallBoxes, sort and topk.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { BoxCoder, boxIou, clipBoxesToImage, removeSmallBoxes } from '../../src/ops/boxes.ts';
import { topkIndices, torchSortDescending, torchTopkDescending } from '../../src/ops/sort.ts';
import { expectClose } from '../helpers/compare.ts';
import { useGpu } from '../helpers/gpu.ts';
import { gradcheck, randomInput } from '../helpers/gradcheck.ts';

interface Encoded { dtype: 'f32' | 'u16' | 'u8' | 'i32'; scale: number; shape: number[]; b64: string }
interface OpCase {
  name: string;
  op: 'boxIou' | 'clip' | 'removeSmallBoxes' | 'encode' | 'decode';
  args?: { size?: [number, number]; weights?: [number, number, number, number] };
  inputs: Encoded[];
  out?: Encoded;
  upstream?: Encoded;
  grads?: Encoded[];
  cases?: { minSize: number; keep: Encoded }[];
}
interface OrderCase { name: string; values: Encoded; rows?: number; sort?: Encoded; topk: { k: number; indices: Encoded }[] }

const fixture = JSON.parse(readFileSync(new URL('../fixtures/boxops.json', import.meta.url), 'utf8')) as { ops: OpCase[]; order: OrderCase[] };

function values(e: Encoded): Float32Array {
  const bytes = Uint8Array.from(Buffer.from(e.b64, 'base64'));
  const raw = { f32: Float32Array, u16: Uint16Array, u8: Uint8Array, i32: Int32Array }[e.dtype];
  return Float32Array.from(new raw(bytes.buffer), (v) => v / e.scale);
}
const ints = (e: Encoded) => Array.from(values(e));
const tensorOf = (e: Encoded) => dg.tensor(values(e), e.shape);

/** expectClose, with NaN (torch's 0 / 0 for empty boxes) required at the same places. */
function expectCloseNaN(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  const nan = (a: Float32Array) => Array.from(a.keys()).filter((i) => Number.isNaN(a[i]));
  expect(nan(got), `${what}: NaN positions`).toEqual(nan(want));
  expectClose(got.filter((v) => !Number.isNaN(v)), want.filter((v) => !Number.isNaN(v)), tol, what);
}

const TOL = 1e-5;
const GRAD_TOL = 1e-4;
const engine = useGpu();

function forward(c: OpCase, t: dg.Tensor[]): dg.Tensor {
  const coder = new BoxCoder(c.args?.weights ?? [1, 1, 1, 1]);
  if (c.op === 'boxIou') return boxIou(t[0]!, t[1]!);
  if (c.op === 'clip') return clipBoxesToImage(t[0]!, c.args!.size!);
  if (c.op === 'encode') return coder.encode(t[0]!, t[1]!);
  return coder.decode(t[0]!, t[1]!);
}

describe('box ops match torchvision 0.14', () => {
  for (const c of fixture.ops) {
    it(c.name, async () => {
      await dg.scope(async () => {
        const t = c.inputs.map(tensorOf);
        if (c.op === 'removeSmallBoxes') {
          for (const { minSize, keep } of c.cases!) expect(Array.from(await removeSmallBoxes(t[0]!, minSize)), `minSize ${minSize}`).toEqual(ints(keep));
          return;
        }
        for (const x of t) x.requiresGrad = !!c.grads;
        const y = forward(c, t);
        expect(y.shape).toEqual(c.out!.shape);
        expectCloseNaN(await y.toArray(), values(c.out!), TOL, 'forward');
        if (!c.grads) return;
        y.backward(tensorOf(c.upstream!));
        for (const [k, g] of c.grads.entries()) expectClose(await t[k]!.grad!.toArray(), values(g), GRAD_TOL, `gradient of input ${k}`);
      });
    });
  }
});

describe('box op gradients pass finite differences', () => {
  // Positive widths and heights: x1, y1 in [0, 10), x2 - x1 and y2 - y1 in [2, 12).
  const boxes = (n: number, seed: number) => {
    const u = randomInput([n, 4], seed, 0, 10);
    for (let i = 0; i < n; i++) {
      u.data[4 * i + 2]! += u.data[4 * i]! + 2;
      u.data[4 * i + 3]! += u.data[4 * i + 1]! + 2;
    }
    return u;
  };
  it('BoxCoder.encode', async () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    expect(await gradcheck(([g, p]) => coder.encode(g!, p!), [boxes(5, 1), boxes(5, 2)])).toBeLessThan(2e-2);
  });
  it('BoxCoder.decode', async () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    expect(await gradcheck(([r, b]) => coder.decode(r!, b!), [randomInput([4, 8], 3, -2, 2), boxes(4, 4)])).toBeLessThan(2e-2);
  });
  it('clipBoxesToImage', async () => {
    expect(await gradcheck(([x]) => clipBoxesToImage(x!, [7, 9]), [randomInput([3, 2, 4], 5, -3.3, 12.7)])).toBeLessThan(2e-2);
  });
});

describe("torch 1.13's order for equal values", () => {
  for (const c of fixture.order) {
    it(c.name, async () => {
      const v = values(c.values);
      const rows = c.rows ?? 1;
      const n = v.length / rows;
      if (c.sort) expect(Array.from(torchSortDescending(v))).toEqual(ints(c.sort));
      await dg.scope(async () => {
        const t = dg.tensor(v, rows > 1 ? [rows, n] : [n]);
        for (const { k, indices } of c.topk) {
          const want = ints(indices);
          expect(Array.from(await topkIndices(t, k, { where: 'gpu' })), `topkIndices on the GPU, k = ${k}`).toEqual(want);
          expect(Array.from(await topkIndices(t, k, { where: 'host' })), `topkIndices on the host, k = ${k}`).toEqual(want);
          const host: number[] = [];
          for (let r = 0; r < rows; r++) host.push(...torchTopkDescending(v.subarray(r * n, (r + 1) * n), k));
          expect(host, `host topk k = ${k}`).toEqual(want);
        }
      });
    });
  }

  it('topkIndices sorts distinct scores on the GPU alone (largest first, over rows)', async () => {
    await dg.scope(async () => {
      const v = Float32Array.from({ length: 3 * 700 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
      const t = dg.tensor(v, [3, 700]);
      const got = await topkIndices(t, 50, { where: 'gpu' });
      for (let r = 0; r < 3; r++) {
        const want = Array.from({ length: 700 }, (_, i) => i).sort((a, b) => v[r * 700 + b]! - v[r * 700 + a]!).slice(0, 50);
        expect(Array.from(got.subarray(r * 50, (r + 1) * 50))).toEqual(want);
      }
    });
  });
});

describe('box op details', () => {
  it('handle empty inputs', async () => {
    await dg.scope(async () => {
      const none = dg.zeros([0, 4]);
      expect(boxIou(none, dg.zeros([3, 4])).shape).toEqual([0, 3]);
      expect(clipBoxesToImage(none, [5, 5]).shape).toEqual([0, 4]);
      expect(Array.from(await removeSmallBoxes(none, 1))).toEqual([]);
      const coder = new BoxCoder([1, 1, 1, 1]);
      expect(coder.encode(none, none).shape).toEqual([0, 4]);
      expect(coder.decode(dg.zeros([0, 8]), none).shape).toEqual([0, 2, 4]);
      expect(Array.from(await topkIndices(dg.zeros([5]), 0))).toEqual([]);
    });
  });

  it('reject bad inputs with errors that name them', async () => {
    await dg.scope(async () => {
      const b = dg.zeros([3, 4]);
      expect(() => boxIou(b, dg.zeros([3, 5]))).toThrow(/boxIou: b must be a \[n, 4\] tensor.*\[3, 5\]/);
      expect(() => clipBoxesToImage(dg.zeros([3, 3]), [4, 4])).toThrow(/clipBoxesToImage: boxes must be a \[\.\.\., 4\] tensor/);
      expect(() => clipBoxesToImage(b, [4] as unknown as [number, number])).toThrow(/size must be \[height, width\]/);
      await expect(removeSmallBoxes(b, Number.NaN)).rejects.toThrow(/minSize must be a number/);
      expect(() => new BoxCoder([1, 1, 0, 1])).toThrow(/weights must be four finite, non-zero numbers/);
      const coder = new BoxCoder([10, 10, 5, 5]);
      expect(() => coder.encode(b, dg.zeros([2, 4]))).toThrow(/referenceBoxes has 3 boxes but proposals has 2/);
      expect(() => coder.decode(dg.zeros([3, 6]), b)).toThrow(/relCodes \[3, 6\] must hold 4k values for each of the 3 boxes/);
      await expect(topkIndices(dg.zeros([2, 2, 2]), 1)).rejects.toThrow(/scores must be \[n\] or \[rows, n\]/);
      await expect(topkIndices(dg.zeros([4]), 5)).rejects.toThrow(/k must be an integer in \[0, 4\]/);
    });
  });

  it('keep the buffer count flat over repeated calls', async () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    const c = fixture.ops.find((x) => x.op === 'decode')!;
    const step = async () => {
      await dg.scope(async () => {
        const [codes, boxes] = c.inputs.map(tensorOf);
        codes!.requiresGrad = true;
        const y = clipBoxesToImage(coder.decode(codes!, boxes!), [300, 400]);
        await dg.sum(boxIou(dg.reshape(y, [-1, 4]), boxes!)).item();
        dg.sum(y).backward();
        await removeSmallBoxes(boxes!, 3);
        await topkIndices(dg.reshape(codes!, [-1]), 10, { where: 'gpu' });
      });
    };
    await step();
    const held = () => engine().stats().liveBuffers + engine().stats().pooledBuffers;
    const before = held();
    for (let i = 0; i < 5; i++) await step();
    expect(held()).toBe(before);
  });
});
