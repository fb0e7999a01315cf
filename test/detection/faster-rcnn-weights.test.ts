// Faster R-CNN's weights from files and the DETECTORS builder: torch.save files written by torchvision 0.14
// (scripts/fixtures/make_faster_rcnn_fixtures.py; every tensor a stride-0 view whose value is its state-dict index)
// load as DeepLabCut's `pretrained` does: a DeepLabCut detector snapshot strictly, COCO's 91-class layout with the
// box predictor left as initialised, the ImageNet MobileNetV3-Large file into backbone.body; a file for another
// variant fails naming the first keys that do not fit. The builder reads variant / pretrained / freeze_bn_* /
// box_score_thresh with DeepLabCut's defaults and refuses pretrained: true with how to supply the file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { readTorchFile } from '../../src/io/index.ts';
import { FrozenBatchNorm2d } from '../../src/nn/frozen-batch-norm.ts';
import { BatchNorm2d } from '../../src/nn/norm-layers.ts';
import { buildFasterRcnn, loadFasterRcnnWeights } from '../../src/models/detectors/index.ts';
import { FasterRCNN } from '../../src/models/detectors/faster-rcnn.ts';
import { torchvisionStateDict } from '../../src/models/detectors/ssdlite.ts';
import { DETECTORS } from '../../src/models/registries.ts';
import { useGpu } from '../helpers/gpu.ts';

const engine = useGpu();

const path = (name: string) => fileURLToPath(new URL(`../fixtures/detection/${name}`, import.meta.url));
const fx = JSON.parse(readFileSync(path('faster_rcnn.json'), 'utf8')) as { keys: [string, number[]][]; keys_frozen: [string, number[]][] };
const frozenKeys = fx.keys_frozen.map(([k]) => k);
const ctx = { where: 'detector.model', seed: 3 };
const MNV3 = { type: 'FasterRCNN', variant: 'fasterrcnn_mobilenet_v3_large_fpn' };

