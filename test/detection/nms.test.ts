// nms and batchedNms against torchvision 0.14 on the CPU (test/fixtures/boxops.json from
// scripts/fixtures/make_boxops_fixtures.py): exact kept indices, in order, for both greedy passes (GPU workgroup
// and host), with the integer IoU test forced on every pair, and for the plain-TypeScript reference.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { batchedNms, batchedNmsReference, nms, nmsReference, type GreedyMode } from '../../src/ops/nms.ts';
import { useGpu } from '../helpers/gpu.ts';

interface Encoded { dtype: 'f32' | 'u16' | 'u8' | 'i32'; scale: number; shape: number[]; b64: string }
interface NmsCase {
  name: string;
  op: 'nms' | 'batchedNms';
  n: number;
  boxes: Encoded;
  scores: Encoded;
  classes?: Encoded;
  expect: { threshold: number; keep: Encoded }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/boxops.json', import.meta.url), 'utf8')) as { nms: NmsCase[] };

/** A fixture array's values (raw / scale, exact in float32). */
function values(e: Encoded): Float32Array {
  const bytes = Uint8Array.from(Buffer.from(e.b64, 'base64'));
  const raw = { f32: Float32Array, u16: Uint16Array, u8: Uint8Array, i32: Int32Array }[e.dtype];
  return Float32Array.from(new raw(bytes.buffer), (v) => v / e.scale);
}
const ints = (e: Encoded) => Int32Array.from(values(e));

const engine = useGpu();

function inputs(c: NmsCase): { boxes: dg.Tensor; scores: dg.Tensor; classes: Int32Array | null } {
  return {
    boxes: dg.tensor(values(c.boxes), [c.n, 4]),
    scores: dg.tensor(values(c.scores), [c.n]),
    classes: c.classes ? ints(c.classes) : null,
  };
}

async function run(c: NmsCase, threshold: number, greedy: GreedyMode, exactTest = false): Promise<Int32Array> {
  const { boxes, scores, classes } = inputs(c);
  try {
    return c.op === 'nms' ? await nms(boxes, scores, threshold, { greedy, exactTest }) : await batchedNms(boxes, scores, classes!, threshold, { greedy, exactTest });
  } finally {
    boxes.dispose();
    scores.dispose();
  }
}

describe('nms and batchedNms match torchvision 0.14 exactly', () => {
  for (const c of fixture.nms) {
    it(`${c.op}: ${c.name} (n = ${c.n})`, async () => {
      for (const { threshold, keep } of c.expect) {
        const want = Array.from(ints(keep));
        const label = `${c.name}, threshold ${threshold}`;
        expect(Array.from(await run(c, threshold, 'gpu')), `${label}, GPU greedy pass`).toEqual(want);
        expect(Array.from(await run(c, threshold, 'host')), `${label}, host greedy pass`).toEqual(want);
        // Every pair through the integer test (lavapipe's division is exact, so the shortcut alone would pass).
        if (c.n <= 1001) expect(Array.from(await run(c, threshold, 'host', true)), `${label}, integer IoU test`).toEqual(want);
      }
    });
  }
});

describe('the plain-TypeScript reference matches torchvision 0.14 exactly', () => {
  it('on every fixture case', () => {
    for (const c of fixture.nms) {
      const boxes = values(c.boxes);
      const scores = values(c.scores);
      for (const { threshold, keep } of c.expect) {
        const got = c.op === 'nms' ? nmsReference(boxes, scores, threshold) : batchedNmsReference(boxes, scores, ints(c.classes!), threshold);
        expect(Array.from(got), `${c.name}, threshold ${threshold}`).toEqual(Array.from(ints(keep)));
      }
    }
  });
});

describe('nms details', () => {
  it('agrees with the reference on 3000 random boxes with equal scores (both batched strategies)', async () => {
    const n = 3000;
    const u = dg.seededUniform(5 * n, 7);
    const b = new Float32Array(4 * n);
    const s = new Float32Array(n);
    const cls = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const x = (u[5 * i]! + 1) * 300;
      const y = (u[5 * i + 1]! + 1) * 300;
      b.set([x, y, x + 10 + (u[5 * i + 2]! + 1) * 60, y + 10 + (u[5 * i + 3]! + 1) * 60], 4 * i);
      s[i] = Math.round((u[5 * i + 4]! + 1) * 50) / 100;
      cls[i] = i % 7;
    }
    await dg.scope(async () => {
      const boxes = dg.tensor(b, [n, 4]);
      const scores = dg.tensor(s, [n]);
      expect(Array.from(await nms(boxes, scores, 0.5))).toEqual(Array.from(nmsReference(b, s, 0.5)));
      expect(Array.from(await batchedNms(boxes, scores, cls, 0.5))).toEqual(Array.from(batchedNmsReference(b, s, cls, 0.5)));
      const few = 900;
      const fb = dg.tensor(b.subarray(0, 4 * few), [few, 4]);
      const fs = dg.tensor(s.subarray(0, few), [few]);
      expect(Array.from(await batchedNms(fb, fs, cls.subarray(0, few), 0.5))).toEqual(Array.from(batchedNmsReference(b.subarray(0, 4 * few), s.subarray(0, few), cls.subarray(0, few), 0.5)));
    });
  });

  it('takes classes as a tensor of integers', async () => {
    const c = fixture.nms.find((x) => x.op === 'batchedNms' && x.n > 1000)!;
    const { boxes, scores, classes } = inputs(c);
    await dg.scope(async () => {
      const t = dg.tensor(Float32Array.from(classes!), [c.n]);
      expect(Array.from(await batchedNms(boxes, scores, t, c.expect[0]!.threshold))).toEqual(Array.from(ints(c.expect[0]!.keep)));
      boxes.dispose();
      scores.dispose();
    });
  });

  it('handles empty inputs and a single box', async () => {
    await dg.scope(async () => {
      const none = dg.zeros([0, 4]);
      const noScores = dg.zeros([0]);
      expect(Array.from(await nms(none, noScores, 0.5))).toEqual([]);
      expect(Array.from(await batchedNms(none, noScores, new Int32Array(0), 0.5))).toEqual([]);
      const one = dg.tensor([[1, 2, 3, 4]]);
      expect(Array.from(await nms(one, dg.tensor([0.3]), 0.5))).toEqual([0]);
      expect(Array.from(await batchedNms(one, dg.tensor([0.3]), Int32Array.of(4), 0.5, { greedy: 'host' }))).toEqual([0]);
    });
  });

  it('rejects bad inputs with errors that name them', async () => {
    await dg.scope(async () => {
      const boxes = dg.zeros([3, 4]);
      const scores = dg.zeros([3]);
      await expect(nms(dg.zeros([3, 5]), scores, 0.5)).rejects.toThrow(/nms: boxes must be a \[n, 4\] tensor.*\[3, 5\]/);
      await expect(nms(dg.zeros([12]), scores, 0.5)).rejects.toThrow(/boxes must be a \[n, 4\]/);
      await expect(nms(boxes, dg.zeros([3, 1]), 0.5)).rejects.toThrow(/scores must be a \[n\] tensor, got \[3, 1\]/);
      await expect(nms(boxes, dg.zeros([4]), 0.5)).rejects.toThrow(/boxes has 3 rows but scores has 4/);
      await expect(nms(boxes, scores, Number.NaN)).rejects.toThrow(/iouThreshold must be a finite number/);
      await expect(batchedNms(boxes, scores, new Int32Array(2), 0.5)).rejects.toThrow(/classes has 2 entries but there are 3 boxes/);
      await expect(batchedNms(boxes, scores, dg.tensor([0, 1.5, 2]), 0.5)).rejects.toThrow(/classes must hold integers.*1\.5 at 1/);
      await expect(batchedNms(boxes, scores, dg.zeros([2]), 0.5)).rejects.toThrow(/classes must be an Int32Array or a \[3\] tensor/);
      const gone = dg.zeros([3, 4]);
      gone.dispose();
      await expect(nms(gone, scores, 0.5)).rejects.toThrow(/used after dispose/);
    });
  });

  it('keeps the buffer count flat over repeated calls', async () => {
    const c = fixture.nms.find((x) => x.op === 'batchedNms' && x.n > 1000)!;
    const small = fixture.nms.find((x) => x.op === 'batchedNms' && x.n < 1000)!;
    const once = async () => {
      for (const greedy of ['gpu', 'host'] as const) {
        await run(c, 0.5, greedy);
        await run(small, 0.5, greedy);
      }
    };
    await once();
    const held = () => engine().stats().liveBuffers + engine().stats().pooledBuffers;
    const before = held();
    for (let i = 0; i < 5; i++) await once();
    expect(held()).toBe(before);
  });
});
