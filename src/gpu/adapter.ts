// Choosing a WebGPU adapter from the config's `device` key (DeepLabCut's values).

/** DeepLabCut's `device` values, which choose the adapter (see `init`). */
export type DeviceKey = 'auto' | 'cpu' | 'cuda' | 'mps' | 'gpu';
export const deviceKeys: readonly DeviceKey[] = ['auto', 'cpu', 'cuda', 'mps', 'gpu'];

/** No usable adapter: the message says what to install or change. */
export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

const installHint =
  'Install a WebGPU-capable driver. With no GPU, install Mesa lavapipe (a CPU Vulkan driver) version 25 or newer; ' +
  'on Debian 12: add the bookworm-backports suite to apt sources, then ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers`. ' +
  "Debian 12's own Mesa 22 lavapipe is too old for Dawn; its OpenGL driver works with DLC_GPU_BACKEND=opengl.";

export function describeAdapter(a: GPUAdapter): string {
  const i = a.info;
  const kind = i.isFallbackAdapter ? 'software' : 'hardware';
  return `${i.description || i.device || 'unnamed adapter'} (vendor ${i.vendor || '?'}, ${kind})`;
}

export interface AdapterChoice {
  adapter: GPUAdapter;
  featureLevel: 'core' | 'compatibility';
}

/**
 * `auto`: a hardware GPU when there is one, else the software adapter. `cpu`: the software adapter.
 * `cuda`/`mps`/`gpu`: a hardware GPU, or an error listing the adapters that were found.
 */
export async function chooseAdapter(gpu: GPU, key: string, backend?: string): Promise<AdapterChoice> {
  if (!(deviceKeys as readonly string[]).includes(key)) {
    throw new GpuUnavailableError(`device: '${key}' is not one of ${deviceKeys.join(', ')}`);
  }
  // Dawn's OpenGL backend only offers WebGPU's compatibility level.
  const featureLevel = backend === 'opengl' || backend === 'opengles' ? 'compatibility' : 'core';
  const hardware = await gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel });
  const software = await gpu.requestAdapter({ forceFallbackAdapter: true, featureLevel });
  const found = [hardware, software].filter((a): a is GPUAdapter => a !== null);
  const distinct = [...new Map(found.map((a) => [describeAdapter(a), a])).keys()];
  const backendNote = backend ? ` with Dawn backend '${backend}' (from DLC_GPU_BACKEND)` : '';
  if (found.length === 0) {
    throw new GpuUnavailableError(`No WebGPU adapter was found${backendNote}. ${installHint}`);
  }
  const isHardware = (a: GPUAdapter | null) => a !== null && !a.info.isFallbackAdapter;
  if (key === 'cpu') {
    const cpu = [software, hardware].find((a) => a && a.info.isFallbackAdapter);
    if (!cpu) throw new GpuUnavailableError(`device: cpu asks for the software adapter, but none was found${backendNote}. ${installHint}`);
    return { adapter: cpu, featureLevel };
  }
  if (key === 'auto') return { adapter: isHardware(hardware) ? hardware! : found[0]!, featureLevel };
  if (!isHardware(hardware)) {
    const list = distinct.map((d) => `  - ${d}`).join('\n');
    throw new GpuUnavailableError(
      `device: ${key} requires a hardware GPU, but none was found${backendNote}. Adapters found:\n${list}\n` +
        'Use `device: auto` or `device: cpu` to run on the software adapter.',
    );
  }
  return { adapter: hardware!, featureLevel };
}
