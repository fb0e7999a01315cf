// Elementwise ops: unary (one pipeline, op chosen by a uniform), binary with NumPy broadcasting,
// comparisons and where. Each op's gradient rule sits next to its forward.
import { engine } from '../gpu/current.ts';
import { kernel, Uniforms } from '../gpu/kernel.ts';
import { record } from '../tensor/autograd.ts';
import { Tensor } from '../tensor/tensor.ts';
import { zerosLike, full } from './creation.ts';
import { broadcastShapes, broadcastStrides, checkRank, coalesce, grid } from './layout.ts';

const unaryKernel = kernel('unary');
const binaryKernel = kernel('binary');
const whereKernel = kernel('where');

// Op codes of kernels/unary.wgsl.
const U = {
  neg: 0, exp: 1, log: 2, sqrt: 3, abs: 4, relu: 5, sigmoid: 6, tanh: 7, sin: 8, cos: 9, square: 10, reciprocal: 11,
  rsqrt: 12, sign: 13, floor: 14, ceil: 15, round: 16, affine: 17, powScalar: 18, clamp: 19, leakyRelu: 20, gelu: 21,
  silu: 22, hardswish: 23, hardsigmoid: 24, relu6: 25, log1p: 26,
} as const;

// Op codes of kernels/binary.wgsl.
const B = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
  reluGrad: 13, sigmoidGrad: 14, tanhGrad: 15, leakyReluGrad: 16, geluGrad: 17, siluGrad: 18, hardswishGrad: 19,
  hardsigmoidGrad: 20, relu6Grad: 21,
} as const;

function unaryRaw(x: Tensor, op: number, alpha = 0, beta = 0): Tensor {
  const y = Tensor.empty(x.shape);
  if (y.size > 0) engine().dispatch(unaryKernel, grid(Math.ceil(y.size / 4)), [x.buffer, y.buffer], new Uniforms().u32(y.size).u32(op).f32(alpha).f32(beta));
  return y;
}

const binary4Kernel = kernel('binary', 'main4');
/** vec4s per invocation of main4 (its STEPS): 4 made a same-shape add of 8.4M floats 21.9 -> 16.6 ms on lavapipe. */
const BINARY4_STEPS = 4;

function binaryRaw(a: Tensor, b: Tensor, op: number, alpha = 0): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  checkRank(shape, 'binary op');
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  const c = coalesce(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const [sa, sb] = c.strides as [number[], number[]];
  const inner = c.shape.length - 1;
  // Four outputs per invocation when each operand's innermost stride is 0 (splat) or 1 with every other
  // stride a multiple of 4 (an aligned vec4).
  const vec4able = (s: number[]) => s[inner] === 0 || (s[inner] === 1 && s.every((v, d) => d === inner || v % 4 === 0));
  const wide = c.shape[inner]! % 4 === 0 && vec4able(sa) && vec4able(sb);
  const u = new Uniforms().u32(out.size).u32(op).u32(c.shape.length).u32(sa[inner]!).u32(sb[inner]!).f32(alpha);
  u.dims(c.shape).dims(sa).dims(sb);
  if (wide) engine().dispatch(binary4Kernel, grid(Math.ceil(out.size / 4 / BINARY4_STEPS)), [a.buffer, b.buffer, out.buffer], u, { STEPS: BINARY4_STEPS });
  else engine().dispatch(binaryKernel, grid(out.size), [a.buffer, b.buffer, out.buffer], u);
  return out;
}

// ---- unary ----

type Rule = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

function unary(op: keyof typeof U, x: Tensor, rule: Rule | null, alpha = 0, beta = 0): Tensor {
  const y = unaryRaw(x, U[op], alpha, beta);
  // Piecewise-constant ops have zero gradient, as in PyTorch.
  return record(y, op, [x], (g) => [rule ? rule(g, x, y) : zerosLike(x)]);
}

