// The update rules of torch.optim: SGD, Adam, AdamW, RMSprop, Adagrad, with PyTorch's defaults.
import { full } from '../ops/creation.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { FLAG, Optimizer, type ParamGroup, type UpdateArgs } from './optimizer.ts';

/** What an optimiser updates: the tensors, or parameter groups with their own options (PyTorch's param groups). */
export type Params = Tensor[] | { params: Tensor[]; [option: string]: unknown }[];
const num = (g: ParamGroup, k: string) => g[k] as number;
const flag = (g: ParamGroup, k: string, f: number) => (g[k] ? f : 0);

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weight_decay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export class SGD extends Optimizer {
  protected override readonly savesStep = false;
  constructor(params: Params, o: SGDOptions = {}) {
    if (o.nesterov && (!o.momentum || o.dampening)) throw new Error('SGD: nesterov momentum requires a momentum and zero dampening');
    super(params, { lr: o.lr ?? 1e-3, momentum: o.momentum ?? 0, dampening: o.dampening ?? 0, weight_decay: o.weight_decay ?? 0, nesterov: o.nesterov ?? false, maximize: o.maximize ?? false, foreach: null, differentiable: false });
  }
  protected stateKeys(g: ParamGroup): string[] {
    return num(g, 'momentum') !== 0 ? ['momentum_buffer'] : [];
  }
  protected update({ group: g, state, param, created }: UpdateArgs) {
    const flags = flag(g, 'maximize', FLAG.maximize) | flag(g, 'nesterov', FLAG.nesterov) | (num(g, 'momentum') !== 0 ? FLAG.momentum : 0) | (created.has('momentum_buffer') ? FLAG.firstStep : 0);
    const buf = (state.momentum_buffer as Tensor | undefined) ?? this.spareTensor(0);
    const u = this.uniforms(param.size, flags, state.step as number, g.lr, [num(g, 'momentum'), num(g, 'dampening'), 0, 0], num(g, 'weight_decay'), 0);
    return { entry: 'sgd', u, buffers: [buf] };
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weight_decay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export class Adam extends Optimizer {
  protected readonly decoupled: boolean = false;
  constructor(params: Params, o: AdamOptions = {}, defaultWeightDecay = 0) {
    super(params, { lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weight_decay: o.weight_decay ?? defaultWeightDecay, amsgrad: o.amsgrad ?? false, maximize: o.maximize ?? false, foreach: null, capturable: false, differentiable: false, fused: null });
  }
  protected stateKeys(g: ParamGroup): string[] {
    return g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }
  protected update({ group: g, state, param }: UpdateArgs) {
    const [b1, b2] = g.betas as readonly number[] as [number, number];
    const t = state.step as number;
    const flags = flag(g, 'maximize', FLAG.maximize) | flag(g, 'amsgrad', FLAG.amsgrad) | (this.decoupled ? FLAG.decoupled : 0);
    const u = this.uniforms(param.size, flags, t, g.lr, [b1, b2, g.lr / (1 - b1 ** t), Math.sqrt(1 - b2 ** t)], num(g, 'weight_decay'), num(g, 'eps'));
    const max = (state.max_exp_avg_sq as Tensor | undefined) ?? this.spareTensor(0);
    return { entry: 'adam', u, buffers: [max, state.exp_avg as Tensor, state.exp_avg_sq as Tensor] };
  }
}

/** Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW. */
export class AdamW extends Adam {
  protected override readonly decoupled = true;
  constructor(params: Params, o: AdamOptions = {}) {
    super(params, o, 0.01);
  }
}

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weight_decay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

export class RMSprop extends Optimizer {
  constructor(params: Params, o: RMSpropOptions = {}) {
    super(params, { lr: o.lr ?? 1e-2, alpha: o.alpha ?? 0.99, eps: o.eps ?? 1e-8, weight_decay: o.weight_decay ?? 0, momentum: o.momentum ?? 0, centered: o.centered ?? false, maximize: o.maximize ?? false, foreach: null, differentiable: false });
  }
  protected stateKeys(g: ParamGroup): string[] {
    return ['square_avg', ...(num(g, 'momentum') > 0 ? ['momentum_buffer'] : []), ...(g.centered ? ['grad_avg'] : [])];
  }
  protected update({ group: g, state, param }: UpdateArgs) {
    const flags = flag(g, 'maximize', FLAG.maximize) | flag(g, 'centered', FLAG.centered) | (num(g, 'momentum') > 0 ? FLAG.momentum : 0);
    const u = this.uniforms(param.size, flags, state.step as number, g.lr, [num(g, 'alpha'), num(g, 'momentum'), 0, 0], num(g, 'weight_decay'), num(g, 'eps'));
    const buffers = [(state.momentum_buffer as Tensor | undefined) ?? this.spareTensor(0), state.square_avg as Tensor, (state.grad_avg as Tensor | undefined) ?? this.spareTensor(1)];
    return { entry: 'rmsprop', u, buffers };
  }
}

export interface AdagradOptions {
  lr?: number;
  lr_decay?: number;
  weight_decay?: number;
  initial_accumulator_value?: number;
  eps?: number;
  maximize?: boolean;
}

export class Adagrad extends Optimizer {
  constructor(params: Params, o: AdagradOptions = {}) {
    super(params, { lr: o.lr ?? 1e-2, lr_decay: o.lr_decay ?? 0, weight_decay: o.weight_decay ?? 0, initial_accumulator_value: o.initial_accumulator_value ?? 0, eps: o.eps ?? 1e-10, maximize: o.maximize ?? false, foreach: null, differentiable: false });
    // PyTorch fills the accumulator at construction, so it exists (and is saved) before the first step.
    for (const g of this.paramGroups)
      for (const p of g.params) this.state.set(p, { step: 0, sum: full(p.shape, num(g, 'initial_accumulator_value')) });
  }
  protected stateKeys(): string[] {
    return ['sum'];
  }
  protected update({ group: g, state, param }: UpdateArgs) {
    const t = state.step as number;
    const clr = g.lr / (1 + (t - 1) * num(g, 'lr_decay'));
    const flags = flag(g, 'maximize', FLAG.maximize);
    const u = this.uniforms(param.size, flags, t, clr, [0, 0, 0, 0], num(g, 'weight_decay'), num(g, 'eps'));
    return { entry: 'adagrad', u, buffers: [state.sum as Tensor] };
  }
}

