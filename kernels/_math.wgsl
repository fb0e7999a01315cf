// Library: math functions WGSL lacks, on vec4 (the elementwise kernels work four values at a time).

// erf to about 1.2e-7 absolute (Numerical Recipes' erfc Chebyshev fit).
fn erf4(x: vec4<f32>) -> vec4<f32> {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= vec4<f32>(0.0));
}

// x^a for real a; integer exponents of negative bases keep their sign, as in PyTorch (others give NaN).
fn pow4(x: vec4<f32>, a: vec4<f32>) -> vec4<f32> {
  let m = pow(abs(x), a);
  let signed = select(m, -m, abs(a % vec4<f32>(2.0)) == vec4<f32>(1.0));
  let negativeBase = x < vec4<f32>(0.0);
  let integral = a == round(a);
  return select(pow(x, a), signed, negativeBase & integral);
}

const SQRT1_2: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;
