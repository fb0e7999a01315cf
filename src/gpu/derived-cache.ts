// Values computed from buffers' contents and kept while those contents stay as they are: a conv weight's Winograd
// transform, a BatchNorm's statistics from its running mean and variance (bench/NOTES.md "full-frame" v27, v29).
// The engine drops an entry (calling its dispose) the moment any of its source buffers can change: a dispatch
// binds the buffer to a `read_write` storage binding, data is uploaded or copied into it, or it goes back to the pool.

interface Entry {
  value: unknown;
  dispose: () => void;
  sources: readonly GPUBuffer[];
  key: string;
}

export class DerivedCache {
  private readonly bySource = new Map<GPUBuffer, Map<string, Entry>>();
  private count = 0;

  /** Source buffers with at least one entry: 0 lets a dispatch skip the invalidation checks. */
  get sources(): number {
    return this.bySource.size;
  }

  /** Entries kept. */
  get entries(): number {
    return this.count;
  }

  /** The value kept for `key` from exactly these sources (the first one is looked up). */
  get<T>(sources: readonly GPUBuffer[], key: string): T | undefined {
    const e = this.bySource.get(sources[0]!)?.get(key);
    if (!e || e.sources.length !== sources.length || e.sources.some((s, i) => s !== sources[i])) return undefined;
    return e.value as T;
  }

  set<T>(sources: readonly GPUBuffer[], key: string, value: T, dispose: (value: T) => void): void {
    const old = this.bySource.get(sources[0]!)?.get(key);
    if (old) this.drop(old);
    const e: Entry = { value, dispose: () => dispose(value), sources: [...sources], key };
    for (const s of new Set(sources)) {
      let m = this.bySource.get(s);
      if (!m) this.bySource.set(s, (m = new Map()));
      m.get(key) && this.drop(m.get(key)!);
      m.set(key, e);
    }
    this.count++;
  }

  /** Drops (and disposes) everything derived from `source`. */
  invalidate(source: GPUBuffer): void {
    const m = this.bySource.get(source);
    if (!m) return;
    for (const e of [...m.values()]) this.drop(e);
  }

  clear(): void {
    for (const source of [...this.bySource.keys()]) this.invalidate(source);
  }

  // Unlinked from every source first: a dispose that releases buffers re-enters invalidate for them.
  private drop(e: Entry): void {
    let linked = false;
    for (const s of new Set(e.sources)) {
      const m = this.bySource.get(s);
      if (m?.get(e.key) !== e) continue;
      linked = true;
      m.delete(e.key);
      if (m.size === 0) this.bySource.delete(s);
    }
    if (!linked) return;
    this.count--;
    e.dispose();
  }
}

/** The binding numbers of a WGSL source's `read_write` storage variables (the buffers a dispatch may write). */
export function writableBindings(code: string): ReadonlySet<number> {
  const out = new Set<number>();
  // The attributes before each such `var`, in any order (`@group(0) @binding(3)`, `@binding(3) @group(0)`).
  for (const m of code.matchAll(/((?:@\w+\s*\([^)]*\)\s*)+)var\s*<\s*storage\s*,\s*read_write\s*>/g)) {
    const binding = /@binding\s*\(\s*(\d+)\s*\)/.exec(m[1]!);
    if (binding) out.add(Number(binding[1]));
  }
  return out;
}
