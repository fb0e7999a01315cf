// logger.image_log_interval: the pictures DeepLabCut's ImageLoggerMixin sends to W&B. A train and a test
// image (DeepLabCut takes item 0 of each dataset, named train-0 and test-0) as the model sees it, with the
// ground-truth keypoints in red (radius 5), and per bodypart the predicted heatmap (softmax over the
// bodypart channels, as torch.nn.Softmax2d) stacked above its target, as 8-bit grey. Here the two images
// go through one extra forward pass in eval mode at the logged epochs (the train one with the train
// transforms at a seed of the epoch's own), so the training batches and their random stream are untouched.
import { encode } from 'fast-png';
import { AugmentationPipeline, type PoseDataset } from '../data/index.ts';
import { batchItemToRgb } from '../data/preview.ts';
import type { PoseModel } from '../models/pose-model.ts';
import { softmax } from '../ops/softmax.ts';
import { fillDisk } from '../report/raster.ts';
import { noGrad } from '../tensor/autograd.ts';
import { tidy } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface LoggedImage {
  /** The W&B key, e.g. train-0.input or test-0.heatmap.3. */
  key: string;
  png: Uint8Array;
  width: number;
  height: number;
}

/** float -> uint8 as torchvision's convert_image_dtype (values in [0, 1] scale to [0, 255]). */
const toByte = (v: number) => Math.max(0, Math.min(255, Math.floor(v * 255.999)));

/** The images DeepLabCut logs for item 0 of `dataset` under `base` (train-0 / test-0). */
export async function poseImages(model: PoseModel, dataset: PoseDataset, pipeline: AugmentationPipeline, base: string, seed: number): Promise<LoggedImage[]> {
  if (dataset.length === 0) return [];
  const batch = pipeline.run([dataset.sample(0)], [dataset.loadImage(0)], [seed]);
  const wasTraining = model.training;
  model.eval();
  let tensors: Tensor[] = [];
  try {
    tensors = noGrad(() =>
      tidy(() => {
        const out = model.forward(batch.images);
        const targets = model.getTarget({ data: batch.keypoints, batch: 1, individuals: batch.individuals }, out);
        // Heads with a heatmap output and target (a plugin head may have neither).
        return Object.keys(out)
          .filter((head) => out[head]!.heatmap && targets[head]?.heatmap)
          .flatMap((head) => [softmax(out[head]!.heatmap!, 1), targets[head]!.heatmap!.target]);
      }),
    );
    const images: LoggedImage[] = [];
    const input = batchItemToRgb(await batch.images.toArray(), 0, batch.height, batch.width, {
      normalize: pipeline.transforms.normalize_images !== false,
      scaleToUnit: pipeline.transforms.scale_to_unit_range === true,
    });
    const K = batch.bodyparts;
    for (let i = 0; i < batch.individuals; i++)
      for (let k = 0; k < K; k++) {
        const o = (i * K + k) * 3;
        if (batch.keypoints[o + 2]! > 0) fillDisk(input, batch.keypoints[o]!, batch.keypoints[o + 1]!, 5, [255, 0, 0]);
      }
    images.push({ key: `${base}.input`, png: encode({ width: input.width, height: input.height, data: input.data, channels: 3, depth: 8 }), width: input.width, height: input.height });
    for (let t = 0; t < tensors.length; t += 2) {
      const [, C, h, w] = tensors[t]!.shape as [number, number, number, number];
      const [heat, target] = [await tensors[t]!.toArray(), await tensors[t + 1]!.toArray()];
      for (let j = 0; j < C; j++) {
        const grey = new Uint8Array(2 * h * w);
        for (let p = 0; p < h * w; p++) {
          grey[p] = toByte(heat[j * h * w + p]!);
          grey[h * w + p] = toByte(target[j * h * w + p]!);
        }
        images.push({ key: `${base}.heatmap.${j}`, png: encode({ width: w, height: 2 * h, data: grey, channels: 1, depth: 8 }), width: w, height: 2 * h });
      }
    }
    return images;
  } finally {
    for (const t of tensors) t.dispose();
    batch.dispose();
    if (wasTraining) model.train();
  }
}
