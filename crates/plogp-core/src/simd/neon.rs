//! The NEON tier (aarch64): the 8-lane virtual vector as four `float64x2_t` (lanes 0–1, 2–3,
//! 4–5, 6–7).
//!
//! NEON and its fused multiply-add are part of the aarch64 baseline, so this tier needs no
//! `#[target_feature]` entry point and no run-time detection. Like the x86 tiers it uses only
//! correctly rounded operations and bit manipulation. `FMIN`/`FMAX` order `-0.0` below `0.0`
//! and keep NaN payloads, so `min`/`max` are built from a comparison and a select instead, to
//! match the [`super::Scalar`] reference bit for bit.

use super::{Simd, LANES};
use crate::math;
use std::arch::aarch64::*;

/// The NEON tier token. Every aarch64 CPU has NEON, so it is always available.
#[derive(Debug, Clone, Copy)]
pub struct Neon {
    _private: (),
}

impl Neon {
    /// The tier token (NEON is mandatory on aarch64).
    pub fn try_new() -> Option<Neon> {
        Some(Neon { _private: () })
    }
}

type V = [float64x2_t; 4];
type I = [uint64x2_t; 4];

/// Apply a two-operand intrinsic to the four quarters.
macro_rules! quarters {
    ($f:ident, $a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe {
            [
                $f(a[0], b[0]),
                $f(a[1], b[1]),
                $f(a[2], b[2]),
                $f(a[3], b[3]),
            ]
        }
    }};
}

/// Apply a one-operand intrinsic to the four quarters.
macro_rules! each {
    ($f:ident, $a:expr) => {{
        let a = $a;
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { [$f(a[0]), $f(a[1]), $f(a[2]), $f(a[3])] }
    }};
}

/// Lane-wise bitwise NOT of a mask.
#[inline(always)]
fn not(m: I) -> I {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let ones = vdupq_n_u64(u64::MAX);
        [
            veorq_u64(m[0], ones),
            veorq_u64(m[1], ones),
            veorq_u64(m[2], ones),
            veorq_u64(m[3], ones),
        ]
    }
}

impl Neon {
    /// Lanes where either operand is NaN.
    #[inline(always)]
    fn unordered(self, a: V, b: V) -> I {
        let ordered = self.and(quarters!(vceqq_f64, a, a), quarters!(vceqq_f64, b, b));
        not(ordered)
    }

    /// Logical shift of every 64-bit lane by `n` bits (left if positive, right if negative).
    #[inline(always)]
    fn shift(self, a: I, n: i64) -> I {
        // SAFETY: NEON is part of the aarch64 baseline.
        let n = unsafe { vdupq_n_s64(n) };
        // SAFETY: as above; `USHL` with a negative count is a logical right shift.
        unsafe {
            [
                vshlq_u64(a[0], n),
                vshlq_u64(a[1], n),
                vshlq_u64(a[2], n),
                vshlq_u64(a[3], n),
            ]
        }
    }
}

impl Simd for Neon {
    type V = V;
    type M = I;
    type I = I;

