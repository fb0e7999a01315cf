enable subgroups;
// Matmul whose tile rows of A are shared by subgroupBroadcast (8-lane subgroups; see kernels/_matmul.wgsl).
// Rows 8g .. 8g + 7 of the tile: their A values at one k, each lane-uniform (lane r loaded row 8g + r's value, `own`).
fn rowsA(own: f32, k: u32, g: u32) -> array<f32, 8> {
  return array<f32, 8>(subgroupBroadcast(own, 0u), subgroupBroadcast(own, 1u), subgroupBroadcast(own, 2u), subgroupBroadcast(own, 3u),
                       subgroupBroadcast(own, 4u), subgroupBroadcast(own, 5u), subgroupBroadcast(own, 6u), subgroupBroadcast(own, 7u));
}

// The 4 k steps' row values of row group g from this lane's loaded vec4 a: with TAV lane 2i + h holds rows
// 4h .. 4h + 3 at k + i; otherwise a is this lane's own row at k .. k + 3 (rowsA).
fn rows4(a: vec4<f32>, k: u32, g: u32) -> array<array<f32, 8>, 4> {
  if (TAV) {
    return array<array<f32, 8>, 4>(
    array<f32, 8>(subgroupBroadcast(a.x, 0u), subgroupBroadcast(a.y, 0u), subgroupBroadcast(a.z, 0u), subgroupBroadcast(a.w, 0u), subgroupBroadcast(a.x, 1u), subgroupBroadcast(a.y, 1u), subgroupBroadcast(a.z, 1u), subgroupBroadcast(a.w, 1u)),
    array<f32, 8>(subgroupBroadcast(a.x, 2u), subgroupBroadcast(a.y, 2u), subgroupBroadcast(a.z, 2u), subgroupBroadcast(a.w, 2u), subgroupBroadcast(a.x, 3u), subgroupBroadcast(a.y, 3u), subgroupBroadcast(a.z, 3u), subgroupBroadcast(a.w, 3u)),
    array<f32, 8>(subgroupBroadcast(a.x, 4u), subgroupBroadcast(a.y, 4u), subgroupBroadcast(a.z, 4u), subgroupBroadcast(a.w, 4u), subgroupBroadcast(a.x, 5u), subgroupBroadcast(a.y, 5u), subgroupBroadcast(a.z, 5u), subgroupBroadcast(a.w, 5u)),
    array<f32, 8>(subgroupBroadcast(a.x, 6u), subgroupBroadcast(a.y, 6u), subgroupBroadcast(a.z, 6u), subgroupBroadcast(a.w, 6u), subgroupBroadcast(a.x, 7u), subgroupBroadcast(a.y, 7u), subgroupBroadcast(a.z, 7u), subgroupBroadcast(a.w, 7u)));
  }
  return array<array<f32, 8>, 4>(rowsA(a.x, k, g), rowsA(a.y, k + 1u, g), rowsA(a.z, k + 2u, g), rowsA(a.w, k + 3u, g));
}

// The biases of rows m0 .. m0 + 7 (kernels/_matmul.wgsl BIAS): lane r gathers row m0 + r's, all lanes get all 8.
fn biasRows(m0: u32, lane: u32) -> array<f32, 8> {
  return rowsA(Bias[min(m0 + lane, P.M - 1u)], 0u, 0u);
}
