// Placeholder strings in default fragments ("num_bodyparts", "num_bodyparts x 2", "backbone_output_channels // 2",
// "num_bodyparts + 1"), resolved exactly as DeepLabCut's replace_default_values does.

export type PlaceholderValues = Partial<Record<string, number | unknown[] | undefined>>;

export const PLACEHOLDER_NAMES = ['num_bodyparts', 'num_individuals', 'backbone_output_channels'] as const;

export class PlaceholderError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
  ) {
    super(message);
    this.name = 'PlaceholderError';
  }
}

function resolveOne(text: string, values: PlaceholderValues, path: (string | number)[]): unknown {
  const parts = text.trim().split(' ');
  const name = parts[0]!;
  const base = values[name];
  if (base === undefined) throw new PlaceholderError(`found "${text}" but no value is known for ${name}`, path);
  if (parts.length === 1) return base;
  if (parts.length === 3) {
    const [, op, factorText] = parts as [string, string, string];
    if (!/^\d+$/.test(factorText)) throw new PlaceholderError(`the factor in "${text}" must be a whole number`, path);
    if (typeof base !== 'number') throw new PlaceholderError(`"${text}" does arithmetic on a non-number`, path);
    const factor = Number(factorText);
    if (op === '+') return base + factor;
    if (op === 'x') return base * factor;
    if (op === '//') {
      if (factor === 0) throw new PlaceholderError(`"${text}" divides by zero`, path);
      return Math.floor(base / factor);
    }
    throw new PlaceholderError(`unknown operator '${op}' in "${text}" (use +, x or //)`, path);
  }
  throw new PlaceholderError(`cannot parse placeholder "${text}" (expected "NAME" or "NAME OP N")`, path);
}

/**
 * Returns a copy of `config` with placeholders replaced. A string is a placeholder only when its first
 * word is a known name, so ordinary strings such as "test.mAP" pass through untouched.
 */
export function resolvePlaceholders<T>(config: T, values: PlaceholderValues, path: (string | number)[] = []): T {
  const known = new Set(Object.keys(values));
  const walk = (node: unknown, at: (string | number)[]): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...at, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, val]) => [k, walk(val, [...at, k])]));
    }
    if (typeof node === 'string' && known.has(node.trim().split(' ')[0]!)) return resolveOne(node, values, at);
    return node;
  };
  return walk(config, path) as T;
}
