// A matmul's per-row partial statistics (kernels/_matmul.wgsl STATS), kept beside its output so that a groupNorm of
// that output combines them (kernels/norm.wgsl stats_partials) instead of reading all of it again in a statistics
// pass: ResNet-50-GN's 1x1 convs feed 36 of its 53 GroupNorms (bench/NOTES.md "full-frame" v34). They are a derived
// value of the output's buffer (Engine.derived), so anything that writes the output, or frees it, drops them; the
// norm that uses them takes them over and frees them at once.
import { engine } from '../gpu/current.ts';
import type { Tensor } from '../tensor/tensor.ts';

const KEY = 'rowPartials';

/** Rows per partial: a matmul tile's row group (kernels/_matmul.wgsl STATS). */
export const PARTIAL_ROWS = 8;

/** (mean, M2) per block of 8 rows and 4 columns of an output seen as `rows` rows of `cols` elements. */
export interface RowPartials {
  /** [rows / 8 * cols / 4, 2], out of every scope: the engine owns it. */
  partials: Tensor;
  rows: number;
  cols: number;
}

/** Keeps `p` as the row partials of `out`, just written (the engine disposes them when out's buffer changes). */
export function keepRowPartials(out: Tensor, p: RowPartials): void {
  const kept = engine().derived(out.buffer, KEY, () => p, (v) => v.partials.dispose());
  // Writing `out` dropped any earlier entry, so `p` is kept; should one have survived, this one is not needed.
  if (kept !== p) p.partials.dispose();
}

/**
 * x's row partials as `rows` rows of `cols` elements for statistics groups of `groupRows` rows (a multiple of 8),
 * where a matmul left them and nothing has written x since: handed over (the caller disposes them), as a norm needs
 * them once.
 */
export function takeRowPartials(x: Tensor, rows: number, cols: number, groupRows: number): RowPartials | null {
  const e = engine();
  const p = e.keptDerived<RowPartials>(x.buffer, KEY);
  if (!p || p.rows !== rows || p.cols !== cols || rows * cols !== x.size || groupRows % PARTIAL_ROWS !== 0) return null;
  e.takeDerived(x.buffer, KEY);
  return p;
}
