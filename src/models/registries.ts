// DeepLabCut's registries, keyed by the config's `type`: BACKBONES, NECKS, HEADS, PREDICTORS,
// TARGET_GENERATORS, CRITERIONS and LOSS_AGGREGATORS. The built-in types register in builtin-types.ts
// exactly as a plugin registers its own; a pose model only ever builds through these.
import type { Detector } from './detectors/detector.ts';
import type { BackboneNet, Criterion, LossAggregator, Neck, PoseHead, Predictor, TargetGenerator } from './parts.ts';
import { Registry, type TypedBlock } from './registry.ts';

/** What every builder gets besides its config block. */
export interface BuildContext {
  /** The block's key path in pytorch_config.yaml (model.heads.bodypart), for messages. */
  where: string;
  /** A seed for the part's random initialisation (distinct per part, fixed per model). */
  seed: number;
}

export interface NeckContext extends BuildContext {
  /** Channels of the backbone's feature map. */
  inChannels: number;
}

export interface HeadContext extends BuildContext {
  /** Channels of the features the head receives (backbone, or neck when there is one). */
  inChannels: number;
}

export interface HeadPartContext extends BuildContext {
  /** The head's whole config block (its predictor and target generator often read the head's keys). */
  head: TypedBlock;
  /** The head being built for (its stride, its outputs). */
  headModule: PoseHead;
}

export const BACKBONES = new Registry<BackboneNet, BuildContext>('BACKBONES', 'backbone');
export const NECKS = new Registry<Neck, NeckContext>('NECKS', 'neck');
export const HEADS = new Registry<PoseHead, HeadContext>('HEADS', 'head');
export const PREDICTORS = new Registry<Predictor, HeadPartContext>('PREDICTORS', 'predictor');
export const TARGET_GENERATORS = new Registry<TargetGenerator, HeadPartContext>('TARGET_GENERATORS', 'target generator');
export const CRITERIONS = new Registry<Criterion, BuildContext>('CRITERIONS', 'criterion');
export const LOSS_AGGREGATORS = new Registry<LossAggregator, BuildContext>('LOSS_AGGREGATORS', 'loss aggregator');

/**
 * The `detector.model` types of top-down configs (SSDLite, FasterRCNN), built by the detector runner. The
 * config schema still lists the detector types it accepts (src/config/schema/detector.ts); plugin detectors
 * register here and their types are recorded in snapshots like the pose parts'.
 */
export const DETECTORS = new Registry<Detector, BuildContext>('DETECTORS', 'detector');

/** The same registry under the name the issue tracker and torch users tend to write. */
export const CRITERIA = CRITERIONS;

/** Every pose-model registry, by DeepLabCut's name. */
export const POSE_REGISTRIES = { BACKBONES, NECKS, HEADS, PREDICTORS, TARGET_GENERATORS, CRITERIONS, LOSS_AGGREGATORS } as const;

/** Every registry a plugin can extend (what snapshots record a plugin's types from). */
export const REGISTRIES = { ...POSE_REGISTRIES, DETECTORS } as const;
