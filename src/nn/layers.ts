// Basic layers: Linear, activations, Identity, Flatten, and containers (Sequential, ModuleList, ModuleDict).
import { add, gelu, hardsigmoid, hardswish, leakyRelu, relu, relu6, sigmoid, silu, tanh } from '../ops/elementwise.ts';
import { matmul } from '../ops/matmul.ts';
import { flatten, transpose } from '../ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defaultBias, defaultWeight, type InitOptions } from './init.ts';
import { Layer, Module } from './module.ts';

/** y = x W^T + b; x [..., in], W [out, in]. */
export class Linear extends Layer {
  private readonly hasBias: boolean;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: InitOptions & { bias?: boolean } = {},
  ) {
    super();
    this.hasBias = opts.bias ?? true;
    this.registerParameter('weight', defaultWeight([outFeatures, inFeatures], opts));
    if (this.hasBias) this.registerParameter('bias', defaultBias(outFeatures, [outFeatures, inFeatures], opts));
  }
  forward(x: Tensor): Tensor {
    const y = matmul(x, transpose(this.param('weight')));
    return this.hasBias ? add(y, this.param('bias')) : y;
  }
}

/** A parameter-free layer from a function. */
class Activation extends Layer {
  constructor(private readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Activation {
  constructor() {
    super(relu);
  }
}
export class ReLU6 extends Activation {
  constructor() {
    super(relu6);
  }
}
export class Sigmoid extends Activation {
  constructor() {
    super(sigmoid);
  }
}
export class Tanh extends Activation {
  constructor() {
    super(tanh);
  }
}
export class SiLU extends Activation {
  constructor() {
    super(silu);
  }
}
export class GELU extends Activation {
  constructor() {
    super(gelu);
  }
}
export class Hardswish extends Activation {
  constructor() {
    super(hardswish);
  }
}
export class Hardsigmoid extends Activation {
  constructor() {
    super(hardsigmoid);
  }
}
export class LeakyReLU extends Activation {
  constructor(slope = 0.01) {
    super((x) => leakyRelu(x, slope));
  }
}
export class Identity extends Activation {
  constructor() {
    super((x) => x);
  }
}
export class Flatten extends Activation {
  constructor(start = 1, end = -1) {
    super((x) => flatten(x, start, end));
  }
}

/** Children named 0, 1, 2, ... run in order (PyTorch's nn.Sequential, same state-dict keys). */
export class Sequential extends Layer {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.registerModule(String(i), l));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

/** A list of modules named 0, 1, 2, ... (nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): void {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList index ${i} out of range (${this.items.length})`);
    return m;
  }
}

/** Modules by name, in insertion order (nn.ModuleDict). */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly entries = new Map<string, M>();
  constructor(entries: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(entries)) this.set(k, m);
  }
  set(name: string, m: M): void {
    this.registerModule(name, m);
    this.entries.set(name, m);
  }
  get(name: string): M {
    const m = this.entries.get(name);
    if (!m) throw new Error(`ModuleDict has no '${name}' (has: ${[...this.entries.keys()].join(', ')})`);
    return m;
  }
}
