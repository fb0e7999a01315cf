enable subgroups;
// Matmul whose tile rows of A are shared by subgroupBroadcast (8-lane subgroups; see kernels/_matmul.wgsl).
// Rows 8g .. 8g + 7 of the tile: their A values at one k, each lane-uniform (lane r loaded row 8g + r's value, `own`).
fn rowsA(own: f32, k: u32, g: u32) -> array<f32, 8> {
  return array<f32, 8>(subgroupBroadcast(own, 0u), subgroupBroadcast(own, 1u), subgroupBroadcast(own, 2u), subgroupBroadcast(own, 3u),
                       subgroupBroadcast(own, 4u), subgroupBroadcast(own, 5u), subgroupBroadcast(own, 6u), subgroupBroadcast(own, 7u));
}
