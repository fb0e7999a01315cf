// Builds a new pose config from the configs/ fragments the way DeepLabCut's build_pose_config_defaults does.
import * as v from 'valibot';
import { readFragment } from './fragments.ts';
import { updateConfig } from './merge.ts';
import { resolvePlaceholders } from './placeholders.ts';
import { DETECTOR_TYPES } from './schema/detector.ts';
import { InferenceSchema } from './schema/inference.ts';
import type { Metadata } from './schema/metadata.ts';
import { BACKBONE_NET_TYPES, NET_TYPES, type BackboneNetType, type NetType } from './schema/pose-config.ts';

export type DetectorType = (typeof DETECTOR_TYPES)[number];

export interface MakePoseConfigOptions {
  netType: string;
  /** Top-down only; DeepLabCut's default is ssdlite. */
  detector?: string;
  metadata: Metadata;
  multiAnimal: boolean;
}

type Mapping = Record<string, unknown>;

export function parseNetType(netType: string): { backbone: BackboneNetType; topDown: boolean } {
  if (!(NET_TYPES as readonly string[]).includes(netType)) {
    throw new Error(`unknown net type '${netType}'; available: ${NET_TYPES.join(', ')}`);
  }
  const topDown = netType.startsWith('top_down_');
  return { backbone: (topDown ? netType.slice('top_down_'.length) : netType) as BackboneNetType, topDown };
}

function detectorDefaults(detector: string, numIndividuals: number): Mapping {
  if (!(DETECTOR_TYPES as readonly string[]).includes(detector.toLowerCase())) {
    throw new Error(`unknown detector '${detector}'; available: ${DETECTOR_TYPES.join(', ')}`);
  }
  const merged = updateConfig(readFragment('base/base_detector.yaml'), readFragment(`detectors/${detector.toLowerCase()}.yaml`));
  const resolved = resolvePlaceholders(merged, { num_individuals: numIndividuals });
  return Object.fromEntries(Object.entries(resolved).sort(([a], [b]) => a.localeCompare(b)));
}

function bodypartHead(file: string, numBodyparts: number, backboneChannels: number): Mapping {
  return resolvePlaceholders(readFragment(file), {
    num_bodyparts: numBodyparts,
    backbone_output_channels: backboneChannels,
  });
}

/** The plain mapping to write as pytorch_config.yaml (validate it with PoseConfigSchema to get the typed view). */
export function makePoseConfig(options: MakePoseConfigOptions): Mapping {
  const { backbone, topDown } = parseNetType(options.netType);
  const { metadata } = options;
  if (options.multiAnimal && !topDown) {
    throw new Error(
      `${options.netType} is a backbone with a single heatmap head, which predicts one individual per image; ` +
        `this is a multi-animal project, so use top_down_${backbone}`,
    );
  }
  const unique = metadata.unique_bodyparts ?? [];
  if (unique.length > 0 && topDown) {
    throw new Error(`top-down models do not support unique bodyparts (${unique.join(', ')}); use a bottom-up net type`);
  }
  if (metadata.with_identity) throw new Error('identity heads need a multi-animal bottom-up model, which dlc-gpu does not provide');

  let model = readFragment(`backbones/${backbone}.yaml`);
  const modelBlock = model['model'] as Mapping;
  const channels = modelBlock['backbone_output_channels'] as number;
  const heads: Mapping = {
    bodypart: bodypartHead(topDown ? 'base/head_topdown.yaml' : 'base/head_bodyparts.yaml', metadata.bodyparts.length, channels),
  };
  model = { ...model, method: topDown ? 'td' : 'bu', model: { ...modelBlock, heads }, net_type: options.netType };
  if (topDown) model['detector'] = detectorDefaults(options.detector ?? 'ssdlite', metadata.individuals?.length ?? 1);

  const aug = readFragment(topDown ? 'base/aug_top_down.yaml' : 'base/aug_default.yaml');
  model = updateConfig(model, { data: aug });
  const config = updateConfig(readFragment('base/base.yaml'), model);

  if (unique.length > 0) {
    const head = bodypartHead('base/head_bodyparts.yaml', unique.length, channels);
    (head['target_generator'] as Mapping)['label_keypoint_key'] = 'keypoints_unique';
    ((config['model'] as Mapping)['heads'] as Mapping)['unique_bodypart'] = head;
  }
  config['inference'] = v.parse(InferenceSchema, {});
  config['metadata'] = { ...metadata };
  return Object.fromEntries(Object.entries(config).sort(([a], [b]) => a.localeCompare(b)));
}

export const AVAILABLE_NET_TYPES: readonly NetType[] = NET_TYPES;
export const AVAILABLE_BACKBONES: readonly BackboneNetType[] = BACKBONE_NET_TYPES;
