//! The portable tier: the virtual vector as eight f64 scalars. It is the reference every
//! other tier must match bit for bit, and the fallback on CPUs without a SIMD tier.

use super::{Simd, LANES};
use crate::math;

#[derive(Debug, Clone, Copy, Default)]
pub struct Scalar;

type V = [f64; LANES];
type M = [bool; LANES];

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

    #[inline(always)]
    fn splat(self, x: f64) -> V {
        [x; LANES]
    }
    #[inline(always)]
    fn load(self, a: &[f64; LANES]) -> V {
        *a
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
        zip(a, b, |x, y| if x.is_nan() || y.is_nan() { f64::NAN } else { x.min(y) })
    }
    #[inline(always)]
    fn max(self, a: V, b: V) -> V {
        zip(a, b, |x, y| if x.is_nan() || y.is_nan() { f64::NAN } else { x.max(y) })
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
    fn ln(self, a: V) -> V {
        map(a, math::ln)
    }
    #[inline(always)]
    fn exp(self, a: V) -> V {
        map(a, math::exp)
    }
    #[inline(always)]
    fn ln_1p(self, a: V) -> V {
        map(a, math::ln_1p)
    }
}
