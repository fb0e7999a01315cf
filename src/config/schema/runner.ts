// The `runner` block: optimizer, learning-rate schedule and snapshot policy.
import * as v from 'valibot';
import { nonNegativeInt, positiveInt } from './common.ts';

/** Optimizers DeepLabCut builds with `getattr(torch.optim, type)`. */
export const OPTIMIZER_TYPES = [
  'SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'Adadelta', 'Adamax', 'NAdam', 'RAdam', 'ASGD', 'Rprop',
] as const;

const optimizer = v.strictObject({
  type: v.picklist(OPTIMIZER_TYPES),
  params: v.optional(v.looseObject({ lr: v.optional(v.pipe(v.number(), v.gtValue(0))) }), {}),
});

const SCHEDULER_TYPES = [
  'LRListScheduler', 'StepLR', 'MultiStepLR', 'ConstantLR', 'LinearLR', 'ExponentialLR', 'PolynomialLR',
  'CosineAnnealingLR', 'CosineAnnealingWarmRestarts', 'MultiplicativeLR', 'OneCycleLR', 'CyclicLR',
] as const;

// Written out by hand only because TypeScript cannot infer a recursive schema's type; it mirrors the variant below.
export type Scheduler =
  | { type: 'SequentialLR'; params: { schedulers: Scheduler[]; milestones: number[] } }
  | { type: 'ChainedScheduler'; params: { schedulers: Scheduler[] } }
  | { type: 'LRListScheduler'; params: { lr_list: number[][]; milestones: number[] } }
  | { type: Exclude<(typeof SCHEDULER_TYPES)[number], 'LRListScheduler'>; params: Record<string, unknown> };

const milestones = v.pipe(v.array(nonNegativeInt), v.check((m) => m.every((x, i) => i === 0 || x > m[i - 1]!), 'milestones must increase'));

// Recursive schema: SequentialLR / ChainedScheduler hold full scheduler blocks in `params.schedulers`.
export const SchedulerSchema: v.GenericSchema<unknown, Scheduler> = v.lazy(() =>
  v.variant('type', [
    v.strictObject({
      type: v.literal('SequentialLR'),
      params: v.pipe(
        v.strictObject({ schedulers: v.pipe(v.array(SchedulerSchema), v.minLength(1)), milestones }),
        v.check((p) => p.milestones.length === p.schedulers.length - 1, 'SequentialLR needs one milestone fewer than schedulers'),
      ),
    }),
    v.strictObject({
      type: v.literal('ChainedScheduler'),
      params: v.strictObject({ schedulers: v.pipe(v.array(SchedulerSchema), v.minLength(1)) }),
    }),
    v.strictObject({
      type: v.literal('LRListScheduler'),
      params: v.pipe(
        v.strictObject({ lr_list: v.array(v.array(v.pipe(v.number(), v.minValue(0)))), milestones }),
        v.check((p) => p.lr_list.length === p.milestones.length, 'lr_list needs one entry per milestone'),
      ),
    }),
    v.strictObject({
      type: v.picklist(SCHEDULER_TYPES.filter((t) => t !== 'LRListScheduler')),
      params: v.optional(v.record(v.string(), v.unknown()), {}),
    }),
  ]),
) as v.GenericSchema<unknown, Scheduler>;

const snapshots = v.strictObject({
  max_snapshots: v.optional(positiveInt, 5),
  save_epochs: v.optional(positiveInt, 25),
  save_optimizer_state: v.optional(v.boolean(), false),
});

interface RunnerDefaults {
  type: 'PoseTrainingRunner' | 'DetectorTrainingRunner';
  keyMetric: string;
}

export function runnerSchema(defaults: RunnerDefaults) {
  return v.strictObject({
    type: v.optional(v.picklist(['PoseTrainingRunner', 'DetectorTrainingRunner']), defaults.type),
    gpus: v.optional(v.nullable(v.array(nonNegativeInt)), null),
    device: v.optional(v.string()),
    key_metric: v.optional(v.string(), defaults.keyMetric),
    key_metric_asc: v.optional(v.boolean(), true),
    eval_interval: v.optional(positiveInt, 10),
    optimizer: v.optional(optimizer, { type: 'AdamW', params: { lr: 1e-4 } }),
    scheduler: v.optional(v.nullable(SchedulerSchema), null),
    // DeepLabCut 3.0.1 reads this with a default of true but its schema rejects it; we honour it.
    load_scheduler_state_dict: v.optional(v.boolean(), true),
    snapshots: v.optional(snapshots, {}),
    snapshot_prefix: v.optional(v.nullable(v.string()), null),
    load_weights_only: v.optional(v.nullable(v.boolean()), null),
  });
}

export const PoseRunnerSchema = runnerSchema({ type: 'PoseTrainingRunner', keyMetric: 'test.mAP' });
export const DetectorRunnerSchema = runnerSchema({ type: 'DetectorTrainingRunner', keyMetric: 'test.mAP@50:95' });
export type RunnerConfig = v.InferOutput<typeof PoseRunnerSchema>;
