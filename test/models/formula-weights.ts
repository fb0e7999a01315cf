// Mirrors formula_values() in scripts/fixtures/make_pose_model_fixtures.py: deterministic parameter values
// from a name, so the ResNet fixtures need no stored weights. sin is evaluated in float64 on both sides.
export function formulaValues(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  let phase = 0;
  for (const c of name) phase += c.charCodeAt(0);
  phase *= 0.001;
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  const out = new Float32Array(n);
  const fanOut = shape.length >= 2 ? shape[0]! * shape.slice(2).reduce((a, b) => a * b, 1) : 1;
  for (let i = 0; i < n; i++) {
    const base = Math.sin(i * 0.7 + phase);
    let v: number;
    if (leaf === 'num_batches_tracked') v = 0;
    else if (leaf === 'running_var') v = 1 + 0.5 * Math.abs(base);
    else if (leaf === 'running_mean') v = 0.1 * base;
    else if (shape.length === 1 && leaf === 'weight') v = 1 + 0.1 * base;
    else if (leaf === 'bias') v = 0.05 * base;
    else if (name.startsWith('heads.')) v = 0.02 * base;
    else v = Math.sqrt(2 / fanOut) * Math.SQRT2 * base;
    out[i] = v;
  }
  return out;
}
