// Finds the schema that governs a key path, so errors can list the keys or values that would have been valid.
// Valibot issues do not carry their schema; this walks the schema tree alongside the input instead.
import type { KeyPath } from './errors.ts';

type AnySchema = {
  type: string;
  entries?: Record<string, AnySchema>;
  wrapped?: AnySchema;
  getter?: (input: unknown) => AnySchema;
  options?: readonly unknown[];
  key?: string;
  item?: AnySchema;
  items?: AnySchema[];
  value?: AnySchema;
  literal?: unknown;
  pipe?: readonly { kind: string; type: string; requirement?: unknown }[];
};

const WRAPPERS = new Set(['optional', 'nullable', 'nullish', 'exact_optional', 'undefinedable', 'non_optional', 'non_nullable']);

function unwrap(schema: AnySchema, input: unknown): AnySchema {
  let s = schema;
  for (;;) {
    let next: AnySchema | undefined;
    if (WRAPPERS.has(s.type)) next = s.wrapped;
    else if (s.type === 'lazy') next = s.getter?.(input);
    else if (s.type === 'variant' && s.key) next = pickVariant(s, input);
    else if (s.type === 'union') next = pickUnion((s.options ?? []) as AnySchema[], input);
    // No branch fits the input: stop at the variant or union itself.
    if (!next) return s;
    s = next;
  }
}

function discriminatorMatches(schema: AnySchema, value: unknown): boolean {
  const s = unwrap(schema, value);
  if (s.type === 'literal') return s.literal === value;
  if (s.type === 'picklist') return (s.options ?? []).includes(value);
  return s.type === typeof value;
}

function pickVariant(schema: AnySchema, input: unknown): AnySchema | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const tag = (input as Record<string, unknown>)[schema.key!];
  return (schema.options as AnySchema[]).find((o) => {
    const entry = unwrap(o, input).entries?.[schema.key!];
    return entry !== undefined && discriminatorMatches(entry, tag);
  });
}

function pickUnion(options: AnySchema[], input: unknown): AnySchema | undefined {
  const kind = Array.isArray(input) ? 'array' : input === null ? 'null' : typeof input;
  return options.find((o) => {
    const t = unwrap(o, input).type;
    if (kind === 'object') return t.endsWith('object') || t === 'record';
    if (kind === 'array') return t === 'array' || t === 'tuple';
    return t === kind;
  });
}

/** The schema for `path` within `input`, or undefined where the path leaves the schema. */
export function schemaAt(root: unknown, input: unknown, path: KeyPath): AnySchema | undefined {
  let schema = unwrap(root as AnySchema, input);
  let value = input;
  for (const seg of path) {
    const child = (value as Record<string | number, unknown> | null | undefined)?.[seg];
    let next: AnySchema | undefined;
    if (schema.entries) next = schema.entries[String(seg)];
    else if (schema.type === 'record') next = schema.value;
    else if (schema.type === 'array') next = schema.item;
    else if (schema.type === 'tuple') next = schema.items?.[seg as number];
    if (!next) return undefined;
    schema = unwrap(next, child);
    value = child;
  }
  return schema;
}

/** Keys a mapping at `path` accepts (empty when it is free-form). */
export function allowedKeys(root: unknown, input: unknown, path: KeyPath): string[] {
  return Object.keys(schemaAt(root, input, path)?.entries ?? {});
}

/** The values an enum at `path` accepts, or undefined if it is not an enum. */
export function allowedValues(root: unknown, input: unknown, path: KeyPath): string[] | undefined {
  const s = schemaAt(root, input, path);
  if (s?.type === 'picklist') return (s.options ?? []).map(String);
  // A variant's discriminator: the union of what each option accepts for that key.
  const parent = schemaAt(root, input, path.slice(0, -1));
  if (parent?.type === 'variant' && parent.key === path[path.length - 1]) {
    return (parent.options as AnySchema[]).flatMap((o) => {
      const entry = unwrap(o, undefined).entries?.[parent.key!];
      const e = entry && unwrap(entry, undefined);
      if (e?.type === 'literal') return [String(e.literal)];
      if (e?.type === 'picklist') return (e.options ?? []).map(String);
      return [];
    });
  }
  return undefined;
}
