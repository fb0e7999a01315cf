// The CSV pandas writes for DeepLabCut's results (df.to_csv): one header row per column level, each
// starting with the level's name, then `frame,value,...` rows with floats as Python's repr. Rows are
// appended as they come, into a partial file renamed into place when complete.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { pyFloatRepr } from '../io/py-repr.ts';
import type { FrameColumns } from '../io/hdf5-dataframe.ts';
import { partialPath } from './outputs.ts';

const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export class CsvStream {
  readonly temp: string;
  private fd: number;
  private rows = 0;

  constructor(
    readonly path: string,
    frame: FrameColumns,
  ) {
    this.temp = partialPath(path);
    this.fd = openSync(this.temp, 'w');
    const header = frame.levelNames.map((name, level) => [name, ...frame.columns.map((c) => c[level]!)].map(quote).join(',')).join('\n');
    writeSync(this.fd, `${header}\n`);
    this.width = frame.columns.length;
  }

  private readonly width: number;

  append(values: Float64Array, count = values.length / this.width): void {
    let text = '';
    for (let r = 0; r < count; r++) {
      text += String(this.rows + r);
      for (let c = 0; c < this.width; c++) {
        const v = values[r * this.width + c]!;
        text += `,${Number.isNaN(v) ? '' : pyFloatRepr(v)}`; // pandas writes NaN as an empty cell
      }
      text += '\n';
    }
    writeSync(this.fd, text);
    this.rows += count;
  }

  close(): void {
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.temp, this.path);
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.temp, { force: true });
  }
}
