// Checks a validated config's `type` names against the registries, and each registered type's own keys
// against the schema it declared (a plugin's valibot schema), with positions in the file like any
// schema error. Unknown types list what is registered, with a "did you mean".
import * as v from 'valibot';
import type { ConfigIssue, KeyPath } from '../config/errors.ts';
import { closest } from '../config/suggest.ts';
import { toConfigIssues } from '../config/validate.ts';
import { issueAt, type YamlSource } from '../config/yaml-source.ts';
import './builtin-types.ts';
import { DLC_DETECTOR_MODELS } from '../config/schema/detector.ts';
import { BACKBONES, CRITERIONS, DETECTORS, HEADS, LOSS_AGGREGATORS, NECKS, PREDICTORS, TARGET_GENERATORS } from './registries.ts';
import type { Registry, TypedBlock } from './registry.ts';

type Mapping = Record<string, unknown>;
const isBlock = (x: unknown): x is TypedBlock => x !== null && typeof x === 'object' && !Array.isArray(x) && typeof (x as Mapping).type === 'string';

// A head block's keys that every head has and that are checked as blocks of their own.
const HEAD_COMMON_KEYS = ['type', 'predictor', 'target_generator', 'criterion', 'aggregator'];

/**
 * Problems with the `type` names in `model` (unknown, or a type's own keys rejected by its schema).
 * Blocks whose type declared a schema are replaced in `model` by the schema's output (its defaults filled in).
 */
export function checkRegisteredTypes(model: Mapping, source: YamlSource, detector?: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (registry: Registry<unknown, never>, block: unknown, path: KeyPath, common: readonly string[] = ['type']): void => {
    if (!isBlock(block)) return;
    if (!registry.has(block.type)) {
      const names = registry.names();
      const hint = closest(block.type, names);
      issues.push(
        issueAt(
          source,
          [...path, 'type'],
          `unknown ${registry.what} type '${block.type}' (registered: ${names.join(', ') || 'none'})${hint ? `; did you mean '${hint}'?` : ''}. A plugin's type needs the plugin: list it under plugins: in this file or pass --plugin PATH`,
        ),
      );
      return;
    }
    const entry = registry.get(block.type, formatWhere(path));
    if (!entry.schema) return;
    const own: Mapping = {};
    for (const [k, val] of Object.entries(block)) if (!common.includes(k)) own[k] = val;
    const result = v.safeParse(entry.schema, own);
    if (!result.success) {
      issues.push(...toConfigIssues(result.issues, source, entry.schema, own, path).map((i) => ({ ...i, message: `${i.message} (${registry.what} ${block.type}, from ${entry.source})` })));
      return;
    }
    Object.assign(block, result.output as Mapping);
  };
  const r = <T, C>(x: Registry<T, C>) => x as unknown as Registry<unknown, never>;
  check(r(BACKBONES), model.backbone, ['model', 'backbone']);
  if (model.neck) check(r(NECKS), model.neck, ['model', 'neck']);
  const heads = (model.heads ?? {}) as Mapping;
  for (const [name, head] of Object.entries(heads)) {
    const at: KeyPath = ['model', 'heads', name];
    check(r(HEADS), head, at, HEAD_COMMON_KEYS);
    if (!head || typeof head !== 'object') continue;
    const h = head as Mapping;
    check(r(PREDICTORS), h.predictor, [...at, 'predictor']);
    check(r(TARGET_GENERATORS), h.target_generator, [...at, 'target_generator']);
    if (isBlock(h.criterion)) check(r(CRITERIONS), h.criterion, [...at, 'criterion'], ['type', 'weight']);
    else if (h.criterion && typeof h.criterion === 'object')
      for (const [out, c] of Object.entries(h.criterion as Mapping)) check(r(CRITERIONS), c, [...at, 'criterion', out], ['type', 'weight']);
    if (h.aggregator !== undefined) check(r(LOSS_AGGREGATORS), h.aggregator, [...at, 'aggregator']);
  }
  // DeepLabCut's own detector types are checked by the detector schema (and built when they exist); any other
  // type must be registered, by a plugin.
  const detectorModel = (detector as Mapping | null | undefined)?.model;
  if (isBlock(detectorModel) && !(DLC_DETECTOR_MODELS as readonly string[]).includes(detectorModel.type)) check(r(DETECTORS), detectorModel, ['detector', 'model']);
  return issues;
}

const formatWhere = (path: KeyPath) => path.join('.');
