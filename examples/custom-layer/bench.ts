// AddCoords' kernel (vec4 and scalar paths) against the same op composed from built-in ops (concat of the input with an expanded
// coordinate tensor; its backward a slice), forward and forward+backward, on the feature maps the head
// sees: ResNet-18/50 at 256x256 and 448x448 crops, batch 8. Memory-bound: the table gives GB/s of the
// bytes the op must move (read B*C*H*W, write B*(C+2)*H*W floats; backward the same again).
// Run: npx tsx examples/custom-layer/bench.ts [--runs 7]   (results: bench-results/add-coords.json)
import * as dg from 'dlc-gpu';
import { printTable, timeGpu, writeResults, type Row } from 'dlc-gpu/bench';
import { createCoordConv } from './coord-conv.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7;
await dg.init();
const { addCoords } = createCoordConv(dg);
const scalarAddCoords = createCoordConv(dg, { vectorized: false }).addCoords;

/** The composite peer: the coordinate channels built once on the host, expanded over the batch, concatenated. */
function composite(x: dg.Tensor, coords: dg.Tensor): dg.Tensor {
  const [B, , H, W] = x.shape as [number, number, number, number];
  return dg.concat([x, dg.expand(coords, [B, 2, H, W])], 1);
}

function coordinates(H: number, W: number): dg.Tensor {
  const c = new Float32Array(2 * H * W);
  for (let r = 0; r < H; r++)
    for (let q = 0; q < W; q++) {
      c[r * W + q] = W > 1 ? (2 * q) / (W - 1) - 1 : 0;
      c[H * W + r * W + q] = H > 1 ? (2 * r) / (H - 1) - 1 : 0;
    }
  return dg.tensor(c, [1, 2, H, W]);
}

const shapes: [string, number[]][] = [
  ['resnet_18 @256 [8,512,8,8]', [8, 512, 8, 8]],
  ['resnet_50 @256 [8,2048,8,8]', [8, 2048, 8, 8]],
  ['resnet_50 @448 [8,2048,14,14]', [8, 2048, 14, 14]],
  ['hrnet_w32 @256 [8,32,64,64]', [8, 32, 64, 64]],
];
const rows: Row[] = [];
for (const [name, shape] of shapes) {
  const [B, C, H, W] = shape as [number, number, number, number];
  const x = dg.randn(shape, { seed: 1 });
  x.requiresGrad = true;
  const coords = coordinates(H, W);
  const w = dg.randn([B, C + 2, H, W], { seed: 2 });
  const bytes = 4 * (B * C * H * W + B * (C + 2) * H * W);
  // Forward+backward: d/dx of sum(op(x) * w), the gradient read back into x.grad and dropped.
  const step = (op: (t: dg.Tensor) => dg.Tensor) => () =>
    dg.tidy(() => {
      dg.sum(dg.mul(op(x), w)).backward();
      x.grad!.dispose();
      x.grad = null;
    });
  const t = {
    kernel: await timeGpu(`${name} kernel`, () => dg.noGrad(() => addCoords([x])), { runs }),
    scalar: await timeGpu(`${name} scalar kernel`, () => dg.noGrad(() => scalarAddCoords([x])), { runs }),
    composite: await timeGpu(`${name} composite`, () => dg.noGrad(() => composite(x, coords)), { runs }),
    kernelStep: await timeGpu(`${name} kernel fwd+bwd`, step((t) => addCoords([t])), { runs }),
    compositeStep: await timeGpu(`${name} composite fwd+bwd`, step((t) => composite(t, coords)), { runs }),
  };
  rows.push({
    features: name,
    'kernel ms': +t.kernel.medianMs.toFixed(3),
    'scalar ms': +t.scalar.medianMs.toFixed(3),
    'composite ms': +t.composite.medianMs.toFixed(3),
    'kernel GB/s': +(bytes / t.kernel.medianMs / 1e6).toFixed(2),
    'vec4 x scalar': +(t.scalar.medianMs / t.kernel.medianMs).toFixed(2),
    'fwd x composite': +(t.composite.medianMs / t.kernel.medianMs).toFixed(2),
    'fwd+bwd kernel ms': +t.kernelStep.medianMs.toFixed(2),
    'fwd+bwd composite ms': +t.compositeStep.medianMs.toFixed(2),
    'fwd+bwd x composite': +(t.compositeStep.medianMs / t.kernelStep.medianMs).toFixed(2),
  });
  for (const tensor of [x, coords, w]) tensor.dispose();
}
printTable(rows, `AddCoords: the example's WGSL kernel vs concat of built-in ops, median of ${runs} (x composite > 1: the kernel is faster)`);
console.log(`\nwrote ${writeResults('add-coords', { runs, rows })}`);
