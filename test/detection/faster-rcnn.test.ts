// Faster R-CNN (fasterrcnn_mobilenet_v3_large_fpn as DeepLabCut builds it) against torchvision 0.14
// (scripts/fixtures/make_faster_rcnn_fixtures.py): the state-dict keys of both structures torchvision builds; on two
// openfield frames in eval mode (min_size 192 / max_size 320) the transformed batch, the FPN maps, the RPN head,
// the proposals and the detections; in training mode with deterministic samplers the four losses and gradients;
// GeneralizedRCNNTransform's default 800 / 1333 sizes and the anchors at that size. Weights are not stored:
// test/helpers/deterministic-weights.ts fills every entry as the script does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { FasterRCNN, type FasterRCNNOptions } from '../../src/models/detectors/faster-rcnn.ts';
import { expectClose, expectCloseNormwise } from '../helpers/compare.ts';
import { fillDeterministic } from '../helpers/deterministic-weights.ts';
import { useGpu } from '../helpers/gpu.ts';
import { expectSampled as expectSampledAt, type Sampled } from '../helpers/sampled.ts';

useGpu();

interface Dets {
  boxes: number[];
  scores: number[];
  labels?: number[];
}
interface Fixture {
  keys: [string, number[]][];
  keys_frozen: [string, number[]][];
  images: { shape: [number, number, number]; rgb: string }[];
  small: { min_size: number; max_size: number };
  eval: {
    image_sizes: [number, number][];
    transformed: Sampled;
    features: Record<string, Sampled>;
    rpn_level0: { logits: Sampled; deltas: Sampled };
    proposals: Dets[];
    proposal_sensitivity_px: number;
    detections: Required<Dets>[];
  };
  train: { targets: number[][][]; losses: Record<string, number>; grads: Record<string, Sampled>; grad_sensitivity: Record<string, number> };
  transform_default: { input: [number, number]; image_size: [number, number]; batch: number[]; grids?: [number, number][]; anchors?: { count: number; first: number[]; last: number[] } }[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/detection/faster_rcnn.json', import.meta.url), 'utf8')) as Fixture;
const TOL = 1e-3;

const expectSampled = (t: Tensor, want: Sampled, what: string, tol = TOL) => expectSampledAt(t, want, what, tol);

/** The frames as [3, H, W] in [0, 1] (bytes / 255, as the script feeds torchvision). */
function images(): Tensor[] {
  return fx.images.map(({ shape: [h, w], rgb }) => {
    const bytes = Buffer.from(rgb, 'base64');
    const chw = new Float32Array(3 * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) chw[c * h * w + y * w + x] = Math.fround(bytes[(y * w + x) * 3 + c]! / 255);
    return dg.tensor(chw, [3, h, w]);
  });
}

function parityModel(opts: FasterRCNNOptions = {}): FasterRCNN {
  const m = new FasterRCNN({ minSize: fx.small.min_size, maxSize: fx.small.max_size, boxScoreThresh: 0.01, ...opts });
  fillDeterministic(m);
  return m;
}

/**
 * Each expected box found among ours (label, box within 1e-2 px, score within 1e-4 relative), counts equal and ours
 * score-sorted: near-equal scores may come in another order.
 */
function expectSameBoxes(got: { boxes: Float32Array; scores: Float32Array; labels?: Int32Array }, want: Dets, what: string, px = 1e-2): void {
  expect(got.scores.length, `${what}: count`).toBe(want.scores.length);
  for (let j = 1; j < got.scores.length; j++) expect(got.scores[j - 1]!, `${what}: scores sorted`).toBeGreaterThanOrEqual(got.scores[j]!);
  const used = new Set<number>();
  const missing: string[] = [];
  for (let i = 0; i < want.scores.length; i++) {
    const s = want.scores[i]!;
    let hit = -1;
    let worst = Infinity;
    for (let j = 0; j < got.scores.length && hit < 0; j++) {
      if (used.has(j) || (want.labels && got.labels![j] !== want.labels[i]) || Math.abs(got.scores[j]! - s) > 1e-4 * s) continue;
      const d = Math.max(...[0, 1, 2, 3].map((c) => Math.abs(got.boxes[4 * j + c]! - want.boxes[4 * i + c]!)));
      worst = Math.min(worst, d);
      if (d <= px) hit = j;
    }
    if (hit < 0) missing.push(`${i} (score ${s}, box [${want.boxes.slice(4 * i, 4 * i + 4).join(', ')}], closest ${worst} px)`);
    else used.add(hit);
  }
  expect(missing, `${what}: boxes not found`).toEqual([]);
}

describe('FasterRCNN matches torchvision 0.14 fasterrcnn_mobilenet_v3_large_fpn as DeepLabCut builds it', () => {
  it("has torchvision's state-dict keys and shapes, with BatchNorm2d (no weights) and FrozenBatchNorm2d (weights)", () => {
    for (const [pretrainedBackbone, want] of [[false, fx.keys], [true, fx.keys_frozen]] as const) {
      const m = new FasterRCNN({ pretrainedBackbone });
      try {
        expect(m.stateDictShapes().map(([k, s]) => [k, [...s]])).toEqual(want);
      } finally {
        m.dispose();
      }
    }
  });

  it('eval: transformed batch, FPN maps, RPN head, proposals and detections', async () => {
    const m = parityModel().eval();
    try {
      await dg.scope(async () => {
        const xs = images();
        const batch = dg.noGrad(() => m.transform.forward(xs));
        expect(batch.imageSizes).toEqual(fx.eval.image_sizes);
        const tr = await batch.tensors.toArray();
        expectCloseNormwise(fx.eval.transformed.data.map((_, i) => tr[i * fx.eval.transformed.step]!), fx.eval.transformed.data, 1e-4, 'transformed images');
        const f = dg.noGrad(() => m.backbone.forward(batch.tensors));
        expect(f.names).toEqual(Object.keys(fx.eval.features));
        for (const [i, name] of f.names.entries()) await expectSampled(f.maps[i]!, fx.eval.features[name]!, `FPN map ${name}`);
        const levels = dg.noGrad(() => m.rpn.head.forward(f.maps));
        await expectSampled(levels.logits[0]!, fx.eval.rpn_level0.logits, 'RPN logits, level 0');
        await expectSampled(levels.deltas[0]!, fx.eval.rpn_level0.deltas, 'RPN deltas, level 0');
        const proposals = await m.rpn.proposals(dg.noGrad(() => m.rpn.heads(batch.tensors, f.maps)), batch.imageSizes);
        // A large proposal's sides are exp(delta) times its anchor's: torchvision's own proposals move by up to
        // proposal_sensitivity_px under an input change of the size our resize differs by (the script's perturbation).
        proposals.forEach((p, i) => expectSameBoxes(p, fx.eval.proposals[i]!, `proposals of image ${i}`, Math.max(1e-2, fx.eval.proposal_sensitivity_px)));
        const { losses, detections } = await m.detect(xs);
        expect(losses).toEqual({});
        detections.forEach((d, i) => expectSameBoxes(d, fx.eval.detections[i]!, `detections of image ${i}`));
      });
    } finally {
      m.dispose();
    }
  });

  it('training: the four losses and gradients with deterministic samplers and freeze_bn_stats', async () => {
    const m = parityModel({ rpn: { batchSizePerImage: 10 ** 6 }, boxBatchSizePerImage: 10 ** 6, freezeBnStats: true }).train();
    try {
      await dg.scope(async () => {
        const targets = fx.train.targets.map((b) => ({ boxes: dg.tensor(Float32Array.from(b.flat()), [b.length, 4]), labels: new Int32Array(b.length).fill(1) }));
        const { losses, detections } = await m.detect(images(), targets);
        expect(detections).toEqual([]);
        expect(Object.keys(losses)).toEqual(Object.keys(fx.train.losses));
        for (const [k, v] of Object.entries(fx.train.losses)) expectClose([await losses[k]!.item()], [v], TOL, k);
        let total = losses.loss_classifier!;
        for (const k of ['loss_box_reg', 'loss_objectness', 'loss_rpn_box_reg']) total = dg.add(total, losses[k]!);
        total.backward();
        const params = new Map(m.namedParameters());
        const failures: string[] = [];
        for (const [k, want] of Object.entries(fx.train.grads)) {
          const g = params.get(k)?.grad;
          expect(g, `gradient of ${k}`).toBeTruthy();
          const all = await g!.toArray();
          try {
            // Gradients through ReLU kinks move with the input: the tolerance is at least torchvision's own change under
            // the script's 5e-5 perturbation of the transformed batch (1e-2 for the RPN conv, 1e-3 elsewhere).
            expectCloseNormwise(want.data.map((_, i) => all[i * want.step]!), want.data, Math.max(TOL, fx.train.grad_sensitivity[k]!), `gradient of ${k}`);
          } catch (e) {
            failures.push((e as Error).message);
          }
        }
        expect(failures).toEqual([]);
      });
    } finally {
      m.dispose();
    }
  });

  it("resizes as GeneralizedRCNNTransform(800, 1333) does by default, with torchvision's anchors at that size", () => {
    const m = new FasterRCNN();
    try {
      for (const c of fx.transform_default) {
        expect(m.transform.resizedSize(c.input), `${c.input.join('x')}`).toEqual(c.image_size);
        const [h, w] = c.image_size;
        expect([1, 3, Math.ceil(h / 32) * 32, Math.ceil(w / 32) * 32]).toEqual(c.batch);
        if (!c.anchors) continue;
        const a = m.anchorGenerator.anchorsHost(c.batch.slice(2), c.grids!);
        expect(a.length / 4).toBe(c.anchors.count);
        expectClose(a.slice(0, 80), c.anchors.first, 1e-6, 'first anchors');
        expectClose(a.slice(a.length - 80), c.anchors.last, 1e-6, 'last anchors');
      }
    } finally {
      m.dispose();
    }
  });
});
