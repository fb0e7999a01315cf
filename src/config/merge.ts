// Deep merge of config fragments with DeepLabCut's update_config semantics, quirk included.

type Mapping = Record<string, unknown>;

const isMapping = (x: unknown): x is Mapping => x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * Returns `base` updated by `updates`: mappings merge recursively, everything else is replaced.
 * `optimizer` and `scheduler` are replaced whole when their parent's `type` differs from theirs; the parent
 * is the runner, whose type never equals an optimizer's, so in practice they are always replaced whole.
 */
export function updateConfig(base: Mapping, updates: Mapping): Mapping {
  const out: Mapping = structuredClone(base);
  for (const [key, value] of Object.entries(updates)) {
    const current = out[key];
    if (isMapping(current) && isMapping(value)) {
      const replaceWhole = (key === 'optimizer' || key === 'scheduler') && out['type'] !== value['type'];
      out[key] = replaceWhole ? structuredClone(value) : updateConfig(current, value);
    } else {
      out[key] = structuredClone(value);
    }
  }
  return out;
}