/** -x. */
export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => neg(g));
/** e^x. */
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, _x, y) => mul(g, y));
/** Natural logarithm. */
export const log = (x: Tensor): Tensor => unary('log', x, (g, x) => div(g, x));
/** Square root. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (g, _x, y) => div(g, mulScalar(y, 2)));
/** |x|; the gradient is sign(x) (0 at 0, as in PyTorch). */
export const abs = (x: Tensor): Tensor => unary('abs', x, (g, x) => mul(g, sign(x)));
/** max(x, 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x, (g, x) => binaryRaw(g, x, B.reluGrad));
/** ReLU's backward without autograd: g where x > 0, else 0 (x may be ReLU's input or its output: same mask). */
export const reluBackward = (g: Tensor, x: Tensor): Tensor => binaryRaw(g, x, B.reluGrad);
/** 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (g, _x, y) => binaryRaw(g, y, B.sigmoidGrad));
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (g, _x, y) => binaryRaw(g, y, B.tanhGrad));
/** Sine (radians). */
export const sin = (x: Tensor): Tensor => unary('sin', x, (g, x) => mul(g, cos(x)));
/** Cosine (radians). */
export const cos = (x: Tensor): Tensor => unary('cos', x, (g, x) => neg(mul(g, sin(x))));
/** x * x. */
export const square = (x: Tensor): Tensor => unary('square', x, (g, x) => mul(g, mulScalar(x, 2)));
/** 1 / x. */
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, (g, _x, y) => neg(mul(g, square(y))));
/** 1 / sqrt(x). */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, (g, _x, y) => mul(g, mulScalar(powScalar(y, 3), -0.5)));
/** -1, 0 or 1; no gradient (zero, as in PyTorch). */
export const sign = (x: Tensor): Tensor => unary('sign', x, null);
/** Rounds down; zero gradient. */
export const floor = (x: Tensor): Tensor => unary('floor', x, null);
/** Rounds up; zero gradient. */
export const ceil = (x: Tensor): Tensor => unary('ceil', x, null);
/** Rounds to the nearest integer, halves to even (torch.round); zero gradient. */
export const round = (x: Tensor): Tensor => unary('round', x, null);
/** log(1 + x), accurate for small x. */
export const log1p = (x: Tensor): Tensor => unary('log1p', x, (g, x) => div(g, addScalar(x, 1)));
/** min(max(x, 0), 6). */
export const relu6 = (x: Tensor): Tensor => unary('relu6', x, (g, x) => binaryRaw(g, x, B.relu6Grad));
/** GELU, x * Φ(x) (PyTorch's default, exact erf form). */
export const gelu = (x: Tensor): Tensor => unary('gelu', x, (g, x) => binaryRaw(g, x, B.geluGrad));
/** SiLU (swish), x * sigmoid(x). */
export const silu = (x: Tensor): Tensor => unary('silu', x, (g, x) => binaryRaw(g, x, B.siluGrad));
/** x * relu6(x + 3) / 6 (MobileNetV3). */
export const hardswish = (x: Tensor): Tensor => unary('hardswish', x, (g, x) => binaryRaw(g, x, B.hardswishGrad));
/** relu6(x + 3) / 6 (MobileNetV3). */
export const hardsigmoid = (x: Tensor): Tensor => unary('hardsigmoid', x, (g, x) => binaryRaw(g, x, B.hardsigmoidGrad));
/** x where x > 0, else slope * x (default slope 0.01, as in PyTorch). */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor =>
  unary('leakyRelu', x, (g, x) => binaryRaw(g, x, B.leakyReluGrad, slope), slope);

/** x * scale + shift. */
export const affine = (x: Tensor, scale: number, shift: number): Tensor => unary('affine', x, (g) => mulScalar(g, scale), scale, shift);
/** x + c. */
export const addScalar = (x: Tensor, c: number): Tensor => affine(x, 1, c);
/** x * c. */
export const mulScalar = (x: Tensor, c: number): Tensor => affine(x, c, 0);
/** x^p for a constant exponent. */
export const powScalar = (x: Tensor, p: number): Tensor =>
  unary('powScalar', x, (g, x) => mul(g, mulScalar(powScalar(x, p - 1), p)), p);
/** Clamps to [min, max]; the gradient passes where min <= x <= max, as in PyTorch. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  return unary('clamp', x, (g, x) => mul(g, mul(ge(x, full([], min)), le(x, full([], max)))), Math.max(min, -3.4e38), Math.min(max, 3.4e38));
}

// ---- binary ----

/** A tensor, or a number taken as a scalar tensor (broadcast to the other operand). */
export type Operand = Tensor | number;

function asTensor(v: Operand): Tensor {
  return typeof v === 'number' ? full([], v) : v;
}

