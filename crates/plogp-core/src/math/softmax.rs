//! Max-shifted softmax pieces of one row of logits, shared by every kernel that reads logits
//! by rows (categorical and sparse losses from logits, entropy from logits, softmax,
//! log-softmax, logsumexp): the row max, `S = Σ exp(z − m)` and an accurate `ln S`.
//!
//! `m` is NaN if any logit is NaN and −inf for an empty or all −inf row; `ln S` is computed as
//! `ln_1p((n − 1) + R)` with `n` the count of logits at the max and `R` the sum of the others,
//! which keeps the relative accuracy of a tiny `ln S` (one dominant logit) that `ln(1 + R)`
//! would round away.

use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::Real;

/// Lane 0 of a vector: a single value computed with the tier's inlined vector math (the same
/// bits as the standalone `math::*` functions, without their per-call dispatch cost).
#[inline(always)]
pub(crate) fn lane0<S: Simd>(s: S, v: S::V) -> f64 {
    s.store(v)[0]
}

/// Max-shifted softmax pieces of one row of logits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowShift {
    /// `m = max z`: NaN if any logit is NaN, −inf for an empty or all −inf row.
    pub m: f64,
    /// `S = Σ exp(z − m)` (meaningless unless `m` is finite).
    pub sum: f64,
    /// `ln S`, accurate also when one logit dominates: `S = n + R` with `n` the number of
    /// logits equal to `m` and `R` the sum of the others, so `ln S = ln_1p((n − 1) + R)` keeps
    /// the relative accuracy of a tiny `ln S` that `ln(1 + R)` would round away.
    pub ln_sum: f64,
    /// `S − 1 = (n − 1) + R`: the sum without one of the logits at the max, exact where
    /// `S − 1` computed from `S` would round `R` away (the focal losses' `1 − p` of the top
    /// class).
    pub others: f64,
}

impl RowShift {
    /// From a finite max `m`, the number `n` of logits equal to it and the sum `rest` of
    /// `exp(z − m)` over the others.
    #[inline(always)]
    pub(crate) fn from_parts<S: Simd, P: Real>(s: S, m: f64, n: f64, rest: f64) -> RowShift {
        let others = (n - 1.0) + rest;
        RowShift {
            m,
            sum: n + rest,
            ln_sum: lane0(s, P::ln_1p_v(s, s.splat(others))),
            others,
        }
    }
}

/// `max z` of one row: NaN if any logit is NaN, −inf for an empty or all −inf row.
#[inline(always)]
pub(crate) fn row_max<S: Simd, P: Real>(s: S, z: &[P]) -> f64 {
    let mut mv = s.splat(f64::NEG_INFINITY);
    for k in (0..z.len()).step_by(LANES) {
        mv = s.max(mv, P::load(s, z, k, f64::NEG_INFINITY));
    }
    s.reduce_max(mv)
}

#[inline(always)]
pub(crate) fn row_shift<S: Simd, P: Real>(s: S, z: &[P]) -> RowShift {
    let m = row_max(s, z);
    if !m.is_finite() {
        return RowShift {
            m,
            sum: f64::NAN,
            ln_sum: f64::NAN,
            others: f64::NAN,
        };
    }
    let zero = s.splat(0.0);
    let mut rest = VecSum::<S, 1>::new(s);
    // The logits at the max, counted from the lane mask (an integer: exact, and no vector
    // accumulator or horizontal sum of its own).
    let mut n = 0u64;
    let mv = s.splat(m);
    for k in (0..z.len()).step_by(LANES) {
        let zv = P::load(s, z, k, f64::NEG_INFINITY);
        let at_max = s.eq(zv, mv);
        let e = P::exp_v(s, s.sub(zv, mv));
        rest.push([s.select(at_max, zero, e)]);
        n += u64::from(s.bits(at_max).count_ones());
    }
    let [rest] = rest.finish();
    RowShift::from_parts::<S, P>(s, m, n as f64, rest.value())
}

/// `ln Σ exp(z)` of one row: −inf for an empty or all −inf row, +inf if any logit is +inf,
/// NaN if any is NaN.
#[inline(always)]
pub(crate) fn row_logsumexp<S: Simd, P: Real>(s: S, z: &[P]) -> f64 {
    let r = row_shift(s, z);
    if r.m.is_finite() {
        r.m + r.ln_sum
    } else {
        r.m
    }
}
