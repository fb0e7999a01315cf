// SSDLite's weights from files and the DETECTORS builder: torch.save files written by torchvision 0.14
// (scripts/fixtures/make_ssdlite_fixtures.py; every tensor a stride-0 view whose value is its state-dict index)
// load strictly: a torchvision state dict, a DeepLabCut detector snapshot ({metadata, model} with `model.` keys)
// and COCO's 91-class layout, whose classification head is cut to 2 classes as DeepLabCut cuts it. The builder
// reads detector.model's pretrained / freeze_bn_stats / freeze_bn_weights and refuses pretrained: true with how to
// supply the file. Also: detect() leaves no GPU memory behind, and bad input fails naming the argument.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { readTorchFile } from '../../src/io/index.ts';
import { BatchNorm2d } from '../../src/nn/norm-layers.ts';
import { buildSsdlite, loadSsdliteWeights } from '../../src/models/detectors/index.ts';
import { SSDLite, torchvisionStateDict } from '../../src/models/detectors/ssdlite.ts';
import { DETECTORS } from '../../src/models/registries.ts';
import { useGpu } from '../helpers/gpu.ts';

const engine = useGpu();

const path = (name: string) => fileURLToPath(new URL(`../fixtures/detection/${name}`, import.meta.url));
const keys = (JSON.parse(readFileSync(path('ssdlite.json'), 'utf8')) as { keys: [string, number[]][] }).keys.map(([k]) => k);
const ctx = { where: 'detector.model', seed: 3 };

/** Every entry holds its index in torchvision's key order (the COCO head's rows their row number when `rows`). */
async function expectIndexValues(m: SSDLite, rows: (k: string) => boolean = () => false): Promise<void> {
  const state = await m.stateDict();
  expect([...state.keys()]).toEqual(keys);
  keys.forEach((k, i) => {
    const e = state.get(k)!;
    if (rows(k)) {
      const per = e.data.length / e.shape[0]!;
      for (let r = 0; r < e.shape[0]!; r++) expect(e.data.subarray(r * per, (r + 1) * per).every((v) => v === r), `${k} row ${r}`).toBe(true);
    } else expect(e.data.every((v) => v === i), `${k} holds ${i}`).toBe(true);
  });
}

const cocoHead = (k: string) => /^head\.classification_head\.module_list\.\d+\.1\.(weight|bias)$/.test(k);

describe('SSDLite weights from torchvision and DeepLabCut files', () => {
  it("loads torchvision's state dict (torch.save) strictly", async () => {
    const m = new SSDLite();
    try {
      m.loadTorchvisionState(torchvisionStateDict(readTorchFile(path('ssdlite_state.pt')), 'ssdlite_state.pt'));
      await expectIndexValues(m);
    } finally {
      m.dispose();
    }
  });

  it("loads a DeepLabCut detector snapshot (model.-prefixed keys under 'model') through the builder", async () => {
    const m = buildSsdlite({ type: 'SSDLite', pretrained: path('ssdlite_dlc_snapshot.pt') }, ctx);
    try {
      await expectIndexValues(m);
    } finally {
      m.dispose();
    }
  });

  it('cuts a COCO (91-class) classification head to its first 2 * rows / 91 rows, as DeepLabCut does', async () => {
    const m = new SSDLite();
    try {
      loadSsdliteWeights(m, path('ssdlite_coco91.pt'));
      await expectIndexValues(m, cocoHead);
      expect(m.stateDictShapes().find(([k]) => k === 'head.classification_head.module_list.0.1.weight')![1]).toEqual([12, 672, 1, 1]);
    } finally {
      m.dispose();
    }
  });

  it('names every mismatch and leaves the model unchanged', async () => {
    const m = new SSDLite({ numClasses: 3 });
    try {
      const before = await m.stateDict();
      expect(() => loadSsdliteWeights(m, path('ssdlite_state.pt'))).toThrow(/detector\.model\.pretrained: .*ssdlite_state\.pt does not hold SSDLite weights: .*wrong shapes \(12\): head\.classification_head\.module_list\.0\.1\.weight: file \[12, 672, 1, 1\], model \[18, 672, 1, 1\]/s);
      const after = await m.stateDict();
      expect(after.get('backbone.features.0.0.0.weight')!.data).toEqual(before.get('backbone.features.0.0.0.weight')!.data);
      const partial = new Map([...torchvisionStateDict(readTorchFile(path('ssdlite_state.pt')), 'x')].filter(([k]) => !k.startsWith('backbone.extra.')));
      expect(() => m.loadTorchvisionState(partial)).toThrow(/missing keys \(\d+\): backbone\.extra\.0\.0\.0\.weight/);
      expect(() => torchvisionStateDict({ epoch: 3 }, 'odd.pt')).toThrow(/odd\.pt: holds no tensors/);
    } finally {
      m.dispose();
    }
  });
});

