// model.backbone.pretrained: <path>: user-supplied torchvision/timm weights (files laid out exactly as
// torchvision's resnet18/resnet50 state dicts, key lists from scripts/fixtures/make_pretrained_fixtures.py),
// DeepLabCut snapshots and DataParallel files load into the backbone; wrong files fail naming the file and key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromNumbers, PyOrderedDict, writeSafetensors, writeTorchFile, type HostTensor } from '../../src/io/index.ts';
import { buildBackbone } from '../../src/models/backbones/index.ts';
import { loadPretrained } from '../../src/models/backbones/pretrained.ts';
import { useGpu } from '../helpers/gpu.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, cli, copyProject, TINY_SETS } from '../runner-e2e/helpers.ts';

useGpu();
const dir = mkdtempSync(join(tmpdir(), 'dlc-gpu-pretrained-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanup();
});

type KeyList = [string, number[], string][];
const keys = (name: string): KeyList =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/pretrained', `torchvision_${name}_keys.json`), 'utf8'));
const rn18 = keys('resnet18');

// A value per element that differs across tensors, so a swapped or misplaced key shows.
function weights(list: KeyList): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  list.forEach(([k, shape, dtype], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, (_, j) => (dtype === 'int64' ? 7 : Math.sin(i * 1.3 + j * 0.01) * 0.1));
    out.set(k, fromNumbers(v, shape, dtype === 'int64' ? 'int64' : 'float32'));
  });
  return out;
}

function ordered(m: Map<string, HostTensor>, prefix = ''): PyOrderedDict<string, HostTensor> {
  const d = new PyOrderedDict<string, HostTensor>();
  for (const [k, v] of m) d.set(prefix + k, v);
  return d;
}

async function expectLoaded(model: ReturnType<typeof buildBackbone>['model'], file: Map<string, HostTensor>) {
  const sd = await model.stateDict();
  for (const key of ['conv1.weight', 'bn1.running_var', 'layer1.0.conv2.weight', 'layer4.1.bn2.bias']) {
    const want = file.get(key)!.data as Float32Array;
    expect(Array.from(sd.get(key)!.data).slice(0, 50), key).toEqual(Array.from(want).slice(0, 50));
  }
}

describe('pretrained backbone weights', () => {
  
  it('loads a torchvision-layout resnet18 .pth, ignoring the classifier', async () => {
    const file = weights(rn18);
    const path = join(dir, 'resnet18.pth');
    writeTorchFile(path, ordered(file));
    const backbone = buildBackbone({ type: 'ResNet', model_name: 'resnet18' });
    const r = loadPretrained(backbone.model, path);
    expect(r.ignored.sort()).toEqual(['fc.bias', 'fc.weight']);
    expect(r.loaded).toBe(rn18.length - 2);
    await expectLoaded(backbone.model, file);
    backbone.dispose();
  });

  it('loads .safetensors, DeepLabCut snapshots and DataParallel (module.) files', async () => {
    const file = weights(rn18);
    const st = join(dir, 'model.safetensors');
    writeSafetensors(st, file);
    const snap = join(dir, 'snapshot-010.pt');
    const model = ordered(file, 'backbone.model.');
    model.set('heads.bodypart.heatmap_head.deconv_layers.0.weight', fromNumbers([1, 2], [2], 'float32'));
    writeTorchFile(snap, { metadata: { epoch: 10 }, model });
    const dp = join(dir, 'dp.pth');
    writeTorchFile(dp, { state_dict: ordered(file, 'module.'), epoch: 3 });
    for (const path of [st, snap, dp]) {
      const backbone = buildBackbone({ type: 'ResNet', model_name: 'resnet18' });
      loadPretrained(backbone.model, path);
      await expectLoaded(backbone.model, file);
      backbone.dispose();
    }
  });

  it('has every resnet50 weight under torchvision/timm names', () => {
    const backbone = buildBackbone({ type: 'ResNet', model_name: 'resnet50' });
    const ours = backbone.model.stateDictShapes().map(([k, s]) => [k, [...s]]);
    const theirs = keys('resnet50').filter(([k]) => !k.startsWith('fc.')).map(([k, s]) => [k, s]);
    expect(ours).toEqual(theirs);
    backbone.dispose();
  });

  it('refuses weights of another network, naming the file and the keys', () => {
    const backbone = buildBackbone({ type: 'ResNet', model_name: 'resnet18' });
    const path = join(dir, 'resnet50.pth');
    writeTorchFile(path, ordered(weights(keys('resnet50'))));
    expect(() => loadPretrained(backbone.model, path)).toThrow(/resnet50\.pth: weights of other shapes .*layer1\.0\.conv1\.weight: file \[64, 64, 1, 1\], backbone \[64, 64, 3, 3\]/);
    const partial = new Map([...weights(rn18)].filter(([k]) => !k.startsWith('layer4.')));
    const cut = join(dir, 'partial.pth');
    writeTorchFile(cut, ordered(partial));
    expect(() => loadPretrained(backbone.model, cut)).toThrow(/partial\.pth: not weights for this backbone .*25 of its 120 weights are missing \(layer4\.0\.conv1\.weight/);
    backbone.dispose();
  });

  it('refuses a missing, truncated or foreign file', () => {
    const backbone = buildBackbone({ type: 'ResNet', model_name: 'resnet18' });
    expect(() => loadPretrained(backbone.model, join(dir, 'nope.pth'))).toThrow(/model\.backbone\.pretrained: .*nope\.pth does not exist/);
    const path = join(dir, 'resnet18-cut.pth');
    writeTorchFile(path, ordered(weights(rn18)));
    writeFileSync(path, readFileSync(path).subarray(0, 100_000));
    expect(() => loadPretrained(backbone.model, path)).toThrow(/resnet18-cut\.pth: cannot read the weights/);
    const text = join(dir, 'weights.txt');
    writeFileSync(text, 'hello');
    expect(() => loadPretrained(backbone.model, text)).toThrow(/weights\.txt: not a PyTorch \(\.pt\/\.pth\) or \.safetensors weights file/);
    backbone.dispose();
  });
});

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu train with model.backbone.pretrained', () => {
  it('says how to supply weights for pretrained: true, and trains from a weights file', () => {
    const project = copyProject();
    expect(cli('create-dataset', join(project, 'config.yaml')).code).toBe(0);
    const refused = cli('train', join(project, 'config.yaml'), '--epochs', '1', ...TINY_SETS, '--set', 'model.backbone.pretrained=true');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/model\.backbone\.pretrained is true\. dlc-gpu does not download weights.*resnet18.*set model\.backbone\.pretrained to that file's path/s);

    const path = join(dir, 'rn18-for-train.pth');
    writeTorchFile(path, ordered(weights(rn18)));
    const ran = cli('train', join(project, 'config.yaml'), '--epochs', '1', '--batch-size', '1', '--steps-per-epoch', '1', ...TINY_SETS,
      '--set', `model.backbone.pretrained=${path}`, '--set', 'runner.eval_interval=5', '--set', 'model.backbone.freeze_bn_stats=true');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain(`Backbone weights: 120 tensors from ${path}; ignored 2 keys the backbone does not use (fc.weight, fc.bias)`);
    // With pretrained weights, freeze_bn_stats: true is kept (from random init the runner trains the statistics).
    expect(ran.stdout).not.toMatch(/BatchNorm statistics are trained in this run/);
  });
});
