// Optimiser base: parameter groups and per-parameter state as in torch.optim, with each update rule
// a single fused kernel (kernels/optim.wgsl) per parameter tensor. State dicts use PyTorch's layout
// ({state: {index: {...}}, param_groups: [{..., params: [indices]}]}) so snapshots round-trip.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { tensor, zeros } from '../ops/creation.ts';
import { grid } from '../ops/layout.ts';
import type { StateEntry } from '../nn/module.ts';
import { keep } from '../tensor/scope.ts';
import { Tensor } from '../tensor/tensor.ts';

/** Elements each invocation of an update kernel handles (kernels/optim.wgsl STEPS): AdamW 184 -> 126 ms a resnet_50 step on lavapipe. */
const OPTIM_STEPS = 4;

export const FLAG = { maximize: 1, nesterov: 2, firstStep: 4, amsgrad: 8, decoupled: 16, centered: 32, momentum: 64 } as const;

/** A hyper-parameter value as PyTorch keeps it in param_groups. */
export type HyperValue = number | boolean | null | readonly number[];

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: HyperValue | Tensor[] | undefined;
}

/** Per-parameter state: GPU tensors (moments) and host numbers (step count). */
export type ParamState = Record<string, Tensor | number>;

export interface OptimizerStateDict {
  state: Map<number, Record<string, StateEntry | number>>;
  param_groups: Record<string, HyperValue>[];
}

export interface UpdateArgs {
  group: ParamGroup;
  state: ParamState;
  param: Tensor;
  /** State tensors created (zeroed) for this step: PyTorch's "state is empty" cases. */
  created: ReadonlySet<string>;
}

export abstract class Optimizer {
  readonly paramGroups: ParamGroup[];
  readonly state = new Map<Tensor, ParamState>();
  /** Whether the step count is part of the saved state (torch's SGD keeps none). */
  protected readonly savesStep: boolean = true;
  /** Distinct placeholders for state a rule does not use this time (WebGPU forbids aliasing writable bindings). */
  private readonly spare: Tensor[] = [];

  constructor(
    params: Tensor[] | { params: Tensor[]; [option: string]: unknown }[],
    protected readonly defaults: Record<string, HyperValue> & { lr: number },
  ) {
    const groups = params.length && !(params[0] instanceof Tensor) ? (params as { params: Tensor[] }[]) : [{ params: params as Tensor[] }];
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g, params: [...g.params] }) as ParamGroup);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (seen.has(p)) throw new Error('optimizer: a parameter appears in more than one group');
        seen.add(p);
      }
    }
  }

  /** Names of the GPU state tensors this rule keeps per parameter, in PyTorch's key names. */
  protected abstract stateKeys(group: ParamGroup): string[];
  /** Kernel entry, flags and uniforms for one parameter's update; `step` has been incremented. */
  protected abstract update(args: UpdateArgs): { entry: string; u: Uniforms; buffers: Tensor[] };

  protected spareTensor(i: number): Tensor {
    while (this.spare.length <= i) this.spare.push(keep(zeros([1])));
    return this.spare[i]!;
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        if (!param.grad) continue;
        let state = this.state.get(param);
        if (!state) this.state.set(param, (state = {}));
        const created = new Set(this.stateKeys(group).filter((k) => !(k in state)));
        // Optimizer state outlives the step: keep it out of any enclosing tidy() scope.
        for (const key of created) state[key] = keep(zeros(param.shape));
        state.step = ((state.step as number | undefined) ?? 0) + 1;
        const { entry, u, buffers } = this.update({ group, state, param, created });
        engine().dispatch(kernel('optim', entry), grid(Math.ceil(param.size / OPTIM_STEPS)), [param.buffer, param.grad.buffer, ...buffers.map((t) => t.buffer)], u, { STEPS: OPTIM_STEPS });
      }
    }
  }

  /** Releases every gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.paramGroups)
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
  }

  /** Uniform layout of kernels/optim.wgsl. */
  protected uniforms(n: number, flags: number, step: number, lr: number, abcd: [number, number, number, number], weightDecay: number, eps: number): Uniforms {
    const u = new Uniforms().u32(n).u32(flags).f32(step).f32(lr);
    for (const v of abcd) u.f32(v);
    return u.f32(weightDecay).f32(eps).f32(0).f32(0);
  }

  async stateDict(): Promise<OptimizerStateDict> {
    const index = new Map<Tensor, number>();
    this.paramGroups.forEach((g) => g.params.forEach((p) => index.set(p, index.size)));
    const state = new Map<number, Record<string, StateEntry | number>>();
    for (const [p, s] of this.state) {
      const entry: Record<string, StateEntry | number> = {};
      for (const [k, v] of Object.entries(s)) {
        if (k === 'step' && !this.savesStep) continue;
        entry[k] = v instanceof Tensor ? { shape: [...v.shape], data: await v.toArray(), dtype: 'float32' } : v;
      }
      state.set(index.get(p)!, entry);
    }
    const param_groups = this.paramGroups.map((g) => {
      const out: Record<string, HyperValue> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params' && v !== undefined) out[k] = v as HyperValue;
      out.params = g.params.map((p) => index.get(p)!);
      return out;
    });
    return { state, param_groups };
  }

  /** Restores state and hyper-parameters saved by `stateDict` (or by PyTorch, same layout). */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.param_groups.length !== this.paramGroups.length)
      throw new Error(`optimizer state has ${sd.param_groups.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    const params = this.paramGroups.flatMap((g) => g.params);
    sd.param_groups.forEach((saved, i) => {
      const group = this.paramGroups[i]!;
      const ids = saved.params as readonly number[];
      if (ids.length !== group.params.length) throw new Error(`optimizer state group ${i} has ${ids.length} parameters, this optimizer ${group.params.length}`);
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') group[k] = v;
    });
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [i, entry] of sd.state) {
      const p = params[i];
      if (!p) throw new Error(`optimizer state refers to parameter ${i}, but there are ${params.length}`);
      const s: ParamState = {};
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v === 'number') s[k] = v;
        else if (v.shape.length === 0 && k === 'step') s[k] = v.data[0]!;
        else {
          if (v.data.length !== p.size) throw new Error(`optimizer state '${k}' of parameter ${i} has ${v.data.length} values, the parameter ${p.size}`);
          s[k] = keep(tensor(Float32Array.from(v.data), p.shape));
        }
      }
      this.state.set(p, s);
    }
  }

  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const t of this.spare) t.dispose();
  }
}
