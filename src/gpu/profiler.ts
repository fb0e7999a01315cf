// Per-dispatch GPU time from timestamp queries, for benchmarks and `--profile` runs: while profiling, the
// engine gives every dispatch a compute pass of its own whose begin/end timestamps land in a query set;
// the sets are resolved into buffers at each submit and read back when the profile is collected.

/** One dispatch: what ran, under which label (set by the caller, e.g. 'forward'), and for how long. */
export interface DispatchTime {
  kernel: string;
  label: string;
  workgroups: string;
  ms: number;
}

const QUERIES_PER_SET = 4096; // WebGPU's maximum query count per set

interface Pending {
  set: GPUQuerySet;
  resolved: GPUBuffer;
  readback: GPUBuffer;
  entries: Omit<DispatchTime, 'ms'>[];
}

export class Profiler {
  /** Attached to each dispatch recorded from now on. */
  label = '';
  private current: Pending | null = null;
  private readonly unresolved: Pending[] = [];
  private readonly submitted: Pending[] = [];

  constructor(private readonly device: GPUDevice) {}

  /** The timestampWrites of the next dispatch's pass. */
  next(kernel: string, workgroups: readonly number[]): GPUComputePassTimestampWrites {
    if (!this.current || this.current.entries.length * 2 >= QUERIES_PER_SET) this.current = this.open();
    const i = this.current.entries.length;
    this.current.entries.push({ kernel, label: this.label, workgroups: workgroups.join('x') });
    return { querySet: this.current.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  private open(): Pending {
    const bytes = QUERIES_PER_SET * 8;
    const p: Pending = {
      set: this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }),
      resolved: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      readback: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      entries: [],
    };
    this.unresolved.push(p);
    return p;
  }

  /** Called with the encoder about to be submitted: resolves every set that has queries. */
  resolveInto(encoder: GPUCommandEncoder): void {
    for (const p of this.unresolved.splice(0)) {
      const n = p.entries.length * 2;
      if (n) {
        encoder.resolveQuerySet(p.set, 0, n, p.resolved, 0);
        encoder.copyBufferToBuffer(p.resolved, 0, p.readback, 0, n * 8);
      }
      this.submitted.push(p);
    }
    // A set is resolved once; later dispatches start a fresh one.
    this.current = null;
  }

  /** Reads every resolved set back (after the work was submitted and finished) and frees them. */
  async collect(): Promise<DispatchTime[]> {
    const out: DispatchTime[] = [];
    for (const p of this.submitted.splice(0)) {
      if (p.entries.length) {
        await p.readback.mapAsync(GPUMapMode.READ, 0, p.entries.length * 16);
        const t = new BigUint64Array(p.readback.getMappedRange(0, p.entries.length * 16));
        p.entries.forEach((e, i) => out.push({ ...e, ms: Number(t[2 * i + 1]! - t[2 * i]!) / 1e6 }));
        p.readback.unmap();
      }
      p.set.destroy();
      p.resolved.destroy();
      p.readback.destroy();
    }
    return out;
  }
}

/** Sums dispatch times by a key (kernel, label, or both), largest first. */
export function summarize(times: readonly DispatchTime[], key: (t: DispatchTime) => string): { key: string; ms: number; count: number; share: number }[] {
  const total = times.reduce((a, t) => a + t.ms, 0);
  const by = new Map<string, { ms: number; count: number }>();
  for (const t of times) {
    const k = key(t);
    const e = by.get(k) ?? { ms: 0, count: 0 };
    e.ms += t.ms;
    e.count++;
    by.set(k, e);
  }
  return [...by].map(([k, e]) => ({ key: k, ms: e.ms, count: e.count, share: total ? e.ms / total : 0 })).sort((a, b) => b.ms - a.ms);
}
