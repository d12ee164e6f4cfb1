//! The portable tier: the virtual vector as eight f64 scalars. It is the reference every
//! other tier must match bit for bit, and the fallback on CPUs without a SIMD tier.
//!
//! Without a `#[target_feature]` context `f64::mul_add` is a call to libm's `fma`
//! (correctly rounded, in hardware where the CPU has FMA), so this tier is slow but exact.

use super::{Simd, LANES};
use crate::math;

#[derive(Debug, Clone, Copy, Default)]
pub struct Scalar;

type V = [f64; LANES];
type M = [bool; LANES];
type I = [u64; LANES];

#[inline(always)]
fn map(a: V, f: impl Fn(f64) -> f64) -> V {
    let mut o = a;
    for x in o.iter_mut() {
        *x = f(*x);
    }
    o
}

#[inline(always)]
fn zip(a: V, b: V, f: impl Fn(f64, f64) -> f64) -> V {
    let mut o = a;
    for (x, y) in o.iter_mut().zip(b) {
        *x = f(*x, y);
    }
    o
}

#[inline(always)]
fn zip_bits(a: I, b: I, f: impl Fn(u64, u64) -> u64) -> I {
    let mut o = a;
    for (x, y) in o.iter_mut().zip(b) {
        *x = f(*x, y);
    }
    o
}

#[inline(always)]
fn cmp(a: V, b: V, f: impl Fn(f64, f64) -> bool) -> M {
    let mut m = [false; LANES];
    for i in 0..LANES {
        m[i] = f(a[i], b[i]);
    }
    m
}

impl Simd for Scalar {
    type V = V;
    type M = M;
    type I = I;

    #[inline(always)]
    fn splat(self, x: f64) -> V {
        [x; LANES]
    }
    #[inline(always)]
    fn load(self, a: &[f64; LANES]) -> V {
        *a
    }
    #[inline(always)]
    fn load_f32(self, a: &[f32; LANES]) -> V {
        a.map(f64::from)
    }
    #[inline(always)]
    fn store(self, v: V) -> [f64; LANES] {
        v
    }
    #[inline(always)]
    fn add(self, a: V, b: V) -> V {
        zip(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(self, a: V, b: V) -> V {
        zip(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(self, a: V, b: V) -> V {
        zip(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn div(self, a: V, b: V) -> V {
        zip(a, b, |x, y| x / y)
    }
    #[inline(always)]
    fn mul_add(self, a: V, b: V, c: V) -> V {
        let mut o = a;
        for i in 0..LANES {
            o[i] = a[i].mul_add(b[i], c[i]);
        }
        o
    }
    #[inline(always)]
    fn min(self, a: V, b: V) -> V {
        zip(a, b, |x, y| {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else if x < y {
                x
            } else {
                y
            }
        })
    }
    #[inline(always)]
    fn max(self, a: V, b: V) -> V {
        zip(a, b, |x, y| {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else if x > y {
                x
            } else {
                y
            }
        })
    }
    #[inline(always)]
    fn abs(self, a: V) -> V {
        map(a, f64::abs)
    }
    #[inline(always)]
    fn neg(self, a: V) -> V {
        map(a, |x| -x)
    }
    #[inline(always)]
    fn lt(self, a: V, b: V) -> M {
        cmp(a, b, |x, y| x < y)
    }
    #[inline(always)]
    fn le(self, a: V, b: V) -> M {
        cmp(a, b, |x, y| x <= y)
    }
    #[inline(always)]
    fn eq(self, a: V, b: V) -> M {
        cmp(a, b, |x, y| x == y)
    }
    #[inline(always)]
    fn ne(self, a: V, b: V) -> M {
        cmp(a, b, |x, y| x != y)
    }
    #[inline(always)]
    fn is_nan(self, a: V) -> M {
        cmp(a, a, |x, y| x != y)
    }
    #[inline(always)]
    fn and(self, a: M, b: M) -> M {
        let mut o = a;
        for i in 0..LANES {
            o[i] &= b[i];
        }
        o
    }
    #[inline(always)]
    fn or(self, a: M, b: M) -> M {
        let mut o = a;
        for i in 0..LANES {
            o[i] |= b[i];
        }
        o
    }
    #[inline(always)]
    fn any(self, m: M) -> bool {
        m.iter().any(|&b| b)
    }
    #[inline(always)]
    fn all(self, m: M) -> bool {
        m.iter().all(|&b| b)
    }
    #[inline(always)]
    fn bits(self, m: M) -> u32 {
        m.iter()
            .enumerate()
            .fold(0, |b, (i, &on)| b | (u32::from(on) << i))
    }
    #[inline(always)]
    fn select(self, m: M, a: V, b: V) -> V {
        let mut o = b;
        for i in 0..LANES {
            if m[i] {
                o[i] = a[i];
            }
        }
        o
    }
    #[inline(always)]
    fn to_bits(self, a: V) -> I {
        a.map(f64::to_bits)
    }
    #[inline(always)]
    fn from_bits(self, a: I) -> V {
        a.map(f64::from_bits)
    }
    #[inline(always)]
    fn splat_bits(self, x: u64) -> I {
        [x; LANES]
    }
    #[inline(always)]
    fn add_bits(self, a: I, b: I) -> I {
        zip_bits(a, b, u64::wrapping_add)
    }
    #[inline(always)]
    fn sub_bits(self, a: I, b: I) -> I {
        zip_bits(a, b, u64::wrapping_sub)
    }
    #[inline(always)]
    fn and_bits(self, a: I, b: I) -> I {
        zip_bits(a, b, |x, y| x & y)
    }
    #[inline(always)]
    fn or_bits(self, a: I, b: I) -> I {
        zip_bits(a, b, |x, y| x | y)
    }
    #[inline(always)]
    fn shl_bits<const N: u32>(self, a: I) -> I {
        a.map(|x| x << N)
    }
    #[inline(always)]
    fn shr_bits<const N: u32>(self, a: I) -> I {
        a.map(|x| x >> N)
    }
    #[inline(always)]
    fn ln(self, a: V) -> V {
        math::lanes(math::Fun::Ln, a)
    }
    #[inline(always)]
    fn exp(self, a: V) -> V {
        math::lanes(math::Fun::Exp, a)
    }
    #[inline(always)]
    fn ln_1p(self, a: V) -> V {
        math::lanes(math::Fun::Ln1p, a)
    }
}
