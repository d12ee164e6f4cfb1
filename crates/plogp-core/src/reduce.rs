//! Deterministic, accurate summation.
//!
//! Method: terms arrive as lane vectors and are added with plain SIMD adds into one vector
//! accumulator over blocks of [`BLOCK_VECS`] vectors (64 f64 terms: 8 per lane). Each block
//! total is reduced with the canonical horizontal tree and added to a [`Sum`]: an error-free
//! two-sum accumulation (Knuth's TwoSum, Neumaier-style: `hi + lo` carries the rounding error
//! of every block add). Parallel work uses fixed-size chunks whose `Sum`s are merged in chunk
//! order.
//!
//! One accumulator, not several: every kernel spends far more than an add's latency per
//! vector, and on AVX2 an 8-lane accumulator already takes two of the sixteen registers;
//! more of them were spilled to the stack in the larger kernels.
//!
//! Error: the only uncompensated rounding is inside a block (64 terms: 8 per lane, then a fixed
//! tree), so the error does not grow with N; the tests check ≤ 2 ulp against an exact sum.
//! Floating-point addition is NOT associative: the order of every add here is fixed by the
//! element positions and chunk boundaries alone, never by the thread count or the tier.

use crate::simd::Simd;

/// Vectors per block: 8 vectors × 8 lanes = 64 terms per block sum.
pub const BLOCK_VECS: usize = 8;

/// A compensated sum: the exact total is approximately `hi + lo` with `|lo| ≤ ulp(hi)/2`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sum {
    hi: f64,
    lo: f64,
}

impl Sum {
    pub const ZERO: Sum = Sum { hi: 0.0, lo: 0.0 };

    /// Add one term, keeping its rounding error (TwoSum, branch-free).
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let s = self.hi + x;
        let bp = s - self.hi;
        let err = (self.hi - (s - bp)) + (x - bp);
        self.hi = s;
        self.lo += err;
    }

    /// Merge another partial sum (chunk partials are merged in chunk order).
    #[inline]
    pub fn merge(&mut self, other: Sum) {
        self.add(other.hi);
        self.lo += other.lo;
    }

    /// The rounded total. Non-finite totals (inf, NaN) pass through unchanged.
    #[inline]
    pub fn value(self) -> f64 {
        let v = self.hi + self.lo;
        if v.is_finite() {
            v
        } else {
            self.hi
        }
    }
}

/// `K` running sums fed with one lane vector each per step (e.g. `K = 2`: weighted losses and
/// weights). Deterministic: the grouping depends only on how many vectors were pushed.
pub struct VecSum<S: Simd, const K: usize> {
    s: S,
    acc: [S::V; K],
    pushed: usize,
    total: [Sum; K],
}

impl<S: Simd, const K: usize> VecSum<S, K> {
    #[inline(always)]
    pub fn new(s: S) -> Self {
        VecSum {
            s,
            acc: [s.splat(0.0); K],
            pushed: 0,
            total: [Sum::ZERO; K],
        }
    }

    #[inline(always)]
    pub fn push(&mut self, terms: [S::V; K]) {
        for (acc, t) in self.acc.iter_mut().zip(terms) {
            *acc = self.s.add(*acc, t);
        }
        self.pushed += 1;
        if self.pushed == BLOCK_VECS {
            self.flush();
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        let s = self.s;
        for (acc, total) in self.acc.iter_mut().zip(self.total.iter_mut()) {
            total.add(s.reduce_sum(*acc));
            *acc = s.splat(0.0);
        }
        self.pushed = 0;
    }

    #[inline(always)]
    pub fn finish(mut self) -> [Sum; K] {
        if self.pushed != 0 {
            self.flush();
        }
        self.total
    }
}

/// Merge per-chunk partial sums in chunk order.
pub fn merge_in_order<const K: usize>(parts: impl IntoIterator<Item = [Sum; K]>) -> [Sum; K] {
    let mut total = [Sum::ZERO; K];
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            t.merge(p);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sum_keeps_small_terms() {
        let mut s = Sum::ZERO;
        s.add(1.0);
        for _ in 0..1000 {
            s.add(1e-17);
        }
        assert_eq!(s.value(), 1.0 + 1e-14);
    }

    #[test]
    fn non_finite_pass_through() {
        let mut s = Sum::ZERO;
        s.add(1.0);
        s.add(f64::INFINITY);
        assert_eq!(s.value(), f64::INFINITY);
        s.add(f64::NAN);
        assert!(s.value().is_nan());
    }
}
