// The public API: PyTorch-like functions over GPU tensors, and `init` to choose the device.
import { createDawnGpu } from './gpu/dawn.ts';
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
export { engine } from './gpu/current.ts';
export { defineKernel, kernel, Uniforms, type KernelSpec } from './gpu/kernel.ts';
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

declare module './tensor/tensor.ts' {
  interface Tensor {
    /** Same as `backward(this, grad)`. */
    backward(grad?: Tensor): void;
  }
}
Tensor.prototype.backward = function (this: Tensor, grad?: Tensor) {
  backward(this, grad);
};

export interface InitOptions {
  /** DeepLabCut's `device` key: auto | cpu | cuda | mps | gpu. */
  device?: string;
  /** A Dawn backend (vulkan, opengl, metal, d3d12, ...); default from DLC_GPU_BACKEND. */
  backend?: string;
  /** Use no optional adapter features (subgroups, f16): every kernel takes its portable path. */
  portable?: boolean;
}

/** Creates the engine on the chosen adapter and makes it current. */
export async function init(options: InitOptions = {}): Promise<Engine> {
  const { gpu, backend } = createDawnGpu(options.backend);
  const e = await createEngine(gpu, options.device ?? 'auto', backend, { portable: options.portable });
  setEngine(e);
  return e;
}
export * as nn from './nn/index.ts';
export * as optim from './optim/index.ts';
export * as io from './io/index.ts';
export * from './ops/conv.ts';
export { defineOp, type OpDefinition, type OpContext, type CustomOp } from './tensor/define-op.ts';
export { gradcheck, seededUniform, type GradcheckOptions, type GradcheckResult, type GradcheckInput } from './tensor/gradcheck.ts';
/** Pose-model parts and DeepLabCut's registries (BACKBONES, HEADS, ...), which plugins extend. */
export * as models from './models/index.ts';
export * as registries from './models/registries.ts';
export { Registry, UnknownTypeError, type TypedBlock, type RegisterOptions } from './models/registry.ts';
/** valibot, the copy the config validator uses: plugins declare their types' keys with it (`dg.v.strictObject`). */
export * as v from 'valibot';
