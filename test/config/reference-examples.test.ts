// Every example on ../shared/docs/pytorch-config-reference.md, placed under the key it documents, parses to
// the meaning the page gives it. (The page's scraped snippets lost their parent keys; they are restored here.)
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePoseConfig, stringifyPoseConfig, type PoseConfig } from '../../src/config/index.ts';
import { generated } from './helpers.ts';

/** The generated config with `block` (YAML) replacing the value at `path`. */
function withBlock(path: string[], block: string, netType = 'resnet_50', bodyparts?: string[]): PoseConfig {
  const config = generated(netType, undefined, bodyparts) as Record<string, unknown>;
  let parent = config;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  parent[path[path.length - 1]!] = parse(block, { version: '1.2' });
  return parsePoseConfig(stringifyPoseConfig(config), 'example.yaml').config;
}

describe('pytorch-config-reference.md examples', () => {
  it('the default data block', () => {
    const { data } = withBlock(['data'], `
colormode: RGB
inference:
  normalize_images: true
train:
  affine: {p: 0.5, rotation: 30, scaling: [0.5, 1.25], translation: 0}
  covering: true
  crop_sampling: {width: 448, height: 448, max_shift: 0.1, method: hybrid}
  gaussian_noise: 12.75
  motion_blur: true
  normalize_images: true
`);
    expect(data.colormode).toBe('RGB');
    expect(data.inference.normalize_images).toBe(true);
    expect(data.train.affine).toEqual({ p: 0.5, rotation: 30, scaling: [0.5, 1.25], translation: 0 });
    expect(data.train.crop_sampling).toEqual({ width: 448, height: 448, max_shift: 0.1, method: 'hybrid' });
    expect(data.train).toMatchObject({ covering: true, gaussian_noise: 12.75, motion_blur: true, hist_eq: false });
  });

  it('affine', () => {
    const t = withBlock(['data', 'train', 'affine'], 'p: 0.9\nrotation: 30\nscaling: [ 0.5, 1.25 ]\ntranslation: 40').data.train;
    expect(t.affine).toEqual({ p: 0.9, rotation: 30, scaling: [0.5, 1.25], translation: 40 });
  });

  it('auto_padding with its documented defaults', () => {
    const pad = withBlock(['data', 'train', 'auto_padding'], `
min_height: null
min_width: null
pad_height_divisor: null
pad_width_divisor: null
position: random
border_mode: reflect_101
border_value: null
border_mask_value: null`).data.train.auto_padding;
    expect(pad).toEqual({
      min_height: null, min_width: null, pad_height_divisor: null, pad_width_divisor: null,
      position: 'random', border_mode: 'reflect_101', border_value: null, border_mask_value: null,
    });
    const hrnet = withBlock(['data', 'train', 'auto_padding'], 'pad_height_divisor: 32\npad_width_divisor: 32').data.train.auto_padding;
    expect(hrnet).toMatchObject({ pad_height_divisor: 32, pad_width_divisor: 32, position: 'random', border_mode: 'reflect_101' });
  });

  it.each([
    ['covering', 'true', true],
    ['gaussian_noise', '12.75', 12.75],
    ['hflip', 'true', true],
    ['hist_eq', 'true', true],
    ['motion_blur', 'true', true],
    ['normalize_images', 'true', true],
  ] as const)('%s: %s', (key, yaml, expected) => {
    expect(withBlock(['data', 'train', key], yaml).data.train[key]).toBe(expected);
  });

  it('hflip with symmetries for [snout, eye_L, eye_R, ear_L, ear_R]', () => {
    const bodyparts = ['snout', 'eye_L', 'eye_R', 'ear_L', 'ear_R'];
    const config = withBlock(['data', 'train', 'hflip'], 'p: 0.5\nsymmetries: [[1, 2], [3, 4]]', 'resnet_50', bodyparts);
    expect(config.data.train.hflip).toEqual({ p: 0.5, symmetries: [[1, 2], [3, 4]] });
  });

  it('crop_sampling', () => {
    const crop = withBlock(['data', 'train', 'crop_sampling'], 'height: 400\nwidth: 400\nmax_shift: 0.4\nmethod: hybrid').data.train.crop_sampling;
    expect(crop).toEqual({ height: 400, width: 400, max_shift: 0.4, method: 'hybrid' });
  });

  it('collate', () => {
    const collate = withBlock(['data', 'train', 'collate'], `
type: ResizeFromDataSizeCollate  # You can also use ResizeFromListCollate
max_shift: 10
max_size: 1024
min_scale: 0.4
max_scale: 1.0
min_short_side: 128
max_short_side: 1152
multiple_of: 32
to_square: false`).data.train.collate;
    expect(collate).toEqual({
      type: 'ResizeFromDataSizeCollate', max_shift: 10, max_size: 1024, min_scale: 0.4, max_scale: 1, min_short_side: 128,
      max_short_side: 1152, multiple_of: 32, to_square: false, max_ratio: 2, seed: 0,
    });
  });

  it('resize', () => {
    expect(withBlock(['data', 'train', 'resize'], 'height: 640\nwidth: 480\nkeep_ratio: true').data.train.resize).toEqual({ height: 640, width: 480, keep_ratio: true });
  });

  it('a single-animal HRNet model', () => {
    const { model } = withBlock(['model'], `
backbone:
  type: HRNet
  model_name: hrnet_w18
backbone_output_channels: 18
heads:
  bodypart:
    type: HeatmapHead
    predictor:
      type: HeatmapPredictor
    target_generator:
      type: HeatmapPlateauGenerator
    criterion:
      type: WeightedBCECriterion
    heatmap_config: {channels: [18, 4], kernel_size: [3], strides: [2]}`);
    expect(model.backbone).toEqual({ type: 'HRNet', model_name: 'hrnet_w18' });
    expect(model.heads['bodypart']!.target_generator.type).toBe('HeatmapPlateauGenerator');
    expect(model.heads['bodypart']!.criterion).toEqual({ type: 'WeightedBCECriterion', weight: 1 });
  });

  it('an HRNet-W32 backbone with increased channel count', () => {
    const config = generated('hrnet_w32') as { model: Record<string, unknown> };
    config.model['backbone'] = parse('type: HRNet\nmodel_name: hrnet_w32\npretrained: true\ninterpolate_branches: false\nincreased_channel_count: true');
    config.model['backbone_output_channels'] = 128;
    const heads = config.model['heads'] as { bodypart: { heatmap_config: { channels: number[] }; locref_config: { channels: number[] } } };
    heads.bodypart.heatmap_config.channels[0] = 128;
    heads.bodypart.locref_config.channels[0] = 128;
    const parsed = parsePoseConfig(stringifyPoseConfig(config), 'w32.yaml').config;
    expect(parsed.model.backbone).toEqual({ type: 'HRNet', model_name: 'hrnet_w32', pretrained: true, interpolate_branches: false, increased_channel_count: true });
    expect(parsed.model.backbone_output_channels).toBe(128);
  });

  it('the runner, including load_scheduler_state_dict and gpus', () => {
    const runner = withBlock(['runner'], `
type: PoseTrainingRunner
key_metric: "test.mAP"
key_metric_asc: true
eval_interval: 1
optimizer: {type: AdamW, params: {lr: 1e-4}}
load_scheduler_state_dict: false
snapshots:
  max_snapshots: 5
  save_epochs: 25
  save_optimizer_state: false
gpus:
- 0
- 1`).runner;
    expect(runner).toMatchObject({
      type: 'PoseTrainingRunner', key_metric: 'test.mAP', key_metric_asc: true, eval_interval: 1,
      load_scheduler_state_dict: false, gpus: [0, 1], snapshots: { max_snapshots: 5, save_epochs: 25, save_optimizer_state: false },
      scheduler: null,
    });
    expect(withBlock(['runner', 'key_metric'], 'test.rmse').runner).toMatchObject({ key_metric: 'test.rmse', load_scheduler_state_dict: true });
  });

  it('optimizers: SGD 1e-3 with momentum, AdamW 1e-4 (YAML 1.2 numbers)', () => {
    expect(withBlock(['runner', 'optimizer'], 'type: SGD\nparams:\n  lr: 1e-3\n  momentum: 0.9').runner.optimizer).toEqual({ type: 'SGD', params: { lr: 0.001, momentum: 0.9 } });
    expect(withBlock(['runner', 'optimizer'], 'type: AdamW\nparams:\n  lr: 1e-4').runner.optimizer).toEqual({ type: 'AdamW', params: { lr: 0.0001 } });
  });

  it('schedulers: LRListScheduler, StepLR and a SequentialLR warm-up', () => {
    expect(withBlock(['runner', 'scheduler'], 'type: LRListScheduler\nparams:\n  lr_list: [ [ 1e-5 ], [ 1e-6 ] ]\n  milestones: [ 160, 190 ]').runner.scheduler)
      .toEqual({ type: 'LRListScheduler', params: { lr_list: [[1e-5], [1e-6]], milestones: [160, 190] } });
    expect(withBlock(['runner', 'scheduler'], 'type: StepLR\nparams:\n  step_size: 100\n  gamma: 0.1').runner.scheduler)
      .toEqual({ type: 'StepLR', params: { step_size: 100, gamma: 0.1 } });
    const sequential = withBlock(['runner', 'scheduler'], `
type: SequentialLR
params:
  schedulers:
  - type: ConstantLR
    params:
      factor: 0.01
      total_iters: 2
  - type: StepLR
    params:
      step_size: 2
      gamma: 0.1
  milestones:
  - 5`).runner.scheduler;
    expect(sequential).toEqual({
      type: 'SequentialLR',
      params: {
        schedulers: [{ type: 'ConstantLR', params: { factor: 0.01, total_iters: 2 } }, { type: 'StepLR', params: { step_size: 2, gamma: 0.1 } }],
        milestones: [5],
      },
    });
  });

  it('train_settings', () => {
    const t = withBlock(['train_settings'], 'batch_size: 1\ndataloader_workers: 0\ndataloader_pin_memory: true\ndisplay_iters: 500\nepochs: 200\nseed: 42').train_settings;
    expect(t).toEqual({ batch_size: 1, dataloader_workers: 0, dataloader_pin_memory: true, display_iters: 500, epochs: 200, seed: 42 });
  });

  it('a WandbLogger with extra wandb.init arguments', () => {
    const logger = withBlock(['logger'], 'type: WandbLogger\nproject_name: my-dlc3-project\nrun_name: dekr-w32-shuffle0\ntags: ["dekr", "split=0"]\nimage_log_interval: 5').logger;
    expect(logger).toEqual({ type: 'WandbLogger', project_name: 'my-dlc3-project', run_name: 'dekr-w32-shuffle0', tags: ['dekr', 'split=0'], image_log_interval: 5 });
  });

  it('resume_training_from', () => {
    const path = '/Users/john/dlc-project-2021-06-22/dlc-models-pytorch/iteration-0/dlcJun22-trainset95shuffle0/train/';
    expect(withBlock(['resume_training_from'], path).resume_training_from).toBe(path);
  });

  it('the detector block, with its own resume_training_from', () => {
    const { detector } = withBlock(['detector'], `
data:
  colormode: RGB
  inference:
    normalize_images: true
  train:
    affine:
      p: 0.9
      rotation: 30
      scaling: [ 0.5, 1.25 ]
      translation: 40
    hflip: true
    normalize_images: true
model:
  type: FasterRCNN
  variant: fasterrcnn_mobilenet_v3_large_fpn
  pretrained: true
runner:
  type: DetectorTrainingRunner
  load_scheduler_state_dict: false
train_settings: {}
resume_training_from: /Users/john/snapshot-detector-020.pt`, 'top_down_resnet_50');
    expect(detector!.model).toEqual({ type: 'FasterRCNN', variant: 'fasterrcnn_mobilenet_v3_large_fpn', pretrained: true });
    expect(detector!.data.train).toMatchObject({ hflip: true, affine: { p: 0.9, rotation: 30, scaling: [0.5, 1.25], translation: 40 } });
    expect(detector!.runner).toMatchObject({ type: 'DetectorTrainingRunner', key_metric: 'test.mAP@50:95', load_scheduler_state_dict: false });
    expect(detector!.train_settings).toMatchObject({ batch_size: 1, epochs: 250 });
    expect(detector!.resume_training_from).toBe('/Users/john/snapshot-detector-020.pt');
  });

  it('singletons: device, method, net_type', () => {
    const config = withBlock(['device'], 'cuda:1');
    expect([config.device, config.method, config.net_type]).toEqual(['cuda:1', 'bu', 'resnet_50']);
  });
});
