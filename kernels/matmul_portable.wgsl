// Matmul for adapters without subgroups of 8 or more lanes: each lane loads the tile's rows of A itself
// (see kernels/_matmul.wgsl).
// Rows 8g .. 8g + 7 of the tile: their A values at one k, each loaded by every lane from the same address.
fn rowsA(own: f32, k: u32, g: u32) -> array<f32, 8> {
  let o = k * aStep;
  let r = 8u * g;
  return array<f32, 8>(aAt(aRow[r] + o), aAt(aRow[r + 1u] + o), aAt(aRow[r + 2u] + o), aAt(aRow[r + 3u] + o),
                       aAt(aRow[r + 4u] + o), aAt(aRow[r + 5u] + o), aAt(aRow[r + 6u] + o), aAt(aRow[r + 7u] + o));
}

// The 4 k steps' row values of row group g (a: unused here, each lane loads every row itself; no TAV).
fn rows4(a: vec4<f32>, k: u32, g: u32) -> array<array<f32, 8>, 4> {
  return array<array<f32, 8>, 4>(rowsA(a.x, k, g), rowsA(a.y, k + 1u, g), rowsA(a.z, k + 2u, g), rowsA(a.w, k + 3u, g));
}

// The biases of rows m0 .. m0 + 7 (kernels/_matmul.wgsl BIAS), each lane loading all 8.
fn biasRows(m0: u32, lane: u32) -> array<f32, 8> {
  var b: array<f32, 8>;
  for (var r = 0u; r < 8u; r++) { b[r] = Bias[min(m0 + r, P.M - 1u)]; }
  return b;
}
