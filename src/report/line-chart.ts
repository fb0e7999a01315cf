// Line charts as PNG bytes, drawn pixel by pixel (no canvas library, no font files): title, axes with
// "nice" tick values (1, 2, 2.5, 5 x 10^k steps), grid, one coloured line with point markers per series,
// and a legend in the corner that covers the fewest points. Non-finite values break a line.
import { encodePng, type RgbImage } from '../io/image.ts';
import { createImage, drawLine, drawText, fillDisk, fillRect, strokeRect, textHeight, textWidth, type Rgb } from './raster.ts';

export interface LineSeries {
  name: string;
  points: [number, number][];
  /** Default: the next of SERIES_COLORS. */
  color?: Rgb;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
}

/** Matplotlib's tab10 cycle. */
export const SERIES_COLORS: readonly Rgb[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const TITLE_SCALE = 2;
const TICK = 4;

export interface Axis {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/** The 1, 2, 2.5 or 5 x 10^k closest to x. */
function niceNumber(x: number): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  return (f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10) * 10 ** exp;
}

/** An axis range that contains [min, max], with about `target` ticks at nice steps; integer data gets integer steps. */
export function niceAxis(min: number, max: number, target = 6, integer = false): Axis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceAxis(0, 1, target, integer);
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceAxis(min - pad, max + pad, target, integer);
  }
  let step = niceNumber((max - min) / Math.max(1, target - 1));
  if (integer) step = Math.max(1, Math.round(step));
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const n = Math.round((hi - lo) / step);
  const ticks = Array.from({ length: n + 1 }, (_, i) => Number((lo + i * step).toPrecision(12)));
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, step, ticks };
}

/** A tick label with as many decimals as the step needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(Math.max(0, Math.min(3, Math.ceil(-Math.log10(step / a)))));
  // As many decimals as the step has (0.025 -> 3), so neighbouring labels always differ.
  let decimals = 0;
  while (decimals < 10 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6 * step * 10 ** decimals) decimals++;
  return v.toFixed(decimals);
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ChartGeometry {
  /** The plotting area inside the axes frame, in image pixels. */
  plot: Rect;
  x: Axis;
  y: Axis;
  /** Image pixel (column, row) of a data point. */
  toPixel(x: number, y: number): [number, number];
}

const finitePoints = (s: LineSeries) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));

/** Where a chart drawn into `area` puts its plot and axes (what renderLineChart draws with). */
export function chartGeometry(opts: LineChartOptions, area: Rect = { x: 0, y: 0, w: opts.width ?? 640, h: opts.height ?? 400 }): ChartGeometry {
  const all = opts.series.flatMap(finitePoints);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const isInt = (v: number[]) => v.length > 0 && v.every(Number.isInteger);
  const x = niceAxis(Math.min(...xs), Math.max(...xs), Math.max(3, Math.floor(area.w / 90)), isInt(xs));
  const y = niceAxis(Math.min(...ys), Math.max(...ys), Math.max(3, Math.floor(area.h / 60)), isInt(ys));
  const yLabelsWidth = Math.max(...y.ticks.map((t) => textWidth(formatTick(t, y.step))));
  const left = 8 + textHeight() + 8 + yLabelsWidth + TICK + 3;
  const top = 10 + textHeight(TITLE_SCALE) + 10;
  const bottom = TICK + 4 + textHeight() + 8 + textHeight() + 8;
  const plot = { x: area.x + left, y: area.y + top, w: Math.max(10, area.w - left - 16), h: Math.max(10, area.h - top - bottom) };
  const toPixel = (vx: number, vy: number): [number, number] => [
    plot.x + ((vx - x.min) / (x.max - x.min)) * (plot.w - 1),
    plot.y + plot.h - 1 - ((vy - y.min) / (y.max - y.min)) * (plot.h - 1),
  ];
  return { plot, x, y, toPixel };
}

