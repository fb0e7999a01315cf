import { describe, expect, it } from 'vitest';
import { resolvePlaceholders, updateConfig } from '../../src/config/index.ts';

const values = { num_bodyparts: 10, num_individuals: 3, backbone_output_channels: 2048 };

describe('placeholders', () => {
  it.each([
    ['num_bodyparts', 10],
    ['num_bodyparts x 2', 20],
    ['num_bodyparts // 3', 3],
    ['num_bodyparts + 1', 11],
    ['backbone_output_channels // 2', 1024],
    ['backbone_output_channels', 2048],
    ['num_individuals', 3],
    ['num_individuals x 4', 12],
    [' num_bodyparts  ', 10],
  ])('"%s" becomes %s', (text, expected) => {
    expect(resolvePlaceholders({ a: [text] }, values)).toEqual({ a: [expected] });
  });

  it('leaves ordinary strings alone and resolves inside nested lists and maps', () => {
    const config = { key_metric: 'test.mAP', heads: { h: { channels: ['backbone_output_channels', 'num_bodyparts x 2'] } } };
    expect(resolvePlaceholders(config, values)).toEqual({ key_metric: 'test.mAP', heads: { h: { channels: [2048, 20] } } });
  });

  it.each([
    ['num_bodyparts * 2', /unknown operator '\*'/],
    ['num_bodyparts x two', /must be a whole number/],
    ['num_bodyparts x', /cannot parse placeholder/],
    ['num_bodyparts // 0', /divides by zero/],
  ])('rejects "%s"', (text, message) => {
    expect(() => resolvePlaceholders({ a: text }, values)).toThrow(message);
  });

  it('names the path of a placeholder that has no value', () => {
    try {
      resolvePlaceholders({ model: { c: ['num_individuals'] } }, { num_individuals: undefined });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/no value is known for num_individuals/);
      expect((err as { path: unknown }).path).toEqual(['model', 'c', 0]);
    }
  });
});

describe('updateConfig (DeepLabCut merge semantics)', () => {
  it('merges mappings but replaces optimizer and scheduler whole', () => {
    const base = { runner: { type: 'PoseTrainingRunner', eval_interval: 10, optimizer: { type: 'AdamW', params: { lr: 1e-4, weight_decay: 0.1 } } } };
    const merged = updateConfig(base, { runner: { optimizer: { type: 'AdamW', params: { lr: 5e-4 } } } });
    expect(merged).toEqual({ runner: { type: 'PoseTrainingRunner', eval_interval: 10, optimizer: { type: 'AdamW', params: { lr: 5e-4 } } } });
    expect(updateConfig({ a: { b: 1, c: 2 } }, { a: { c: 3 } })).toEqual({ a: { b: 1, c: 3 } });
    expect(updateConfig({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
  });
});