    #[inline(always)]
    fn splat(self, x: f64) -> V {
        // SAFETY: NEON is part of the aarch64 baseline.
        let v = unsafe { vdupq_n_f64(x) };
        [v; 4]
    }
    #[inline(always)]
    fn load(self, a: &[f64; LANES]) -> V {
        let p = a.as_ptr();
        // SAFETY: each load reads 2 of the 8 f64 of `a` (no alignment needed).
        unsafe {
            [
                vld1q_f64(p),
                vld1q_f64(p.add(2)),
                vld1q_f64(p.add(4)),
                vld1q_f64(p.add(6)),
            ]
        }
    }
    #[inline(always)]
    fn load_f32(self, a: &[f32; LANES]) -> V {
        let p = a.as_ptr();
        // SAFETY: each load reads 4 of the 8 f32 of `a` (no alignment needed).
        unsafe {
            let lo = vld1q_f32(p);
            let hi = vld1q_f32(p.add(4));
            [
                vcvt_f64_f32(vget_low_f32(lo)),
                vcvt_high_f64_f32(lo),
                vcvt_f64_f32(vget_low_f32(hi)),
                vcvt_high_f64_f32(hi),
            ]
        }
    }
    #[inline(always)]
    fn store(self, v: V) -> [f64; LANES] {
        let mut out = [0.0; LANES];
        let p = out.as_mut_ptr();
        // SAFETY: each store writes 2 of the 8 f64 of `out`.
        unsafe {
            vst1q_f64(p, v[0]);
            vst1q_f64(p.add(2), v[1]);
            vst1q_f64(p.add(4), v[2]);
            vst1q_f64(p.add(6), v[3]);
        }
        out
    }
    #[inline(always)]
    fn add(self, a: V, b: V) -> V {
        quarters!(vaddq_f64, a, b)
    }
    #[inline(always)]
    fn sub(self, a: V, b: V) -> V {
        quarters!(vsubq_f64, a, b)
    }
    #[inline(always)]
    fn mul(self, a: V, b: V) -> V {
        quarters!(vmulq_f64, a, b)
    }
    #[inline(always)]
    fn div(self, a: V, b: V) -> V {
        quarters!(vdivq_f64, a, b)
    }
    #[inline(always)]
    fn mul_add(self, a: V, b: V, c: V) -> V {
        // SAFETY: NEON is part of the aarch64 baseline. `vfmaq_f64(c, a, b)` is `c + a·b` with
        // one rounding (FMLA).
        unsafe {
            [
                vfmaq_f64(c[0], a[0], b[0]),
                vfmaq_f64(c[1], a[1], b[1]),
                vfmaq_f64(c[2], a[2], b[2]),
                vfmaq_f64(c[3], a[3], b[3]),
            ]
        }
    }
    #[inline(always)]
    fn min(self, a: V, b: V) -> V {
        let m = self.select(self.lt(a, b), a, b);
        self.select(self.unordered(a, b), self.splat(f64::NAN), m)
    }
    #[inline(always)]
    fn max(self, a: V, b: V) -> V {
        let m = self.select(self.lt(b, a), a, b);
        self.select(self.unordered(a, b), self.splat(f64::NAN), m)
    }
    #[inline(always)]
    fn abs(self, a: V) -> V {
        each!(vabsq_f64, a)
    }
    #[inline(always)]
    fn neg(self, a: V) -> V {
        each!(vnegq_f64, a)
    }
    #[inline(always)]
    fn lt(self, a: V, b: V) -> I {
        quarters!(vcltq_f64, a, b)
    }
    #[inline(always)]
    fn le(self, a: V, b: V) -> I {
        quarters!(vcleq_f64, a, b)
    }
    #[inline(always)]
    fn eq(self, a: V, b: V) -> I {
        quarters!(vceqq_f64, a, b)
    }
    #[inline(always)]
    fn ne(self, a: V, b: V) -> I {
        // True when either is NaN, like `!=` on f64.
        not(self.eq(a, b))
    }
    #[inline(always)]
    fn is_nan(self, a: V) -> I {
        not(self.eq(a, a))
    }
    #[inline(always)]
    fn and(self, a: I, b: I) -> I {
        quarters!(vandq_u64, a, b)
    }
    #[inline(always)]
    fn or(self, a: I, b: I) -> I {
        quarters!(vorrq_u64, a, b)
    }
    #[inline(always)]
    fn any(self, m: I) -> bool {
        let m = self.or([m[0], m[1], m[0], m[1]], [m[2], m[3], m[2], m[3]]);
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vmaxvq_u32(vreinterpretq_u32_u64(vorrq_u64(m[0], m[1]))) != 0 }
    }
    #[inline(always)]
    fn all(self, m: I) -> bool {
        let m = self.and([m[0], m[1], m[0], m[1]], [m[2], m[3], m[2], m[3]]);
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { vminvq_u32(vreinterpretq_u32_u64(vandq_u64(m[0], m[1]))) == u32::MAX }
    }
    #[inline(always)]
    fn bits(self, m: I) -> u32 {
        let mut b = 0u32;
        for (i, q) in m.iter().enumerate() {
            // SAFETY: NEON is part of the aarch64 baseline.
            let (l0, l1) = unsafe { (vgetq_lane_u64::<0>(*q), vgetq_lane_u64::<1>(*q)) };
            b |= ((l0 & 1) as u32) << (2 * i) | ((l1 & 1) as u32) << (2 * i + 1);
        }
        b
    }
    #[inline(always)]
    fn select(self, m: I, a: V, b: V) -> V {
        // SAFETY: NEON is part of the aarch64 baseline. BSL takes `a`'s bits where `m` is set.
        unsafe {
            [
                vbslq_f64(m[0], a[0], b[0]),
                vbslq_f64(m[1], a[1], b[1]),
                vbslq_f64(m[2], a[2], b[2]),
                vbslq_f64(m[3], a[3], b[3]),
            ]
        }
    }

    #[inline(always)]
    fn to_bits(self, a: V) -> I {
        each!(vreinterpretq_u64_f64, a)
    }
    #[inline(always)]
    fn from_bits(self, a: I) -> V {
        each!(vreinterpretq_f64_u64, a)
    }
    #[inline(always)]
    fn splat_bits(self, x: u64) -> I {
        // SAFETY: NEON is part of the aarch64 baseline.
        let v = unsafe { vdupq_n_u64(x) };
        [v; 4]
    }
    #[inline(always)]
    fn add_bits(self, a: I, b: I) -> I {
        quarters!(vaddq_u64, a, b)
    }
    #[inline(always)]
    fn sub_bits(self, a: I, b: I) -> I {
        quarters!(vsubq_u64, a, b)
    }
    #[inline(always)]
    fn and_bits(self, a: I, b: I) -> I {
        quarters!(vandq_u64, a, b)
    }
    #[inline(always)]
    fn or_bits(self, a: I, b: I) -> I {
        quarters!(vorrq_u64, a, b)
    }
    #[inline(always)]
    fn shl_bits<const N: u32>(self, a: I) -> I {
        self.shift(a, N as i64)
    }
    #[inline(always)]
    fn shr_bits<const N: u32>(self, a: I) -> I {
        self.shift(a, -(N as i64))
    }

    #[inline(always)]
    fn ln(self, a: V) -> V {
        math::ln_v(self, a, ln_rare)
    }
    #[inline(always)]
    fn exp(self, a: V) -> V {
        math::exp_v(self, a, exp_rare)
    }
    #[inline(always)]
    fn ln_1p(self, a: V) -> V {
        math::ln_1p_v(self, a, ln_1p_rare)
    }
}

// The rare paths of the math primitives, out of line so that call sites inline only the fast
// path (no target features to enable on this tier).

#[inline(never)]
fn exp_rare(a: V) -> V {
    math::exp_rare(Neon { _private: () }, a)
}

#[inline(never)]
fn ln_rare(a: V) -> V {
    math::ln_rare(Neon { _private: () }, a)
}

#[inline(never)]
fn ln_1p_rare(a: V) -> V {
    math::ln_1p_rare(Neon { _private: () }, a)
}
