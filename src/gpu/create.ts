// Turns a WebGPU entry point (Dawn's in Node, navigator.gpu in a browser) into an Engine.
import { chooseAdapter, describeAdapter } from './adapter.ts';
import { isLavapipeVulkan } from './robustness.ts';
import { Engine } from './engine.ts';

/** Optional features the kernels can use when the adapter has them. */
const wantedFeatures: GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];

export interface CreateEngineOptions {
  /** Request none of the optional features, so kernels take their portable paths (tests, debugging). */
  portable?: boolean;
  /** Another WebGPU instance whose devices have Dawn's robustness off, used where the chosen adapter is lavapipe (src/gpu/robustness.ts). */
  withoutRobustness?: () => GPU;
}

/** Creates the engine on the adapter `deviceKey` chooses (see `chooseAdapter`), with the optional features it has. */
export async function createEngine(gpu: GPU, deviceKey = 'auto', backend?: string, opts: CreateEngineOptions = {}): Promise<Engine> {
  let { adapter } = await chooseAdapter(gpu, deviceKey, backend);
  let robust = true;
  if (opts.withoutRobustness && isLavapipeVulkan(adapter.info, backend)) {
    const unchecked = opts.withoutRobustness();
    const again = (await chooseAdapter(unchecked, deviceKey, backend)).adapter;
    // The same choice on the second instance (it enumerates the same drivers); anything else keeps the first.
    if (describeAdapter(again) === describeAdapter(adapter)) {
      gpu = unchecked;
      adapter = again;
      robust = false;
    }
  }
  const requiredFeatures = opts.portable ? [] : wantedFeatures.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  return new Engine(device, adapter, gpu, robust);
}
