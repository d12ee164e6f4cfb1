//! The float32 grade of the primitives: `e^x`, `ln x`, `ln(1 + x)` and `ln(1 + e^−|z|)` on f64
//! lanes, with polynomials sized for float32 results instead of float64 ones.
//!
//! A float32 input is widened exactly to f64 and its result is either rounded once to f32
//! (per-item outputs) or summed in f64 (reductions). An f32 result needs about 2^-25 relative
//! accuracy, not 2^-53: these forms keep ≤ 2^-32 (measured, `tests/math_f32.rs`), so a rounded
//! f32 result is within 0.5 + 2^-8 ulp of the exact one, and f32 sums stay far inside the
//! 2^-24 relative bound of SPEC §4. They cost about half the instructions of the f64 forms:
//! no double-double steps, shorter polynomials, one reduction constant.
//!
//! Everything runs in f64 lanes, so the float32 path has the same canonical lane layout, the
//! same tiers and the same bits on every tier as the f64 path, and no separate f32 lane code.
//! Vectors with a lane outside the fast path's domain (specials, huge or tiny values) take the
//! tier's full-precision primitive for those lanes only; ordinary lanes keep the fast path's
//! bits, so a lane's result never depends on its neighbours.

use super::{pow2_from_shifted, SHIFT};
use crate::simd::Simd;

const LOG2_E: f64 = std::f64::consts::LOG2_E;
const LN2: f64 = std::f64::consts::LN_2;

/// `e^r = 1 + r + r²·Q(r)` on |r| ≤ 1.0001·ln2/2, `Q` of degree 5 (so `e^r` of degree 7):
/// Chebyshev fit (mpmath `chebyfit`, 50 digits) rounded to double; relative error of the
/// whole ≤ 2^-32.0 with these coefficients.
const Q: [f64; 6] = [
    f64::from_bits(0x3FE0_0000_00B9_129B),
    f64::from_bits(0x3FC5_5555_55A7_8ED4),
    f64::from_bits(0x3FA5_554E_9063_586E),
    f64::from_bits(0x3F81_110E_0F23_8322),
    f64::from_bits(0x3F56_D432_46B5_23B4),
    f64::from_bits(0x3F2A_124F_19FE_89AC),
];

/// `ln(1 + f) = 2s + s·z·R(z)`, `s = f/(2 + f)`, `z = s²` ≤ 0.02944 (f ∈ [√2/2 − 1, √2 − 1]):
/// `R` of degree 3, Chebyshev fit of `(2·atanh(s) − 2s)/(s·z)` (mpmath, 50 digits) rounded to
/// double; relative error of `ln(1 + f)` ≤ 2^-35.8.
const R: [f64; 4] = [
    f64::from_bits(0x3FE5_5555_54BB_27FA),
    f64::from_bits(0x3FD9_999E_B5EC_BD4E),
    f64::from_bits(0x3FD2_45C4_2F24_6CB0),
    f64::from_bits(0x3FCD_DCEF_5D33_3F0F),
];

/// |x| ≤ this: `2^n` and `e^x` are normal numbers.
const EXP_FAST_MAX: f64 = 708.0;
/// At or below this, `e^x` rounds to +0 in f64.
const EXP_ZERO_BELOW: f64 = -746.0;
/// Bits of √2 − 1, where `1 + w` crosses √2 in [`ln_1p_unit`].
const SQRT2_M1: f64 = std::f64::consts::SQRT_2 - 1.0;
/// `ln(1 + x)` takes the fast path for −1 < x < 2^1000 (see `log.rs`).
const BIG: f64 = f64::from_bits(0x7E70_0000_0000_0000);

/// `e^x` for |x| ≤ 708: `n = round(x·log2 e)`, `r = x − n·ln 2` (one FMA: the rounding of
/// ln 2 costs ≤ 1022·2^-54 absolute in r), `e^r` by the degree-7 polynomial, scaled by `2^n`
/// built from integer bits.
#[inline(always)]
fn exp_core<S: Simd>(s: S, x: S::V) -> S::V {
    let shift = s.splat(SHIFT);
    let t = s.mul_add(x, s.splat(LOG2_E), shift);
    let n = s.sub(t, shift);
    let r = s.mul_add(n, s.splat(-LN2), x);
    let mut q = s.mul_add(s.splat(Q[5]), r, s.splat(Q[4]));
    for &c in Q[..4].iter().rev() {
        q = s.mul_add(q, r, s.splat(c));
    }
    let p = s.add(s.splat(1.0), s.mul_add(s.mul(r, r), q, r));
    s.mul(p, pow2_from_shifted(s, t))
}

