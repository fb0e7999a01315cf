// Writes merged labels as DeepLabCut's CollectedData CSV (three index columns, as pandas writes a MultiIndex).
import { formatCsvField } from './csv.ts';
import type { LabeledData } from './labeled-data.ts';

const num = (x: number) => (Number.isNaN(x) ? '' : String(x));

export function labelsCsv(scorer: string, data: LabeledData): string {
  const multi = data.individuals.length > 1 || data.uniqueBodyparts.length > 0;
  const columns: { individual: string; bodypart: string }[] = [];
  for (const individual of multi ? data.individuals : [data.individuals[0]!]) {
    for (const bodypart of data.bodyparts) columns.push({ individual, bodypart });
  }
  for (const bodypart of data.uniqueBodyparts) columns.push({ individual: 'single', bodypart });
  const pad = ['', ''];
  const header = (label: string, cells: string[]) => [label, ...pad, ...cells.flatMap((c) => [c, c])].map(formatCsvField).join(',');
  const lines = [header('scorer', columns.map(() => scorer))];
  if (multi) lines.push(header('individuals', columns.map((c) => c.individual)));
  lines.push(header('bodyparts', columns.map((c) => c.bodypart)));
  lines.push(['coords', ...pad, ...columns.flatMap(() => ['x', 'y'])].join(','));
  for (const frame of data.frames) {
    const cells = [...frame.path.slice(-3)];
    while (cells.length < 3) cells.unshift('');
    const values = multi
      ? [...frame.keypoints.flat(), ...frame.unique]
      : frame.keypoints[0]!;
    lines.push([...cells.map(formatCsvField), ...values.flatMap(([x, y]) => [num(x), num(y)])].join(','));
  }
  return `${lines.join('\n')}\n`;
}
