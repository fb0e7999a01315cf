// The chart rasterizer: a decodable PNG of the asked size, series drawn where their data points map to,
// nice tick values, and the learning-curve figure the runner writes.
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { chartGeometry, formatTick, niceAxis, renderLineChart, SERIES_COLORS, type LineChartOptions } from '../../src/report/line-chart.ts';
import { learningCurvePng } from '../../src/report/learning-curve.ts';

function pixelsNear(png: ReturnType<typeof decode>, x: number, y: number, r: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  const ch = png.channels;
  for (let yy = Math.round(y) - r; yy <= Math.round(y) + r; yy++)
    for (let xx = Math.round(x) - r; xx <= Math.round(x) + r; xx++) {
      const o = (yy * png.width + xx) * ch;
      out.push([png.data[o]!, png.data[o + 1]!, png.data[o + 2]!]);
    }
  return out;
}

const has = (pixels: [number, number, number][], c: readonly number[]) => pixels.some((p) => p[0] === c[0] && p[1] === c[1] && p[2] === c[2]);

describe('renderLineChart', () => {
  const opts: LineChartOptions = {
    title: 'Loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    width: 500,
    height: 300,
    series: [
      { name: 'train', points: [[1, 0.9], [2, 0.5], [3, 0.4], [4, 0.35], [5, 0.3]] },
      { name: 'eval', points: [[2, 0.7], [4, 0.6]] },
    ],
  };

  it('writes a PNG of the requested size with each series drawn at its data points', () => {
    const png = decode(renderLineChart(opts));
    expect([png.width, png.height]).toEqual([500, 300]);
    const g = chartGeometry(opts);
    const [train, evalColor] = [SERIES_COLORS[0]!, SERIES_COLORS[1]!];
    for (const [x, y] of opts.series[0]!.points) expect(has(pixelsNear(png, ...g.toPixel(x, y), 1), train)).toBe(true);
    for (const [x, y] of opts.series[1]!.points) expect(has(pixelsNear(png, ...g.toPixel(x, y), 1), evalColor)).toBe(true);
    // Nothing of the train colour where it has no data: the top right of the plot (loss 0.9 at epoch 5).
    expect(has(pixelsNear(png, ...g.toPixel(5, 0.9), 3), train)).toBe(false);
    // The plot area lies inside the image, below the title and right of the y labels.
    expect(g.plot.x).toBeGreaterThan(20);
    expect(g.plot.y).toBeGreaterThan(20);
    expect(g.plot.x + g.plot.w).toBeLessThan(500);
    expect(g.plot.y + g.plot.h).toBeLessThan(300);
  });

  it('draws text: the title row has dark pixels, centred', () => {
    const png = decode(renderLineChart(opts));
    const dark = [];
    for (let y = 0; y < 30; y++)
      for (let x = 0; x < png.width; x++) if (png.data[(y * png.width + x) * png.channels]! < 60) dark.push(x);
    expect(dark.length).toBeGreaterThan(40);
    const mid = (Math.min(...dark) + Math.max(...dark)) / 2;
    expect(Math.abs(mid - 250)).toBeLessThan(10);
  });

  it('survives empty and constant series', () => {
    const empty = decode(renderLineChart({ ...opts, series: [{ name: 'none', points: [] }] }));
    expect([empty.width, empty.height]).toEqual([500, 300]);
    const flat = { ...opts, series: [{ name: 'flat', points: [[1, 2], [2, 2], [3, NaN], [4, 2]] as [number, number][] }] };
    const g = chartGeometry(flat);
    expect(g.y.min).toBeLessThan(2);
    expect(g.y.max).toBeGreaterThan(2);
    expect(has(pixelsNear(decode(renderLineChart(flat)), ...g.toPixel(4, 2), 1), SERIES_COLORS[0]!)).toBe(true);
  });
});

describe('niceAxis / formatTick', () => {
  it('picks 1-2-2.5-5 steps that cover the data', () => {
    const a = niceAxis(0.013, 0.087, 5);
    expect(a.step).toBeCloseTo(0.02, 12);
    expect(a.ticks).toEqual([0, 0.02, 0.04, 0.06, 0.08, 0.1]);
    expect(a.ticks.map((t) => formatTick(t, a.step))).toEqual(['0', '0.02', '0.04', '0.06', '0.08', '0.10']);
    expect([0, 0.025, 0.05].map((t) => formatTick(t, 0.025))).toEqual(['0', '0.025', '0.050']);
    const d = niceAxis(0.013, 0.087, 8);
    expect(d.ticks).toEqual([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]);
    const b = niceAxis(1, 3, 8, true);
    expect(b.ticks).toEqual([1, 2, 3]);
    const c = niceAxis(-3, 117, 6);
    expect(c.min).toBeLessThanOrEqual(-3);
    expect(c.max).toBeGreaterThanOrEqual(117);
    expect(c.step).toBe(25);
  });
});

describe('learningCurvePng', () => {
  it('renders the loss and key-metric panels from learning_stats columns', () => {
    const columns: Record<string, [number, number][]> = {
      'losses/train.total_loss': [[1, 0.03], [2, 0.02], [3, 0.015]],
      'losses/eval.total_loss': [[3, 0.018]],
      'metrics/test.rmse': [[3, 12.5]],
    };
    const asked: string[] = [];
    const png = decode(learningCurvePng((c) => (asked.push(c), columns[c] ?? []), 'test.rmse', 600, 500));
    expect([png.width, png.height]).toEqual([600, 500]);
    expect(asked).toEqual(['losses/train.total_loss', 'losses/eval.total_loss', 'metrics/test.rmse']);
    // The key-metric panel (bottom half) has its green marker.
    let green = 0;
    for (let i = (png.height / 2) * png.width; i < png.width * png.height; i++) {
      const o = i * png.channels;
      if (png.data[o] === 44 && png.data[o + 1] === 160 && png.data[o + 2] === 44) green++;
    }
    expect(green).toBeGreaterThan(5);
  });
});
