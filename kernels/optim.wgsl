// Fused optimiser updates, one dispatch per parameter tensor of n elements; each entry point is one
// PyTorch update rule (torch.optim, single-tensor path), with per-step scalars computed on the host.
// P: parameter (updated in place), G: its gradient, S0/S1/S2: the optimiser's state for it.
struct Params {
  n: u32, flags: u32, step: f32, lr: f32,
  a: f32, b: f32, c: f32, d: f32,
  weightDecay: f32, eps: f32, e: f32, f: f32,
}
@group(0) @binding(0) var<uniform> U: Params;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
override WG: u32 = 256;

const MAXIMIZE = 1u;
const NESTEROV = 2u;
const FIRST_STEP = 4u;
const AMSGRAD = 8u;
const DECOUPLED = 16u;
const CENTERED = 32u;
const HAS_MOMENTUM = 64u;

// Elements per invocation, WG apart (set by src/optim/optimizer.ts; see stepIndex).
override STEPS: u32 = 1u;

fn has(flag: u32) -> bool { return (U.flags & flag) != 0u; }

// The gradient as the update rules see it: negated to maximise, with L2 weight decay folded in.
fn gradAt(i: u32, p: f32) -> f32 {
  var g = select(G[i], -G[i], has(MAXIMIZE));
  if (!has(DECOUPLED)) { g += U.weightDecay * p; }
  return g;
}

// SGD: a = momentum, b = dampening. S0 = momentum buffer.
@group(0) @binding(3) var<storage, read_write> S0: array<f32>;
@compute @workgroup_size(WG)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var j = 0u; j < STEPS; j++) {
    let i = stepIndex(wid, nwg, lid, WG, STEPS, j);
    if (i >= U.n) { return; }
    sgdAt(i);
  }
}
fn sgdAt(i: u32) {
  let p = P[i];
  var d = gradAt(i, p);
  if (has(HAS_MOMENTUM)) {
    var buf = d;
    if (!has(FIRST_STEP)) { buf = U.a * S0[i] + (1.0 - U.b) * d; }
    S0[i] = buf;
    d = select(buf, d + U.a * buf, has(NESTEROV));
  }
  P[i] = p - U.lr * d;
}

// Adam / AdamW: a = beta1, b = beta2, c = lr / (1 - beta1^t), d = sqrt(1 - beta2^t).
// S1 = exp_avg, S2 = exp_avg_sq, S0 = max_exp_avg_sq (amsgrad).
@group(0) @binding(4) var<storage, read_write> S1: array<f32>;
@group(0) @binding(5) var<storage, read_write> S2: array<f32>;
@compute @workgroup_size(WG)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var j = 0u; j < STEPS; j++) {
    let i = stepIndex(wid, nwg, lid, WG, STEPS, j);
    if (i >= U.n) { return; }
    adamAt(i);
  }
}
fn adamAt(i: u32) {
  var p = P[i];
  let g = gradAt(i, p);
  if (has(DECOUPLED)) { p = p * (1.0 - U.lr * U.weightDecay); }
  let m = S1[i] + (g - S1[i]) * (1.0 - U.a);
  let v = U.b * S2[i] + (1.0 - U.b) * g * g;
  S1[i] = m;
  S2[i] = v;
  var vhat = v;
  if (has(AMSGRAD)) {
    vhat = max(S0[i], v);
    S0[i] = vhat;
  }
  P[i] = p - U.c * m / (sqrt(vhat) / U.d + U.eps);
}

// RMSprop: a = alpha, b = momentum. S1 = square_avg, S2 = grad_avg (centered), S0 = momentum buffer.
@compute @workgroup_size(WG)
fn rmsprop(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var j = 0u; j < STEPS; j++) {
    let i = stepIndex(wid, nwg, lid, WG, STEPS, j);
    if (i >= U.n) { return; }
    rmspropAt(i);
  }
}
fn rmspropAt(i: u32) {
  let p = P[i];
  let g = gradAt(i, p);
  let sq = U.a * S1[i] + (1.0 - U.a) * g * g;
  S1[i] = sq;
  var avg: f32;
  if (has(CENTERED)) {
    let ga = U.a * S2[i] + (1.0 - U.a) * g;
    S2[i] = ga;
    avg = sqrt(sq - ga * ga) + U.eps;
  } else {
    avg = sqrt(sq) + U.eps;
  }
  if (has(HAS_MOMENTUM)) {
    let buf = U.b * S0[i] + g / avg;
    S0[i] = buf;
    P[i] = p - U.lr * buf;
  } else {
    P[i] = p - U.lr * g / avg;
  }
}

// Adagrad: lr here is already lr / (1 + (t - 1) * lr_decay). S0 = sum of squares.
@compute @workgroup_size(WG)
fn adagrad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var j = 0u; j < STEPS; j++) {
    let i = stepIndex(wid, nwg, lid, WG, STEPS, j);
    if (i >= U.n) { return; }
    adagradAt(i);
  }
}
fn adagradAt(i: u32) {
  let p = P[i];
  let g = gradAt(i, p);
  let s = S0[i] + g * g;
  S0[i] = s;
  P[i] = p - U.lr * g / (sqrt(s) + U.eps);
}
