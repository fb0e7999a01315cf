// create_labeled_video's multi-animal drawing, without a GPU: skimage's rectangle_perimeter around each box
// above bboxes_pcutoff (numpy's half-to-even rounding, pixels outside the frame dropped), DeepLabCut's colour
// index per column (map2bp / map2id), and the _bp / _id output names.
import { describe, expect, it } from 'vitest';
import { drawBoxes } from '../../src/video/draw-poses.ts';
import { columnColors } from '../../src/video/labeled-video.ts';
import { labeledVideoPath } from '../../src/video/outputs.ts';

const blank = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const red = (img: { width: number; height: number; data: Uint8Array }) => {
  const out: string[] = [];
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * 3] === 255) out.push(`${x},${y}`);
  return out;
};

describe('labeled video boxes and colours', () => {
  it('draws the pixels just around each box whose score is not below the cutoff', () => {
    const img = blank(20, 16);
    // x 3.4 -> 3, y 2.5 -> 2 (half to even), x + w = 7.5 -> 8, y + h = 6.5 -> 6: rows 1 and 6, columns 2 and 8
    drawBoxes(img, [3.4, 2.5, 4.1, 4, 10, 10, 5, 5], [0.6, 0.59], 0.6, [255, 0, 0]);
    const want = new Set<string>();
    for (let x = 2; x <= 8; x++) want.add(`${x},1`).add(`${x},6`);
    for (let y = 1; y <= 6; y++) want.add(`2,${y}`).add(`8,${y}`);
    expect(new Set(red(img))).toEqual(want);
    // A box over the edge keeps its pixels inside the frame; (dx, dy) shifts a cropped analysis back.
    const edge = blank(10, 10);
    drawBoxes(edge, [-3, -3, 5, 5], [1], 0.6, [255, 0, 0]);
    expect(red(edge).sort()).toEqual(['0,2', '1,2', '2,0', '2,1', '2,2'].sort());
    const shifted = blank(10, 10);
    drawBoxes(shifted, [0, 0, 2, 2], [1], 0, [255, 0, 0], 4, 3);
    expect(red(shifted)).toContain('3,2');
    expect(red(shifted)).toContain('6,5');
    // -1 padding (score -1) is never drawn, whatever the cutoff.
    const padded = blank(10, 10);
    drawBoxes(padded, [-1, -1, -1, -1], [-1], 0, [255, 0, 0]);
    expect(red(padded)).toEqual([]);
  });

  it("colours columns by bodypart or by individual as DeepLabCut's map2bp / map2id", () => {
    const cols = ['a', 'b'].flatMap((ind) => ['nose', 'tail'].flatMap((bp) => ['x', 'y', 'likelihood'].map((c) => ['S', ind, bp, c])));
    expect(columnColors(cols, 4, 'bodypart')).toMatchObject({ names: ['nose', 'tail'], index: [0, 1, 0, 1] });
    expect(columnColors(cols, 4, 'individual')).toMatchObject({ names: ['a', 'b'], index: [0, 0, 1, 1] });
    const single = ['nose', 'tail'].flatMap((bp) => ['x', 'y', 'likelihood'].map((c) => ['S', bp, c]));
    expect(columnColors(single, 3, 'bodypart')).toMatchObject({ names: ['nose', 'tail'], index: [0, 1] });
  });

  it('names multi-animal labeled videos with _bp or _id', () => {
    expect(labeledVideoPath('/v/miceDLC_Resnet18_xshuffle1_detector_001_snapshot_001.h5', 0.6, 'bodypart')).toBe('/v/miceDLC_Resnet18_xshuffle1_detector_001_snapshot_001_bp_p60_labeled.mp4');
    expect(labeledVideoPath('/v/mice.h5', 0.6, 'individual')).toBe('/v/mice_id_p60_labeled.mp4');
    expect(labeledVideoPath('/v/mice.h5', 0.6)).toBe('/v/mice_p60_labeled.mp4');
  });
});
