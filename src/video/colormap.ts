// Matplotlib colormaps as DeepLabCut's create_labeled_video uses them (fast mode):
// ScalarMappable(cmap).to_rgba(linspace(0, 1, n)) on the colormap's 256-entry lookup table, then
// (rgb * 255).astype(uint8), which truncates. The two colormaps DeepLabCut projects name by default
// (rainbow for new projects, jet in older ones) are built exactly as matplotlib builds them.
export type Rgb = [number, number, number];

const N = 256;
type Segments = [number, number][]; // (x, y) points of a continuous channel

const JET: [Segments, Segments, Segments] = [
  [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
];

function interp(x: number, s: Segments): number {
  for (let i = 1; i < s.length; i++) {
    const [x0, y0] = s[i - 1]!;
    const [x1, y1] = s[i]!;
    if (x <= x1) return x1 === x0 ? y1 : y0 + ((x - x0) * (y1 - y0)) / (x1 - x0);
  }
  return s[s.length - 1]![1];
}

const clip01 = (v: number) => Math.min(1, Math.max(0, v));

/** matplotlib's gnuplot functions 33, 13 and 10 (its `rainbow`). */
const RAINBOW: [(x: number) => number, (x: number) => number, (x: number) => number] = [
  (x) => Math.abs(2 * x - 0.5),
  (x) => Math.sin(Math.PI * x),
  (x) => Math.cos((Math.PI * x) / 2),
];

const LUTS: Record<string, (x: number) => [number, number, number]> = {
  jet: (x) => [interp(x, JET[0]), interp(x, JET[1]), interp(x, JET[2])],
  rainbow: (x) => [clip01(RAINBOW[0](x)), clip01(RAINBOW[1](x)), clip01(RAINBOW[2](x))],
};

export const COLORMAPS = Object.keys(LUTS);

/** n colours spread over the colormap, as DeepLabCut colours n bodyparts. */
export function colormapColors(name: string, n: number): Rgb[] {
  const f = LUTS[name];
  if (!f) throw new Error(`colormap '${name}' is not supported (supported: ${COLORMAPS.join(', ')})`);
  const lut = Array.from({ length: N }, (_, i) => f(i / (N - 1)));
  return Array.from({ length: n }, (_, k) => {
    const v = n === 1 ? 0 : k / (n - 1);
    const idx = Math.min(N - 1, Math.floor(v * N));
    return lut[idx]!.map((c) => Math.floor(c * 255)) as Rgb;
  });
}

const NAMED: Record<string, Rgb> = {
  black: [0, 0, 0], white: [255, 255, 255], red: [255, 0, 0], green: [0, 128, 0], blue: [0, 0, 255],
  yellow: [255, 255, 0], cyan: [0, 255, 255], magenta: [255, 0, 255], gray: [128, 128, 128], grey: [128, 128, 128],
  orange: [255, 165, 0], lime: [0, 255, 0],
};

/** A matplotlib colour name or #rrggbb (config.yaml's skeleton_color). */
export function namedColor(name: string): Rgb {
  const hex = /^#([0-9a-f]{6})$/i.exec(name.trim());
  if (hex) return [0, 2, 4].map((i) => parseInt(hex[1]!.slice(i, i + 2), 16)) as Rgb;
  const c = NAMED[name.trim().toLowerCase()];
  if (!c) throw new Error(`colour '${name}' is not known (use #rrggbb or one of ${Object.keys(NAMED).join(', ')})`);
  return c;
}
