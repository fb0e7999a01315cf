// Turns valibot issues into ConfigIssues with positions, readable wording and "did you mean" hints.
import * as v from 'valibot';
import type { ConfigIssue, KeyPath } from './errors.ts';
import { allowedKeys, allowedValues } from './schema-walk.ts';
import { closest } from './suggest.ts';
import { issueAt, type YamlSource } from './yaml-source.ts';

type Issue = v.BaseIssue<unknown>;

function pathOf(issue: Issue, prefix: KeyPath): (string | number)[] {
  return [...prefix, ...(issue.path ?? []).map((p) => p.key as string | number)];
}

/** Union failures hide the real problem one level down when the input matched a branch's shape. */
function flatten(issue: Issue, prefix: KeyPath): { issue: Issue; path: (string | number)[] }[] {
  const path = pathOf(issue, prefix);
  if (issue.type === 'union' && issue.issues) {
    const deeper = issue.issues.filter((i) => i.path && i.path.length > 0 || i.kind === 'validation');
    if (deeper.length > 0) return deeper.flatMap((i) => flatten(i, path));
  }
  return [{ issue, path }];
}

// Valibot's own wording starts with "Invalid ..."; anything else is a message written in a schema.
const isCustom = (m: string) => !/^Invalid /.test(m);

// `path` is where the issue sits in the file; the schema and input start `skip` segments down it (a plugin's
// schema checks one block of the config).
function describe(issue: Issue, path: KeyPath, schema: unknown, input: unknown, skip: number): { message: string; atKey: boolean } {
  const last = path[path.length - 1];
  const rel = path.slice(skip);
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const hint = closest(String(last), allowedKeys(schema, input, rel.slice(0, -1)));
    return { message: `unknown key '${String(last)}'${hint ? `; did you mean '${hint}'?` : ''}`, atKey: true };
  }
  if (issue.received === 'undefined') {
    const what = issue.expected && issue.expected !== `"${String(last)}"` ? ` (expected ${issue.expected})` : '';
    return { message: `missing required key '${String(last)}'${what}`, atKey: true };
  }
  if (issue.type === 'check') return { message: issue.message, atKey: false };
  if (isCustom(issue.message)) return { message: `${issue.message}, got ${issue.received}`.replace(/, got undefined$/, ''), atKey: false };
  const options = allowedValues(schema, input, rel);
  if (options) {
    const hint = typeof issue.input === 'string' ? closest(issue.input, options) : undefined;
    return {
      message: `expected one of ${options.join(', ')}, got ${issue.received}${hint ? `; did you mean '${hint}'?` : ''}`,
      atKey: false,
    };
  }
  const expected = issue.expected ?? issue.type.replace(/_/g, ' ');
  const kind = issue.kind === 'validation' && issue.expected ? 'expected a value' : 'expected';
  return { message: `${kind} ${expected}, got ${issue.received}`, atKey: false };
}

export function toConfigIssues(
  issues: readonly Issue[],
  source: YamlSource,
  schema: unknown,
  input: unknown,
  prefix: KeyPath = [],
): ConfigIssue[] {
  return issues
    .flatMap((i) => flatten(i, prefix))
    .map(({ issue, path }) => {
      const { message, atKey } = describe(issue, path, schema, input, prefix.length);
      return issueAt(source, path, message, atKey);
    });
}

/** Parses `input` with `schema`; returns the typed value or every issue found, positioned in `source`. */
export function validate<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  source: YamlSource,
): { ok: true; value: v.InferOutput<S> } | { ok: false; issues: ConfigIssue[] } {
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  return { ok: false, issues: toConfigIssues(result.issues, source, schema, input) };
}
