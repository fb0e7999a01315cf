// DeepLabCut's HeatmapGenerator (Gaussian and plateau modes): heatmap targets with per-channel weights,
// and location-refinement targets with their mask, generated on the GPU from host keypoints.
import { engine } from '../../gpu/current.ts';
import { kernel, Uniforms } from '../../gpu/kernel.ts';
import { tensor } from '../../ops/creation.ts';
import { grid } from '../../ops/layout.ts';
import { expand } from '../../ops/shape.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { Tensor } from '../../tensor/tensor.ts';

const targetKernel = kernel('heatmap_target');

export interface HeatmapGeneratorOptions {
  numHeatmaps: number;
  posDistThresh: number;
  /** 'gaussian' (HeatmapGaussianGenerator) or 'plateau' (HeatmapPlateauGenerator). */
  mode: 'gaussian' | 'plateau';
  gradientMasking?: boolean;
  backgroundWeight?: number;
  generateLocref?: boolean;
  locrefStd?: number;
}

/** Keypoints for a batch: [B, individuals, numHeatmaps, 3] = (x, y, visibility), in input-image pixels. */
export interface KeypointBatch {
  data: Float32Array;
  batch: number;
  individuals: number;
}

export interface HeatmapTargets {
  heatmap: { target: Tensor; weights: Tensor };
  locref?: { target: Tensor; weights: Tensor };
}

export class HeatmapGenerator {
  readonly std: number;
  constructor(readonly opts: HeatmapGeneratorOptions) {
    // DeepLabCut: sigma = 2 * pos_dist_thresh / 3.
    this.std = (2 * opts.posDistThresh) / 3;
  }

  /**
   * Per-channel weights, assigned in DeepLabCut's order over individuals: with gradient masking an
   * unlabeled keypoint (visibility 0) sets background_weight, visibility -1 sets 0.
   */
  channelWeights(k: KeypointBatch): Float32Array {
    const J = this.opts.numHeatmaps;
    const w = new Float32Array(k.batch * J).fill(1);
    for (let b = 0; b < k.batch; b++)
      for (let i = 0; i < k.individuals; i++)
        for (let j = 0; j < J; j++) {
          const vis = k.data[((b * k.individuals + i) * J + j) * 3 + 2]!;
          if (this.opts.gradientMasking && vis === 0) w[b * J + j] = this.opts.backgroundWeight ?? 0.1;
          else if (vis === -1) w[b * J + j] = 0;
        }
    return w;
  }

  /** Targets for maps of size [H, W] whose cells are `stride` input pixels apart. */
  generate(k: KeypointBatch, height: number, width: number, stride: number): HeatmapTargets {
    const J = this.opts.numHeatmaps;
    if (k.data.length !== k.batch * k.individuals * J * 3)
      throw new Error(`heatmap targets: ${k.data.length} keypoint values do not make [${k.batch}, ${k.individuals}, ${J}, 3]`);
    return noGrad(() => {
      const B = k.batch;
      const heat = Tensor.empty([B, J, height, width]);
      const locref = Tensor.empty([B, 2 * J, height, width]);
      const mask = Tensor.empty([B, 2 * J, height, width]);
      const keypoints = tensor(k.data.length ? k.data : new Float32Array(1), [Math.max(k.data.length, 1)]);
      const n = B * J * height * width;
      const thresh = this.opts.posDistThresh;
      const u = new Uniforms()
        .u32(B).u32(k.individuals).u32(J).u32(height)
        .u32(width).u32(this.opts.mode === 'gaussian' ? 0 : 1).f32(stride).f32(1 / (2 * this.std * this.std))
        .f32(thresh * thresh).f32(1 / (this.opts.locrefStd ?? 7.2801)).u32(n);
      if (n > 0) engine().dispatch(targetKernel, grid(n), [keypoints.buffer, heat.buffer, locref.buffer, mask.buffer], u);
      keypoints.dispose();
      const perChannel = tensor(this.channelWeights(k), [B, J, 1, 1]);
      const weights = expand(perChannel, [B, J, height, width]);
      perChannel.dispose();
      const out: HeatmapTargets = { heatmap: { target: heat, weights } };
      if (this.opts.generateLocref ?? true) out.locref = { target: locref, weights: mask };
      else {
        locref.dispose();
        mask.dispose();
      }
      return out;
    });
  }
}
