// DeepLabCut's HeatmapPredictor: argmax per keypoint heatmap, score at the peak, position refined by
// locref offsets times locref_std, in input-image pixels: x = col * stride + stride / 2 + dx.
import { engine } from '../../gpu/current.ts';
import { kernel, Uniforms } from '../../gpu/kernel.ts';
import { Tensor } from '../../tensor/tensor.ts';

const predictKernel = kernel('heatmap_predict');

export interface HeatmapPredictorOptions {
  applySigmoid?: boolean;
  clipScores?: boolean;
  locationRefinement?: boolean;
  locrefStd?: number;
}

export class HeatmapPredictor {
  constructor(readonly opts: HeatmapPredictorOptions = {}) {}

  /** heatmap [B, J, H, W], locref [B, 2J, H, W] or null -> poses [B, J, 3] = (x, y, score). */
  predict(heatmap: Tensor, locref: Tensor | null, stride: number): Tensor {
    const [B, J, H, W] = heatmap.shape as [number, number, number, number];
    const refine = (this.opts.locationRefinement ?? true) && locref !== null;
    if (refine && (locref!.shape[1] !== 2 * J || locref!.shape[2] !== H || locref!.shape[3] !== W))
      throw new Error(`HeatmapPredictor: locref [${locref!.shape.join(', ')}] does not match heatmap [${heatmap.shape.join(', ')}] (needs [B, 2J, H, W])`);
    const out = Tensor.empty([B, J, 3]);
    const flags = (this.opts.applySigmoid ?? true ? 1 : 0) | (this.opts.clipScores ? 2 : 0) | (refine ? 4 : 0);
    const u = new Uniforms().u32(B).u32(J).u32(H).u32(W).f32(stride).f32(this.opts.locrefStd ?? 7.2801).u32(flags);
    if (B * J > 0) engine().dispatch(predictKernel, [Math.ceil((B * J) / 64)], [heatmap.buffer, (refine ? locref! : heatmap).buffer, out.buffer], u);
    return out;
  }
}
