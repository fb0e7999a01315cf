// The engine owns one GPUDevice: its pipelines, buffers, the command encoder that collects a step's
// work, and the errors the device reports. Work is recorded into one compute pass and submitted only
// when a result is read back (or an upload needs the queue), so a training step is a few submits.
import { BufferPool } from './buffer-pool.ts';
import { DerivedCache, writableBindings } from './derived-cache.ts';
import { moduleSource, pipelineKey, type Constants, type KernelSpec, Uniforms } from './kernel.ts';
import { Profiler, type DispatchTime } from './profiler.ts';

/** A failure reported by the device, with the kernels that were running. */
export class GpuError extends Error {
  constructor(
    message: string,
    /** 'memory': the work does not fit the device; 'lost': the device went away (driver reset, unplugged). */
    readonly kind: 'memory' | 'lost' | 'other' = 'other',
  ) {
    super(message);
    this.name = 'GpuError';
  }
}

/** Counts from {@link Engine.stats}: buffers, pipelines and work submitted so far. */
export interface EngineStats {
  /** Storage buffers held by live tensors. */
  liveBuffers: number;
  liveBytes: number;
  /** Freed buffers waiting in the pool for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
  pipelines: number;
  submits: number;
  dispatches: number;
  /** Values kept by {@link Engine.derived} (each holds its own buffers, counted in liveBuffers). */
  derived: number;
}

const UNIFORM_ALIGN = 256;
const UNIFORM_ARENA_BYTES = 1 << 18;
/**
 * Dispatches per submit at most: a forward recorded whole and submitted at its readback left the device idle while
 * JavaScript recorded it (12-19 ms of a 640x480 resnet_50 frame's 197 dispatches); submitted as it goes, the device
 * starts on the first ones while the rest are recorded (bench/NOTES.md "full-frame" v35).
 */
const DISPATCHES_PER_SUBMIT = 32;

/**
 * One WebGPU device and everything on it: the pipeline cache, the buffer pools, the command recording of
 * one compute pass per submit, and device-error reporting. Created by `init` (or `createEngine`); ops reach
 * the current one through `engine()`.
 */
