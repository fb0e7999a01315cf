// Prediction tables in DeepLabCut's CSV layout (what pandas writes for its MultiIndex DataFrames):
// header rows scorer / [individuals] / bodyparts / coords (x, y, likelihood), one row per image, with the
// image's index columns first (labeled-data, <video>, <image> for project images, or one path column);
// and the scorer-name parts DeepLabCut builds them from.

/** DeepLabCut's network name in scorer names: resnet_50 -> Resnet50, hrnet_w32 -> HrnetW32. */
export function dlcNetName(netType: string): string {
  // DeepLabCut keeps net_type without top_down_ (the method key says td), so its scorer says Resnet50.
  return netType.replace(/^top_down_/, '').split('_').map((p) => (p ? p[0]!.toUpperCase() + p.slice(1) : p)).join('');
}

/** The snapshot's uid in scorer names: `snapshot-best-015.pt` -> `best-015`. */
export function snapshotUid(file: string, prefix = 'snapshot'): string {
  const name = file.split(/[\\/]/).pop()!.replace(/\.pt$/, '');
  return name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : name;
}

export interface PredictionRow {
  /** Index cells: e.g. ['labeled-data', 'm4s1', 'img0001.png'], or [path]. */
  index: string[];
  /** [individuals][K] (x, y, likelihood); NaN cells are written empty. */
  poses: number[][][];
}

const cell = (v: number) => (Number.isFinite(v) ? String(v) : '');
const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function predictionsCsv(scorer: string, bodyparts: readonly string[], individuals: readonly string[] | null, rows: readonly PredictionRow[]): string {
  const width = Math.max(1, ...rows.map((r) => r.index.length));
  const pad = (name: string) => [name, ...Array(width - 1).fill('')];
  const ids = individuals ?? [null];
  const cols: { ind: string | null; bp: string; c: string }[] = [];
  for (const ind of ids) for (const bp of bodyparts) for (const c of ['x', 'y', 'likelihood']) cols.push({ ind, bp, c });
  const lines: string[][] = [[...pad('scorer'), ...cols.map(() => scorer)]];
  if (individuals) lines.push([...pad('individuals'), ...cols.map((c) => c.ind!)]);
  lines.push([...pad('bodyparts'), ...cols.map((c) => c.bp)]);
  lines.push([...pad('coords'), ...cols.map((c) => c.c)]);
  for (const r of rows) {
    const values: string[] = [];
    ids.forEach((_, i) => {
      const pose = r.poses[i];
      bodyparts.forEach((_, k) => {
        const kp = pose?.[k];
        values.push(kp ? cell(kp[0]!) : '', kp ? cell(kp[1]!) : '', kp ? cell(kp[2]!) : '');
      });
    });
    lines.push([...r.index, ...Array(width - r.index.length).fill(''), ...values]);
  }
  return lines.map((l) => l.map(quote).join(',')).join('\n') + '\n';
}

/**
 * The predictions as DeepLabCut's evaluate_network stores them in `<scorer>.h5` (build_predictions_dataframe,
 * reindexed to every labelled image): columns scorer / individuals / bodyparts / coords (x, y, likelihood) for
 * every individual of the project, one row per labelled image in `index` order; an individual without a pose is
 * `padding` (DeepLabCut's PadOutputs writes -1 for top-down models), an image without predictions NaN.
 */
export function predictionsTable(
  scorer: string,
  bodyparts: readonly string[],
  individuals: readonly string[],
  index: readonly (readonly string[])[],
  poses: ReadonlyMap<string, number[][][]>,
  padding = Number.NaN,
): { levelNames: string[]; columns: string[][]; index: string[][]; values: Float64Array } {
  const columns = individuals.flatMap((ind) => bodyparts.flatMap((bp) => ['x', 'y', 'likelihood'].map((c) => [scorer, ind, bp, c])));
  const values = new Float64Array(index.length * columns.length).fill(Number.NaN);
  index.forEach((cells, r) => {
    const found = poses.get(cells.join('/'));
    if (!found) return;
    individuals.forEach((_, i) =>
      bodyparts.forEach((_, k) => {
        const kp = found[i]?.[k];
        const o = r * columns.length + (i * bodyparts.length + k) * 3;
        for (let c = 0; c < 3; c++) values[o + c] = kp ? kp[c]! : padding;
      }),
    );
  });
  return { levelNames: ['scorer', 'individuals', 'bodyparts', 'coords'], columns, index: index.map((c) => [...c]), values };
}
