// Top-down inference with a detector (src/runner/top-down.ts): boxes kept and mapped as DeepLabCut does, crops of
// successive frames batched together with results independent of the batch size, every keypoint inside its crop's
// region of the frame, and outputs padded to max_individuals with -1 (frames without detections included).
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { parsePoseConfig } from '../../src/config/index.ts';
import { AugmentationPipeline } from '../../src/data/index.ts';
import { createImage } from '../../src/report/raster.ts';
import type { Detector, DetectorOutput } from '../../src/models/detectors/detector.ts';
import { PoseModel } from '../../src/models/pose-model.ts';
import { detectBoxes, padOutputs, predictTopDown, type Frame } from '../../src/runner/top-down.ts';
import { generatedText } from '../config/helpers.ts';
import { useGpu } from '../helpers/gpu.ts';

useGpu();

/** Returns fixed xyxy boxes for each frame, told apart by width; scores descending as torchvision's are. */
class TableDetector extends dg.nn.Module implements Detector {
  constructor(readonly table: Map<number, number[][]>) {
    super();
  }
  async detect(images: readonly dg.Tensor[]): Promise<DetectorOutput> {
    return {
      losses: {},
      detections: images.map((img) => {
        const boxes = this.table.get(img.shape[2]!) ?? [];
        return { boxes: Float32Array.from(boxes.flat()), scores: Float32Array.from(boxes.map((_, i) => 0.9 - 0.1 * i)), labels: new Int32Array(boxes.length).fill(1) };
      }),
    };
  }
}

const frame = (w: number, h: number, i: number): Frame => {
  const image = createImage(w, h, [40 + 10 * i, 90, 120]);
  for (let p = 0; p < image.data.length; p++) image.data[p] = (image.data[p]! + ((p * 7919 + i) % 61)) % 256;
  return { path: `frame${i}.png`, image };
};

describe('top-down inference', () => {
  const frames = [frame(120, 90, 0), frame(100, 80, 1), frame(140, 100, 2)];
  // xyxy in frame pixels: none for frame 1; four for frame 2 (one beyond max_individuals), one at the border.
  const table = new Map<number, number[][]>([
    [120, [[10, 12, 60, 70]]],
    [140, [[0, 0, 30, 40], [50, 20, 110, 90], [100, 60, 140, 100], [5, 5, 15, 15]]],
  ]);
  const detector = new TableDetector(table);
  const detPipeline = new AugmentationPipeline({ normalize_images: true } as ConstructorParameters<typeof AugmentationPipeline>[0]);

  it('keeps the first max_individuals boxes as xywh in frame pixels', async () => {
    const found = await detectBoxes(detector, detPipeline, frames, 3);
    expect(found.map((f) => f.boxes)).toEqual([[[10, 12, 50, 58]], [], [[0, 0, 30, 40], [50, 20, 60, 70], [100, 60, 40, 40]]]);
    expect(found[2]!.scores.map((s) => +s.toFixed(5))).toEqual([0.9, 0.8, 0.7]);
  });

  it('pads poses, boxes and scores with -1 to max_individuals', () => {
    const p = padOutputs([[[1, 2, 0.5]]], { boxes: [[1, 2, 3, 4]], scores: [0.7] }, 3, 1);
    expect(p).toEqual({ poses: [[[1, 2, 0.5]], [[-1, -1, -1]], [[-1, -1, -1]]], boxes: [[1, 2, 3, 4], [-1, -1, -1, -1], [-1, -1, -1, -1]], boxScores: [0.7, -1, -1] });
  });

  it('predicts a pose per box, the same for any batch size, inside the box region', async () => {
    const { config } = parsePoseConfig(generatedText('top_down_resnet_18'), 'td.yaml');
    // Without location refinement a prediction is a heatmap cell centre, so it lies inside its crop.
    (config.model.heads.bodypart!.predictor as { location_refinement?: boolean }).location_refinement = false;
    const model = new PoseModel(config.model as ConstructorParameters<typeof PoseModel>[0], { seed: 3 });
    const posePipeline = new AugmentationPipeline({ ...config.data.inference, top_down_crop: { width: 64, height: 64, margin: 0 } });
    const o = { maxIndividuals: 3, bodyparts: 4, uniqueBodyparts: 0, detectorPipeline: detPipeline, posePipeline };
    const runs: Awaited<ReturnType<typeof predictTopDown>>[] = [];
    for (const batchSize of [1, 2, 4]) runs.push(await predictTopDown(detector, model, frames, { ...o, batchSize }));
    for (const r of runs.slice(1)) {
      r.forEach((f, i) => f.poses.forEach((pose, a) => pose.forEach((kp, k) => kp.forEach((v, c) => expect(v).toBeCloseTo(runs[0]![i]!.poses[a]![k]![c]!, 3)))));
    }
    const [first, empty, crowded] = runs[0]!;
    expect(empty!.poses.flat(2).every((v) => v === -1)).toBe(true);
    expect(empty!.boxScores).toEqual([-1, -1, -1]);
    expect(first!.poses[1]!.flat().every((v) => v === -1)).toBe(true);
    // With context the 64x64 crop covers the box's longer side around its centre: keypoints land in that square.
    const inRegion = (pose: number[][], [x, y, w, h]: number[]) => {
      const side = Math.max(w!, h!);
      const [cx, cy] = [x! + w! / 2, y! + h! / 2];
      return pose.every(([px, py]) => Math.abs(px! - cx) <= side / 2 + 1 && Math.abs(py! - cy) <= side / 2 + 1);
    };
    crowded!.poses.forEach((pose, a) => expect(inRegion(pose, crowded!.boxes[a]!), `crowded ${a}`).toBe(true));
    expect(inRegion(first!.poses[0]!, first!.boxes[0]!)).toBe(true);
    model.dispose();
  });
});