/** Whether two arrays hold the same values (a loop: deep equality of 12.8 M-element arrays is slow). */
function same(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Values of every entry of `m` by key. */
async function values(m: FasterRCNN): Promise<Map<string, Float32Array>> {
  return new Map([...(await m.stateDict())].map(([k, e]) => [k, Float32Array.from(e.data)]));
}

describe('FasterRCNN weights from torchvision and DeepLabCut files', () => {
  it('loads a DeepLabCut detector snapshot (model.-prefixed keys under "model") strictly through the builder', async () => {
    const m = buildFasterRcnn({ ...MNV3, pretrained: path('frcnn_mnv3_dlc_snapshot.pt') }, ctx);
    try {
      // A weights file means torchvision's trained structure: FrozenBatchNorm2d, the first stages frozen.
      expect(m.namedModules().some(([, x]) => x instanceof FrozenBatchNorm2d)).toBe(true);
      expect(m.namedModules().some(([, x]) => x instanceof BatchNorm2d)).toBe(false);
      const v = await values(m);
      expect([...v.keys()]).toEqual(frozenKeys);
      frozenKeys.forEach((k, i) => expect(v.get(k)!.every((x) => x === i), `${k} holds ${i}`).toBe(true));
      const grads = new Map(m.namedParameters().map(([k, p]) => [k, p.requiresGrad]));
      // trainable_backbone_layers 3: features[:stage_indices[3] = 7] frozen.
      expect(grads.get('backbone.body.6.block.0.0.weight')).toBe(false);
      expect(grads.get('backbone.body.7.block.0.0.weight')).toBe(true);
      expect(grads.get('rpn.head.conv.0.0.weight')).toBe(true);
    } finally {
      m.dispose();
    }
  });

  it("leaves a COCO file's 91-class box predictor as initialised (DeepLabCut's fresh 2-class predictor) and loads the rest", async () => {
    const m = new FasterRCNN({ pretrainedBackbone: true, seed: 5 });
    try {
      const before = await values(m);
      loadFasterRcnnWeights(m, path('frcnn_mnv3_coco91.pt'));
      const v = await values(m);
      frozenKeys.forEach((k, i) => {
        if (k.startsWith('roi_heads.box_predictor.')) expect(same(v.get(k), before.get(k)), k).toBe(true);
        else expect(v.get(k)!.every((x) => x === i), `${k} holds ${i}`).toBe(true);
      });
    } finally {
      m.dispose();
    }
  });

  it("loads ImageNet MobileNetV3-Large weights (features.*, BatchNorm2d counters dropped) into backbone.body only", async () => {
    const m = new FasterRCNN({ pretrainedBackbone: true });
    try {
      const before = await values(m);
      loadFasterRcnnWeights(m, path('mobilenet_v3_large_imagenet.pt'));
      const file = torchvisionStateDict(readTorchFile(path('mobilenet_v3_large_imagenet.pt')), 'imagenet');
      const index = new Map([...file.keys()].map((k, i) => [k, i]));
      const v = await values(m);
      for (const k of frozenKeys) {
        if (k.startsWith('backbone.body.')) expect(v.get(k)!.every((x) => x === index.get(`features.${k.slice('backbone.body.'.length)}`)), k).toBe(true);
        else expect(same(v.get(k), before.get(k)), k).toBe(true);
      }
    } finally {
      m.dispose();
    }
  });

  it('a BatchNorm2d model loads a file of its own keys strictly, and a FrozenBatchNorm2d one drops the counters', async () => {
    const bn = new FasterRCNN();
    const frozen = new FasterRCNN({ pretrainedBackbone: true });
    try {
      const state = await bn.stateDict();
      frozen.loadStateDict(state, true);
      bn.loadStateDict(state, true);
      expect(() => bn.loadStateDict(new Map([...state].filter(([k]) => !k.endsWith('num_batches_tracked'))), true)).toThrow(/missing keys .*num_batches_tracked/);
    } finally {
      bn.dispose();
      frozen.dispose();
    }
  });

  it("loads torchvision's fasterrcnn_resnet50_fpn state dict into that variant strictly", async () => {
    const m = new FasterRCNN({ variant: 'fasterrcnn_resnet50_fpn' });
    try {
      loadFasterRcnnWeights(m, path('frcnn_resnet50_fpn_state.pt'));
      const file = [...torchvisionStateDict(readTorchFile(path('frcnn_resnet50_fpn_state.pt')), 'r50').keys()];
      const v = await values(m);
      expect([...v.keys()]).toEqual(file);
      file.forEach((k, i) => expect(v.get(k)!.every((x) => x === i), `${k} holds ${i}`).toBe(true));
    } finally {
      m.dispose();
    }
  });

  it("gives fasterrcnn_resnet50_fpn's FrozenBatchNorm2d eps 0 with COCO weights, as torchvision's overwrite_eps does", () => {
    const eps = (m: FasterRCNN) => new Set(m.namedModules().flatMap(([, x]) => (x instanceof FrozenBatchNorm2d ? [x.eps] : [])));
    const coco = new FasterRCNN({ variant: 'fasterrcnn_resnet50_fpn', pretrainedBackbone: true });
    const other = new FasterRCNN({ variant: 'fasterrcnn_resnet50_fpn', pretrainedBackbone: true });
    try {
      expect(eps(coco)).toEqual(new Set([1e-5]));
      loadFasterRcnnWeights(coco, path('frcnn_resnet50_fpn_coco91.pt'));
      expect(eps(coco)).toEqual(new Set([0]));
      expect(coco.namedModules().filter(([, x]) => x instanceof FrozenBatchNorm2d)).toHaveLength(53);
      // A 2-class file (a DeepLabCut snapshot, or torchvision's state dict) keeps eps 1e-5, as DeepLabCut's inference does.
      loadFasterRcnnWeights(other, path('frcnn_resnet50_fpn_state.pt'));
      expect(eps(other)).toEqual(new Set([1e-5]));
    } finally {
      coco.dispose();
      other.dispose();
    }
  });

  it('a file of another variant fails naming the first keys that do not fit', () => {
    const m = new FasterRCNN({ pretrainedBackbone: true });
    try {
      expect(() => loadFasterRcnnWeights(m, path('frcnn_resnet50_fpn_state.pt'))).toThrow(
        /detector\.model\.pretrained: .*frcnn_resnet50_fpn_state\.pt does not hold fasterrcnn_mobilenet_v3_large_fpn weights: missing keys: backbone\.body\.0\.0\.weight, backbone\.body\.0\.1\.weight, .*unexpected keys: backbone\.body\.conv1\.weight, backbone\.body\.bn1\.weight, .*\(\d+ in all\)/,
      );
      // An SSDLite file fails the same way.
      expect(() => loadFasterRcnnWeights(m, path('ssdlite_state.pt'))).toThrow(/does not hold fasterrcnn_mobilenet_v3_large_fpn weights: missing keys: backbone\.body\.0\.0\.weight.*unexpected keys: backbone\.features\.0\.0\.0\.weight/);
    } finally {
      m.dispose();
    }
  });
});

describe('the FasterRCNN builder (DETECTORS)', () => {
  it("is registered under DeepLabCut's type name with its defaults: BatchNorm2d without weights, box_score_thresh 0.01", () => {
    const m = DETECTORS.build({ ...MNV3 }, ctx, 'detector.model') as FasterRCNN;
    try {
      expect(m).toBeInstanceOf(FasterRCNN);
      expect(m.variant).toBe('fasterrcnn_mobilenet_v3_large_fpn');
      expect(m.roiHeads.opts.scoreThresh).toBe(0.01);
      expect(m.rpn.opts.scoreThresh).toBe(0.05);
      expect(m.transform.minSize).toEqual([800]);
      expect(m.transform.maxSize).toBe(1333);
      expect(m.hasBatchNorm).toBe(true);
      expect(m.freezeBnStats).toBe(false);
      // No weights: torchvision's trainable_backbone_layers 6, every stage trainable.
      expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
    } finally {
      m.dispose();
    }
    const f = buildFasterRcnn({ ...MNV3, freeze_bn_stats: true, freeze_bn_weights: true, box_score_thresh: 0.3 }, ctx);
    try {
      expect(f.roiHeads.opts.scoreThresh).toBe(0.3);
      expect(f.freezeBnStats).toBe(true);
      const bns = f.namedModules().flatMap(([, x]) => (x instanceof BatchNorm2d ? [x] : []));
      expect(bns.every((b) => b.freezeStats && b.freezeWeights)).toBe(true);
    } finally {
      f.dispose();
    }
  });

  it("builds every variant DeepLabCut's config accepts, with torchvision's defaults for each", () => {
    const want = {
      fasterrcnn_mobilenet_v3_large_fpn: { min: 800, max: 1333, pre: 1000, score: 0.05, anchors: 15, maps: 3 },
      fasterrcnn_mobilenet_v3_large_320_fpn: { min: 320, max: 640, pre: 150, score: 0.05, anchors: 15, maps: 3 },
      fasterrcnn_resnet50_fpn: { min: 800, max: 1333, pre: 1000, score: 0, anchors: 3, maps: 5 },
      fasterrcnn_resnet50_fpn_v2: { min: 800, max: 1333, pre: 1000, score: 0, anchors: 3, maps: 5 },
    };
    for (const [variant, w] of Object.entries(want)) {
      const m = DETECTORS.build({ type: 'FasterRCNN', variant }, ctx, 'detector.model') as FasterRCNN;
      try {
        expect(m.variant).toBe(variant);
        expect([m.transform.minSize[0], m.transform.maxSize]).toEqual([w.min, w.max]);
        expect([m.rpn.opts.preNmsTopNTest, m.rpn.opts.postNmsTopNTest, m.rpn.opts.scoreThresh]).toEqual([w.pre, w.pre, w.score]);
        expect(m.anchorGenerator.numAnchorsPerLocation()).toEqual(Array(w.maps).fill(w.anchors));
        expect(m.roiHeads.opts.scoreThresh).toBe(0.01);
      } finally {
        m.dispose();
      }
    }
  });

  it('refuses what it cannot build, naming the key and what to do', () => {
    expect(() => buildFasterRcnn({ ...MNV3, pretrained: true }, ctx)).toThrow(/detector\.model\.pretrained is true: .*fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7\.pth.*set detector\.model\.pretrained to that file's path/);
    expect(() => buildFasterRcnn({ ...MNV3, pretrained: 1 }, ctx)).toThrow(/detector\.model\.pretrained must be false or the path of a weights file, got 1/);
    expect(() => buildFasterRcnn({ ...MNV3, pretrained: '/nowhere/coco.pth' }, ctx)).toThrow(/detector\.model\.pretrained: \/nowhere\/coco\.pth does not exist/);
    expect(() => buildFasterRcnn({ ...MNV3, pretrained: path('faster_rcnn.json') }, ctx)).toThrow(/detector\.model\.pretrained: cannot read .*faster_rcnn\.json as a PyTorch file/);
    expect(() => buildFasterRcnn({ ...MNV3, freeze_bn_stats: 'yes' }, ctx)).toThrow(/detector\.model\.freeze_bn_stats must be true or false, got "yes"/);
    expect(() => buildFasterRcnn({ ...MNV3, box_score_thresh: 2 }, ctx)).toThrow(/detector\.model\.box_score_thresh must be a number in \[0, 1\], got 2/);
    expect(() => buildFasterRcnn({ type: 'FasterRCNN', variant: 'retinanet' }, ctx)).toThrow(/detector\.model\.variant must be one of torchvision's Faster R-CNN builders/);
  });
});

describe('FasterRCNN input checks and memory', () => {
  it('rejects bad images and targets naming the argument, and detect() leaves no GPU memory behind', async () => {
    const m = new FasterRCNN({ minSize: 64, maxSize: 96 });
    try {
      await expect(m.eval().detect([])).rejects.toThrow(/FasterRCNN\.detect: images must be a non-empty list/);
      await expect(m.detect([dg.zeros([1, 32, 32])])).rejects.toThrow(/image 0 has 1 channels/);
      m.train();
      await expect(m.detect([dg.zeros([3, 48, 64])])).rejects.toThrow(/targets are required in training mode/);
      const bad = (boxes: number[]) => [{ boxes: dg.tensor(boxes, [1, 4]), labels: new Int32Array([1]) }];
      await expect(m.detect([dg.zeros([3, 48, 64])], bad([10, 10, 5, 20]))).rejects.toThrow(/All bounding boxes should have positive height and width. Found invalid box \[.*\] for target at index 0/);
      await expect(m.detect([dg.zeros([3, 48, 64])], bad([10, Number.NaN, 20, 20]))).rejects.toThrow(/target boxes must be finite, got NaN/);
      await expect(m.detect([dg.zeros([3, 48, 64])], [{ boxes: dg.tensor([1, 2, 3, 4], [1, 4]), labels: new Int32Array([2]) }])).rejects.toThrow(/label 2 is outside \[0, 1\]/);
      m.eval();
      const x = dg.rand([3, 48, 64], { seed: 1 });
      await m.detect([x]);
      const before = engine().stats().liveBuffers;
      const { detections } = await m.detect([x]);
      expect(engine().stats().liveBuffers).toBe(before);
      expect(detections).toHaveLength(1);
      // A training step inside a scope (as the training loop runs it) leaves only the gradients behind.
      m.train();
      const targets = [{ boxes: dg.tensor([[4, 6, 30, 40]]), labels: new Int32Array([1]) }];
      const step = () => dg.scope(async () => {
        const { losses } = await m.detect([x], targets);
        dg.add(dg.add(losses.loss_classifier!, losses.loss_box_reg!), dg.add(losses.loss_objectness!, losses.loss_rpn_box_reg!)).backward();
      });
      await step();
      const afterOne = engine().stats().liveBuffers;
      await step();
      expect(engine().stats().liveBuffers).toBe(afterOne);
      m.zeroGrad();
      x.dispose();
      targets[0]!.boxes.dispose();
    } finally {
      m.dispose();
    }
  });
});
