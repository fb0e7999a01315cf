// The `runner.optimizer` block -> an optimizer over all model parameters in one group, as DeepLabCut's
// `getattr(torch.optim, type)(model.parameters(), **params)`.
import type { RunnerConfig } from '../config/index.ts';
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from '../optim/index.ts';
import type { Tensor } from '../tensor/tensor.ts';

const ACCEPTED: Record<string, string[]> = {
  SGD: ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', 'foreach', 'differentiable'],
  Adam: ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused'],
  AdamW: ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused'],
  RMSprop: ['lr', 'alpha', 'eps', 'weight_decay', 'momentum', 'centered', 'maximize', 'foreach', 'capturable', 'differentiable'],
  Adagrad: ['lr', 'lr_decay', 'weight_decay', 'initial_accumulator_value', 'eps', 'maximize', 'foreach', 'differentiable'],
};

export function buildOptimizer(cfg: RunnerConfig['optimizer'], params: Tensor[], file = 'pytorch_config.yaml'): Optimizer {
  const type = cfg.type;
  const accepted = ACCEPTED[type];
  if (!accepted) {
    throw new Error(`${file}: runner.optimizer.type: ${type} is not available in dlc-gpu (available: ${Object.keys(ACCEPTED).join(', ')})`);
  }
  const p = { ...(cfg.params ?? {}) } as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (!accepted.includes(k)) throw new Error(`${file}: runner.optimizer.params.${k}: ${type} takes no '${k}' (takes ${accepted.join(', ')})`);
  }
  const betas = p.betas;
  if (betas !== undefined && !(Array.isArray(betas) && betas.length === 2 && betas.every((b) => typeof b === 'number'))) {
    throw new Error(`${file}: runner.optimizer.params.betas must be a list of two numbers`);
  }
  switch (type) {
    case 'SGD':
      return new SGD(params, p);
    case 'Adam':
      return new Adam(params, p);
    case 'AdamW':
      return new AdamW(params, p);
    case 'RMSprop':
      return new RMSprop(params, p);
    default:
      return new Adagrad(params, p);
  }
}
