// The package entry for Node: the engine core (src/core.ts), `init` on Dawn's WebGPU, and the file readers.
import { createDawnGpu } from './gpu/dawn.ts';
import { createEngine } from './gpu/create.ts';
import { setEngine } from './gpu/current.ts';
import type { Engine } from './gpu/engine.ts';
import type { EngineOptions } from './core.ts';

export * from './core.ts';

/** How `init` chooses the device: DeepLabCut's `device` key, a Dawn backend, portable kernels. */
export interface InitOptions extends EngineOptions {
  /** A Dawn backend (vulkan, opengl, metal, d3d12, ...); default from DLC_GPU_BACKEND. */
  backend?: string;
}

/** Creates the engine on the chosen adapter (through Dawn) and makes it current. */
export async function init(options: InitOptions = {}): Promise<Engine> {
  const { gpu, backend, withoutRobustness } = createDawnGpu(options.backend);
  const e = await createEngine(gpu, options.device ?? 'auto', backend, { portable: options.portable, withoutRobustness });
  setEngine(e);
  return e;
}

// DeepLabCut's detectors register in DETECTORS (their builders read weights files, so they are Node's).
import './models/detectors/index.ts';
export { buildSsdlite, loadSsdliteWeights, ssdlitePretrainedHowTo } from './models/detectors/index.ts';
export { buildFasterRcnn, loadFasterRcnnWeights, fasterRcnnPretrainedHowTo } from './models/detectors/index.ts';

/** Readers and writers for DeepLabCut's files: torch .pt snapshots, pickles, safetensors, HDF5, images. */
export * as io from './io/index.ts';
