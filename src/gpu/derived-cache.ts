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
    const e: Entry = { value, dispose: () => dispose(value), sources: [...sources], key };
    for (const s of new Set(sources)) {
      // An entry of the same key on any of these sources is replaced (dropped from all of its sources first).
      const old = this.bySource.get(s)?.get(key);
      if (old) this.drop(old);
      let m = this.bySource.get(s);
      if (!m) this.bySource.set(s, (m = new Map()));
      m.set(key, e);
    }
    this.count++;
  }

  /** Removes the value kept for `key` from exactly these sources and returns it, not disposed: the caller owns it. */
  take<T>(sources: readonly GPUBuffer[], key: string): T | undefined {
    const e = this.bySource.get(sources[0]!)?.get(key);
    if (!e || this.get(sources, key) === undefined) return undefined;
    this.drop(e, false);
    return e.value as T;
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
  private drop(e: Entry, dispose = true): void {
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
    if (dispose) e.dispose();
  }
}

/**
 * The binding numbers of the `read_write` storage variables that entry point `entry` of a WGSL source can write:
 * those its body, or a function it calls (transitively), names. A file's other entries may write other bindings
 * (kernels/norm.wgsl's binding 4 is one entry's output and another's input), so the file as a whole would
 * over-invalidate. Comments are stripped first; an entry that cannot be found counts every such binding.
 */
export function writableBindings(code: string, entry?: string): ReadonlySet<number> {
  const src = code.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const writable = new Map<string, number>();
  // The attributes before each such `var`, in any order (`@group(0) @binding(3)`, `@binding(3) @group(0)`).
  for (const m of src.matchAll(/((?:@\w+\s*\([^)]*\)\s*)+)var\s*<\s*storage\s*,\s*read_write\s*>\s*(\w+)/g)) {
    const binding = /@binding\s*\(\s*(\d+)\s*\)/.exec(m[1]!);
    if (binding) writable.set(m[2]!, Number(binding[1]));
  }
  const bodies = functionBodies(src);
  if (entry === undefined || !bodies.has(entry)) return new Set(writable.values());
  const out = new Set<number>();
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length) {
    for (const word of bodies.get(queue.pop()!)!.match(/\b\w+\b/g) ?? []) {
      const b = writable.get(word);
      if (b !== undefined) out.add(b);
      if (bodies.has(word) && !seen.has(word)) {
        seen.add(word);
        queue.push(word);
      }
    }
  }
  return out;
}

/** Each `fn name(...) ... { body }` of a comment-free WGSL source, by name (braces matched). */
function functionBodies(src: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of src.matchAll(/\bfn\s+(\w+)\s*\(/g)) {
    const open = src.indexOf('{', m.index!);
    if (open < 0) continue;
    let depth = 0;
    let i = open;
    for (; i < src.length; i++) {
      if (src[i] === '{') depth++;
      else if (src[i] === '}' && --depth === 0) break;
    }
    out.set(m[1]!, src.slice(open, i + 1));
  }
  return out;
}
