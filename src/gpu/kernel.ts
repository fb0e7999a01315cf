// Kernel specs: which WGSL source and entry point a pipeline comes from, and its `override` constants.
// Specialisation is by WGSL `override` constants only, so a source file is valid WGSL as it stands.
import { kernelSources } from './kernel-sources.generated.ts';

/** Values of a kernel's WGSL `override` constants, by name. */
export type Constants = Readonly<Record<string, number>>;

/** Which WGSL source and entry point a pipeline is built from (see {@link kernel} and {@link defineKernel}). */
export interface KernelSpec {
  /** Base name of `kernels/<file>.wgsl`. */
  readonly file: string;
  readonly entry: string;
}

/** WGSL registered at run time (custom layers); looked up like a bundled `kernels/<name>.wgsl`. */
const customSources = new Map<string, { code: string; libraries: readonly string[] }>();

/** The spec of a bundled kernel: `kernels/<file>.wgsl` (or one registered by {@link defineKernel}) and its entry point. */
export function kernel(file: string, entry = 'main'): KernelSpec {
  if (!(file in kernelSources) && !customSources.has(file))
    throw new Error(`kernels/${file}.wgsl does not exist (is the kernel bundle up to date? run \`npm run prepare\`)`);
  return { file, entry };
}

/**
 * Registers a WGSL kernel written outside `kernels/` (for custom layers) and returns its spec.
 * `libraries` names bundled `_*.wgsl` helpers to prepend, e.g. `['_index']` for `flatIndex`.
 */
export function defineKernel(name: string, code: string, entry = 'main', libraries: readonly string[] = []): KernelSpec {
  if (name in kernelSources) throw new Error(`defineKernel: '${name}' is a built-in kernel name`);
  customSources.set(name, { code, libraries });
  return { file: name, entry };
}

/** The pipeline cache key: kernel name plus its sorted constants. */
export function pipelineKey(spec: KernelSpec, constants: Constants): string {
  const c = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(',');
  return `${spec.file}:${spec.entry}${c ? `[${c}]` : ''}`;
}

/** Library files (`kernels/_*.wgsl`) prepended to a kernel's own source, in order. */
const libraries: Readonly<Record<string, readonly string[]>> = {
  unary: ['_index', '_math'],
  binary: ['_index', '_math'],
  where: ['_index'],
  copy: ['_index'],
  fill: ['_index'],
  random: ['_index'],
  optim: ['_index'],
  heatmap_target: ['_index'],
  norm: ['_index'],
  pool: ['_index'],
  resample: ['_index'],
  hrnet_fuse: ['_index'],
  conv: ['_index'],
  roi_align: ['_index'],
  sort: ['_index'], nms: ['_index'], boxes: ['_index'],
  matmul: ['_matmul'],
  matmul_portable: ['_matmul'],
};

export interface ModuleSource {
  code: string;
  /** Maps a line of `code` to `kernels/<file>.wgsl:<line>`. */
  locate(line: number): string;
}

export function moduleSource(file: string): ModuleSource {
  const custom = customSources.get(file);
  const parts = [...(custom?.libraries ?? libraries[file] ?? []), file].map((name) => {
    const src = name === file && custom ? custom.code : kernelSources[name];
    if (src === undefined) throw new Error(`kernels/${name}.wgsl does not exist`);
    return { name, src: src.endsWith('\n') ? src : `${src}\n`, firstLine: 1 };
  });
  // WGSL wants `enable` directives before any declaration: the kernel's own move to the top of the module
  // (their lines there map back to the kernel file; the lines they leave stay blank so numbering holds).
  const own = parts[parts.length - 1]!;
  const directives = own.src.split('\n').map((l, i) => ({ l, i })).filter(({ l }) => /^\s*enable\s[^;]*;/.test(l));
  if (directives.length && parts.length > 1) {
    const lines = own.src.split('\n');
    for (const { i } of directives) lines[i] = '';
    own.src = lines.join('\n');
    parts.unshift({ name: file, src: `${directives.map(({ l }) => l).join('\n')}\n`, firstLine: directives[0]!.i + 1 });
  }
  return {
    code: parts.map((p) => p.src).join(''),
    locate(line: number): string {
      let first = 1;
      for (const p of parts) {
        const lines = p.src.split('\n').length - 1;
        if (line < first + lines) return `kernels/${p.name}.wgsl:${line - first + p.firstLine}`;
        first += lines;
      }
      return `kernels/${file}.wgsl:?`;
    },
  };
}

/**
 * Packs a kernel's uniform struct. Members are written in declaration order; `dims` writes an
 * `array<vec4<u32>, 2>` (up to 8 dimensions), 16-byte aligned as WGSL's uniform layout requires.
 */
export class Uniforms {
  private readonly words: number[] = [];
  private readonly floatAt = new Set<number>();
  private readonly intAt = new Set<number>();

  u32(v: number): this {
    this.words.push(v >>> 0);
    return this;
  }
  i32(v: number): this {
    this.intAt.add(this.words.length);
    this.words.push(v | 0);
    return this;
  }
  f32(v: number): this {
    this.floatAt.add(this.words.length);
    this.words.push(v);
    return this;
  }
  /** Up to 8 values as `array<vec4<u32>, 2>` (or `array<vec4<i32>, 2>` with signed). */
  dims(values: readonly number[], signed = false): this {
    if (values.length > 8) throw new Error(`at most 8 dimensions are supported, got ${values.length}`);
    this.align(4);
    for (let d = 0; d < 8; d++) {
      const v = values[d] ?? 0;
      if (signed) this.i32(v);
      else this.u32(v);
    }
    return this;
  }
  private align(words: number): void {
    while (this.words.length % words !== 0) this.words.push(0);
  }
  /** The bytes, padded to 16. */
  bytes(): Uint8Array {
    this.align(4);
    const out = new ArrayBuffer(this.words.length * 4);
    const u = new Uint32Array(out);
    const f = new Float32Array(out);
    const i = new Int32Array(out);
    this.words.forEach((w, k) => {
      if (this.floatAt.has(k)) f[k] = w;
      else if (this.intAt.has(k)) i[k] = w;
      else u[k] = w;
    });
    return new Uint8Array(out);
  }
}
