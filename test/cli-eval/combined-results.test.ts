// CombinedEvaluation-results.csv as DeepLabCut keeps it (save_evaluation_results: combine_first on the five-column
// index, sort_index), and an earlier dlc-gpu file (four index columns, 95 for 0.95) carried over without loss.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INDEX_COLUMNS, SCORE_COLUMNS, updateCombined } from '../../src/cli/commands/evaluate.ts';

const header = [...INDEX_COLUMNS, ...SCORE_COLUMNS];
const scores = (v: number) => SCORE_COLUMNS.map((_, i) => String(v + i));

describe('CombinedEvaluation-results.csv', () => {
  it('replaces the row with the same index, keeps and sorts the others', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dlc-gpu-combined-')), 'CombinedEvaluation-results.csv');
    updateCombined(path, header, ['0.95', '1', '20', '-1', '0.6', ...scores(1)]);
    updateCombined(path, header, ['0.95', '1', '10', '-1', '0.6', ...scores(2)]);
    updateCombined(path, header, ['0.95', '1', '20', '-1', '0.6', ...scores(3)]);
    updateCombined(path, header, ['0.95', '1', '20', '5', '0.6', ...scores(4)]);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(header.join(','));
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 6).join(','))).toEqual(['0.95,1,10,-1,0.6,2', '0.95,1,20,-1,0.6,3', '0.95,1,20,5,0.6,4']);
  });

  it("carries over an earlier layout's rows by column name (no detector column, 95 for 0.95)", () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dlc-gpu-combined-')), 'CombinedEvaluation-results.csv');
    const old = ['%Training dataset', 'Shuffle number', 'Training epochs', 'pcutoff', ...SCORE_COLUMNS];
    writeFileSync(path, `${old.join(',')}\n95,1,3,0.4,${scores(7).join(',')}\n`);
    updateCombined(path, header, ['0.95', '1', '4', '-1', '0.4', ...scores(8)]);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toEqual([header.join(','), ['0.95', '1', '3', '-1', '0.4', ...scores(7)].join(','), ['0.95', '1', '4', '-1', '0.4', ...scores(8)].join(',')]);
  });
});
