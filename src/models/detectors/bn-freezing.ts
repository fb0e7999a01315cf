// DeepLabCut's BaseDetector flags over a torchvision detector's BatchNorm2d layers: freeze_bn_stats (running
// statistics kept, re-applied on every train()) and freeze_bn_weights (affine parameters frozen). Layers in the
// backbone stages trainable_backbone_layers froze stay frozen whatever freeze_bn_weights says. FrozenBatchNorm2d
// layers are frozen anyway and are not touched.
import { Module } from '../../nn/module.ts';
import { BatchNorm2d } from '../../nn/norm-layers.ts';

export abstract class BatchNormFreezing extends Module {
  private bnStatsFrozen = false;
  private bnWeightsFrozen = false;
  private readonly frozenByStage = new Set<BatchNorm2d>();

  /** At the end of a subclass constructor: records the layers the trainable stages froze, then applies the flags. */
  protected initBnFreezing(stats: boolean, weights: boolean): void {
    for (const bn of this.batchNorms()) if (bn.freezeWeights) this.frozenByStage.add(bn);
    this.freezeBnStats = stats;
    this.freezeBnWeights = weights;
  }

  protected batchNorms(): BatchNorm2d[] {
    return this.namedModules().flatMap(([, m]) => (m instanceof BatchNorm2d ? [m] : []));
  }

  /** DeepLabCut's freeze_bn_stats. */
  get freezeBnStats(): boolean {
    return this.bnStatsFrozen;
  }
  set freezeBnStats(frozen: boolean) {
    this.bnStatsFrozen = frozen;
    for (const bn of this.batchNorms()) bn.freezeStats = frozen;
  }

  /** DeepLabCut's freeze_bn_weights. */
  get freezeBnWeights(): boolean {
    return this.bnWeightsFrozen;
  }
  set freezeBnWeights(frozen: boolean) {
    this.bnWeightsFrozen = frozen;
    for (const bn of this.batchNorms()) bn.freezeWeights = frozen || this.frozenByStage.has(bn);
    this.train(this.training);
  }
}