/// `e^x`, float32 grade. Lanes with |x| > 708 or NaN get the tier's full `exp`, or +0 when
/// they are all ≤ −746.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    let ok = s.le(s.abs(x), s.splat(EXP_FAST_MAX));
    if s.all(ok) {
        return exp_core(s, x);
    }
    let safe = s.select(ok, x, s.splat(0.0));
    // Lanes at or below −746 (−inf: masked logits, the padding of a row) are exactly +0.
    let zero_lanes = s.le(x, s.splat(EXP_ZERO_BELOW));
    let other = if s.all(s.or(ok, zero_lanes)) {
        s.splat(0.0)
    } else {
        s.exp(x)
    };
    s.select(ok, exp_core(s, safe), other)
}

/// `k·ln 2 + ln(1 + f)` for f ∈ [√2/2 − 1, √2 − 1] (one division).
#[inline(always)]
fn log_core<S: Simd>(s: S, k: S::V, f: S::V) -> S::V {
    let sv = s.div(f, s.add(s.splat(2.0), f));
    let z = s.mul(sv, sv);
    let mut r = s.mul_add(s.splat(R[3]), z, s.splat(R[2]));
    for &c in R[..2].iter().rev() {
        r = s.mul_add(r, z, s.splat(c));
    }
    let l = s.mul_add(s.mul(sv, z), r, s.add(sv, sv));
    s.mul_add(k, s.splat(LN2), l)
}

/// `ln x`, float32 grade. Lanes that are not positive normal finite numbers get the tier's
/// full `ln`.
#[inline(always)]
pub(crate) fn ln<S: Simd>(s: S, x: S::V) -> S::V {
    let ok = s.and(
        s.le(s.splat(f64::MIN_POSITIVE), x),
        s.lt(x, s.splat(f64::INFINITY)),
    );
    if s.all(ok) {
        ln_core(s, x)
    } else {
        let safe = s.select(ok, x, s.splat(1.0));
        s.select(ok, ln_core(s, safe), s.ln(x))
    }
}

/// `ln x` for positive normal finite x. (Helpers are functions, not closures: a closure is
/// not inlined into the tier's entry point by default and would run without its features.)
#[inline(always)]
fn ln_core<S: Simd>(s: S, x: S::V) -> S::V {
    let (k, f, _) = super::log::reduce(s, x);
    log_core(s, k, f)
}

/// `ln(1 + x)`, float32 grade: `1 + x = u + d` exactly (TwoSum), `u = 2^k·(1 + f)`, and
/// `ln(1 + x) = k·ln 2 + ln(1 + f + d·2^-k)` (the rounding of `f + d·2^-k`, ≤ 2^-53 relative,
/// keeps small x accurate). Lanes outside (−1, 2^1000) get the tier's full `ln_1p`; ±0 → ±0.
#[inline(always)]
pub(crate) fn ln_1p<S: Simd>(s: S, x: S::V) -> S::V {
    let ok = s.and(s.lt(s.splat(-1.0), x), s.lt(x, s.splat(BIG)));
    if s.all(ok) {
        ln_1p_core(s, x)
    } else {
        let safe = s.select(ok, x, s.splat(0.0));
        s.select(ok, ln_1p_core(s, safe), s.ln_1p(x))
    }
}

/// `ln(1 + x)` for −1 < x < 2^1000.
#[inline(always)]
fn ln_1p_core<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    let u = s.add(one, x);
    let bb = s.sub(u, one);
    let d = s.add(s.sub(one, s.sub(u, bb)), s.sub(x, bb));
    let (k, f, ebits) = super::log::reduce(s, u);
    let scale = s.from_bits(s.sub_bits(s.splat_bits(0x7FE0_0000_0000_0000), ebits));
    let y = log_core(s, k, s.mul_add(d, scale, f));
    s.select(s.eq(x, s.splat(0.0)), x, y)
}

/// `ln(1 + w)` for w ∈ [0, 1] (or NaN, which propagates), float32 grade, without a TwoSum or
/// an exponent reduction: below √2 − 1, `1 + f = 1 + w` with `f = w` exactly; above it,
/// `2·(1 + f) = 1 + w` with `f = (w − 1)/2` (rounded once, ≤ 2^-53 relative).
#[inline(always)]
pub(crate) fn ln_1p_unit<S: Simd>(s: S, w: S::V) -> S::V {
    let big = s.le(s.splat(SQRT2_M1), w);
    let f = s.select(big, s.mul(s.sub(w, s.splat(1.0)), s.splat(0.5)), w);
    let k = s.select(big, s.splat(1.0), s.splat(0.0));
    log_core(s, k, f)
}

/// `ln(1 + e^−|z|)` (the correction term of softplus and log-sigmoid), float32 grade.
#[inline(always)]
pub(crate) fn ln_1p_exp_neg_abs<S: Simd>(s: S, z: S::V) -> S::V {
    ln_1p_unit(s, exp(s, s.neg(s.abs(z))))
}
