import { describe, expect, it } from 'vitest';
import { AVAILABLE_NET_TYPES, DETECTOR_TYPES, makePoseConfig, parsePoseConfig, stringifyPoseConfig } from '../../src/config/index.ts';
import { generated } from './helpers.ts';

const parse = (netType: string, detector?: string) => parsePoseConfig(stringifyPoseConfig(generated(netType, detector)), `${netType}.yaml`).config;

describe('default pose configs per net type', () => {
  it.each(AVAILABLE_NET_TYPES)('%s validates and sizes its heads for 4 bodyparts', (netType) => {
    const config = parse(netType);
    const head = config.model.heads['bodypart']!;
    const channels = config.model.backbone_output_channels;
    expect(config.net_type).toBe(netType);
    expect(head.heatmap_config!.channels[0]).toBe(channels);
    expect(head.target_generator['num_heatmaps']).toBe(4);
    if (netType.startsWith('top_down_')) {
      expect(config.method).toBe('td');
      expect(head.heatmap_config).toEqual({ channels: [channels], kernel_size: [], strides: [], final_conv: { out_channels: 4, kernel_size: 1 } });
      expect(head.locref_config!.final_conv).toEqual({ out_channels: 8, kernel_size: 1 });
      expect(config.detector?.model.type).toBe('SSDLite');
      expect(config.detector?.train_settings.batch_size).toBe(16);
      expect(config.data.train.top_down_crop).toEqual({ width: 256, height: 256, margin: 0 });
      expect(config.data.train.crop_sampling).toBeUndefined();
      expect(config.data.train.collate).toBeUndefined();
    } else {
      expect(config.method).toBe('bu');
      expect(config.detector).toBeNull();
      expect(config.data.train.crop_sampling).toEqual({ width: 448, height: 448, max_shift: 0.1, method: 'hybrid' });
    }
    if (netType.includes('hrnet')) {
      expect(config.data.train.auto_padding).toMatchObject({ pad_height_divisor: 32, pad_width_divisor: 32 });
      expect(config.data.inference.auto_padding).toMatchObject({ pad_height_divisor: 32, pad_width_divisor: 32 });
    }
  });

  it('resnet_50 matches DeepLabCut 3.0.1 (4 heatmaps, 8 locref, AdamW 5e-4, LRList at 90/120)', () => {
    const config = parse('resnet_50');
    const head = config.model.heads['bodypart']!;
    expect(head.heatmap_config).toEqual({ channels: [2048, 4], kernel_size: [3], strides: [2] });
    expect(head.locref_config).toEqual({ channels: [2048, 8], kernel_size: [3], strides: [2] });
    expect(config.model.backbone).toEqual({
      type: 'ResNet', model_name: 'resnet50_gn', output_stride: 16, freeze_bn_stats: false, freeze_bn_weights: false,
    });
    expect(config.runner.optimizer).toEqual({ type: 'AdamW', params: { lr: 5e-4 } });
    expect(config.runner.scheduler).toEqual({ type: 'LRListScheduler', params: { lr_list: [[1e-4], [1e-5]], milestones: [90, 120] } });
    expect(config.runner.eval_interval).toBe(10);
    expect(config.train_settings).toMatchObject({ batch_size: 8, epochs: 200, seed: 42 });
    expect(config.data.bbox_margin).toBe(20);
    expect(config.data.train).toMatchObject({ gaussian_noise: 12.75, motion_blur: true, normalize_images: true });
  });

  it('top_down_hrnet_w32 keeps the base optimizer and schedule and adds the detector', () => {
    const config = parse('top_down_hrnet_w32');
    expect(config.model.backbone).toMatchObject({ type: 'HRNet', model_name: 'hrnet_w32', freeze_bn_stats: true, interpolate_branches: false });
    expect(config.runner.optimizer.params.lr).toBe(1e-4);
    expect(config.runner.scheduler).toEqual({ type: 'LRListScheduler', params: { lr_list: [[1e-5], [1e-6]], milestones: [160, 190] } });
    expect(config.model.heads['bodypart']!.target_generator).toMatchObject({ gradient_masking: true, background_weight: 0 });
    expect(config.detector!.runner).toMatchObject({ type: 'DetectorTrainingRunner', key_metric: 'test.mAP@50:95' });
    expect(config.detector!.train_settings.epochs).toBe(250);
    expect(config.detector!.data.train.collate).toMatchObject({ type: 'ResizeFromDataSizeCollate', multiple_of: 32 });
    expect(config.data.train.affine?.scaling).toEqual([1, 1]);
  });

  it.each(DETECTOR_TYPES)('detector %s composes over base_detector', (detector) => {
    const config = parse('top_down_resnet_50', detector);
    const model = config.detector!.model;
    if (detector === 'ssdlite') expect(model.type).toBe('SSDLite');
    else expect(model).toMatchObject({ type: 'FasterRCNN', variant: detector });
    expect(config.detector!.train_settings.batch_size).toBe(detector === 'ssdlite' ? 16 : 1);
  });

  it('adds a unique-bodypart head for bottom-up projects that have unique bodyparts', () => {
    const config = makePoseConfig({
      netType: 'resnet_50',
      multiAnimal: false,
      metadata: { project_path: '/p', pose_config_path: '/p/c.yaml', bodyparts: ['a', 'b', 'c'], unique_bodyparts: ['x', 'y'], individuals: ['i'], with_identity: null },
    });
    const parsed = parsePoseConfig(stringifyPoseConfig(config), 'c.yaml').config;
    const unique = parsed.model.heads['unique_bodypart']!;
    expect(unique.heatmap_config!.channels).toEqual([2048, 2]);
    expect(unique.locref_config!.channels).toEqual([2048, 4]);
    expect(unique.target_generator['label_keypoint_key']).toBe('keypoints_unique');
  });

  it('refuses combinations DeepLabCut refuses', () => {
    const metadata = { project_path: '/p', pose_config_path: '/p/c.yaml', bodyparts: ['a'], unique_bodyparts: [], individuals: ['m1', 'm2'], with_identity: null };
    expect(() => makePoseConfig({ netType: 'resnet_50', multiAnimal: true, metadata })).toThrow(/use top_down_resnet_50/);
    expect(() => makePoseConfig({ netType: 'resnet_5', multiAnimal: false, metadata })).toThrow(/unknown net type 'resnet_5'/);
    expect(() => makePoseConfig({ netType: 'top_down_resnet_50', detector: 'yolo', multiAnimal: true, metadata })).toThrow(/unknown detector 'yolo'/);
  });
});

describe('round trip', () => {
  it.each(['resnet_50', 'top_down_hrnet_w48'])('load, save, load gives the same config (%s)', (netType) => {
    const first = parse(netType);
    const text = stringifyPoseConfig(first);
    const second = parsePoseConfig(text, 'again.yaml').config;
    expect(second).toEqual(first);
    expect(stringifyPoseConfig(second)).toBe(text);
  });
});
