// Values computed from a buffer's contents and kept while those contents stay as they are: a conv weight's
// Winograd transform, rebuilt today on every inference forward (bench/NOTES.md "full-frame" v27). The engine
// drops an entry (calling its dispose) the moment its source buffer can change: a dispatch binds the buffer to a
// `read_write` storage binding, data is uploaded or copied into it, or it goes back to the pool.

interface Entry {
  value: unknown;
  dispose: () => void;
}

export class DerivedCache {
  private readonly bySource = new Map<GPUBuffer, Map<string, Entry>>();

  /** Source buffers with at least one entry: 0 lets a dispatch skip the invalidation checks. */
  get sources(): number {
    return this.bySource.size;
  }

  /** Entries over all sources. */
  get entries(): number {
    let n = 0;
    for (const m of this.bySource.values()) n += m.size;
    return n;
  }

  get<T>(source: GPUBuffer, key: string): T | undefined {
    return this.bySource.get(source)?.get(key)?.value as T | undefined;
  }

  set<T>(source: GPUBuffer, key: string, value: T, dispose: (value: T) => void): void {
    let m = this.bySource.get(source);
    if (!m) this.bySource.set(source, (m = new Map()));
    m.get(key)?.dispose();
    m.set(key, { value, dispose: () => dispose(value) });
  }

  /** Drops (and disposes) everything derived from `source`. */
  invalidate(source: GPUBuffer): void {
    const m = this.bySource.get(source);
    if (!m) return;
    // Removed first: a dispose that releases buffers re-enters invalidate for them.
    this.bySource.delete(source);
    for (const e of m.values()) e.dispose();
  }

  clear(): void {
    for (const source of [...this.bySource.keys()]) this.invalidate(source);
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
