import { describe, expect, it } from 'vitest';
import { labelsCsv, parseLabelsCsv } from '../../src/project/index.ts';

const single = `scorer,S,S,S,S
bodyparts,nose,nose,tail,tail
coords,x,y,x,y
labeled-data/v1/img1.png,1.5,2.5,,
labeled-data/v1/img2.png,3,4,5,6
`;

const multiThreeIndex = `scorer,,,S,S,S,S,S,S,S,S
individuals,,,m1,m1,m2,m2,single,single,single,single
bodyparts,,,head,head,head,head,box,box,led,led
coords,,,x,y,x,y,x,y,x,y
labeled-data,v2,img7.png,1,2,3,4,5,6,,
`;

describe('CollectedData CSV', () => {
  it('reads the single-animal layout with a path column; empty cells are unlabelled', () => {
    const t = parseLabelsCsv(single, 'a.csv');
    expect(t).toMatchObject({ scorer: 'S', individuals: ['individual_1'], bodyparts: ['nose', 'tail'], uniqueBodyparts: [] });
    expect(t.frames[0]).toEqual({ path: ['labeled-data', 'v1', 'img1.png'], keypoints: [[[1.5, 2.5], [NaN, NaN]]], unique: [] });
  });

  it('reads the multi-animal layout with three index columns and unique bodyparts', () => {
    const t = parseLabelsCsv(multiThreeIndex, 'b.csv');
    expect(t).toMatchObject({ individuals: ['m1', 'm2'], bodyparts: ['head'], uniqueBodyparts: ['box', 'led'] });
    expect(t.frames[0]).toEqual({ path: ['labeled-data', 'v2', 'img7.png'], keypoints: [[[1, 2]], [[3, 4]]], unique: [[5, 6], [NaN, NaN]] });
  });

  it('drops likelihood columns and accepts Windows paths and quoted cells', () => {
    const t = parseLabelsCsv('scorer,S,S,S\nbodyparts,a,a,a\ncoords,x,y,likelihood\n"labeled-data\\\\v\\\\i,1.png",7,8,0.9\n', 'c.csv');
    expect(t.frames[0]).toEqual({ path: ['labeled-data', 'v', 'i,1.png'], keypoints: [[[7, 8]]], unique: [] });
  });

  it('names file and line for a bad coordinate and for broken headers', () => {
    expect(() => parseLabelsCsv(single.replace('3,4', 'three,4'), 'a.csv')).toThrow("a.csv:5: 'three' is not a coordinate");
    expect(() => parseLabelsCsv('scorer,S\nbodyparts,a\n', 'd.csv')).toThrow('d.csv: expected 3 header rows');
    expect(() => parseLabelsCsv('scorer,S,S\nbodyparts,a,a\ncoords,x,z\n', 'e.csv')).toThrow("e.csv:3: column 3 has coords 'z'");
  });

  it('refuses a row with one value too many or too few, naming file and line (blank lines counted)', () => {
    const extra = single.replace('labeled-data/v1/img2.png,3,4', 'labeled-data/v1/img2.png,99,3,4');
    expect(() => parseLabelsCsv(extra, 'a.csv')).toThrow('a.csv:5: row has 6 fields but the coords header row has 5: 1 value(s) too many');
    const short = single.replace('img2.png,3,4,5,6', 'img2.png,3,4,5');
    expect(() => parseLabelsCsv(short, 'a.csv')).toThrow('a.csv:5: row has 4 fields but the coords header row has 5: 1 value(s) missing');
    // A blank line before the row still gives the line an editor shows.
    expect(() => parseLabelsCsv(extra.replace('coords,x,y,x,y\n', 'coords,x,y,x,y\n\n'), 'a.csv')).toThrow(/^a\.csv:6: row has 6 fields/);
    expect(() => parseLabelsCsv(multiThreeIndex.replace('individuals,,,', 'individuals,,'), 'b.csv')).toThrow('b.csv:2: header row 2 has 10 fields');
  });

  it("says so for ';' separators and decimal commas (a European spreadsheet locale)", () => {
    const semicolons = single.replace(/,/g, ';').replace('1.5', '1,5');
    expect(() => parseLabelsCsv(semicolons, 'eu.csv')).toThrow(/^eu\.csv:1: fields are separated by ';', not ','/);
    expect(() => parseLabelsCsv(single.replace('1.5', '"1,5"'), 'eu.csv')).toThrow("eu.csv:4: '1,5' is not a coordinate: it uses a decimal comma");
  });

  it('writes what it reads (three index columns, empty cells for unlabelled)', () => {
    const t = parseLabelsCsv(single, 'a.csv');
    const text = labelsCsv('S', { individuals: t.individuals, bodyparts: t.bodyparts, uniqueBodyparts: [], frames: t.frames });
    expect(text.split('\n')[3]).toBe('labeled-data,v1,img1.png,1.5,2.5,,');
    expect(parseLabelsCsv(text, 'w.csv').frames).toEqual(t.frames);
    const m = parseLabelsCsv(multiThreeIndex, 'b.csv');
    const again = parseLabelsCsv(labelsCsv('S', { ...m, frames: m.frames }), 'w2.csv');
    expect(again.frames).toEqual(m.frames);
    expect(again.uniqueBodyparts).toEqual(['box', 'led']);
  });
});