export class Engine {
  readonly limits: GPUSupportedLimits;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Per kernel entry point, the bindings its dispatches may write (they drop what was derived from those buffers). */
  private readonly writable = new Map<string, ReadonlySet<number>>();
  private readonly derivedValues = new DerivedCache();
  private readonly storage: BufferPool;
  private readonly staging: BufferPool;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformArena: GPUBuffer;
  private readonly uniformCpu = new Uint8Array(UNIFORM_ARENA_BYTES);
  private uniformOffset = 0;
  private pendingKernels = new Set<string>();
  /** Device errors by priority: 0 WGSL compile, 1 pipeline build, 2 anything else (often a consequence of 0 or 1). */
  private readonly failures: GpuError[][] = [[], [], []];
  private lost: string | null = null;
  private readonly errorChecks: Promise<void>[] = [];
  private submits = 0;
  private dispatches = 0;
  /** Completion of the units of work that pace() let run ahead, oldest first. */
  private readonly paced: Promise<undefined>[] = [];
  /** Milliseconds spent creating pipelines (LLVM compiles on lavapipe). */
  compileMs = 0;
  /** Set between startProfile() and stopProfile(): times every dispatch. */
  profiler: Profiler | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    /** Held so the WebGPU instance lives as long as the device: Dawn's node binding crashes if it is collected first. */
    readonly gpu: GPU,
    /** Whether Dawn's shader robustness is on (off only on lavapipe: src/gpu/robustness.ts). */
    readonly robust = true,
  ) {
    this.limits = device.limits;
    this.storage = new BufferPool(device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    this.staging = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.uniformArena = device.createBuffer({ size: UNIFORM_ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.lost = `GPU device lost (${info.reason}): ${info.message}`;
    });
    device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
      const kernels = [...this.pendingKernels].join(', ');
      this.fail(kernels ? `${event.error.message} (recording kernels: ${kernels})` : event.error.message);
    };
  }

  private fail(message: string, priority = 2, kind: GpuError['kind'] = 'other'): void {
    this.failures[priority]!.push(new GpuError(message, kind));
  }

  /**
   * Throws the most telling recorded failure: the root cause rather than its knock-on errors. While
   * recording (`deferKnockOn`), an error of unknown cause waits for the next sync point, where the
   * compile reports that may explain it have arrived.
   */
  private checkHealth(deferKnockOn = false): void {
    if (this.lost) throw new GpuError(this.lost, 'lost');
    for (const [priority, list] of this.failures.entries()) if (list.length && !(deferKnockOn && priority === 2)) throw list[0];
  }

  private module(file: string): GPUShaderModule {
    let m = this.modules.get(file);
    if (!m) {
      const source = moduleSource(file);
      m = this.device.createShaderModule({ label: `kernels/${file}.wgsl`, code: source.code });
      this.modules.set(file, m);
      this.errorChecks.push(this.checkCompilation(source.locate, m));
    }
    return m;
  }

  private async checkCompilation(locate: (line: number) => string, m: GPUShaderModule): Promise<void> {
    const info = await m.getCompilationInfo();
    const errors = info.messages.filter((msg) => msg.type === 'error');
    if (errors.length) {
      const lines = errors.map((e) => `${locate(e.lineNum)}:${e.linePos}: ${e.message}`);
      this.fail(`WGSL compile error\n${lines.join('\n')}`, 0);
    }
  }

  pipeline(spec: KernelSpec, constants: Constants = {}): GPUComputePipeline {
    const key = pipelineKey(spec, constants);
    let p = this.pipelines.get(key);
    if (!p) {
      const t0 = performance.now();
      this.device.pushErrorScope('validation');
      p = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(spec.file), entryPoint: spec.entry, constants: { ...constants } },
      });
      this.errorChecks.push(
        this.device.popErrorScope().then((err) => {
          if (err) this.fail(`kernel ${key} failed to build: ${err.message}`, 1);
        }),
      );
      this.compileMs += performance.now() - t0;
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Builds pipelines ahead of use, concurrently, so the first training step does not wait on compiles. */
  async precompile(list: readonly [KernelSpec, Constants][]): Promise<void> {
    const t0 = performance.now();
    await Promise.all(
      list.map(async ([spec, constants]) => {
        const key = pipelineKey(spec, constants);
        if (this.pipelines.has(key)) return;
        try {
          const p = await this.device.createComputePipelineAsync({
            label: key,
            layout: 'auto',
            compute: { module: this.module(spec.file), entryPoint: spec.entry, constants: { ...constants } },
          });
          this.pipelines.set(key, p);
        } catch (e) {
          await Promise.all(this.errorChecks);
          this.checkHealth();
          throw new GpuError(`kernel ${key} failed to build: ${(e as Error).message}`);
        }
      }),
    );
    this.compileMs += performance.now() - t0;
  }

  createStorage(bytes: number): GPUBuffer {
    this.checkHealth(true);
    // Every tensor is bound whole as one storage binding, so this limit caps a tensor's size.
    const limit = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > limit) {
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      throw new GpuError(`out of memory: a tensor of ${mib(bytes)} is larger than this device's largest buffer binding (${mib(limit)})`, 'memory');
    }
    return this.storage.acquire(bytes);
  }

  releaseStorage(buffer: GPUBuffer): void {
    this.derivedValues.invalidate(buffer);
    this.storage.release(buffer);
  }

  /**
   * A value computed from the contents of `sources` (one buffer or several: `make`), kept and returned again for the
   * same key and sources until one of them may have changed: a dispatch binding it read_write, an upload or copy
   * into it, or its release. Then `dispose` frees the value. `make`'s tensors must be out of every scope (`keep`):
   * the engine owns the value, and callers must not dispose it.
   */
  derived<T>(sources: GPUBuffer | readonly GPUBuffer[], key: string, make: () => T, dispose: (value: T) => void): T {
    const list = sourceList(sources);
    const hit = this.derivedValues.get<T>(list, key);
    if (hit !== undefined) return hit;
    const value = make();
    this.derivedValues.set(list, key, value, dispose);
    return value;
  }

  /**
   * A small storage buffer for a binding that a pipeline declares and its constants leave unread and unwritten (no
   * other buffer of the dispatch may stand in for a writable one: WebGPU refuses a buffer bound writable twice, or
   * writable and read-only, in one dispatch). The engine's own: outside the pool and the buffer counts.
   */
  get spareStorage(): GPUBuffer {
    return (this.spare ??= this.device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE }));
  }
  private spare: GPUBuffer | null = null;
  /** Dispatches recorded since the last submit. */
  private recorded = 0;

  /** The value {@link Engine.derived} keeps for `key` and `sources`, without making one: undefined when none is kept. */
  keptDerived<T>(sources: GPUBuffer | readonly GPUBuffer[], key: string): T | undefined {
    return this.derivedValues.get<T>(sourceList(sources), key);
  }

  /** Like {@link Engine.keptDerived}, and the engine lets go of the value: the caller owns it (and disposes it). */
  takeDerived<T>(sources: GPUBuffer | readonly GPUBuffer[], key: string): T | undefined {
    return this.derivedValues.take<T>(sourceList(sources), key);
  }

  private writableBindings(spec: KernelSpec): ReadonlySet<number> {
    const key = `${spec.file}:${spec.entry}`;
    let w = this.writable.get(key);
    if (!w) this.writable.set(key, (w = writableBindings(moduleSource(spec.file).code, spec.entry)));
    return w;
  }

  /** Records one dispatch. Binding 0 is the uniform struct (if any), then `buffers` in order. */
  dispatch(
    spec: KernelSpec,
    workgroups: readonly [number, number?, number?],
    buffers: readonly GPUBuffer[],
    uniforms?: Uniforms,
    constants: Constants = {},
  ): void {
    this.checkHealth(true);
    const pipeline = this.pipeline(spec, constants);
    const entries: GPUBindGroupEntry[] = [];
    if (uniforms) {
      const bytes = uniforms.bytes();
      if (this.uniformOffset + bytes.length > UNIFORM_ARENA_BYTES) this.flush();
      this.uniformCpu.set(bytes, this.uniformOffset);
      entries.push({ binding: 0, resource: { buffer: this.uniformArena, offset: this.uniformOffset, size: bytes.length } });
      this.uniformOffset += Math.ceil(bytes.length / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    }
    const first = uniforms ? 1 : 0;
    buffers.forEach((buffer, i) => entries.push({ binding: first + i, resource: { buffer } }));
    if (this.derivedValues.sources) {
      const w = this.writableBindings(spec);
      buffers.forEach((buffer, i) => w.has(first + i) && this.derivedValues.invalidate(buffer));
    }
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const [x, y = 1, z = 1] = workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new GpuError(`kernel ${spec.file}: grid ${x}x${y}x${z} exceeds the device limit of ${max} per dimension`);
    if (this.profiler) {
      // A pass per dispatch, so its timestamps bracket that dispatch alone.
      this.endPass();
      this.pass = this.commandEncoder().beginComputePass({ timestampWrites: this.profiler.next(`${spec.file}:${spec.entry}`, [x, y, z]) });
    }
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) this.endPass();
    this.pendingKernels.add(spec.file);
    this.dispatches++;
    if (++this.recorded >= DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Times every dispatch from now on (needs the timestamp-query feature). */
  startProfile(): Profiler {
    if (!this.device.features.has('timestamp-query')) throw new GpuError('profiling needs the timestamp-query feature, which this device lacks');
    this.flush();
    this.profiler = new Profiler(this.device);
    return this.profiler;
  }

  /** Waits for the profiled work and returns each dispatch's time. */
  async stopProfile(): Promise<DispatchTime[]> {
    const p = this.profiler;
    if (!p) return [];
    await this.sync();
    this.profiler = null;
    return p.collect();
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private commandEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkHealth(true);
    this.derivedValues.invalidate(dst);
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.resolveInto(this.encoder);
    if (this.uniformOffset > 0) this.device.queue.writeBuffer(this.uniformArena, 0, this.uniformCpu, 0, this.uniformOffset);
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([this.encoder.finish()]);
    const kernels = [...this.pendingKernels].join(', ');
    const record = (kind: GpuError['kind']) => (err: GPUError | null) => {
      if (err) this.fail(`${err.message} (in a submit running kernels: ${kernels})`, 2, kind);
    };
    // Scopes pop in reverse: validation first, then out-of-memory.
    this.errorChecks.push(this.device.popErrorScope().then(record('other')), this.device.popErrorScope().then(record('memory')));
    this.encoder = null;
    this.uniformOffset = 0;
    this.pendingKernels = new Set();
    this.recorded = 0;
    this.submits++;
  }

  /**
   * Ends a unit of work (a training step, say): submits it, then waits until at most `ahead` earlier
   * units are still queued on the device. A loop that never reads back would otherwise record work
   * without bound ahead of the device, and Dawn holds every queued submit's bind groups and descriptor
   * pools until the device finishes it: on lavapipe that grew by about 30 MB a step and ended in a
   * segmentation fault inside the driver's descriptor-pool allocation.
   */
  async pace(ahead = 1): Promise<void> {
    this.flush();
    this.paced.push(this.device.queue.onSubmittedWorkDone());
    while (this.paced.length > ahead) await this.paced.shift();
  }

  /** Uploads data. Pending work is submitted first: a pooled buffer may still be read by it. */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.checkHealth(true);
    this.derivedValues.invalidate(buffer);
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reads bytes back; this is the synchronisation point that surfaces device errors. */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    await this.settleIfFailed();
    const staging = this.staging.acquire(bytes);
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(buffer, offset, staging, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4);
    } catch (e) {
      await this.sync();
      throw new GpuError(`readback failed: ${(e as Error).message}`);
    }
    const out = staging.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0, bytes);
    staging.unmap();
    this.staging.release(staging);
    await this.sync();
    return out;
  }

  /** When something failed, waits for the pending error reports so the root cause is what gets thrown. */
  private async settleIfFailed(): Promise<void> {
    if (this.failures.some((l) => l.length)) await Promise.all(this.errorChecks.splice(0));
    this.checkHealth();
  }

  /** Waits for submitted work and surfaces any device error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await Promise.all(this.errorChecks.splice(0));
    this.checkHealth();
  }

  stats(): EngineStats {
    return {
      liveBuffers: this.storage.live,
      liveBytes: this.storage.liveBytes,
      pooledBuffers: this.storage.pooled,
      pooledBytes: this.storage.pooledBytes,
      pipelines: this.pipelines.size,
      submits: this.submits,
      dispatches: this.dispatches,
      derived: this.derivedValues.entries,
    };
  }

  /** Frees pooled buffers and what {@link derived} keeps (for example between training and evaluation). */
  trim(): void {
    this.derivedValues.clear();
    this.storage.trim();
    this.staging.trim();
  }

  destroy(): void {
    this.trim();
    this.device.destroy();
  }
}

/** One source buffer or several, as a list. */
function sourceList(sources: GPUBuffer | readonly GPUBuffer[]): readonly GPUBuffer[] {
  return Array.isArray(sources) ? (sources as readonly GPUBuffer[]) : [sources as GPUBuffer];
}
