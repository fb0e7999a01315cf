// Learning-rate schedulers for the training runner: PyTorch 2.x semantics and state-dict keys,
// DeepLabCut's LRListScheduler, and buildScheduler for the `runner.scheduler` config block.
// DeepLabCut's runner calls step() once after every epoch (epochs numbered from 1), so epoch e
// trains at the LR reached after e-1 steps; ReduceLROnPlateau is stepped with a metric instead.
export {
  LRScheduler, type EpochScheduler, type LRParamGroup, type SchedulerOptimizer, type SchedulerStateDict, type SteppedScheduler,
} from './base.ts';
export {
  bisectRight, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, ExponentialLR, LinearLR, LRListScheduler, MultiStepLR, PolynomialLR, StepLR,
} from './lr-schedulers.ts';
export { ChainedScheduler, SequentialLR, type ChildScheduler } from './composite.ts';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau.ts';
export {
  buildScheduler, loadSchedulerState, SUPPORTED_SCHEDULERS, type BuildSchedulerOptions, type BuiltScheduler, type SchedulerConfig,
} from './build.ts';
