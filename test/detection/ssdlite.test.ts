// SSDLite320-MobileNetV3-Large against torchvision 0.14 (scripts/fixtures/make_ssdlite_fixtures.py), built as
// DeepLabCut builds it (num_classes=2, weights_backbone=None): the state-dict keys; on two images of different
// sizes in eval mode the transformed batch, the six feature maps, the raw head outputs and the final detections;
// in training mode the matcher's foreground anchors, both losses and the gradients of six parameters, with
// BatchNorm on batch statistics (torchvision's train()) and frozen (DeepLabCut's freeze_bn_stats). Weights are
// not stored: test/helpers/deterministic-weights.ts fills every entry as the script does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { SSDLite } from '../../src/models/detectors/ssdlite.ts';
import { matchTargets } from '../../src/models/detectors/ssd-loss.ts';
import { resizeBoxes } from '../../src/models/detectors/transform.ts';
import type { Detections } from '../../src/models/detectors/detector.ts';
import { expectClose, expectCloseNormwise } from '../helpers/compare.ts';
import { deterministicValues, fillDeterministic, signed } from '../helpers/deterministic-weights.ts';
import { useGpu } from '../helpers/gpu.ts';
import { expectSampled as expectSampledAt, type Sampled } from '../helpers/sampled.ts';

useGpu();