function drawLegend(img: RgbImage, g: ChartGeometry, series: LineSeries[], colors: Rgb[]): void {
  if (!series.length) return;
  const lineLen = 18;
  const rowH = textHeight() + 5;
  const w = 6 + lineLen + 5 + Math.max(...series.map((s) => textWidth(s.name))) + 6;
  const h = 4 + rowH * series.length + 1;
  const { plot } = g;
  const corners = [
    [plot.x + plot.w - w - 6, plot.y + 6],
    [plot.x + 6, plot.y + 6],
    [plot.x + plot.w - w - 6, plot.y + plot.h - h - 6],
    [plot.x + 6, plot.y + plot.h - h - 6],
  ] as const;
  // The corner whose box hides the fewest data points (matplotlib's loc="best", simplified).
  const pixels = series.flatMap((s) => finitePoints(s).map(([x, y]) => g.toPixel(x, y)));
  const covered = ([cx, cy]: readonly [number, number]) => pixels.filter(([px, py]) => px >= cx - 3 && px <= cx + w + 3 && py >= cy - 3 && py <= cy + h + 3).length;
  const [lx, ly] = corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
  fillRect(img, lx, ly, w, h, [255, 255, 255]);
  strokeRect(img, lx, ly, w, h, [160, 160, 160]);
  series.forEach((s, i) => {
    const cy = ly + 4 + i * rowH + Math.floor(textHeight() / 2);
    drawLine(img, lx + 6, cy, lx + 6 + lineLen, cy, colors[i]!, 2);
    drawText(img, s.name, lx + 6 + lineLen + 5, ly + 4 + i * rowH, BLACK);
  });
}

/** Draws one chart into `area` of an existing image. */
export function drawLineChart(img: RgbImage, opts: LineChartOptions, area: Rect): ChartGeometry {
  const g = chartGeometry(opts, area);
  const { plot, x, y } = g;
  const colors = opts.series.map((s, i) => s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]!);
  drawText(img, opts.title, area.x + Math.max(4, Math.floor((area.w - textWidth(opts.title, TITLE_SCALE)) / 2)), area.y + 10, BLACK, TITLE_SCALE);
  for (const t of x.ticks) {
    const [px] = g.toPixel(t, y.min);
    const col = Math.round(px);
    fillRect(img, col, plot.y, 1, plot.h, GRID);
    fillRect(img, col, plot.y + plot.h, 1, TICK, BLACK);
    const label = formatTick(t, x.step);
    drawText(img, label, col - Math.floor(textWidth(label) / 2), plot.y + plot.h + TICK + 4, BLACK);
  }
  for (const t of y.ticks) {
    const [, py] = g.toPixel(x.min, t);
    const row = Math.round(py);
    fillRect(img, plot.x, row, plot.w, 1, GRID);
    fillRect(img, plot.x - TICK, row, TICK, 1, BLACK);
    const label = formatTick(t, y.step);
    drawText(img, label, plot.x - TICK - 3 - textWidth(label), row - Math.floor(textHeight() / 2), BLACK);
  }
  strokeRect(img, plot.x - 1, plot.y - 1, plot.w + 2, plot.h + 2, BLACK);
  drawText(img, opts.xLabel, plot.x + Math.floor((plot.w - textWidth(opts.xLabel)) / 2), plot.y + plot.h + TICK + 4 + textHeight() + 8, BLACK);
  drawText(img, opts.yLabel, area.x + 8, plot.y + Math.floor((plot.h - textWidth(opts.yLabel)) / 2), BLACK, 1, true);
  opts.series.forEach((s, i) => {
    let prev: [number, number] | null = null;
    for (const [vx, vy] of s.points) {
      if (!Number.isFinite(vx) || !Number.isFinite(vy)) {
        prev = null;
        continue;
      }
      const p = g.toPixel(vx, vy);
      if (prev) drawLine(img, prev[0], prev[1], p[0], p[1], colors[i]!, 2);
      prev = p;
    }
    for (const [vx, vy] of finitePoints(s)) {
      const [px, py] = g.toPixel(vx, vy);
      fillDisk(img, px, py, 2.5, colors[i]!);
    }
  });
  if (!opts.series.some((s) => finitePoints(s).length)) {
    const msg = 'no data yet';
    drawText(img, msg, plot.x + Math.floor((plot.w - textWidth(msg)) / 2), plot.y + Math.floor(plot.h / 2), [120, 120, 120]);
  }
  drawLegend(img, g, opts.series, colors);
  return g;
}

/** One chart as PNG bytes (default 640x400). */
export function renderLineChart(opts: LineChartOptions): Uint8Array {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const img = createImage(width, height);
  drawLineChart(img, opts, { x: 0, y: 0, w: width, h: height });
  return encodePng(img);
}

/** Charts stacked top to bottom in one PNG, each `height / panels` tall. */
export function renderChartPanels(panels: LineChartOptions[], width = 640, height = 360 * panels.length): Uint8Array {
  const img = createImage(width, height);
  const each = Math.floor(height / Math.max(1, panels.length));
  panels.forEach((p, i) => drawLineChart(img, p, { x: 0, y: i * each, w: width, h: each }));
  return encodePng(img);
}
