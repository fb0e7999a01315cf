// fasterrcnn_resnet50_fpn and fasterrcnn_resnet50_fpn_v2 as DeepLabCut builds them, against torchvision 0.14
// (scripts/fixtures/make_faster_rcnn_resnet50_fixtures.py): the state-dict keys (v1 with BatchNorm2d and with
// FrozenBatchNorm2d, v2); on the two openfield frames of faster-rcnn.test.ts in eval mode (min_size 128 / max_size
// 192, 300 / 50 RPN proposals per level before / after NMS) the five FPN maps, the proposals and the detections;
// for v2 the four training losses with deterministic samplers and freeze_bn_stats. Weights are the deterministic fill
// with each bottleneck's last BatchNorm weight scaled by the script's RESIDUAL_SCALE.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import type { Tensor } from '../../src/index.ts';
import { FasterRCNN, type FasterRCNNOptions, type FasterRcnnVariant } from '../../src/models/detectors/faster-rcnn.ts';
import { loadFasterRcnnWeights } from '../../src/models/detectors/index.ts';
import { expectClose } from '../helpers/compare.ts';
import { deterministicValues, fillDeterministic } from '../helpers/deterministic-weights.ts';
import { useGpu } from '../helpers/gpu.ts';
import { expectSampled, type Sampled } from '../helpers/sampled.ts';

useGpu();

