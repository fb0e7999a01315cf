import { describe, expect, it } from 'vitest';
import { ConfigError, parsePoseConfig } from '../../src/config/index.ts';
import { edited, generatedText, withoutKey } from './helpers.ts';

function problems(text: string): ConfigError {
  try {
    parsePoseConfig(text, 'pytorch_config.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

/** 1-based line of the first line containing `needle`, searched from the line containing `after`. */
function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  const from = after ? lines.findIndex((l) => l.includes(after)) : 0;
  return lines.findIndex((l, i) => i >= from && l.includes(needle)) + 1;
}

interface Case {
  name: string;
  text: () => string;
  path: string;
  message: RegExp;
  /** [needle, after?] locating the line the error must point at. */
  at?: [string, string?];
}

const cases: Case[] = [
  { name: 'string where a number belongs', text: () => edited({ 'runner.optimizer.params.lr': '"fast"' }), path: 'runner.optimizer.params.lr', message: /expected number, got "fast"/, at: ['lr:'] },
  { name: 'negative epochs', text: () => edited({ 'train_settings.epochs': '-5' }), path: 'train_settings.epochs', message: /expected a value >=1, got -5/, at: ['epochs: -5'] },
  { name: 'fractional batch size', text: () => edited({ 'train_settings.batch_size': '2.5' }), path: 'train_settings.batch_size', message: /expected integer, got 2.5/, at: ['batch_size:'] },
  { name: 'unknown top-level key', text: () => `${generatedText()}trian_settings: {}\n`, path: 'trian_settings', message: /unknown key 'trian_settings'; did you mean 'train_settings'\?/, at: ['trian_settings:'] },
  { name: 'unknown runner key', text: () => edited({ 'runner.optimzer': '{type: SGD}' }), path: 'runner.optimzer', message: /did you mean 'optimizer'\?/, at: ['optimzer'] },
  { name: 'unknown transform', text: () => edited({ 'data.train.gausian_noise': '3' }), path: 'data.train.gausian_noise', message: /did you mean 'gaussian_noise'\?/, at: ['gausian_noise'] },
  { name: 'unknown key inside a transform', text: () => edited({ 'data.train.affine.rotaton': '10' }), path: 'data.train.affine.rotaton', message: /did you mean 'rotation'\?/, at: ['rotaton'] },
  { name: 'missing metadata block', text: () => withoutKey(generatedText(), 'metadata'), path: 'metadata', message: /missing required key 'metadata'/ },
  { name: 'missing runner block', text: () => withoutKey(generatedText(), 'runner'), path: 'runner', message: /missing required key 'runner'/ },
  { name: 'bad method', text: () => edited({ method: 'bottom-up' }), path: 'method', message: /expected one of bu, td, got "bottom-up"/, at: ['method: bottom-up'] },
  { name: 'misspelt optimizer', text: () => edited({ 'runner.optimizer.type': 'adamw' }), path: 'runner.optimizer.type', message: /did you mean 'AdamW'\?/, at: ['type: adamw'] },
  { name: 'bad crop method', text: () => edited({ 'data.train.crop_sampling.method': 'hybird' }), path: 'data.train.crop_sampling.method', message: /uniform, keypoints, density, hybrid, got "hybird"; did you mean 'hybrid'\?/, at: ['method: hybird'] },
  { name: 'bad net type', text: () => edited({ net_type: 'resnet_51' }), path: 'net_type', message: /did you mean 'resnet_50'\?/, at: ['net_type:'] },
  { name: 'bad device', text: () => edited({ device: 'gpu' }), path: 'device', message: /expected auto, cpu, cuda, cuda:<n> or mps/, at: ['device:'] },
  { name: 'probability above 1', text: () => edited({ 'data.train.affine.p': '1.5' }), path: 'data.train.affine.p', message: /<=1, got 1.5/, at: ['p: 1.5'] },
  { name: 'nested scheduler with a bad type', text: () => edited({ 'runner.scheduler': '{type: SequentialLR, params: {schedulers: [{type: ConstantLR, params: {factor: 0.1}}, {type: StepLr}], milestones: [5]}}' }), path: 'runner.scheduler.params.schedulers[1].type', message: /expected one of SequentialLR, ChainedScheduler, LRListScheduler, StepLR, .*got "StepLr"; did you mean 'StepLR'\?/ },
  { name: 'SequentialLR milestone count', text: () => edited({ 'runner.scheduler': '{type: SequentialLR, params: {schedulers: [{type: StepLR, params: {step_size: 2}}], milestones: [5]}}' }), path: 'runner.scheduler.params', message: /one milestone fewer than schedulers/ },
  { name: 'heatmap channels that do not match the bodyparts', text: () => edited({ 'model.heads.bodypart.heatmap_config.channels': '[2048, 5]' }), path: 'model.heads.bodypart.heatmap_config.channels[1]', message: /outputs 5 channels but the project needs 4/ },
  { name: 'head input that does not match the backbone', text: () => edited({ 'model.backbone_output_channels': '1024' }), path: 'model.heads.bodypart.heatmap_config.channels[0]', message: /must equal backbone_output_channels \(1024\)/ },
  { name: 'kernel sizes that do not match the channels', text: () => edited({ 'model.heads.bodypart.locref_config.kernel_size': '[3, 3]' }), path: 'model.heads.bodypart.locref_config', message: /one entry per deconvolution/ },
  { name: 'hflip symmetry out of range', text: () => edited({ 'data.train.hflip': '{p: 0.5, symmetries: [[1, 4]]}' }), path: 'data.train.hflip.symmetries[0][1]', message: /keypoint index 4 is out of range \(4 bodyparts\)/ },
  { name: 'td method without a detector', text: () => edited({ method: 'td' }), path: 'detector', message: /need a detector block/ },
  { name: 'auto_padding with both a minimum and a divisor', text: () => edited({ 'data.train.auto_padding': '{min_height: 64, pad_height_divisor: 32}' }), path: 'data.train.auto_padding', message: /only one of min_height and pad_height_divisor/ },
  { name: 'bad placeholder', text: () => edited({ 'model.heads.bodypart.heatmap_config.channels': '[backbone_output_channels, num_bodyparts * 2]' }), path: 'model.heads.bodypart.heatmap_config.channels[1]', message: /unknown operator '\*'/ },
];

describe('bad pytorch_config.yaml files', () => {
  it.each(cases)('$name', ({ text, path, message, at }) => {
    const source = text();
    const error = problems(source);
    const issue = error.issues.find((i) => i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '').replace(/\.\[/g, '[') === path);
    expect(issue, `no issue at ${path}; got:\n${error.message}`).toBeDefined();
    expect(issue!.message).toMatch(message);
    expect(issue!.file).toBe('pytorch_config.yaml');
    expect(issue!.line).toBeGreaterThan(0);
    if (at) expect(issue!.line).toBe(lineOf(source, at[0], at[1]));
    expect(error.message).toContain(`pytorch_config.yaml:${issue!.line}:`);
  });

  it('reports every problem in a file at once', () => {
    const error = problems(edited({ method: 'xx', 'train_settings.epochs': '0', 'runner.eval_interval': '"often"', 'data.train.motion_blur': '3' }));
    expect(error.issues.map((i) => i.path.join('.')).sort()).toEqual(['data.train.motion_blur', 'method', 'runner.eval_interval', 'train_settings.epochs']);
    expect(error.message).toMatch(/^4 problems:/);
  });

  it('reports malformed YAML with its position', () => {
    const error = problems('runner:\n  type: PoseTrainingRunner\n   eval_interval: 3\nfoo: [1, 2\n');
    expect(error.issues[0]!.message).toMatch(/^malformed YAML/);
    expect(error.issues[0]!.line).toBeGreaterThanOrEqual(2);
    expect(error.message).toMatch(/pytorch_config.yaml:\d+:\d+: \(top level\): malformed YAML/);
  });

  it('reports duplicate keys as malformed YAML', () => {
    expect(problems('device: cpu\ndevice: auto\n').issues[0]!.message).toMatch(/malformed YAML: .*unique/i);
  });

  it('rejects an empty file and a file that is not a mapping', () => {
    expect(problems('').message).toMatch(/empty file/);
    expect(problems('- a\n- b\n').message).toMatch(/expected a mapping/);
  });
});
