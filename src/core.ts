// The engine core: PyTorch-like functions over WebGPU tensors, autograd, layers, optimisers, the model parts
// and their registries, with no Node-only import, so a bundler can build it for a browser (the package's
// `browser` condition and `dlc-gpu/core`). A browser starts it with `initWith(navigator.gpu)`; Node uses
// `init()` from the package entry (src/index.ts), which adds Dawn and the file readers (`io`).
import { createEngine } from './gpu/create.ts';
import { setEngine } from './gpu/current.ts';
import type { Engine } from './gpu/engine.ts';
import { backward } from './tensor/backward.ts';
import { Tensor } from './tensor/tensor.ts';

export { Tensor, numel, type Shape } from './tensor/tensor.ts';
export { tidy, scope, keep } from './tensor/scope.ts';
export { noGrad, isGradEnabled } from './tensor/autograd.ts';
export { backward } from './tensor/backward.ts';
export { Engine, GpuError, type EngineStats } from './gpu/engine.ts';
export { GpuUnavailableError, type DeviceKey } from './gpu/adapter.ts';
export { engine, setEngine } from './gpu/current.ts';
export { createEngine } from './gpu/create.ts';
export { defineKernel, kernel, Uniforms, type KernelSpec, type Constants } from './gpu/kernel.ts';
export type { Profiler, DispatchTime } from './gpu/profiler.ts';
export * from './ops/creation.ts';
export * from './ops/elementwise.ts';
export * from './ops/reduce.ts';
export * from './ops/shape.ts';
export * from './ops/matmul.ts';
export * from './ops/softmax.ts';
export * from './ops/norm.ts';
export * from './ops/pool.ts';
export * from './ops/resample.ts';
export * from './ops/hrnet-fuse.ts';
export * from './ops/loss.ts';
export * from './ops/conv.ts';
/** Detection ops with torchvision's exact results: NMS, box IoU and coding, torch-order top-k, ROI align. */
export { nms, batchedNms, nmsReference, batchedNmsReference, type NmsOptions, type GreedyMode } from './ops/nms.ts';
export { boxIou, clipBoxesToImage, removeSmallBoxes, BoxCoder } from './ops/boxes.ts';
export { topkIndices, torchSortDescending, torchTopkDescending, type TopkOptions } from './ops/sort.ts';
export { roiAlign, multiScaleRoiAlign, multiScaleLevels, type RoiAlignOptions, type RoiBoxes, type MultiScaleRoiAlignOptions } from './ops/roi-align.ts';

declare module './tensor/tensor.ts' {
  interface Tensor {
    /** Same as `backward(this, grad)`. */
    backward(grad?: Tensor): void;
  }
}
Tensor.prototype.backward = function (this: Tensor, grad?: Tensor) {
  backward(this, grad);
};

/** How `initWith` (and Node's `init`) choose the device. */
export interface EngineOptions {
  /** DeepLabCut's `device` key: auto | cpu | cuda | mps | gpu. */
  device?: string;
  /** Use no optional adapter features (subgroups, f16): every kernel takes its portable path. */
  portable?: boolean;
}

/** Creates the engine on an adapter of `gpu` (a browser's `navigator.gpu`) and makes it current. */
export async function initWith(gpu: GPU, options: EngineOptions = {}): Promise<Engine> {
  const e = await createEngine(gpu, options.device ?? 'auto', undefined, { portable: options.portable });
  setEngine(e);
  return e;
}

/** Layers (`Module`, `Conv2d`, `BatchNorm2d`, ...) and weight initialisers, with PyTorch's parameter names. */
export * as nn from './nn/index.ts';
/** Optimisers and learning-rate schedulers with DeepLabCut's names and PyTorch's update rules. */
export * as optim from './optim/index.ts';
/** Differentiable user ops (the analogue of torch.autograd.Function). */
export { defineOp, type OpDefinition, type OpContext, type CustomOp } from './tensor/define-op.ts';
export { gradcheck, seededUniform, type GradcheckOptions, type GradcheckResult, type GradcheckInput, type GradcheckFailure } from './tensor/gradcheck.ts';
/** Pose-model parts and DeepLabCut's registries (BACKBONES, HEADS, ...), which plugins extend. */
export * as models from './models/index.ts';
/** DeepLabCut's registries keyed by the config's `type`: BACKBONES, NECKS, HEADS, PREDICTORS, TARGET_GENERATORS, CRITERIONS, LOSS_AGGREGATORS. */
export * as registries from './models/registries.ts';
export { Registry, UnknownTypeError, type TypedBlock, type RegisterOptions } from './models/registry.ts';
/** valibot, the copy the config validator uses: plugins declare their types' keys with it (`dg.v.strictObject`). */
export * as v from 'valibot';