interface Dets {
  boxes: number[];
  scores: number[];
  labels?: number[];
}
interface Case {
  keys: [string, number[]][];
  keys_frozen?: [string, number[]][];
  eval: {
    image_sizes: [number, number][];
    features: Record<string, Sampled>;
    proposals: Dets[];
    proposal_sensitivity_px: number;
    detections: Required<Dets>[];
    detection_sensitivity: { score_rel: number | null; px: number | null }[][];
  };
  train?: { targets: number[][][]; losses: Record<string, number> };
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/detection/faster_rcnn_resnet50.json', import.meta.url), 'utf8')) as Record<FasterRcnnVariant, Case>;
const frames = (JSON.parse(readFileSync(new URL('../fixtures/detection/faster_rcnn.json', import.meta.url), 'utf8')) as { images: { shape: [number, number, number]; rgb: string }[] }).images;
const RESIDUAL_SCALE = 0.1;
const TOL = 1e-3;

function images(): Tensor[] {
  return frames.map(({ shape: [h, w], rgb }) => {
    const bytes = Buffer.from(rgb, 'base64');
    const chw = new Float32Array(3 * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) chw[c * h * w + y * w + x] = Math.fround(bytes[(y * w + x) * 3 + c]! / 255);
    return dg.tensor(chw, [3, h, w]);
  });
}

/** The script's weights: the deterministic fill, each bottleneck's bn3.weight times RESIDUAL_SCALE (float32). */
function parityModel(variant: FasterRcnnVariant, opts: FasterRCNNOptions = {}): FasterRCNN {
  const m = new FasterRCNN({ variant, minSize: 128, maxSize: 192, boxScoreThresh: 0.01, ...opts });
  fillDeterministic(m);
  const keys = m.stateDictKeys();
  dg.noGrad(() => {
    for (const [k, p] of m.namedBuffers().concat(m.namedParameters())) {
      if (!/^backbone\.body\.layer\d\.\d+\.bn3\.weight$/.test(k)) continue;
      p.assign(dg.tensor(deterministicValues(keys.indexOf(k), k, p.shape).map((v) => Math.fround(v * RESIDUAL_SCALE)), p.shape));
    }
  });
  return m;
}

/**
 * Each expected box found among ours (label, box within `px`, score within `rel`), counts equal. `tol(i)` may widen
 * both for detection i: to twice what torchvision's own detection moves under the script's perturbation.
 */
function expectSameBoxes(got: { boxes: Float32Array; scores: Float32Array; labels?: Int32Array }, want: Dets, what: string, px = 1e-2, tol: (i: number) => { px: number; rel: number } = () => ({ px, rel: 1e-4 })): void {
  expect(got.scores.length, `${what}: count`).toBe(want.scores.length);
  const used = new Set<number>();
  const missing: string[] = [];
  for (let i = 0; i < want.scores.length; i++) {
    const s = want.scores[i]!;
    const t = tol(i);
    let hit = -1;
    let worst = Infinity;
    for (let j = 0; j < got.scores.length && hit < 0; j++) {
      if (used.has(j) || (want.labels && got.labels![j] !== want.labels[i]) || Math.abs(got.scores[j]! - s) > t.rel * s) continue;
      const d = Math.max(...[0, 1, 2, 3].map((c) => Math.abs(got.boxes[4 * j + c]! - want.boxes[4 * i + c]!)));
      worst = Math.min(worst, d);
      if (d <= t.px) hit = j;
    }
    if (hit < 0) missing.push(`${i} (score ${s}, box [${want.boxes.slice(4 * i, 4 * i + 4).join(', ')}], closest ${worst} px)`);
    else used.add(hit);
  }
  expect(missing, `${what}: boxes not found`).toEqual([]);
}

const SMALL_RPN = { preNmsTopNTest: 300, postNmsTopNTest: 50 };

for (const variant of ['fasterrcnn_resnet50_fpn', 'fasterrcnn_resnet50_fpn_v2'] as const) {
  const c = fx[variant];
  describe(`FasterRCNN ${variant} matches torchvision 0.14`, () => {
    it("has torchvision's state-dict keys and shapes", () => {
      const structures: [boolean, [string, number[]][]][] = [[false, c.keys]];
      if (c.keys_frozen) structures.push([true, c.keys_frozen]);
      // v2 keeps BatchNorm2d with weights too: the same keys.
      else structures.push([true, c.keys]);
      for (const [pretrainedBackbone, want] of structures) {
        const m = new FasterRCNN({ variant, pretrainedBackbone });
        try {
          expect(m.stateDictShapes().map(([k, s]) => [k, [...s]])).toEqual(want);
          const trainable = new Map(m.namedParameters().map(([k, p]) => [k, p.requiresGrad]));
          // trainable_backbone_layers: 3 with weights (layer2-4), 5 without.
          expect(trainable.get('backbone.body.layer1.0.conv1.weight')).toBe(!pretrainedBackbone);
          expect(trainable.get('backbone.body.layer2.0.conv1.weight')).toBe(true);
        } finally {
          m.dispose();
        }
      }
    });

    it('eval: FPN maps, proposals and detections on two openfield frames', async () => {
      const m = parityModel(variant, { rpn: SMALL_RPN }).eval();
      try {
        await dg.scope(async () => {
          const xs = images();
          const batch = dg.noGrad(() => m.transform.forward(xs));
          expect(batch.imageSizes).toEqual(c.eval.image_sizes);
          const f = dg.noGrad(() => m.backbone.forward(batch.tensors));
          expect(f.names).toEqual(Object.keys(c.eval.features));
          for (const [i, name] of f.names.entries()) await expectSampled(f.maps[i]!, c.eval.features[name]!, `FPN map ${name}`, TOL);
          const proposals = await m.rpn.proposals(dg.noGrad(() => m.rpn.heads(batch.tensors, f.maps)), batch.imageSizes);
          proposals.forEach((p, i) => expectSameBoxes(p, c.eval.proposals[i]!, `proposals of image ${i}`, Math.max(1e-2, c.eval.proposal_sensitivity_px)));
          const { detections } = await m.detect(xs);
          // Scores through the RoI heads move with the input (thin boxes pool from shifting sample points): each
          // detection is held to 1e-4 / 1e-2 px, or twice torchvision's own change under the perturbation.
          detections.forEach((d, i) =>
            expectSameBoxes(d, c.eval.detections[i]!, `detections of image ${i}`, 1e-2, (j) => {
              const m = c.eval.detection_sensitivity[i]![j]!;
              return { px: Math.max(1e-2, 2 * (m.px ?? 0)), rel: Math.max(1e-4, 2 * (m.score_rel ?? 0)) };
            }),
          );
        });
      } finally {
        m.dispose();
      }
    });

    if (variant === 'fasterrcnn_resnet50_fpn') {
      it("with weights (FrozenBatchNorm2d; eps 0 after torchvision's COCO file) detects as the BatchNorm2d model in eval", async () => {
        const bn = parityModel(variant);
        const state = await bn.stateDict();
        bn.dispose();
        const m = new FasterRCNN({ variant, pretrainedBackbone: true, minSize: 128, maxSize: 192, boxScoreThresh: 0.01, rpn: SMALL_RPN });
        try {
          // The COCO file swaps every FrozenBatchNorm2d for an eps-0 one; the parity values then go in (counters dropped).
          loadFasterRcnnWeights(m, fileURLToPath(new URL('../fixtures/detection/frcnn_resnet50_fpn_coco91.pt', import.meta.url)));
          m.loadStateDict(state, true);
          m.eval();
          await dg.scope(async () => {
            const { detections } = await m.detect(images());
            detections.forEach((d, i) =>
              expectSameBoxes(d, c.eval.detections[i]!, `detections of image ${i}`, 1e-2, (j) => {
                const s = c.eval.detection_sensitivity[i]![j]!;
                return { px: Math.max(1e-2, 2 * (s.px ?? 0)), rel: Math.max(1e-4, 2 * (s.score_rel ?? 0)) };
              }),
            );
          });
        } finally {
          m.dispose();
        }
      });
    }

    if (c.train) {
      const train = c.train;
      it('training: the four losses with deterministic samplers and freeze_bn_stats', async () => {
        const m = parityModel(variant, { rpn: { preNmsTopNTrain: 300, postNmsTopNTrain: 50, batchSizePerImage: 10 ** 6 }, boxBatchSizePerImage: 10 ** 6, freezeBnStats: true }).train();
        try {
          await dg.scope(async () => {
            const targets = train.targets.map((b) => ({ boxes: dg.tensor(Float32Array.from(b.flat()), [b.length, 4]), labels: new Int32Array(b.length).fill(1) }));
            const { losses } = await m.detect(images(), targets);
            expect(Object.keys(losses)).toEqual(Object.keys(train.losses));
            for (const [k, v] of Object.entries(train.losses)) expectClose([await losses[k]!.item()], [v], TOL, k);
          });
        } finally {
          m.dispose();
        }
      });
    }
  });
}
