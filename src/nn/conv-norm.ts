// conv -> norm (-> + residual -> ReLU): the unit ResNet's and HRNet's blocks, stems and shortcuts are made of.
// With a BatchNorm2d on running statistics or a FrozenBatchNorm2d, and no tape (evaluation, prediction, video
// analysis), the norm is folded into the conv (src/nn/fold-norm.ts, kept while the tensors are unchanged) and the
// residual and ReLU run in the conv's store (conv2d's epilogue): one pass where a conv and a normalise pass (and,
// after a FrozenBatchNorm2d, an add and a ReLU) were (bench/NOTES.md "full-frame" v32-v33). Otherwise, and for any
// other norm, the conv and then the norm's own forward; before a GroupNorm, a 1x1 conv's store also leaves partial
// statistics that the norm combines instead of its statistics pass (Conv2dOptions.normGroups, v34), on the tape too.
import type { Tensor } from '../tensor/tensor.ts';
import type { Conv2d } from './conv-layers.ts';
import { Sequential } from './layers.ts';
import type { Layer } from './module.ts';
import { FrozenBatchNorm2d } from './frozen-batch-norm.ts';
import { BatchNorm2d, GroupNorm, normRelu } from './norm-layers.ts';
import { add } from '../ops/elementwise.ts';
import { willRecord } from '../tensor/autograd.ts';

export interface ConvNormEpilogue {
  /** Added after the norm, before the ReLU (a block's shortcut). */
  residual?: Tensor;
  relu?: boolean;
}

/** norm(conv(x)) (+ residual) (then ReLU), folded where it can be. */
export function convNorm(conv: Conv2d, norm: Layer, x: Tensor, epi: ConvNormEpilogue = {}): Tensor {
  // Folded only where the conv's own store adds the bias, residual and ReLU: elsewhere (1x1 convs on the matmul)
  // they would be passes of their own, no fewer than the normalise pass they replace.
  if ((norm instanceof BatchNorm2d || norm instanceof FrozenBatchNorm2d) && !willRecord([x, epi.residual ?? null]) && conv.storesEpilogue(x)) {
    const { weight, bias } = conv.weights;
    const folded = norm.fold(weight, bias);
    if (folded) return conv.forward(x, { residual: epi.residual ?? null, relu: epi.relu === true }, folded);
  }
  // A GroupNorm takes its statistics from partials the conv's store leaves, where it can (Conv2dOptions.normGroups).
  const y = conv.forward(x, norm instanceof GroupNorm ? { normGroups: norm.numGroups } : {});
  if (epi.relu) return normRelu(norm, y, epi.residual);
  const n = norm.forward(y);
  return epi.residual ? add(n, epi.residual) : n;
}

/** conv then norm as a Sequential (state-dict keys 0 and 1), ReLU after when `act`. */
export class ConvNorm extends Sequential {
  constructor(conv: Conv2d, norm: Layer, readonly act = false) {
    super(conv, norm);
  }
  override forward(x: Tensor): Tensor {
    const [conv, norm] = this.layers as [Conv2d, Layer];
    return convNorm(conv, norm, x, { relu: this.act });
  }
}