interface TrainCase {
  freeze_bn_stats: boolean;
  resized_targets: number[][];
  matched: [number, number][][];
  losses: { bbox_regression: number; classification: number };
  grads: Record<string, Sampled>;
  running: Record<string, Sampled>;
}
interface Fixture {
  images: { shape: number[]; seed: number }[];
  cls_shift: number;
  keys: [string, number[]][];
  eval: {
    transformed: Sampled;
    features: Sampled[];
    head: { bbox_regression: Sampled; cls_logits: Sampled };
    detections: { boxes: number[]; scores: number[]; labels: number[] }[];
  };
  targets: number[][][];
  train: TrainCase[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/detection/ssdlite.json', import.meta.url), 'utf8')) as Fixture;

const TOL = 1e-3;
/**
 * The first conv's gradient crosses the whole network and cancels: torchvision's own float32 gradient is 4.6e-3 off
 * its float64 one per element (9e-5 normwise), so it is compared normwise.
 */
const FIRST_CONV = 'backbone.features.0.0.0.weight';
/**
 * With BatchNorm on batch statistics the float32 gradients are ill-conditioned: at the 1x1 map each BatchNorm
 * normalises 2 values (its input gradient is rounding plus eps terms) and ReLU6 kinks decide single elements.
 * torchvision's own float32 gradients are up to 0.9% (normwise) off its float64 ones there, so ours are compared
 * normwise at 3%: a wrong backward is off by O(1).
 */
const BATCH_STATS_GRAD_TOL = 3e-2;

const expectSampled = (t: Tensor, want: Sampled, what: string, tol = TOL) => expectSampledAt(t, want, what, tol);

/** The fixture's model: deterministic weights, class-1 biases of the classification heads shifted by cls_shift. */
function parityModel(): SSDLite {
  const m = new SSDLite();
  fillDeterministic(m);
  const keys = m.stateDictKeys();
  dg.noGrad(() => {
    for (const [k, p] of m.namedParameters()) {
      if (!/^head\.classification_head\.module_list\.\d+\.1\.bias$/.test(k)) continue;
      // Channel a * 2 + 1 is anchor a's class-1 logit.
      const filled = deterministicValues(keys.indexOf(k), k, p.shape);
      p.assign(dg.tensor(filled.map((v, i) => (i % 2 === 1 ? Math.fround(v + fx.cls_shift) : v)), p.shape));
    }
  });
  return m;
}

const images = () => fx.images.map(({ shape, seed }) => dg.tensor(Float32Array.from(signed(seed, shape.reduce((a, b) => a * b, 1)), (v) => (v + 1) / 2), shape));

/** Each expected detection found among ours (label, box within 1e-2 px, score within 1e-4): the order of near-equal scores may differ. */
function expectSameDetections(got: Detections, want: { boxes: number[]; scores: number[]; labels: number[] }, what: string): void {
  expect(got.scores.length, `${what}: number of detections`).toBe(want.scores.length);
  for (let j = 1; j < got.scores.length; j++) expect(got.scores[j - 1]!, `${what}: scores sorted`).toBeGreaterThanOrEqual(got.scores[j]!);
  const used = new Set<number>();
  for (let i = 0; i < want.scores.length; i++) {
    const s = want.scores[i]!;
    let hit = -1;
    let worst = Infinity;
    for (let j = 0; j < got.scores.length && hit < 0; j++) {
      if (used.has(j) || got.labels[j] !== want.labels[i] || Math.abs(got.scores[j]! - s) > 1e-4 * s) continue;
      const d = Math.max(...[0, 1, 2, 3].map((c) => Math.abs(got.boxes[4 * j + c]! - want.boxes[4 * i + c]!)));
      worst = Math.min(worst, d);
      if (d <= 1e-2) hit = j;
    }
    expect(hit, `${what}: detection ${i} (score ${s}, box [${want.boxes.slice(4 * i, 4 * i + 4).join(', ')}]) not found (closest box ${worst} px away)`).toBeGreaterThanOrEqual(0);
    used.add(hit);
  }
}

describe('SSDLite matches torchvision 0.14 ssdlite320_mobilenet_v3_large(num_classes=2, weights_backbone=None)', () => {
  it("has torchvision's state-dict keys and shapes", () => {
    const m = new SSDLite();
    try {
      expect(m.stateDictShapes().map(([k, s]) => [k, [...s]])).toEqual(fx.keys);
      expect(m.backbone.outChannels).toEqual([672, 480, 512, 256, 256, 128]);
    } finally {
      m.dispose();
    }
  });

  it('eval: transformed batch, feature maps, head outputs and detections', async () => {
    const m = parityModel().eval();
    try {
      await dg.scope(async () => {
        const xs = images();
        const out = dg.noGrad(() => m.forward(xs));
        expect(out.batch.imageSizes).toEqual([
          [320, 320],
          [320, 320],
        ]);
        // Interpolated values against float64 torchvision: 1e-4 of the largest value (the relative error of values near 0 is larger).
        const tr = await out.batch.tensors.toArray();
        expectCloseNormwise(fx.eval.transformed.data.map((_, i) => tr[i * fx.eval.transformed.step]!), fx.eval.transformed.data, 1e-4, 'transformed images');
        for (const [i, f] of out.features.entries()) await expectSampled(f, fx.eval.features[i]!, `feature map ${i}`);
        await expectSampled(out.head.bboxRegression, fx.eval.head.bbox_regression, 'bbox_regression');
        await expectSampled(out.head.clsLogits, fx.eval.head.cls_logits, 'cls_logits');
        const { losses, detections } = await m.detect(xs);
        expect(losses).toEqual({});
        expect(detections).toHaveLength(2);
        detections.forEach((d, i) => expectSameDetections(d, fx.eval.detections[i]!, `image ${i}`));
      });
    } finally {
      m.dispose();
    }
  });

  for (const c of fx.train) {
    it(`training losses and gradients${c.freeze_bn_stats ? ' with freeze_bn_stats' : ' (BatchNorm on batch statistics)'}`, async () => {
      const m = parityModel().train();
      m.freezeBnStats = c.freeze_bn_stats;
      try {
        await dg.scope(async () => {
          const targets = fx.targets.map((b) => ({ boxes: dg.tensor(Float32Array.from(b.flat()), [b.length, 4]), labels: new Int32Array(b.length).fill(1) }));
          const { losses, detections } = await m.detect(images(), targets);
          expect(detections).toEqual([]);
          expect(Object.keys(losses).sort()).toEqual(['bbox_regression', 'classification']);
          expectClose([await losses.bbox_regression!.item()], [c.losses.bbox_regression], TOL, 'bbox_regression loss');
          expectClose([await losses.classification!.item()], [c.losses.classification], TOL, 'classification loss');
          dg.add(losses.bbox_regression!, losses.classification!).backward();
          const params = new Map(m.namedParameters());
          const failures: string[] = [];
          for (const [k, want] of Object.entries(c.grads)) {
            const g = params.get(k)?.grad;
            expect(g, `gradient of ${k}`).toBeTruthy();
            const check = async () => {
              if (c.freeze_bn_stats && k !== FIRST_CONV) return expectSampled(g!, want, `gradient of ${k}`);
              const all = await g!.toArray();
              expectCloseNormwise(want.data.map((_, i) => all[i * want.step]!), want.data, c.freeze_bn_stats ? TOL : BATCH_STATS_GRAD_TOL, `gradient of ${k}`);
            };
            await check().catch((e: Error) => failures.push(e.message));
          }
          expect(failures).toEqual([]);
        });
        const state = await m.stateDict();
        for (const [k, want] of Object.entries(c.running)) expectClose(want.data.map((_, i) => state.get(k)!.data[i * want.step]!), want.data, TOL, `${k} after the training forward`);
        if (c.freeze_bn_stats) expect(state.get('backbone.features.0.0.1.num_batches_tracked')!.data[0]).toBe(0);
      } finally {
        m.dispose();
      }
    });
  }

  it("matches default boxes as torchvision's SSDMatcher (IoU >= 0.5, and each box's best anchor)", () => {
    const m = new SSDLite();
    try {
      const anchors = m.anchorGenerator.boxesHost([320, 320], [[20, 20], [10, 10], [5, 5], [3, 3], [2, 2], [1, 1]]);
      const c = fx.train[0]!;
      const targets = fx.targets.map((b, i) => {
        const [, h, w] = fx.images[i]!.shape as [number, number, number];
        return { boxes: resizeBoxes(Float32Array.from(b.flat()), [h, w], [320, 320]), labels: new Int32Array(b.length).fill(1) };
      });
      targets.forEach((t, i) => expectClose(t.boxes, c.resized_targets[i]!, 1e-6, `resized targets of image ${i}`));
      const matches = matchTargets(targets, anchors, 0.5);
      matches.forEach((mm, i) => {
        const fg = [...mm].flatMap((g, a) => (g >= 0 ? [[a, g]] : []));
        expect(fg, `image ${i}`).toEqual(c.matched[i]);
      });
    } finally {
      m.dispose();
    }
  });
});
