// DeepLabCut's CollectedData_<scorer>.csv in every header layout it writes:
//   single animal: scorer / bodyparts / coords rows; multi-animal: scorer / individuals / bodyparts / coords;
//   rows indexed by one path column (labeled-data/<video>/<img>) or three (labeled-data, <video>, <img>).
import { parseCsvRows } from './csv.ts';

export class LabelsError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${message}`);
    this.name = 'LabelsError';
  }
}

/** One labelled image. Coordinates are NaN where a keypoint was not labelled. */
export interface LabeledFrame {
  /** Path parts relative to the project root, e.g. ['labeled-data', 'm4s1', 'img0000.png']. */
  path: string[];
  /** [individual][bodypart] -> [x, y]. */
  keypoints: [number, number][][];
  /** [unique bodypart] -> [x, y]. */
  unique: [number, number][];
}

export interface LabelsTable {
  file: string;
  scorer: string;
  individuals: string[];
  bodyparts: string[];
  uniqueBodyparts: string[];
  frames: LabeledFrame[];
  /** The line each frame's row starts on, for errors about a frame. */
  lines: number[];
}

interface Column {
  individual: string;
  bodypart: string;
  coord: string;
}

function parseNumber(cell: string, file: string, line: number): number {
  const text = cell.trim();
  if (text === '' || text.toLowerCase() === 'nan') return NaN;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    // A spreadsheet in a European locale writes 12,5 for 12.5 (quoted, when ',' also separates fields).
    const hint = /^[-+]?\d+,\d+$/.test(text) ? ": it uses a decimal comma; save the CSV with '.' as the decimal point" : '';
    throw new LabelsError(file, `'${cell}' is not a coordinate${hint}`, line);
  }
  return value;
}

export function parseLabelsCsv(text: string, file: string): LabelsTable {
  const parsed = parseCsvRows(text).filter((r) => r.cells.some((c) => c.trim() !== ''));
  const rows = parsed.map((r) => r.cells);
  const lineOf = (r: number) => parsed[r]!.line;
  // A spreadsheet in a European locale saves with ';' between fields: the whole header row is one cell.
  if (rows[0]?.length === 1 && rows[0][0]!.includes(';')) {
    throw new LabelsError(
      file,
      "fields are separated by ';', not ',' (a spreadsheet saved in a European locale?): save it as CSV with ',' between fields and '.' as the decimal point",
      lineOf(0),
    );
  }
  const multi = rows[1]?.[0]?.trim() === 'individuals';
  const headerRows = multi ? 4 : 3;
  if (rows.length < headerRows) throw new LabelsError(file, `expected ${headerRows} header rows, found ${rows.length} rows in all`);
  const [scorerRow, ...rest] = rows.slice(0, headerRows) as [string[], ...string[][]];
  const coordsRow = rest[rest.length - 1]!;
  const bodypartRow = rest[rest.length - 2]!;
  const individualRow = multi ? rest[0]! : undefined;
  if (scorerRow[0]?.trim() !== 'scorer') throw new LabelsError(file, `first header row must start with 'scorer'`, lineOf(0));
  if (bodypartRow[0]?.trim() !== 'bodyparts') throw new LabelsError(file, `header row ${headerRows - 1} must start with 'bodyparts'`, lineOf(headerRows - 2));
  if (coordsRow[0]?.trim() !== 'coords') throw new LabelsError(file, `header row ${headerRows} must start with 'coords'`, lineOf(headerRows - 1));
  // Every row must have the header's field count: one value too many or too few shifts every coordinate after it.
  const width = coordsRow.length;
  for (let r = 0; r < rows.length; r++) {
    const n = rows[r]!.length;
    if (n !== width) {
      const what = r < headerRows ? `header row ${r + 1}` : 'row';
      throw new LabelsError(file, `${what} has ${n} fields but the coords header row has ${width}: ${n > width ? `${n - width} value(s) too many` : `${width - n} value(s) missing`}; fix or delete this row`, lineOf(r));
    }
  }

  // Index columns are the leading cells that are blank in the header rows (3-column layout) or just the first.
  const firstData = rows[headerRows]?.[0]?.trim();
  const indexWidth = firstData === 'labeled-data' ? 3 : 1;
  const columns: Column[] = [];
  for (let c = indexWidth; c < coordsRow.length; c++) {
    columns.push({
      individual: individualRow?.[c]?.trim() ?? 'individual_1',
      bodypart: bodypartRow[c]?.trim() ?? '',
      coord: coordsRow[c]?.trim() ?? '',
    });
  }
  for (const [i, col] of columns.entries()) {
    if (!['x', 'y', 'likelihood'].includes(col.coord)) {
      throw new LabelsError(file, `column ${i + indexWidth + 1} has coords '${col.coord}', expected x, y or likelihood`, lineOf(headerRows - 1));
    }
  }

  const isUnique = (c: Column) => multi && c.individual === 'single';
  const individuals = [...new Set(columns.filter((c) => !isUnique(c)).map((c) => c.individual))];
  const bodyparts = [...new Set(columns.filter((c) => !isUnique(c)).map((c) => c.bodypart))];
  const uniqueBodyparts = [...new Set(columns.filter(isUnique).map((c) => c.bodypart))];
  const scorer = scorerRow[indexWidth]?.trim() ?? '';

  const frames: LabeledFrame[] = [];
  const lines: number[] = [];
  for (let r = headerRows; r < rows.length; r++) {
    const row = rows[r]!;
    const line = lineOf(r);
    const index = row.slice(0, indexWidth).map((s) => s.trim());
    const path = indexWidth === 3 ? index : index[0]!.split(/[\\/]/).filter(Boolean);
    if (path.length === 0) throw new LabelsError(file, 'row has no image path', line);
    const keypoints = individuals.map(() => bodyparts.map(() => [NaN, NaN] as [number, number]));
    const unique = uniqueBodyparts.map(() => [NaN, NaN] as [number, number]);
    columns.forEach((col, i) => {
      if (col.coord === 'likelihood') return;
      const value = parseNumber(row[i + indexWidth] ?? '', file, line);
      const axis = col.coord === 'x' ? 0 : 1;
      if (isUnique(col)) unique[uniqueBodyparts.indexOf(col.bodypart)]![axis] = value;
      else keypoints[individuals.indexOf(col.individual)]![bodyparts.indexOf(col.bodypart)]![axis] = value;
    });
    frames.push({ path, keypoints, unique });
    lines.push(line);
  }
  return { file, scorer, individuals, bodyparts, uniqueBodyparts, frames, lines };
}
