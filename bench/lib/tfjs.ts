// TensorFlow.js 4.22 with its WebGPU backend on the same Dawn GPU object as the engine (same adapter,
// its own device), for peer comparisons. Shims from /work/shared/docs/peer-baselines.md: navigator.gpu
// must exist BEFORE the backend is imported (it registers 'webgpu' at import time only then).
import { engine } from '../../src/index.ts';

export type Tf = typeof import('@tensorflow/tfjs-core');

let loaded: Tf | null = null;

/** Loads tfjs-core + tfjs-backend-webgpu and selects the 'webgpu' backend. Call after `init()`. */
export async function loadTfjsWebgpu(): Promise<Tf> {
  if (loaded) return loaded;
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { gpu: engine().gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
  await tf.ready();
  loaded = tf;
  return tf;
}

/** Waits for tfjs's queued GPU work without a readback: end its pass, submit, await the queue. */
export async function tfjsSync(tf: Tf): Promise<void> {
  const be = tf.backend() as unknown as { endComputePassEncoder(): void; submitQueue(): void; commandEncoder: unknown; device: GPUDevice };
  be.endComputePassEncoder();
  if (be.commandEncoder) be.submitQueue();
  await be.device.queue.onSubmittedWorkDone();
}
