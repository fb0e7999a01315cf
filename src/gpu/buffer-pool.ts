// Reuses freed GPU buffers by size class, so a training loop allocates nothing after its first step.

/** Rounds a byte size up to its class: 256-byte steps up to 4 KiB, then four classes per power of two (at most 25% waste). */
export function sizeClass(bytes: number): number {
  const n = Math.max(bytes, 16);
  if (n <= 4096) return Math.ceil(n / 256) * 256;
  const octave = 2 ** Math.floor(Math.log2(n));
  const step = octave / 4;
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers handed out and not yet returned. */
  live = 0;
  liveBytes = 0;
  pooled = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.pooled--;
      this.pooledBytes -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage: this.usage });
    }
    this.live++;
    this.liveBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.live--;
    this.liveBytes -= size;
    this.pooled++;
    this.pooledBytes += size;
  }

  /** Destroys the pooled (unused) buffers. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
    this.pooledBytes = 0;
  }
}