function binary(op: keyof typeof B, a: Tensor, b: Tensor, rule: ((g: Tensor, out: Tensor) => [Tensor | null, Tensor | null]) | null): Tensor {
  const out = binaryRaw(a, b, B[op]);
  return record(out, op, [a, b], (g) => (rule ? rule(g, out) : [zerosLike(a), zerosLike(b)]));
}

/** a + b, broadcasting (PyTorch's rules); either side may be a number. */
export function add(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return addScalar(asTensor(a), b);
  if (typeof a === 'number') return addScalar(b, a);
  return binary('add', a, b, (g) => [g, g]);
}

/** a - b, broadcasting; either side may be a number. */
export function sub(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return addScalar(asTensor(a), -b);
  if (typeof a === 'number') return affine(b, -1, a);
  return binary('sub', a, b, (g) => [g, b.requiresGrad ? neg(g) : null]);
}

/** a * b elementwise, broadcasting; either side may be a number. */
export function mul(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return mulScalar(asTensor(a), b);
  if (typeof a === 'number') return mulScalar(b, a);
  return binary('mul', a, b, (g) => [a.requiresGrad ? mul(g, b) : null, b.requiresGrad ? mul(g, a) : null]);
}

/** a / b, broadcasting; either side may be a number. */
export function div(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return mulScalar(asTensor(a), 1 / b);
  const ta = asTensor(a);
  return binary('div', ta, b, (g, out) => [ta.requiresGrad ? div(g, b) : null, b.requiresGrad ? neg(div(mul(g, out), b)) : null]);
}

/** a^b elementwise, broadcasting; a number exponent uses {@link powScalar}. */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number') return powScalar(asTensor(a), b);
  const ta = asTensor(a);
  return binary('pow', ta, b, (g, out) => [
    ta.requiresGrad ? mul(g, mul(b, pow(ta, sub(b, 1)))) : null,
    b.requiresGrad ? mul(g, mul(out, log(ta))) : null,
  ]);
}

/** Elementwise max; on ties each side gets half the gradient, as in PyTorch. */
export function maximum(a: Operand, b: Operand): Tensor {
  const ta = asTensor(a);
  const tb = asTensor(b);
  return binary('maximum', ta, tb, (g) => {
    const ga = mul(g, add(gt(ta, tb), mulScalar(eq(ta, tb), 0.5)));
    return [ga, tb.requiresGrad ? sub(g, ga) : null];
  });
}

/** Elementwise min; on ties each side gets half the gradient, as in PyTorch. */
export function minimum(a: Operand, b: Operand): Tensor {
  const ta = asTensor(a);
  const tb = asTensor(b);
  return binary('minimum', ta, tb, (g) => {
    const ga = mul(g, add(lt(ta, tb), mulScalar(eq(ta, tb), 0.5)));
    return [ga, tb.requiresGrad ? sub(g, ga) : null];
  });
}

// Comparisons give 1 or 0 and carry no gradient.
const compare = (op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge') => (a: Operand, b: Operand) => binaryRaw(asTensor(a), asTensor(b), B[op]);
/** 1 where a == b, else 0 (broadcasting); no gradient. */
export const eq = compare('eq');
/** 1 where a != b, else 0 (broadcasting); no gradient. */
export const ne = compare('ne');
/** 1 where a < b, else 0 (broadcasting); no gradient. */
export const lt = compare('lt');
/** 1 where a <= b, else 0 (broadcasting); no gradient. */
export const le = compare('le');
/** 1 where a > b, else 0 (broadcasting); no gradient. */
export const gt = compare('gt');
/** 1 where a >= b, else 0 (broadcasting); no gradient. */
export const ge = compare('ge');

/** cond != 0 ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const ta = asTensor(a);
  const tb = asTensor(b);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape), tb.shape);
  checkRank(shape, 'where');
  const out = Tensor.empty(shape);
  if (out.size > 0) {
    const u = new Uniforms().u32(out.size).u32(shape.length);
    u.dims(shape).dims(broadcastStrides(cond.shape, shape)).dims(broadcastStrides(ta.shape, shape)).dims(broadcastStrides(tb.shape, shape));
    engine().dispatch(whereKernel, grid(out.size), [cond.buffer, ta.buffer, tb.buffer, out.buffer], u);
  }
  return record(out, 'where', [ta, tb], (g) => {
    const zero = full([], 0);
    return [ta.requiresGrad ? where(cond, g, zero) : null, tb.requiresGrad ? where(cond, zero, g) : null];
  });
}