describe('the SSDLite builder (DETECTORS)', () => {
  it('is registered, with DeepLabCut\'s class defaults, and applies freeze_bn_stats / freeze_bn_weights', async () => {
    await import('../../src/models/detectors/index.ts');
    expect(DETECTORS.has('SSDLite')).toBe(true);
    const plain = DETECTORS.build({ type: 'SSDLite' }, ctx, 'detector.model') as SSDLite;
    const frozen = DETECTORS.build({ type: 'SSDLite', freeze_bn_stats: true, freeze_bn_weights: true, box_score_thresh: 0.6, pretrained: false }, ctx, 'detector.model') as SSDLite;
    try {
      expect([plain.freezeBnStats, plain.freezeBnWeights, plain.numClasses, plain.scoreThresh]).toEqual([false, false, 2, 0.001]);
      // box_score_thresh never reaches torchvision's SSD: the score threshold stays 0.001.
      expect([frozen.freezeBnStats, frozen.freezeBnWeights, frozen.scoreThresh]).toEqual([true, true, 0.001]);
      frozen.train();
      const params = new Map(frozen.namedParameters());
      expect(params.get('backbone.features.0.0.1.weight')!.requiresGrad).toBe(false);
      expect(params.get('head.regression_head.module_list.3.0.1.bias')!.requiresGrad).toBe(false);
      expect(params.get('backbone.features.0.0.0.weight')!.requiresGrad).toBe(true);
      const bns = frozen.namedModules().filter(([, mod]) => mod instanceof BatchNorm2d);
      expect(bns.length).toBeGreaterThan(60);
      expect(bns.every(([, bn]) => (bn as BatchNorm2d).freezeStats)).toBe(true);
      // _normal_init: N(0, 0.03) convolutions, zero biases.
      const state = await plain.stateDict();
      const w = state.get('backbone.features.16.0.weight') ?? state.get('backbone.features.1.3.0.weight')!;
      const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.data.length);
      expect(std).toBeCloseTo(0.03, 2);
      expect(state.get('head.classification_head.module_list.0.1.bias')!.data.every((v) => v === 0)).toBe(true);
      expect(state.get('backbone.features.0.0.1.weight')!.data.every((v) => v === 1)).toBe(true);
    } finally {
      plain.dispose();
      frozen.dispose();
    }
  });

  it('keeps the stages trainable_backbone_layers freezes frozen, BatchNorm included', () => {
    const m = new SSDLite({ trainableBackboneLayers: 3, freezeBnWeights: false }).train();
    try {
      const p = new Map(m.namedParameters());
      // stage_indices [0, 2, 4, 7, 13, 16]: 3 trainable layers freeze features[0..6].
      expect([p.get('backbone.features.0.0.0.weight')!.requiresGrad, p.get('backbone.features.0.6.block.0.1.weight')!.requiresGrad]).toEqual([false, false]);
      expect([p.get('backbone.features.0.7.block.0.1.weight')!.requiresGrad, p.get('backbone.extra.0.0.1.weight')!.requiresGrad]).toEqual([true, true]);
      m.freezeBnWeights = true;
      expect(p.get('backbone.extra.0.0.1.weight')!.requiresGrad).toBe(false);
      m.freezeBnWeights = false;
      expect([p.get('backbone.features.0.6.block.0.1.weight')!.requiresGrad, p.get('backbone.extra.0.0.1.weight')!.requiresGrad]).toEqual([false, true]);
    } finally {
      m.dispose();
    }
  });

  it('refuses pretrained: true with how to supply the weights, and bad values by key', () => {
    expect(() => buildSsdlite({ type: 'SSDLite', pretrained: true }, ctx)).toThrow(/detector\.model\.pretrained is true: .*ssdlite320_mobilenet_v3_large_coco-a79551df\.pth.*set detector\.model\.pretrained to that file's path/);
    expect(() => buildSsdlite({ type: 'SSDLite', pretrained: 1 }, ctx)).toThrow(/detector\.model\.pretrained must be false or the path of a weights file, got 1/);
    expect(() => buildSsdlite({ type: 'SSDLite', pretrained: '/nowhere/coco.pth' }, ctx)).toThrow(/detector\.model\.pretrained: \/nowhere\/coco\.pth does not exist/);
    expect(() => buildSsdlite({ type: 'SSDLite', pretrained: path('ssdlite.json') }, ctx)).toThrow(/detector\.model\.pretrained: cannot read .*ssdlite\.json as a PyTorch file/);
    expect(() => buildSsdlite({ type: 'SSDLite', freeze_bn_stats: 'yes' }, ctx)).toThrow(/detector\.model\.freeze_bn_stats must be true or false, got "yes"/);
    expect(() => buildSsdlite({ type: 'SSDLite', pretrained_from_imagenet: true }, ctx)).toThrow(/pretrained_from_imagenet is not supported/);
  });
});

