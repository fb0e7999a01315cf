// The one Node-specific file of the GPU layer: it creates Dawn's WebGPU entry point.
// In a browser, pass `navigator.gpu` to `createEngine` instead.
import { create, globals } from 'webgpu';

/** Dawn backends that `DLC_GPU_BACKEND` may name. */
export const dawnBackends = ['vulkan', 'opengl', 'opengles', 'metal', 'd3d12', 'd3d11', 'null'] as const;

export interface DawnGpu {
  gpu: GPU;
  /** The Dawn backend forced by DLC_GPU_BACKEND, if any. */
  backend: string | undefined;
}

export function createDawnGpu(backend = process.env.DLC_GPU_BACKEND || undefined): DawnGpu {
  // Mesa's drivers refuse to start without it on a headless machine (CI, containers).
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  Object.assign(globalThis, globals);
  const options = backend ? [`backend=${backend}`] : [];
  if (process.env.DLC_GPU_DUMP_SHADERS) options.push('enable-dawn-features=dump_shaders,disable_symbol_renaming');
  return { gpu: create(options), backend };
}
