// SSD's heads and SSDLite's building blocks with torchvision 0.14's module names (models/detection/ssd.py,
// ssdlite.py): SSDScoringHead (one conv block per feature map, outputs [N, H * W * A, K] concatenated over the
// maps, `module_list.<i>`), SSDLiteHead (`classification_head`, `regression_head`), the prediction block
// (3x3 depthwise Conv2dNormActivation with ReLU6, then a 1x1 conv with bias) and the extra feature block
// (1x1 to half the channels, 3x3 depthwise stride 2, 1x1 up, each Conv2dNormActivation with ReLU6).
import { Conv2d } from '../../nn/conv-layers.ts';
import { ModuleList, Sequential } from '../../nn/layers.ts';
import { Layer, Module } from '../../nn/module.ts';
import { concat, permute, reshape } from '../../ops/shape.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { conv2dNormActivation, type MobileNetNorm } from './mobilenet-v3.ts';

/**
 * ssdlite.py's _prediction_block: x [N, inC, H, W] -> [N, outC, H, W]. Keys: 0.0.weight (depthwise [inC, 1, k, k]),
 * 0.1.* (norm), 1.weight [outC, inC, 1, 1], 1.bias.
 */
export function predictionBlock(inChannels: number, outChannels: number, kernel: number, norm: MobileNetNorm): Sequential {
  return new Sequential(conv2dNormActivation(inChannels, inChannels, kernel, { groups: inChannels, norm, activation: 'relu6' }), new Conv2d(inChannels, outChannels, 1));
}

/** ssdlite.py's _extra_block: x [N, inC, H, W] -> [N, outC, ceil(H / 2), ceil(W / 2)]. Keys 0.*, 1.*, 2.* (Conv2dNormActivation each). */
export function extraBlock(inChannels: number, outChannels: number, norm: MobileNetNorm): Sequential {
  const mid = Math.trunc(outChannels / 2);
  return new Sequential(
    conv2dNormActivation(inChannels, mid, 1, { norm, activation: 'relu6' }),
    conv2dNormActivation(mid, mid, 3, { stride: 2, groups: mid, norm, activation: 'relu6' }),
    conv2dNormActivation(mid, outChannels, 1, { norm, activation: 'relu6' }),
  );
}

/**
 * torchvision's SSDScoringHead: module_list[i] runs on feature map i ([N, C_i, H_i, W_i] -> [N, A_i * K, H_i, W_i]);
 * each result is viewed as [N, A_i, K, H_i, W_i], permuted to [N, H_i, W_i, A_i, K] and flattened, so rows are
 * location-major then anchor (the default boxes' order); the maps are concatenated: [N, sum H_i W_i A_i, K].
 */
export class SSDScoringHead extends Module {
  readonly moduleList: ModuleList<Layer>;
  constructor(
    blocks: readonly Layer[],
    readonly numColumns: number,
  ) {
    super();
    this.moduleList = this.registerModule('module_list', new ModuleList<Layer>([...blocks]));
  }

  forward(features: readonly Tensor[]): Tensor {
    if (features.length !== this.moduleList.length) throw new Error(`SSDScoringHead: ${features.length} feature maps for ${this.moduleList.length} blocks (one each)`);
    const K = this.numColumns;
    const parts = features.map((f, i) => {
      const r = this.moduleList.at(i).forward(f);
      const [N, AK, H, W] = r.shape as [number, number, number, number];
      if (AK % K !== 0) throw new Error(`SSDScoringHead: block ${i} gives ${AK} channels, not a multiple of ${K}`);
      return reshape(permute(reshape(r, [N, AK / K, K, H, W]), [0, 3, 4, 1, 2]), [N, (H * W * AK) / K, K]);
    });
    return parts.length === 1 ? parts[0]! : concat(parts, 1);
  }
}

/** The head's outputs: torchvision's dict {bbox_regression, cls_logits}. */
export interface SSDHeadOutputs {
  /** [N, anchors, 4] box deltas (BoxCoder codes). */
  bboxRegression: Tensor;
  /** [N, anchors, numClasses] class logits (0 = background). */
  clsLogits: Tensor;
}

/**
 * torchvision's SSDLiteHead: a prediction block per feature map for the classes (classification_head,
 * numClasses * A_i channels) and for the boxes (regression_head, 4 * A_i channels).
 */
export class SSDLiteHead extends Module {
  readonly classificationHead: SSDScoringHead;
  readonly regressionHead: SSDScoringHead;

  constructor(
    inChannels: readonly number[],
    numAnchors: readonly number[],
    readonly numClasses: number,
    norm: MobileNetNorm,
  ) {
    super();
    if (inChannels.length !== numAnchors.length) throw new Error(`SSDLiteHead: ${inChannels.length} input channel counts but ${numAnchors.length} anchor counts (one per feature map each)`);
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`SSDLiteHead: numClasses must be an integer >= 2 (background included), got ${numClasses}`);
    this.classificationHead = this.registerModule('classification_head', new SSDScoringHead(inChannels.map((c, i) => predictionBlock(c, numClasses * numAnchors[i]!, 3, norm)), numClasses));
    this.regressionHead = this.registerModule('regression_head', new SSDScoringHead(inChannels.map((c, i) => predictionBlock(c, 4 * numAnchors[i]!, 3, norm)), 4));
  }

  forward(features: readonly Tensor[]): SSDHeadOutputs {
    return { bboxRegression: this.regressionHead.forward(features), clsLogits: this.classificationHead.forward(features) };
  }
}