describe('SSDLite.detect', () => {
  it('releases what it allocates: eval detections and training steps leave the buffer count flat', async () => {
    const m = new SSDLite({ seed: 1 });
    try {
      const images = [dg.rand([3, 60, 80], { seed: 1 }), dg.rand([3, 50, 40], { seed: 2 })];
      const targets = [
        { boxes: dg.tensor([[5, 6, 40, 50]]), labels: new Int32Array([1]) },
        { boxes: dg.tensor([[2, 3, 30, 45], [10, 10, 20, 20]]), labels: new Int32Array([1, 1]) },
      ];
      m.eval();
      const counts: number[] = [];
      for (let i = 0; i < 2; i++) {
        const { detections } = await m.detect(images);
        expect(detections).toHaveLength(2);
        for (const d of detections) expect(d.boxes.length).toBe(4 * d.scores.length);
        counts.push(engine().stats().liveBuffers);
      }
      expect(counts[1]).toBe(counts[0]);
      m.train();
      const live: number[] = [];
      for (let i = 0; i < 2; i++) {
        await dg.scope(async () => {
          const { losses } = await m.detect(images, targets);
          dg.add(losses.bbox_regression!, losses.classification!).backward();
        });
        m.zeroGrad();
        live.push(engine().stats().liveBuffers);
      }
      expect(live[1]).toBe(live[0]);
      for (const t of [...images, ...targets.map((t) => t.boxes)]) t.dispose();
    } finally {
      m.dispose();
    }
  });

  it('trains on an image without boxes (all background) with frozen BatchNorm statistics at batch 1', async () => {
    // With statistics trained, batch 1 fails at the 1x1 map as in torch (one value per channel).
    const m = new SSDLite({ seed: 1, freezeBnStats: true }).train();
    try {
      await dg.scope(async () => {
        const { losses } = await m.detect([dg.rand([3, 40, 40], { seed: 4 })], [{ boxes: dg.zeros([0, 4]), labels: new Int32Array(0) }]);
        expect(await losses.bbox_regression!.item()).toBe(0);
        expect(await losses.classification!.item()).toBe(0);
      });
    } finally {
      m.dispose();
    }
  });

  it('fails on bad input naming the argument', async () => {
    const m = new SSDLite({ seed: 1 });
    try {
      await dg.scope(async () => {
        const x = dg.rand([3, 40, 40], { seed: 5 });
        m.train();
        await expect(m.detect([x])).rejects.toThrow(/targets are required in training mode/);
        await expect(m.detect([x], [])).rejects.toThrow(/0 targets for 1 images/);
        await expect(m.detect([x], [{ boxes: dg.tensor([[10, 10, 5, 20]]), labels: new Int32Array([1]) }])).rejects.toThrow(/All bounding boxes should have positive height and width\. Found invalid box \[80, 80, 40, 160\] for target at index 0/);
        await expect(m.detect([x], [{ boxes: dg.tensor([[1, 2, 3, 4]]), labels: new Int32Array([2]) }])).rejects.toThrow(/target 0: label 2 is outside \[0, 1\]/);
        await expect(m.detect([x], [{ boxes: dg.tensor([1, 2, 3, 4]), labels: new Int32Array([1]) }])).rejects.toThrow(/expected target boxes to be a tensor of shape \[N, 4\], got \[4\]/);
        m.eval();
        await expect(m.detect([])).rejects.toThrow(/images must be a non-empty list/);
        await expect(m.detect([dg.rand([40, 40])])).rejects.toThrow(/images is expected to be a list of 3d tensors of shape \[C, H, W\], got \[40, 40\] at index 0/);
        await expect(m.detect([dg.rand([1, 40, 40])])).rejects.toThrow(/image 0 has 1 channels but imageMean \/ imageStd have 3/);
      });
    } finally {
      m.dispose();
    }
  });
});
