// Whether Dawn's shader robustness is kept on a device: the one place that decides it.
//
// Dawn makes every shader safe against a buggy or hostile kernel in two ways: it turns on the driver's robust
// buffer access (Vulkan robustBufferAccess2) and Tint rewrites the shader, clamping indices into fixed-size
// arrays and guarding every loop with a 64-bit iteration counter (so that no loop can run forever). On lavapipe
// the guard costs most: it is a per-lane vector in function memory, loaded, decremented, compared and stored on
// every iteration of every k-loop, and it stops LLVM from treating the loop as countable. Without it the resnet_50
// training step at 256 runs ~8% faster and a matmul 7-15% faster (bench/NOTES.md "full-frame" v16).
//
// It is dropped only where the driver itself still keeps every buffer access in bounds: lavapipe through Vulkan.
// llvmpipe compiles each storage-buffer load and store with a test against the bound range (an access past it
// reads 0 and writes nothing, with or without robustBufferAccess; test/robustness.test.ts checks this), so an
// out-of-bounds index cannot reach memory outside the buffer. Our loops all end by construction. Hardware
// GPUs, SwiftShader, Dawn's OpenGL backend and browsers keep Dawn's robustness.

/** `DLC_GPU_ROBUSTNESS` (read by src/gpu/dawn.ts): `auto` (the default: dropped on lavapipe-on-Vulkan only) or `on` (kept everywhere). */
export type RobustnessSetting = 'auto' | 'on';

export function parseRobustnessSetting(value: string | undefined): RobustnessSetting {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'on') return 'on';
  throw new Error(`DLC_GPU_ROBUSTNESS: '${value}' is not one of auto, on`);
}

/** lavapipe (llvmpipe's Vulkan driver): the backend is Vulkan (forced, or Dawn's default on Linux) and the adapter is llvmpipe. */
export function isLavapipeVulkan(info: GPUAdapterInfo, backend: string | undefined): boolean {
  if (backend !== undefined && backend !== 'vulkan') return false;
  return /llvmpipe/i.test(`${info.description} ${info.device} ${info.architecture}`);
}

/** The Dawn toggle that turns robustness off (a device toggle; dawn.node takes it when the instance is created). */
export const DISABLE_ROBUSTNESS_TOGGLE = 'disable_robustness';
