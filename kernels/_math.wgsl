// Library: math functions WGSL lacks, shared by the elementwise kernels.

// erf to about 1.2e-7 absolute (Numerical Recipes' erfc Chebyshev fit).
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

// x^a for real a; integer exponents of negative bases keep their sign, as in PyTorch.
fn powf(x: f32, a: f32) -> f32 {
  if (x >= 0.0 || a != round(a)) { return pow(x, a); }
  let m = pow(-x, a);
  return select(m, -m, abs(a % 2.0) == 1.0);
}

const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;
