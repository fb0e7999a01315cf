// Finite-difference checks of autograd on small shapes, including chains where gradients meet
// (a tensor used twice), broadcasting, and every op family.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { gradcheck, randomInput } from './helpers/gradcheck.ts';
import { useGpu } from './helpers/gpu.ts';

const TOL = 2e-2;

const cases: [string, (x: Tensor[]) => Tensor, { data: Float32Array; shape: number[] }[]][] = [
  ['mlp chain: matmul, add bias, tanh, matmul, sigmoid', ([x, w, b, v]) => dg.sigmoid(dg.matmul(dg.tanh(dg.add(dg.matmul(x!, w!), b!)), v!)),
    [randomInput([3, 4], 1), randomInput([4, 5], 2), randomInput([5], 3), randomInput([5, 2], 4)]],
  ['tensor used twice: x * exp(x)', ([x]) => dg.mul(x!, dg.exp(x!)), [randomInput([2, 3], 5)]],
  ['div and pow with broadcasting', ([a, b]) => dg.pow(dg.div(a!, b!), dg.reshape(b!, [1, 3])), [randomInput([2, 3], 6, 0.5, 2), randomInput([3], 7, 0.5, 1.5)]],
  ['log, sqrt, rsqrt, reciprocal', ([x]) => dg.add(dg.add(dg.log(x!), dg.sqrt(x!)), dg.add(dg.rsqrt(x!), dg.reciprocal(x!))), [randomInput([2, 3], 8, 0.5, 2)]],
  ['softmax and logSoftmax', ([x]) => dg.add(dg.softmax(x!, 1), dg.logSoftmax(x!, 0)), [randomInput([3, 4], 9, -2, 2)]],
  ['variance and mean over two axes', ([x]) => dg.add(dg.variance(x!, [0, 2], { keepdim: true }), dg.mean(x!, 1, true)), [randomInput([2, 3, 4], 10)]],
  ['max and min over an axis', ([x]) => dg.sub(dg.max(x!, 1, true), dg.min(x!, 0, true)), [randomInput([3, 4], 11)]],
  ['permute, slice, concat, pad', ([x]) => dg.pad(dg.concat([dg.permute(x!, [1, 0, 2]), dg.slice(x!, [[0, 1]])], 0), [1, 1]), [randomInput([2, 2, 3], 12)]],
  ['expand and transpose', ([x]) => dg.mul(dg.expand(x!, [2, 3, 4]), dg.transpose(dg.expand(x!, [2, 3, 4]), 0, 1).shape.length), [randomInput([3, 1], 13)]],
  ['batched matmul with a shared right operand', ([a, b]) => dg.matmul(a!, b!), [randomInput([2, 3, 4], 14), randomInput([4, 2], 15)]],
  ['batched matmul with a broadcast left operand', ([a, b]) => dg.matmul(a!, b!), [randomInput([3, 4], 16), randomInput([2, 4, 2], 17)]],
  ['where, maximum, minimum', ([c, a, b]) => dg.add(dg.where(dg.gt(c!, 0), a!, b!), dg.maximum(a!, dg.minimum(b!, c!))), [randomInput([2, 3], 18), randomInput([2, 3], 19), randomInput([3], 20)]],
  ['activations: gelu, silu, leakyRelu, hardswish', ([x]) => dg.add(dg.add(dg.gelu(x!), dg.silu(x!)), dg.add(dg.leakyRelu(x!, 0.2), dg.hardswish(x!))), [randomInput([2, 5], 21, -2, 2)]],
];

describe('autograd agrees with finite differences', () => {
  useGpu();
  for (const [name, fn, inputs] of cases) {
    it(name, async () => {
      expect(await gradcheck(fn, inputs)).toBeLessThan(TOL);
    });
  }
});
