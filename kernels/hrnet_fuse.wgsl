// HRNet branch fusion: Y [planes, H, W] = Acc + nearest-upsample(Src [planes, H/s, W/s], s), then ReLU if relu == 1.
// Backward: one invocation per Src element walks its s x s block: dAcc = dY (masked by Y > 0 under ReLU),
// dSrc = the block's sum of dAcc. No upsampled tensor is ever stored.
struct Params { n: u32, h: u32, w: u32, s: u32, relu: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Acc: array<f32>;
@group(0) @binding(2) var<storage, read> Src: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

// n counts outputs; h, w are the source's spatial size (the output is h*s x w*s).
@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let W = P.w * P.s;
  let x = i % W;
  let y = (i / W) % (P.h * P.s);
  let plane = i / (W * P.h * P.s);
  var v = Acc[i] + Src[(plane * P.h + y / P.s) * P.w + x / P.s];
  if (P.relu == 1u) { v = max(v, 0.0); }
  Y[i] = v;
}

@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Out: array<f32>;
@group(0) @binding(3) var<storage, read_write> DAcc: array<f32>;
@group(0) @binding(4) var<storage, read_write> DSrc: array<f32>;

// n counts source elements.
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid, WG);
  if (i >= P.n) { return; }
  let sx = i % P.w;
  let sy = (i / P.w) % P.h;
  let plane = i / (P.w * P.h);
  let W = P.w * P.s;
  var acc = 0.0;
  for (var dy = 0u; dy < P.s; dy++) {
    let row = (plane * P.h * P.s + sy * P.s + dy) * W + sx * P.s;
    for (var dx = 0u; dx < P.s; dx++) {
      var g = G[row + dx];
      if (P.relu == 1u && !(Out[row + dx] > 0.0)) { g = 0.0; }
      DAcc[row + dx] = g;
      acc += g;
    }
  }
  DSrc[i] = acc;
}
