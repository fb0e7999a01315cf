// create_labeled_video's drawing, without a GPU: matplotlib's colormap colours as DeepLabCut takes them
// ((rgba * 255).astype(uint8)), skimage disks (pixel centres strictly inside the radius), pcutoff strict,
// skeleton segments only between keypoints above it, and the output file name.
import { describe, expect, it } from 'vitest';
import { colormapColors, namedColor } from '../../src/video/colormap.ts';
import { drawPoses } from '../../src/video/draw-poses.ts';
import { labeledVideoPath } from '../../src/video/outputs.ts';

const blank = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const px = (img: { width: number; data: Uint8Array }, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('labeled video drawing', () => {
  it('colours n bodyparts from matplotlib jet and rainbow', () => {
    // matplotlib: jet(0) = (0, 0, .5), jet(1/3) = (0, .833, 1), jet(2/3) = (1, .901, 0), jet(1) = (.5, 0, 0)
    expect(colormapColors('jet', 4)).toEqual([[0, 0, 127], [0, 212, 255], [255, 229, 0], [127, 0, 0]]);
    // rainbow(0) = (.5, 0, 1), rainbow(1) = (1, ~0, ~0)
    const r = colormapColors('rainbow', 3);
    expect(r[0]).toEqual([127, 0, 255]);
    expect(r[2]).toEqual([255, 0, 0]);
    expect(() => colormapColors('plasma', 2)).toThrow(/colormap 'plasma' is not supported \(supported: jet, rainbow\)/);
    expect(namedColor('white')).toEqual([255, 255, 255]);
    expect(namedColor('#10ff00')).toEqual([16, 255, 0]);
    expect(() => namedColor('sparkly')).toThrow(/colour 'sparkly' is not known/);
  });

  it('draws disks above pcutoff, and skeleton segments only between such keypoints', () => {
    const style = { colors: [[255, 0, 0], [0, 255, 0], [0, 0, 255]] as [number, number, number][], dotsize: 3, pcutoff: 0.5, skeleton: [[0, 1], [1, 2]] as [number, number][], skeletonColor: [255, 255, 255] as [number, number, number] };
    const img = blank(40, 30);
    drawPoses(img, [10, 10, 0.9, 30, 10, 0.51, 20, 25, 0.5], style);
    const count = (c: number[]) => Array.from({ length: 40 * 30 }, (_, i) => i).filter((i) => px(img, i % 40, Math.floor(i / 40)).join() === c.join()).length;
    // radius 3 at a pixel centre: the 5x5 square (distance^2 < 9; (3, 0) is not inside)
    expect(count([255, 0, 0])).toBe(25);
    expect(count([0, 255, 0])).toBe(25);
    expect(count([0, 0, 255])).toBe(0); // likelihood 0.5 is not > pcutoff 0.5
    expect(px(img, 20, 10)).toEqual([255, 255, 255]); // the 0-1 segment
    expect(px(img, 25, 18)).toEqual([0, 0, 0]); // no 1-2 segment
    // Offsets from a cropped analysis shift the keypoints back into the full frame.
    const shifted = blank(40, 30);
    drawPoses(shifted, [1, 1, 1], { ...style, skeleton: [] }, 10, 5);
    expect(px(shifted, 11, 6)).toEqual([255, 0, 0]);
    expect(px(shifted, 1, 1)).toEqual([0, 0, 0]);
  });

  it("names the output as DeepLabCut: int(100 * pcutoff) truncates", () => {
    expect(labeledVideoPath('/v/m1DLC_Resnet50_xshuffle1_snapshot_best-200.h5', 0.6)).toBe('/v/m1DLC_Resnet50_xshuffle1_snapshot_best-200_p60_labeled.mp4');
    expect(labeledVideoPath('/v/aDLC.h5', 0.29)).toBe('/v/aDLC_p28_labeled.mp4');
  });
});
