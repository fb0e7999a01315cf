// The one Node-specific file of the GPU layer: it creates Dawn's WebGPU entry point.
// In a browser, pass `navigator.gpu` to `createEngine` instead.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { paceDawnPolling } from './dawn-polling.ts';
import { DISABLE_ROBUSTNESS_TOGGLE, parseRobustnessSetting } from './robustness.ts';

/** Dawn backends that `DLC_GPU_BACKEND` may name. */
export const dawnBackends = ['vulkan', 'opengl', 'opengles', 'metal', 'd3d12', 'd3d11', 'null'] as const;

export interface DawnGpu {
  gpu: GPU;
  /** The Dawn backend forced by DLC_GPU_BACKEND, if any. */
  backend: string | undefined;
  /**
   * A second Dawn instance whose devices have Dawn's shader robustness off, for `createEngine` to use where the
   * adapter is lavapipe (src/gpu/robustness.ts says why that is safe there); absent when DLC_GPU_ROBUSTNESS=on.
   * dawn.node takes toggles per instance, and which adapter is chosen is only known once one exists.
   */
  withoutRobustness?: () => GPU;
}

/**
 * Notices Dawn prints to file descriptor 2 (C stdio, past Node's streams) each time it clamps an
 * adapter's limits to its own: every command printed them, and users read them as errors. They say
 * nothing about our work: we never use dynamic offsets.
 */
export const DAWN_LIMIT_NOTICE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** Where a process's open descriptors can be reopened by number (Linux, macOS); null elsewhere. */
const fdDir = process.platform === 'linux' ? '/proc/self/fd' : process.platform === 'darwin' ? '/dev/fd' : null;

/**
 * Runs `fn` (synchronous native code) with file descriptor 2 pointing at a temporary file, then puts
 * the original stderr back and writes what was printed to it, less the lines `drop` matches: anything
 * else Dawn says (a driver problem, say) still reaches the user. Node has no dup2, but close(2)
 * followed by open() hands out descriptor 2 again. Where that cannot be done safely (no fd folder, a
 * stderr that cannot be reopened such as a socket), `fn` simply runs with stderr as it is.
 */
export function filterNativeStderr<T>(fn: () => T, drop: RegExp): T {
  if (!fdDir) return fn();
  let original: number;
  try {
    original = openSync(`${fdDir}/2`, 'a');
  } catch {
    return fn();
  }
  const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-stderr-'));
  const capture = join(dir, 'stderr.txt');
  let redirected = false;
  try {
    closeSync(2);
    const fd = openSync(capture, 'w');
    redirected = fd === 2;
    if (!redirected) closeSync(fd);
    return fn();
  } finally {
    // Descriptor 2 is free again (closed above, or closed here), so the reopen takes it back.
    if (redirected) closeSync(2);
    openSync(`${fdDir}/${original}`, 'a');
    closeSync(original);
    const printed = redirected ? readFileSync(capture, 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    const kept = printed.split('\n').filter((line) => line && !drop.test(line));
    if (kept.length) writeSync(2, `${kept.join('\n')}\n`);
  }
}

/**
 * lavapipe splits every dispatch into LP_NUM_THREADS equal runs of workgroups, one per thread (Mesa's
 * lp_cs_tpool: iter_per_thread = workgroups / threads), and a dispatch ends with its slowest run. With one
 * thread per core, a core busy with anything else (another process, Node itself) stalls half the dispatch;
 * finer runs let the other threads take up the slack, and even on quiet cores they even out workgroups of unequal
 * cost (edge tiles). bench/NOTES.md "full-frame" has the measurements: 4 per core beat 1 under load; on 2 quiet
 * cores 8 per core beat 4 in interleaved pairs (640x480 forward 2.24-2.25 -> 2.01-2.07 s, resnet_50 training step
 * at 256 0.577 -> 0.631 images/s), for ~40 MiB more RSS (each thread's malloc arena).
 * Only lavapipe (llvmpipe) reads the variable; a value the user set is kept.
 */
export const LAVAPIPE_THREADS_PER_CORE = 8;

export function createDawnGpu(backend = process.env.DLC_GPU_BACKEND || undefined): DawnGpu {
  // Mesa's drivers refuse to start without it on a headless machine (CI, containers).
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  // Read when the driver starts, so it must be set before the instance is created.
  if (!process.env.LP_NUM_THREADS) process.env.LP_NUM_THREADS = String(Math.min(32, LAVAPIPE_THREADS_PER_CORE * availableParallelism()));
  Object.assign(globalThis, globals);
  // Waiting for the GPU must not spin a core that lavapipe's threads (the GPU here) need.
  paceDawnPolling();
  const setting = parseRobustnessSetting(process.env.DLC_GPU_ROBUSTNESS);
  const toggles = process.env.DLC_GPU_DUMP_SHADERS ? ['dump_shaders', 'disable_symbol_renaming'] : [];
  const instance = (extra: string[]) => {
    const options = backend ? [`backend=${backend}`] : [];
    const enabled = [...toggles, ...extra];
    if (enabled.length) options.push(`enable-dawn-features=${enabled.join(',')}`);
    const gpu = create(options);
    // Dawn enumerates adapters, and prints its limit notices, synchronously inside requestAdapter().
    const requestAdapter = gpu.requestAdapter.bind(gpu);
    return Object.create(gpu, {
      requestAdapter: { value: (opts?: GPURequestAdapterOptions) => filterNativeStderr(() => requestAdapter(opts), DAWN_LIMIT_NOTICE) },
    }) as GPU;
  };
  const withoutRobustness = setting === 'auto' ? () => instance([DISABLE_ROBUSTNESS_TOGGLE]) : undefined;
  return { gpu: instance([]), backend, withoutRobustness };
}
