// HeatmapPredictor decoding on synthetic heatmaps with known peaks and locref offsets.
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { HeatmapPredictor } from '../../src/models/predictors/heatmap.ts';
import { useGpu } from '../helpers/gpu.ts';

useGpu();

describe('HeatmapPredictor', () => {
  // B=2, J=2, H=3, W=4 with one peak per map.
  const H = 3;
  const W = 4;
  const peaks = [[1, 2], [2, 0], [0, 3], [1, 1]] as const; // (row, col) per (b, j)
  const heat = new Float32Array(2 * 2 * H * W).fill(-1);
  const loc = new Float32Array(2 * 4 * H * W);
  peaks.forEach(([r, c], i) => {
    heat[i * H * W + r * W + c] = 0.5 + i * 0.1;
    const b = Math.floor(i / 2);
    const j = i % 2;
    loc[(b * 4 + 2 * j) * H * W + r * W + c] = 0.1 * (i + 1); // dx
    loc[(b * 4 + 2 * j + 1) * H * W + r * W + c] = -0.2 * (i + 1); // dy
  });

  it('finds each peak, maps it to input pixels with stride/2 and adds locref * locref_std', async () => {
    const p = new HeatmapPredictor({ applySigmoid: false, clipScores: true, locrefStd: 7.2801 });
    const out = await p.predict(dg.tensor(heat, [2, 2, H, W]), dg.tensor(loc, [2, 4, H, W]), 8).toArray();
    peaks.forEach(([r, c], i) => {
      expect(out[i * 3]).toBeCloseTo(c * 8 + 4 + 0.1 * (i + 1) * 7.2801, 4);
      expect(out[i * 3 + 1]).toBeCloseTo(r * 8 + 4 - 0.2 * (i + 1) * 7.2801, 4);
      expect(out[i * 3 + 2]).toBeCloseTo(0.5 + i * 0.1, 6);
    });
  });

  it('applies the sigmoid to scores, clips, and skips refinement when asked', async () => {
    const p = new HeatmapPredictor({ applySigmoid: true, locationRefinement: false });
    const out = await p.predict(dg.tensor(heat, [2, 2, H, W]), null, 2).toArray();
    expect(out[0]).toBe(2 * 2 + 1);
    expect(out[2]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    const clipped = await new HeatmapPredictor({ applySigmoid: false, clipScores: true }).predict(dg.full([1, 1, 2, 2], 3), null, 1).toArray();
    expect(clipped[2]).toBe(1);
  });

  it('the first maximum wins ties', async () => {
    const out = await new HeatmapPredictor({ applySigmoid: false }).predict(dg.tensor([0, 1, 1, 0], [1, 1, 2, 2]), null, 1).toArray();
    expect([out[0], out[1]]).toEqual([1.5, 0.5]);
  });
});
