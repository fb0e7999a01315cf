// `model.backbone.pretrained: <path>`: ImageNet (or any) weights the user supplies as a file, since dlc-gpu
// downloads nothing. Accepts what timm, torchvision and DeepLabCut write: a bare state dict (.pth/.pt/.bin,
// the zip format of torch.save), a .safetensors file (timm's Hugging Face weights), a checkpoint holding
// `state_dict` / `model`, or a DeepLabCut snapshot (its `backbone.model.*` keys are taken).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isHostTensor, readSafetensors, readTorchFile, sniffWeightsFile, toFloat32, type HostTensor } from '../../io/index.ts';
import type { Module, StateDict } from '../../nn/module.ts';

export class PretrainedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PretrainedError';
  }
}

/** What `pretrained: true` means in DeepLabCut, and how to get the same here. */
export function pretrainedHowTo(modelName: string): string {
  return (
    `dlc-gpu does not download weights. To start from ImageNet weights as DeepLabCut does, download timm's ` +
    `'${modelName}' weights (e.g. model.safetensors from https://huggingface.co/timm/${modelName}.<tag>, or a torchvision ` +
    `.pth) and set model.backbone.pretrained to that file's path; set it to false to train from random initialisation`
  );
}

// Classifier and other parts of a full timm/torchvision network that DeepLabCut's features-only backbone drops.
const CLASSIFIER_PREFIXES = ['fc.', 'head.', 'classifier.', 'final_layer.', 'downsamp_modules.', 'global_pool.', 'last_linear.'];

export interface PretrainedReport {
  loaded: number;
  /** Keys in the file the backbone does not have (classifier layers and the like). */
  ignored: string[];
}

function entries(obj: unknown): [string, unknown][] {
  if (obj instanceof Map) return [...obj.entries()].map(([k, v]) => [String(k), v]);
  if (obj !== null && typeof obj === 'object') return Object.entries(obj);
  return [];
}

function field(obj: unknown, key: string): unknown {
  if (obj instanceof Map) return obj.get(key);
  if (obj !== null && typeof obj === 'object' && !isHostTensor(obj)) return (obj as Record<string, unknown>)[key];
  return undefined;
}

function readTensors(path: string): Map<string, HostTensor> {
  const bytes = readFileSync(path);
  const kind = sniffWeightsFile(bytes);
  if (kind !== 'safetensors' && kind !== 'zip' && kind !== 'legacy-torch' && kind !== 'pickle')
    throw new PretrainedError(`${path}: not a PyTorch (.pt/.pth) or .safetensors weights file (model.backbone.pretrained)`);
  let raw: unknown;
  try {
    if (kind === 'safetensors') return readSafetensors(bytes, { name: path }).tensors;
    raw = readTorchFile(bytes);
  } catch (e) {
    throw new PretrainedError(`${path}: cannot read the weights (model.backbone.pretrained): ${(e as Error).message}`);
  }
  // Checkpoints wrap the state dict; DeepLabCut snapshots keep it under `model`.
  let dict: unknown = raw;
  for (const key of ['state_dict', 'model_state_dict', 'model']) {
    const inner = field(raw, key);
    if (inner !== undefined && entries(inner).some(([, v]) => isHostTensor(v))) {
      dict = inner;
      break;
    }
  }
  const out = new Map<string, HostTensor>();
  for (const [k, v] of entries(dict)) if (isHostTensor(v)) out.set(k, v);
  if (!out.size) throw new PretrainedError(`${path}: holds no tensors, so it is not a state dict (model.backbone.pretrained)`);
  return out;
}

/** The file's keys renamed to the backbone's own: DataParallel's `module.`, DeepLabCut's `backbone.model.`. */
function backboneKeys(tensors: Map<string, HostTensor>): Map<string, HostTensor> {
  const strip = (prefix: string, from: Map<string, HostTensor>, only: boolean) => {
    const out = new Map<string, HostTensor>();
    for (const [k, v] of from) {
      if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
      else if (!only) out.set(k, v);
    }
    return out;
  };
  let t = tensors;
  if ([...t.keys()].every((k) => k.startsWith('module.'))) t = strip('module.', t, true);
  if ([...t.keys()].some((k) => k.startsWith('backbone.model.'))) t = strip('backbone.model.', t, true);
  else if ([...t.keys()].every((k) => k.startsWith('model.'))) t = strip('model.', t, true);
  return t;
}

/**
 * Loads the backbone's weights from `path` into `model` (the timm network, without DeepLabCut's
 * `backbone.model.` prefix). Every weight the backbone has must be in the file with its shape; only a
 * missing `num_batches_tracked` is tolerated (timm's files omit it). Nothing is changed on an error.
 */
export function loadPretrained(model: Module, path: string): PretrainedReport {
  if (!existsSync(path)) throw new PretrainedError(`model.backbone.pretrained: ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new PretrainedError(`model.backbone.pretrained: ${path} is a folder; give the weights file`);
  const file = backboneKeys(readTensors(path));
  const wanted = model.stateDictKeys();
  const have = new Set(wanted);
  const missing = wanted.filter((k) => !file.has(k) && !k.endsWith('num_batches_tracked'));
  const ignored = [...file.keys()].filter((k) => !have.has(k));
  const foreign = ignored.filter((k) => !CLASSIFIER_PREFIXES.some((p) => k.startsWith(p)) && !k.startsWith('incre_modules.'));
  if (missing.length) {
    const list = (xs: string[]) => xs.slice(0, 8).join(', ') + (xs.length > 8 ? `, ... (${xs.length} in all)` : '');
    throw new PretrainedError(
      `${path}: not weights for this backbone (model.backbone.pretrained): ${missing.length} of its ${wanted.length} weights are missing ` +
        `(${list(missing)})${foreign.length ? `; the file has other keys instead (${list(foreign)})` : ''}`,
    );
  }
  const shapes = new Map(model.stateDictShapes());
  const state: StateDict = new Map();
  const mismatched: string[] = [];
  for (const k of wanted) {
    const t = file.get(k);
    if (!t) continue;
    const expect = shapes.get(k)!;
    const scalar = t.numel === 1 && expect.reduce((a, b) => a * b, 1) === 1;
    if (!scalar && (t.shape.length !== expect.length || t.shape.some((d, i) => d !== expect[i])))
      mismatched.push(`${k}: file [${t.shape.join(', ')}], backbone [${expect.join(', ')}]`);
    state.set(k, { shape: [...t.shape], data: toFloat32(t), dtype: t.dtype === 'int64' ? 'int64' : 'float32' });
  }
  if (mismatched.length)
    throw new PretrainedError(`${path}: weights of other shapes than this backbone's (model.backbone.pretrained): ${mismatched.slice(0, 8).join('; ')}${mismatched.length > 8 ? `; ... (${mismatched.length} in all)` : ''}`);
  model.loadStateDict(state, false);
  return { loaded: state.size, ignored };
}
