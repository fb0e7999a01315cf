// Module: named parameters, buffers and child modules, with PyTorch's state-dict key names
// (`layer1.0.conv1.weight`, `bn1.running_mean`, `bn1.num_batches_tracked`) and train/eval modes.
import { tensor } from '../ops/creation.ts';
import { Tensor } from '../tensor/tensor.ts';

/** The dtype a state-dict entry has in PyTorch files (we compute in float32). */
export type StateDtype = 'float32' | 'int64';

/** A state-dict entry on the host: what files hold. */
export interface StateEntry {
  shape: readonly number[];
  data: Float32Array;
  dtype: StateDtype;
}

export type StateDict = Map<string, StateEntry>;

interface BufferSlot {
  tensor: Tensor;
  dtype: StateDtype;
  /** Non-persistent buffers are not in the state dict (PyTorch's persistent=False). */
  persistent: boolean;
}

export class StateDictError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: string[],
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, BufferSlot>();
  private readonly children = new Map<string, Module>();

  /** Registers (or replaces) a parameter; it requires a gradient. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.get(name)?.dispose();
    this.params.set(name, t);
    return t;
  }

  protected registerBuffer(name: string, t: Tensor, opts: { dtype?: StateDtype; persistent?: boolean } = {}): Tensor {
    this.buffers.get(name)?.tensor.dispose();
    this.buffers.set(name, { tensor: t, dtype: opts.dtype ?? 'float32', persistent: opts.persistent ?? true });
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Own parameter by name (for layers that read their weights). */
  protected param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no parameter '${name}'`);
    return t;
  }

  protected buffer(name: string): Tensor {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`${this.constructor.name} has no buffer '${name}'`);
    return b.tensor;
  }

  /** Replaces a buffer's contents (running statistics); the old tensor is released. */
  protected updateBuffer(name: string, t: Tensor): void {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`${this.constructor.name} has no buffer '${name}'`);
    b.tensor.assign(t);
  }

  child(name: string): Module | undefined {
    return this.children.get(name);
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Depth-first, PyTorch's order: own parameters, then each child's. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.buffers].map(([n, b]) => [prefix + n, b.tensor]);
    for (const [n, m] of this.children) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** State-dict slots in PyTorch's order: per module its parameters, its buffers, then its children. */
  private slots(prefix = ''): [string, Tensor, StateDtype][] {
    const out: [string, Tensor, StateDtype][] = [];
    for (const [n, t] of this.params) out.push([prefix + n, t, 'float32']);
    for (const [n, b] of this.buffers) if (b.persistent) out.push([prefix + n, b.tensor, b.dtype]);
    for (const [n, m] of this.children) out.push(...m.slots(`${prefix}${n}.`));
    return out;
  }

  stateDictKeys(): string[] {
    return this.slots().map(([k]) => k);
  }

  stateDictShapes(): [string, readonly number[]][] {
    return this.slots().map(([k, t]) => [k, t.shape]);
  }

  /** Reads every parameter and persistent buffer back to the host, keyed as PyTorch names them. */
  async stateDict(): Promise<StateDict> {
    const out: StateDict = new Map();
    for (const [key, t, dtype] of this.slots()) out.set(key, { shape: [...t.shape], data: await t.toArray(), dtype });
    return out;
  }

  /**
   * Copies values in. With `strict`, every missing, unexpected and wrong-shape key is reported at once
   * and nothing is changed. Returns the keys that were not loaded (non-strict).
   */
  loadStateDict(state: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>, strict = true): { missing: string[]; unexpected: string[] } {
    const slots = new Map(this.slots().map(([k, t]) => [k, t]));
    const missing = [...slots.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !slots.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of slots) {
      const e = state.get(k);
      if (!e) continue;
      const same = e.shape.length === t.shape.length && e.shape.every((d, i) => d === t.shape[i]);
      // PyTorch stores scalars such as num_batches_tracked with shape [].
      if (!same && !(e.shape.length === 0 && t.size === 1 && e.data.length === 1)) {
        mismatched.push(`${k}: file [${e.shape.join(', ')}], model [${t.shape.join(', ')}]`);
      }
    }
    if (strict && (missing.length || unexpected.length || mismatched.length)) {
      const parts = [
        missing.length ? `missing keys (${missing.length}): ${missing.join(', ')}` : '',
        unexpected.length ? `unexpected keys (${unexpected.length}): ${unexpected.join(', ')}` : '',
        mismatched.length ? `wrong shapes (${mismatched.length}): ${mismatched.join('; ')}` : '',
      ].filter(Boolean);
      throw new StateDictError(`state dict does not match ${this.constructor.name}:\n  ${parts.join('\n  ')}`, missing, unexpected, mismatched);
    }
    for (const [k, t] of slots) {
      const e = state.get(k);
      if (!e || mismatched.some((m) => m.startsWith(`${k}:`))) continue;
      const fresh = tensor(Float32Array.from(e.data), t.shape);
      t.assign(fresh);
    }
    return { missing, unexpected };
  }

  /** Sets training mode here and below, then lets each module re-apply its own rules (frozen BN). */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) {
      m.training = mode;
      m.onModeChange();
    }
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Called after every train()/eval() on each module. */
  protected onModeChange(): void {}

  /** Releases every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, t] of this.namedBuffers()) t.dispose();
  }

  /** Zeroes gradients by releasing them (the next backward starts fresh). */
  zeroGrad(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
    }
  }
}

/** A module with one tensor in and one out: what Sequential chains. */
export abstract class Layer extends Module {
  abstract forward(x: Tensor): Tensor;
}
