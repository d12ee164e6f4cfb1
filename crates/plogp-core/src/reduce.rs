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

    /// Add a term known to leave the sum exact (an integer count below 2^53 plus 0 or 1):
    /// one plain add, the same bits as [`Sum::add`], whose error term would be 0.
    #[inline(always)]
    pub fn add_exact(&mut self, x: f64) {
        self.hi += x;
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

/// `n` compensated sums stored as two arrays (the `hi` and `lo` of [`Sum`]), so that adding a
/// row of terms to consecutive sums runs in vector registers: the class masses `Σ s_r·t_{r,c}`
/// of a streaming metric, one sum per class (per group and class with `groups=`). Each sum is
/// bit for bit the [`Sum`] fed with the same terms in the same order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl Sums {
    pub fn new(n: usize) -> Sums {
        Sums {
            hi: vec![0.0; n],
            lo: vec![0.0; n],
        }
    }

    pub fn len(&self) -> usize {
        self.hi.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hi.is_empty()
    }

    /// Add `s·f(terms[k])` to sum `at + k` for every `k` (`f(terms[k])` alone when `s` is
    /// `None`: no product by 1, as the loss sums).
    #[inline(always)]
    pub fn add_row<T: Copy>(
        &mut self,
        at: usize,
        s: Option<f64>,
        terms: &[T],
        f: impl Fn(T) -> f64,
    ) {
        let end = at + terms.len();
        let (hi, lo) = (&mut self.hi[at..end], &mut self.lo[at..end]);
        match s {
            None => {
                for ((h, l), &x) in hi.iter_mut().zip(lo.iter_mut()).zip(terms) {
                    two_sum_into(h, l, f(x));
                }
            }
            Some(s) => {
                for ((h, l), &x) in hi.iter_mut().zip(lo.iter_mut()).zip(terms) {
                    two_sum_into(h, l, s * f(x));
                }
            }
        }
    }

    /// Add `x` to sum `i`.
    #[inline(always)]
    pub fn add(&mut self, i: usize, x: f64) {
        two_sum_into(&mut self.hi[i], &mut self.lo[i], x);
    }

    /// Merge the sums of a later part (same length), each as [`Sum::merge`].
    pub fn merge(&mut self, other: &Sums) {
        for i in 0..self.len().min(other.len()) {
            let mut sum = Sum {
                hi: self.hi[i],
                lo: self.lo[i],
            };
            sum.merge(Sum {
                hi: other.hi[i],
                lo: other.lo[i],
            });
            (self.hi[i], self.lo[i]) = (sum.hi, sum.lo);
        }
    }

    /// The rounded totals, as [`Sum::value`].
    pub fn values(&self) -> Vec<f64> {
        self.hi
            .iter()
            .zip(&self.lo)
            .map(|(&hi, &lo)| Sum { hi, lo }.value())
            .collect()
    }
}

/// [`Sum::add`] on a sum held as two places.
#[inline(always)]
fn two_sum_into(hi: &mut f64, lo: &mut f64, x: f64) {
    let mut sum = Sum { hi: *hi, lo: *lo };
    sum.add(x);
    (*hi, *lo) = (sum.hi, sum.lo);
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
    fn sums_match_one_sum_each() {
        let terms: Vec<f64> = (0..40)
            .map(|k| (k as f64 * 0.37).sin() * 1e3f64.powi(k % 5))
            .collect();
        let mut sums = Sums::new(4);
        let mut each = [Sum::ZERO; 4];
        for row in terms.chunks(4) {
            sums.add_row(0, Some(0.3), row, |x| x);
            for (e, &x) in each.iter_mut().zip(row) {
                e.add(0.3 * x);
            }
        }
        sums.add(2, 1e-20);
        each[2].add(1e-20);
        let mut later = Sums::new(4);
        later.add_row(1, None, &terms[..3], |x| x);
        sums.merge(&later);
        for (e, &x) in each[1..].iter_mut().zip(&terms[..3]) {
            let mut part = Sum::ZERO;
            part.add(x);
            e.merge(part);
        }
        let expect: Vec<f64> = each.iter().map(|e| e.value()).collect();
        assert_eq!(sums.values(), expect);
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
