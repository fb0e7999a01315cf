// Tensor: a shape over a reference-counted GPU buffer (float32, contiguous, row-major).
// Reshapes share storage; every other op writes a new buffer. Release is explicit: `dispose()`
// or a `tidy` scope; storage returns to the engine's pool when its last tensor is released.
import { engine } from '../gpu/current.ts';
import { trackInScope, untrackFromScope } from './scope.ts';
import type { GradNode } from './autograd.ts';

export type Shape = readonly number[];

/** The number of elements of a tensor of this shape (1 for a scalar []). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

class Storage {
  refs = 1;
  constructor(
    public buffer: GPUBuffer,
    readonly size: number,
  ) {}
  release(): void {
    if (--this.refs === 0) engine().releaseStorage(this.buffer);
  }
}

let nextId = 1;

/**
 * A float32, contiguous, row-major (NCHW) array on a GPU buffer. Made by the creation ops (`tensor`, `zeros`,
 * `randn`, ...) and by every op; read back with `toArray` or `item`; released with `dispose`, or by the
 * `tidy` / `scope` it was made in. Set `requiresGrad` on a leaf for `backward()` to fill its `grad`.
 */
export class Tensor {
  /** A process-wide creation counter (for messages and leak checks). */
  readonly id = nextId++;
  /** Number of elements. */
  readonly size: number;
  private storage: Storage | null;
  /** Whether autograd records ops on this tensor and `backward()` gives it a gradient. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`; owned by this tensor. */
  grad: Tensor | null = null;
  /** How this tensor was computed, while the graph is alive (null for leaves and after backward). */
  gradFn: GradNode | null = null;
  /** Set by the scope that owns this tensor. */
  scope: Set<Tensor> | null = null;

  private constructor(
    /** Dimensions, outermost first ([] for a scalar). */
    readonly shape: Shape,
    storage: Storage,
  ) {
    this.size = numel(shape);
    this.storage = storage;
    trackInScope(this);
  }

  /** An uninitialised tensor; kernels fill it. */
  static empty(shape: Shape): Tensor {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
    const size = numel(shape);
    return new Tensor([...shape], new Storage(engine().createStorage(Math.max(size, 1) * 4), size));
  }

  /** The id the next tensor will get: tensors with smaller ids already existed. */
  static peekNextId(): number {
    return nextId;
  }

  /** A view with another shape that takes over `source`'s reference (source is disposed); for results no graph refers to. */
  static reshapeOwned(source: Tensor, shape: Shape): Tensor {
    const out = Tensor.view(source, shape);
    source.dispose();
    return out;
  }

  /** A tensor with another shape over the same storage (no copy). */
  static view(source: Tensor, shape: Shape): Tensor {
    const s = source.live();
    if (numel(shape) !== source.size) throw new Error(`cannot view [${source.shape.join(', ')}] as [${shape.join(', ')}]`);
    s.refs++;
    return new Tensor([...shape], s);
  }

  private live(): Storage {
    if (!this.storage) throw new Error(`tensor #${this.id} [${this.shape.join(', ')}] was used after dispose()`);
    return this.storage;
  }

  /** The GPU buffer holding the values (for custom kernels' bindings; padded to 16 bytes). */
  get buffer(): GPUBuffer {
    return this.live().buffer;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Whether `dispose` has released it. */
  get disposed(): boolean {
    return this.storage === null;
  }

  /** Releases the storage (and the gradient). Safe to call twice. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    // gradFn stays: a graph may still pass gradients through this tensor's node (for example a reshape).
    untrackFromScope(this);
    this.grad?.dispose();
    this.grad = null;
  }

  /** Replaces this tensor's contents with `source`'s storage (same shape), consuming `source`. Used by optimisers. */
  assign(source: Tensor): void {
    if (source.shape.join() !== this.shape.join()) throw new Error(`assign: shape [${source.shape.join(', ')}] does not match [${this.shape.join(', ')}]`);
    const s = source.live();
    s.refs++;
    source.dispose();
    this.live().release();
    this.storage = s;
  }

  /** Reads the values back to the host (submits the recorded work and waits for it). */
  async toArray(): Promise<Float32Array> {
    const data = await engine().read(this.buffer, this.size * 4);
    return new Float32Array(data);
  }

  /** Reads back the single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a tensor with one element, got [${this.shape.join(', ')}]`);
    return (await this.toArray())[0]!;
  }

  toString(): string {
    return `Tensor#${this.id}[${this.shape.join(', ')}]${this.requiresGrad ? ' requiresGrad' : ''}`;
  }
}
