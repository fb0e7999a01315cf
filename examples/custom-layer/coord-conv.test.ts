// The example layer's checks: AddCoords' kernel against the definition, its backward through gradcheck
// (alone and inside the head), the head equal to a HeatmapHead while its block is zero, and the plugin's
// schema rejecting a misspelt key at its line. The CLI run on openfield is test/extend/custom-layer-cli.test.ts.
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { parsePoseConfig } from '../../src/config/index.ts';
import { generatedText } from '../../test/config/helpers.ts';
import { useGpu } from '../../test/helpers/gpu.ts';
import register, { createCoordConv } from './coord-conv.ts';

useGpu();
const { addCoords, CoordConvHeatmapHead } = createCoordConv(dg);
const deconv = (c: number[]) => ({ channels: c, kernel_size: [3], strides: [2] });

const scalar = createCoordConv(dg, { vectorized: false }).addCoords;

describe('addCoords', () => {
  // 3x4 planes take the vec4 path; 3x5 planes, and the forced scalar op, the scalar one.
  const variants: [string, typeof addCoords, number][] = [
    ['vec4', addCoords, 4],
    ['scalar (odd plane)', addCoords, 5],
    ['scalar (forced)', scalar, 4],
  ];
  it.each(variants)('%s: appends x and y in [-1, 1] (and the radius) after the input channels', async (_, op, W) => {
    const H = 3;
    const x = dg.tensor(dg.seededUniform(2 * 1 * H * W, 1), [2, 1, H, W]);
    const input = await x.toArray();
    for (const withRadius of [false, true]) {
      const y = op([x], { withRadius });
      const C = withRadius ? 4 : 3;
      expect(y.shape).toEqual([2, C, H, W]);
      const out = await y.toArray();
      for (let b = 0; b < 2; b++)
        for (let r = 0; r < H; r++)
          for (let c = 0; c < W; c++) {
            const at = (ch: number) => out[((b * C + ch) * H + r) * W + c]!;
            const [cx, cy] = [(2 * c) / (W - 1) - 1, (2 * r) / (H - 1) - 1];
            expect(at(0)).toBe(input[(b * H + r) * W + c]);
            expect(at(1)).toBeCloseTo(cx, 6);
            expect(at(2)).toBeCloseTo(cy, 6);
            if (withRadius) expect(at(3)).toBeCloseTo(Math.hypot(cx, cy) / Math.SQRT2, 6);
          }
    }
  });

  it.each(variants)('%s: passes gradcheck, alone and followed by other ops', async (_, op, W) => {
    const input = [{ data: dg.seededUniform(2 * 3 * 4 * W, 2), shape: [2, 3, 4, W] }];
    expect((await dg.gradcheck(([x]) => op([x!]), input)).ok).toBe(true);
    const r = await dg.gradcheck(([x]) => dg.tanh(dg.mulScalar(op([x!], { withRadius: true }), 1.5)), input);
    expect(r.failures).toEqual([]);
  });
});

describe('CoordConvHeatmapHead', () => {
  it('is a HeatmapHead while its block is zero, and gradients reach every parameter', async () => {
    const cfg = { type: 'CoordConvHeatmapHead', heatmap_config: deconv([6, 2]), locref_config: deconv([6, 4]) };
    const head = new CoordConvHeatmapHead(cfg, { inChannels: 6, seed: 3 });
    const plain = new dg.models.HeatmapHead(cfg.heatmap_config, cfg.locref_config, { seed: 3 });
    const features = dg.tensor(dg.seededUniform(2 * 6 * 4 * 4, 5), [2, 6, 4, 4]);
    const a = head.forward(features);
    const b = plain.forward(features);
    expect(Array.from(await a.heatmap!.toArray())).toEqual(Array.from(await b.heatmap!.toArray()));
    expect(Array.from(await a.locref!.toArray())).toEqual(Array.from(await b.locref!.toArray()));
    expect(head.namedParameters().map(([n]) => n)).toContain('coord_conv.weight');

    const random = new CoordConvHeatmapHead({ ...cfg, zero_init: false }, { inChannels: 6, seed: 3 });
    const y = random.forward(features);
    dg.sum(dg.add(dg.sum(y.heatmap!), dg.sum(y.locref!))).backward();
    for (const [name, p] of random.namedParameters()) expect(p.grad, name).not.toBeNull();
    const conv = (await random.namedParameters().find(([n]) => n === 'coord_conv.weight')![1].grad!.toArray()).slice(0, 8);
    expect(conv.some((g) => g !== 0)).toBe(true);
  });

  it('registers with a schema: defaults filled in, a misspelt key refused at its line', () => {
    register(dg);
    try {
      const text = generatedText('resnet_50').replace('type: HeatmapHead', 'type: CoordConvHeatmapHead');
      const { config } = parsePoseConfig(text, 'coord.yaml');
      expect(config.model.heads.bodypart).toMatchObject({ type: 'CoordConvHeatmapHead', with_radius: false, zero_init: true });
      const typo = text.replace('type: CoordConvHeatmapHead', 'type: CoordConvHeatmapHead\n      with_radios: true');
      const line = typo.split('\n').findIndex((l) => l.includes('with_radios')) + 1;
      expect(() => parsePoseConfig(typo, 'coord.yaml')).toThrow(`coord.yaml:${line}:7: model.heads.bodypart.with_radios: unknown key 'with_radios'; did you mean 'with_radius'?`);
    } finally {
      dg.registries.HEADS.unregister('CoordConvHeatmapHead');
    }
  });
});
