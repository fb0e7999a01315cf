// Turns a WebGPU entry point (Dawn's in Node, navigator.gpu in a browser) into an Engine.
import { chooseAdapter } from './adapter.ts';
import { Engine } from './engine.ts';

/** Optional features the kernels can use when the adapter has them. */
const wantedFeatures: GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];

/** `portable`: request none of the optional features, so kernels take their portable paths (tests, debugging). */
export async function createEngine(gpu: GPU, deviceKey = 'auto', backend?: string, opts: { portable?: boolean } = {}): Promise<Engine> {
  const { adapter } = await chooseAdapter(gpu, deviceKey, backend);
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
  return new Engine(device, adapter, gpu);
}
