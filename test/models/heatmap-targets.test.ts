// DeepLabCut's exact-number target tests (reference section 8.1) and the rules of section 2.4.
import { describe, expect, it } from 'vitest';
import { HeatmapGenerator } from '../../src/models/target-generators/heatmap.ts';
import { useGpu } from '../helpers/gpu.ts';

useGpu();

/** One image, one heatmap, the given centres as individuals with visibility 1, stride 1. */
async function heat(mode: 'gaussian' | 'plateau', thresh: number, size: number, centres: [number, number][]) {
  const g = new HeatmapGenerator({ numHeatmaps: 1, posDistThresh: thresh, mode });
  const t = g.generate({ data: Float32Array.from(centres.flatMap(([x, y]) => [x, y, 1])), batch: 1, individuals: centres.length }, size, size, 1);
  const data = await t.heatmap.target.toArray();
  return { t, rows: [...Array(size).keys()].map((r) => Array.from(data.slice(r * size, r * size + size))) };
}

const round4 = (rows: number[][]) => rows.map((r) => r.map((v) => Math.round(v * 1e4) / 1e4));

describe('Gaussian heatmap targets (DeepLabCut test_heatmap_targets.py)', () => {
  it('dist_thresh 3, 3x3, centre (1, 1)', async () => {
    expect(round4((await heat('gaussian', 3, 3, [[1, 1]])).rows)).toEqual([
      [0.7788, 0.8825, 0.7788],
      [0.8825, 1, 0.8825],
      [0.7788, 0.8825, 0.7788],
    ]);
  });
  it('dist_thresh 3, 5x5, centres (1, 1) and (2, 2): element-wise max', async () => {
    expect(round4((await heat('gaussian', 3, 5, [[1, 1], [2, 2]])).rows)).toEqual([
      [0.7788, 0.8825, 0.7788, 0.5353, 0.3679],
      [0.8825, 1, 0.8825, 0.7788, 0.5353],
      [0.7788, 0.8825, 1, 0.8825, 0.6065],
      [0.5353, 0.7788, 0.8825, 0.7788, 0.5353],
      [0.3679, 0.5353, 0.6065, 0.5353, 0.3679],
    ]);
  });
  it('dist_thresh 1, 4x4, centre (1, 1)', async () => {
    expect(round4((await heat('gaussian', 1, 4, [[1, 1]])).rows)).toEqual([
      [0.1054, 0.3247, 0.1054, 0.0036],
      [0.3247, 1, 0.3247, 0.0111],
      [0.1054, 0.3247, 0.1054, 0.0036],
      [0.0036, 0.0111, 0.0036, 0.0001],
    ]);
  });
});

describe('plateau heatmap targets (DeepLabCut test_plateau_targets.py)', () => {
  const bits = (rows: number[][]) => rows.map((r) => r.join(''));
  it('r 1, 3x3, centre (1, 1): a plus', async () => {
    expect(bits((await heat('plateau', 1, 3, [[1, 1]])).rows)).toEqual(['010', '111', '010']);
  });
  it('r 2, 5x5, centres (1, 1) and (2, 2)', async () => {
    expect(bits((await heat('plateau', 2, 5, [[1, 1], [2, 2]])).rows)).toEqual(['11100', '11110', '11111', '01110', '00100']);
  });
  it('r 2, 4x4, centre (1, 1)', async () => {
    expect(bits((await heat('plateau', 2, 4, [[1, 1]])).rows)).toEqual(['1110', '1111', '1110', '0100']);
  });
});

describe('grid, locref and weights', () => {
  it('stride 8 puts cell centres at trunc(8c + 4); locref is (k - g) / locref_std, masked to the disk', async () => {
    const g = new HeatmapGenerator({ numHeatmaps: 2, posDistThresh: 17, mode: 'gaussian', locrefStd: 7.2801 });
    // Keypoint 0 at (21, 30): nearest centre (20, 28) is cell (row 3, col 2). Keypoint 1 unlabeled (visibility 0).
    const t = g.generate({ data: Float32Array.from([21, 30, 1, 0, 0, 0]), batch: 1, individuals: 1 }, 6, 7, 8);
    const hm = await t.heatmap.target.toArray();
    const hw = 6 * 7;
    expect(hm[3 * 7 + 2]).toBeCloseTo(Math.exp(-(1 + 4) / (2 * (34 / 3) ** 2)), 6);
    expect(Math.max(...hm.slice(0, hw))).toBe(hm[3 * 7 + 2]);
    expect(Math.max(...hm.slice(hw))).toBe(0);
    const loc = await t.locref!.target.toArray();
    expect(loc[3 * 7 + 2]).toBeCloseTo(1 / 7.2801, 6);
    expect(loc[hw + 3 * 7 + 2]).toBeCloseTo(2 / 7.2801, 6);
    // Written over the whole map in Gaussian mode: cell (0, 0) has centre (4, 4).
    expect(loc[0]).toBeCloseTo(17 / 7.2801, 5);
    const mask = await t.locref!.weights.toArray();
    expect(mask[0]).toBe(0); // d^2 = 17^2 + 26^2 > 17^2
    expect(mask[3 * 7 + 2]).toBe(1);
    expect(mask[hw + 3 * 7 + 2]).toBe(1);
    expect(Math.max(...mask.slice(2 * hw))).toBe(0);
    expect(t.heatmap.weights.shape).toEqual([1, 2, 6, 7]);
    expect(new Set(await t.heatmap.weights.toArray())).toEqual(new Set([1]));
  });

  it('per-channel weights follow DeepLabCut: gradient masking down-weights unlabeled, visibility -1 zeroes', async () => {
    const g = new HeatmapGenerator({ numHeatmaps: 3, posDistThresh: 5, mode: 'gaussian', gradientMasking: true, backgroundWeight: 0.25 });
    const k = { data: Float32Array.from([1, 1, 1, 0, 0, 0, 2, 2, -1]), batch: 1, individuals: 1 };
    expect(Array.from(g.channelWeights(k))).toEqual([1, 0.25, 0]);
    const noMask = new HeatmapGenerator({ numHeatmaps: 3, posDistThresh: 5, mode: 'gaussian' });
    expect(Array.from(noMask.channelWeights(k))).toEqual([1, 1, 0]);
    const t = g.generate(k, 2, 2, 1);
    expect(Array.from(await t.heatmap.weights.toArray())).toEqual([1, 1, 1, 1, 0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0]);
  });

  it('a later individual overwrites locref in Gaussian mode; the heatmap keeps the maximum', async () => {
    const g = new HeatmapGenerator({ numHeatmaps: 1, posDistThresh: 3, mode: 'gaussian', locrefStd: 1 });
    const t = g.generate({ data: Float32Array.from([0, 0, 1, 3, 0, 1]), batch: 1, individuals: 2 }, 1, 4, 1);
    expect(Array.from(await t.locref!.target.toArray()).slice(0, 4)).toEqual([3, 2, 1, 0]);
    expect((await t.heatmap.target.toArray())[0]).toBe(1);
  });

  it('generateLocref false gives heatmaps only; a wrong keypoint count is an error', () => {
    const g = new HeatmapGenerator({ numHeatmaps: 2, posDistThresh: 3, mode: 'plateau', generateLocref: false });
    expect(g.generate({ data: new Float32Array(6), batch: 1, individuals: 1 }, 2, 2, 1).locref).toBeUndefined();
    expect(() => g.generate({ data: new Float32Array(5), batch: 1, individuals: 1 }, 2, 2, 1)).toThrow(/do not make \[1, 1, 2, 3\]/);
  });
});
