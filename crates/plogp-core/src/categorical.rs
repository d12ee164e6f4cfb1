//! Categorical cross-entropy (one-hot or soft targets) and sparse categorical cross-entropy
//! (integer labels), one loss per row, from probabilities or from logits.
//!
//! From probabilities, `p` clipped to `[eps, 1 − eps]`:
//!   categorical: l = −Σ_c t_c·ln p_c (terms with t_c = 0 are 0);  sparse: l = −ln p_y.
//! From logits, with `lse = m + ln Σ exp(z_c − m)`, `m = max z` (one max pass, one exp pass over
//! the row while it sits in L1; no log-softmax row is ever materialised):
//!   categorical: l = Σ_{c: t_c ≠ 0} t_c·(lse − z_c);  sparse: l = lse − z_y.
//! A class with logit −inf and target 0 (a masked class) contributes nothing.
//!
//! Validation in the same pass: targets in `[0, 1]`, probabilities in `[0, 1]` (the whole row,
//! also for sparse labels), labels in `[0, C)`. NaN propagates.

use crate::driver::{
    check_unit, outside_unit_lanes, row_by_row, rows, store_lanes, unreachable_error, ClassTargets,
    NanPolicy, RowOp, Tally, Totals, Weights,
};
use crate::error::{Error, Result};
use crate::input::{with_floats, Floats, FloatsMut, Ints, Targets, BLOCK};
use crate::math::{lane0, row_logsumexp};
use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::{lanes, Real};
use std::sync::atomic::{AtomicU64, Ordering};

struct CategoricalRows<'a, P> {
    t: Targets<'a>,
    p: &'a [P],
    c: usize,
    /// `Some(eps)`: probabilities clipped to `[eps, 1 − eps]`; `None`: logits.
    eps: Option<f64>,
}

impl<P: Real> RowOp for CategoricalRows<'_, P> {
    fn class_targets(&self) -> Option<ClassTargets<'_>> {
        Some(ClassTargets::Dense {
            t: self.t,
            c: self.c,
        })
    }

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, scratch: &mut [f64; BLOCK]) -> Result<f64> {
        let base = r * self.c;
        let p = &self.p[base..base + self.c];
        let zero = s.splat(0.0);
        let lse = match self.eps {
            Some(_) => 0.0,
            None => row_logsumexp(s, p),
        };
        let mut acc = VecSum::<S, 1>::new(s);
        for b in (0..self.c).step_by(BLOCK) {
            let len = (self.c - b).min(BLOCK);
            let (t, pb) = (self.t.block(base + b, len, scratch), &p[b..b + len]);
            for k in (0..len).step_by(LANES) {
                let tv = s.load(&lanes(t, k, 0.0, |x| x));
                let pv = P::load(s, pb, k, 0.5);
                check_unit(s, tv, "y_true", t, base + b, |x| x)?;
                // Zero-target terms are skipped, but a NaN prediction still propagates.
                let keep = s.or(s.ne(tv, zero), s.is_nan(pv));
                if self.eps.is_some() {
                    check_unit(s, pv, "y_pred", pb, base + b, P::to_f64)?;
                }
                if !s.any(keep) {
                    continue; // a one-hot row: most vectors hold only zero targets, no log needed
                }
                let term = match self.eps {
                    Some(eps) => {
                        let pc = s.min(s.max(pv, s.splat(eps)), s.splat(1.0 - eps));
                        s.neg(s.mul(tv, P::ln_v(s, pc)))
                    }
                    None => s.mul(tv, s.sub(s.splat(lse), pv)),
                };
                acc.push([s.select(keep, term, zero)]);
            }
        }
        Ok(acc.finish()[0].value())
    }

    #[inline(always)]
    fn rows_into<S: Simd>(
        &self,
        s: S,
        first: usize,
        vals: &mut [f64],
        scratch: &mut [f64; BLOCK],
    ) -> std::result::Result<(), (usize, Error)> {
        match self.eps {
            Some(eps) if self.c > 0 => self.sparse_targets_into(s, eps, first, vals, scratch),
            _ => row_by_row(self, s, first, vals, scratch, 0),
        }
    }
}

impl<P: Real> CategoricalRows<'_, P> {
    /// Rows `first ..` from probabilities as one flat run of elements (rows need not start a
    /// vector): the few non-zero targets of one-hot or sparse rows are gathered per target
    /// block, then one vector logarithm serves eight of them, whatever rows they are in.
    /// A row's value is the sum of its terms in element order. A block where more than a
    /// quarter of the targets are non-zero (soft targets) hands the rest over to
    /// [`RowOp::row`], whose blocked sum suits long sums; so does a block with an invalid value,
    /// so that errors are exactly those of `row`.
    #[inline(always)]
    fn sparse_targets_into<S: Simd>(
        &self,
        s: S,
        eps: f64,
        first: usize,
        vals: &mut [f64],
        scratch: &mut [f64; BLOCK],
    ) -> std::result::Result<(), (usize, Error)> {
        let c = self.c;
        let base = first * c;
        let len = vals.len() * c;
        vals.fill(0.0);
        let zero = s.splat(0.0);
        let (lo, hi) = (s.splat(eps), s.splat(1.0 - eps));
        let mut at = [0u32; BLOCK];
        for b in (0..len).step_by(BLOCK) {
            let blen = (len - b).min(BLOCK);
            let t = self.t.block(base + b, blen, scratch);
            let p = &self.p[base + b..base + b + blen];
            let mut kept = 0;
            // Soft targets or an invalid value: the rest goes to `row`.
            let mut to_rows = false;
            for k in (0..blen).step_by(LANES) {
                let tv = s.load(&lanes(t, k, 0.0, |x| x));
                let pv = P::load(s, p, k, 0.5);
                if s.any(s.or(outside_unit_lanes(s, tv), outside_unit_lanes(s, pv))) {
                    to_rows = true; // `row` reports the error exactly
                    break;
                }
                // Padding lanes hold t = 0, p = 0.5: never kept.
                let mut keep = s.bits(s.or(s.ne(tv, zero), s.is_nan(pv)));
                while keep != 0 {
                    at[kept] = (k as u32) + keep.trailing_zeros();
                    kept += 1;
                    keep &= keep - 1;
                }
                if kept > BLOCK / 4 {
                    to_rows = true;
                    break;
                }
            }
            if to_rows {
                // Rows from the one holding element `b` on are computed by `row`.
                return row_by_row(self, s, first, vals, scratch, b / c);
            }
            for g in (0..kept).step_by(LANES) {
                let n = (kept - g).min(LANES);
                let mut tg = [0.0f64; LANES];
                let mut pg = [0.5f64; LANES];
                for j in 0..n {
                    let e = at[g + j] as usize;
                    tg[j] = t[e];
                    pg[j] = p[e].to_f64();
                }
                let pc = s.min(s.max(s.load(&pg), lo), hi);
                let term = s.store(s.neg(s.mul(s.load(&tg), P::ln_v(s, pc))));
                for j in 0..n {
                    vals[(b + at[g + j] as usize) / c] += term[j];
                }
            }
        }
        Ok(())
    }
}

struct SparseRows<'a, P> {
    labels: Ints<'a>,
    p: &'a [P],
    c: usize,
    eps: Option<f64>,
}

impl<P: Real> RowOp for SparseRows<'_, P> {
    fn class_targets(&self) -> Option<ClassTargets<'_>> {
        Some(ClassTargets::Labels {
            labels: self.labels,
            c: self.c,
            ignore: None,
        })
    }

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, scratch: &mut [f64; BLOCK]) -> Result<f64> {
        let _ = scratch;
        let label = self.labels.get(r);
        if label < 0 || label >= self.c as i128 {
            return Err(Error::LabelOutOfRange {
                arg: "y_true",
                index: r,
                value: label,
                n_classes: self.c,
            });
        }
        let base = r * self.c;
        let row = &self.p[base..base + self.c];
        let target = row[label as usize].to_f64();
        match self.eps {
            Some(eps) => {
                let mut nan = s.is_nan(s.splat(0.0));
                for k in (0..self.c).step_by(LANES) {
                    let pv = P::load(s, row, k, 0.5);
                    check_unit(s, pv, "y_pred", row, base, P::to_f64)?;
                    nan = s.or(nan, s.is_nan(pv));
                }
                if s.any(nan) {
                    return Ok(f64::NAN);
                }
                // 0 − ln(1) is +0 (a bare negation would give −0).
                Ok(0.0 - lane0(s, P::ln_v(s, s.splat(target.clamp(eps, 1.0 - eps)))))
            }
            None => Ok(row_logsumexp(s, row) - target),
        }
    }

    /// From probabilities, the block's values are checked as one flat run of vectors (one
    /// partial vector per block rather than one per row whose length is not a multiple of
    /// 8), each row's clamped target is kept in `vals`, and the logarithms of the block's
    /// targets are taken a vector at a time (one lane per row, not a vector per row).
    /// A block holding a NaN or an out-of-range value goes row by row: same values and
    /// errors as [`RowOp::row`].
    #[inline(always)]
    fn rows_into<S: Simd>(
        &self,
        s: S,
        first: usize,
        vals: &mut [f64],
        scratch: &mut [f64; BLOCK],
    ) -> std::result::Result<(), (usize, Error)> {
        let Some(eps) = self.eps else {
            return row_by_row(self, s, first, vals, scratch, 0);
        };
        let c = self.c;
        let block = &self.p[first * c..(first + vals.len()) * c];
        let mut bad = s.is_nan(s.splat(0.0));
        for k in (0..block.len()).step_by(LANES) {
            // NaN is not outside [0, 1] by this test: it is a NaN row, not an error.
            let pv = P::load(s, block, k, 0.5);
            bad = s.or(bad, s.or(s.is_nan(pv), outside_unit_lanes(s, pv)));
        }
        if s.any(bad) {
            return row_by_row(self, s, first, vals, scratch, 0);
        }
        let mut failed = None;
        for (k, v) in vals.iter_mut().enumerate() {
            let label = self.labels.get(first + k);
            if label < 0 || label >= c as i128 {
                failed = Some(k);
                break;
            }
            *v = block[k * c + label as usize].to_f64().clamp(eps, 1.0 - eps);
        }
        let done = failed.unwrap_or(vals.len());
        for k in (0..done).step_by(LANES) {
            let x = <f64 as Real>::load(s, &vals[..done], k, 1.0);
            // 0 − ln(1) is +0 (a bare negation would give −0).
            store_lanes(s, &mut vals[..done], k, s.sub(s.splat(0.0), P::ln_v(s, x)));
        }
        match failed {
            Some(k) => Err((
                k,
                self.row(s, first + k, scratch)
                    .err()
                    .unwrap_or_else(unreachable_error),
            )),
            None => Ok(()),
        }
    }
}

/// Categorical cross-entropy of targets `t` and probabilities `p`, both `n_rows × c` row-major:
/// returns `Σ s_r·l_r` and `Σ s_r`; writes `s_r·l_r` to `out` (length `n_rows`, `p`'s float
/// type) if given.
#[allow(clippy::too_many_arguments)]
pub fn cce_prob<'a>(
    t: impl Into<Targets<'a>>,
    p: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    eps: f64,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    cce(t.into(), p.into(), n_rows, c, Some(eps), w, tally, out)
}

/// Categorical cross-entropy of targets `t` and logits `z` (see [`cce_prob`]).
#[allow(clippy::too_many_arguments)]
pub fn cce_logits<'a>(
    t: impl Into<Targets<'a>>,
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    cce(t.into(), z.into(), n_rows, c, None, w, tally, out)
}

/// Both [`cce_prob`] (`eps` given) and [`cce_logits`] (`eps` `None`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn cce(
    t: Targets<'_>,
    p: Floats<'_>,
    n_rows: usize,
    c: usize,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    with_floats!(p, out, |p, out| cce_typed(
        t, p, n_rows, c, eps, w, tally, out
    ))
}

/// [`cce`] on typed slices; the output may be wider than the input (per-group losses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn cce_typed<P: Real, O: Real>(
    t: Targets<'_>,
    p: &[P],
    n_rows: usize,
    c: usize,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    rows(&CategoricalRows { t, p, c, eps }, n_rows, c, w, tally, out)
}

/// Sparse categorical cross-entropy of integer `labels` (length `n_rows`) and probabilities
/// `p` (`n_rows × c`), see [`cce_prob`] for the outputs.
#[allow(clippy::too_many_arguments)]
pub fn sparse_prob<'a>(
    labels: impl Into<Ints<'a>>,
    p: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    eps: f64,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    sparse(labels.into(), p.into(), n_rows, c, Some(eps), w, tally, out)
}

/// Sparse categorical cross-entropy of integer `labels` and logits `z`: `lse(z_r) − z_r[y_r]`.
#[allow(clippy::too_many_arguments)]
pub fn sparse_logits<'a>(
    labels: impl Into<Ints<'a>>,
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    sparse(labels.into(), z.into(), n_rows, c, None, w, tally, out)
}

/// Both [`sparse_prob`] (`eps` given) and [`sparse_logits`] (`eps` `None`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sparse(
    labels: Ints<'_>,
    p: Floats<'_>,
    n_rows: usize,
    c: usize,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    with_floats!(p, out, |p, out| sparse_typed(
        labels, p, n_rows, c, eps, w, tally, out
    ))
}

/// [`sparse`] on typed slices; the output may be wider than the input (per-group losses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sparse_typed<P: Real, O: Real>(
    labels: Ints<'_>,
    p: &[P],
    n_rows: usize,
    c: usize,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    rows(&SparseRows { labels, p, c, eps }, n_rows, c, w, tally, out)
}

/// The true classes of [`prob_with_row_sums`]: integer labels or one-hot (or soft) targets.
pub enum Truth<'a> {
    Labels(Ints<'a>),
    Targets(Targets<'a>),
}

/// What [`prob_with_row_sums`] finds besides the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowStats {
    /// The largest `|Σ_c p_rc − 1|` over the rows: NaN if a row sum is NaN, 0 without rows.
    pub row_sum_deviation: f64,
    /// How many distinct labels occur (`Truth::Labels`; 0 for `Truth::Targets`).
    pub labels_seen: usize,
}

/// [`sparse_prob`] (`Truth::Labels`) or [`cce_prob`] (`Truth::Targets`) without a per-row
/// output, and [`RowStats`] from the same pass over `p`, while each block of rows is in
/// cache: scikit-learn's `log_loss` warns when rows do not sum to one and needs the classes
/// that occur, which would otherwise take passes of their own.
pub fn prob_with_row_sums<'a>(
    truth: Truth<'a>,
    p: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    eps: f64,
    w: Weights<'_>,
) -> Result<(Totals, RowStats)> {
    fn run<'a, P: Real, Op: RowOp>(
        op: Op,
        labels: Option<Ints<'a>>,
        p: &'a [P],
        (n_rows, c): (usize, usize),
        w: Weights<'_>,
    ) -> Result<(Totals, RowStats)> {
        let words = if labels.is_some() { c.div_ceil(64) } else { 0 };
        let checked = RowSumCheck {
            op,
            p,
            c,
            labels,
            worst: AtomicU64::new(0),
            seen: (0..words).map(|_| AtomicU64::new(0)).collect(),
        };
        let totals = rows::<_, f64>(&checked, n_rows, c, w, NanPolicy::Propagate, None)?;
        let seen = checked
            .seen
            .iter()
            .map(|b| b.load(Ordering::Relaxed).count_ones());
        let stats = RowStats {
            row_sum_deviation: f64::from_bits(checked.worst.into_inner()),
            labels_seen: seen.sum::<u32>() as usize,
        };
        Ok((totals, stats))
    }
    let shape = (n_rows, c);
    match (p.into(), truth) {
        (Floats::F32(p), Truth::Labels(y)) => run(sparse_rows(y, p, c, eps), Some(y), p, shape, w),
        (Floats::F64(p), Truth::Labels(y)) => run(sparse_rows(y, p, c, eps), Some(y), p, shape, w),
        (Floats::F32(p), Truth::Targets(t)) => {
            run(categorical_rows(t, p, c, eps), None, p, shape, w)
        }
        (Floats::F64(p), Truth::Targets(t)) => {
            run(categorical_rows(t, p, c, eps), None, p, shape, w)
        }
    }
}

fn sparse_rows<'a, P>(labels: Ints<'a>, p: &'a [P], c: usize, eps: f64) -> SparseRows<'a, P> {
    SparseRows {
        labels,
        p,
        c,
        eps: Some(eps),
    }
}

fn categorical_rows<'a, P>(
    t: Targets<'a>,
    p: &'a [P],
    c: usize,
    eps: f64,
) -> CategoricalRows<'a, P> {
    CategoricalRows {
        t,
        p,
        c,
        eps: Some(eps),
    }
}

/// A row kernel that also keeps the largest `|Σ_c p_rc − 1|` of the rows it computes, as the
/// bits of a non-negative f64 (their integer order is the numeric order, with NaN above +inf),
/// so that the maximum over threads is one `fetch_max` per block of rows and does not depend
/// on their order; and, given labels, the set of labels seen (a bit per class, set once: a
/// label already seen costs one load of a shared word).
struct RowSumCheck<'a, Op, P> {
    op: Op,
    p: &'a [P],
    c: usize,
    labels: Option<Ints<'a>>,
    worst: AtomicU64,
    seen: Vec<AtomicU64>,
}

impl<Op: RowOp, P: Real> RowSumCheck<'_, Op, P> {
    #[inline(always)]
    fn note<S: Simd>(&self, s: S, rows: std::ops::Range<usize>) {
        let worst = self.worst_row_sum(s, rows.clone());
        self.worst.fetch_max(worst, Ordering::Relaxed);
        let Some(ints) = &self.labels else {
            return;
        };
        // Up to 64 classes, the labels seen are one word, kept here for the whole run.
        let mut few = 0u64;
        let mut labels = [0i64; BLOCK];
        for start in rows.clone().step_by(BLOCK) {
            let labels = &mut labels[..(rows.end - start).min(BLOCK)];
            ints.decode_i64(start, labels);
            // The rows given here passed the kernel: their labels are in [0, c).
            for &y in labels.iter() {
                let y = y as usize;
                if self.c <= 64 {
                    few |= 1u64 << y;
                } else {
                    let (word, bit) = (&self.seen[y / 64], 1u64 << (y % 64));
                    if word.load(Ordering::Relaxed) & bit == 0 {
                        word.fetch_or(bit, Ordering::Relaxed);
                    }
                }
            }
        }
        if few != 0 {
            self.seen[0].fetch_or(few, Ordering::Relaxed);
        }
    }

    /// The bits of the largest `|Σ_c p_rc − 1|` of `rows` (NaN if a sum is NaN; 0 without
    /// rows).
    #[inline(always)]
    fn worst_row_sum<S: Simd>(&self, s: S, rows: std::ops::Range<usize>) -> u64 {
        let one = s.splat(1.0);
        let mut worst = s.splat(0.0);
        let mut r = rows.start;
        if self.c < 2 * LANES {
            // Short rows are one or two vectors: a horizontal sum per row would cost more than
            // the adds, so eight rows' sums are one transposing reduction.
            let mut v = [one; LANES];
            while r + LANES <= rows.end {
                for (j, v) in v.iter_mut().enumerate() {
                    *v = self.row_vector(s, r + j);
                }
                worst = s.max(worst, s.abs(s.sub(s.reduce_sum_each(v), one)));
                r += LANES;
            }
        }
        // Non-negative f64 (NaN included, sign cleared) order as their bits do.
        let mut bits = s.reduce_max(worst).to_bits();
        for r in r..rows.end {
            bits = bits.max((s.reduce_sum(self.row_vector(s, r)) - 1.0).abs().to_bits());
        }
        bits
    }

    /// Row `r`'s values added a vector at a time into one vector.
    #[inline(always)]
    fn row_vector<S: Simd>(&self, s: S, r: usize) -> S::V {
        let row = &self.p[r * self.c..(r + 1) * self.c];
        let mut sum = P::load(s, row, 0, 0.0);
        for k in (LANES..self.c).step_by(LANES) {
            sum = s.add(sum, P::load(s, row, k, 0.0));
        }
        sum
    }
}

impl<Op: RowOp, P: Real> RowOp for RowSumCheck<'_, Op, P> {
    const SCALED_WEIGHT: bool = Op::SCALED_WEIGHT;

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, scratch: &mut [f64; BLOCK]) -> Result<f64> {
        let v = self.op.row(s, r, scratch)?;
        self.note(s, r..r + 1);
        Ok(v)
    }

    #[inline(always)]
    fn rows_into<S: Simd>(
        &self,
        s: S,
        first: usize,
        vals: &mut [f64],
        scratch: &mut [f64; BLOCK],
    ) -> std::result::Result<(), (usize, Error)> {
        let done = self.op.rows_into(s, first, vals, scratch);
        let n = match &done {
            Ok(()) => vals.len(),
            Err((n, _)) => *n,
        };
        self.note(s, first..first + n);
        done
    }

    #[inline(always)]
    fn row_weight(&self, r: usize) -> f64 {
        self.op.row_weight(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_logits_equals_categorical_one_hot() {
        for c in 1..=40usize {
            let n = 7;
            let z: Vec<f64> = (0..n * c)
                .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.7)
                .collect();
            let labels: Vec<u16> = (0..n).map(|r| (r * 5 % c) as u16).collect();
            let mut onehot = vec![0u8; n * c];
            for (r, &l) in labels.iter().enumerate() {
                onehot[r * c + l as usize] = 1;
            }
            let a = sparse_logits(&labels, &z, n, c, Weights::None, NanPolicy::Propagate, None)
                .unwrap();
            let b =
                cce_logits(&onehot, &z, n, c, Weights::None, NanPolicy::Propagate, None).unwrap();
            assert_eq!(a, b, "c={c}");
        }
    }

    #[test]
    fn masked_classes_contribute_nothing() {
        let z = [0.0f64, f64::NEG_INFINITY, 0.0];
        let t = [1.0f64, 0.0, 0.0];
        let got = cce_logits(&t, &z, 1, 3, Weights::None, NanPolicy::Propagate, None).unwrap();
        assert_eq!(got.loss, std::f64::consts::LN_2);
    }

    #[test]
    fn sparse_prob_blocks_equal_rows_one_by_one() {
        // A block with a NaN goes row by row; every other row must get the same bits as in
        // a clean block, whose values are checked flat and whose logarithms are vectors.
        for c in [1usize, 3, 8, 10, 17] {
            let n = 600;
            let p: Vec<f64> = (0..n * c)
                .map(|i| ((i * 7919) % 1009) as f64 / 1009.0)
                .collect();
            let labels: Vec<u32> = (0..n).map(|r| (r * 13 % c) as u32).collect();
            let run = |p: &[f64]| {
                let mut out = vec![0.0f64; n];
                let t = sparse_prob(
                    &labels,
                    p,
                    n,
                    c,
                    1e-7,
                    Weights::None,
                    NanPolicy::Omit,
                    Some((&mut out[..]).into()),
                )
                .unwrap();
                (t, out)
            };
            let (clean, fast) = run(&p);
            let mut holed = p.clone();
            holed[5 * c] = f64::NAN;
            let (t, slow) = run(&holed);
            assert!(slow[5].is_nan() && t.dropped == 1, "c={c}");
            for r in (0..n).filter(|&r| r != 5) {
                assert_eq!(fast[r].to_bits(), slow[r].to_bits(), "c={c} row {r}");
            }
            assert_eq!(clean.dropped, 0);
            // An out-of-range value and a bad label in a later block: the first in row order.
            let mut bad = p.clone();
            bad[300 * c + c - 1] = 1.5;
            let mut y = labels.clone();
            y[299] = c as u32;
            let e = sparse_prob(&y, &bad, n, c, 1e-7, Weights::None, NanPolicy::Omit, None);
            assert!(
                matches!(e, Err(Error::LabelOutOfRange { index: 299, .. })),
                "c={c}"
            );
            y[299] = 0;
            let e = sparse_prob(&y, &bad, n, c, 1e-7, Weights::None, NanPolicy::Omit, None);
            let at = 300 * c + c - 1;
            assert!(
                matches!(e, Err(Error::OutOfRange { index, .. }) if index == at),
                "c={c}"
            );
        }
    }

    #[test]
    fn labels_out_of_range() {
        let p = [0.5f64; 6];
        let err = sparse_prob(
            &[0i64, 2, -1],
            &p,
            3,
            2,
            0.0,
            Weights::None,
            NanPolicy::Propagate,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::LabelOutOfRange {
                arg: "y_true",
                index: 1,
                value: 2,
                n_classes: 2
            }
        );
        let err = sparse_logits(
            &[u64::MAX],
            &p[..2],
            1,
            2,
            Weights::None,
            NanPolicy::Propagate,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::LabelOutOfRange {
                arg: "y_true",
                index: 0,
                value: u64::MAX as i128,
                n_classes: 2
            }
        );
    }

    #[test]
    fn weighted_mean() {
        let p = [0.25f64, 0.75, 0.5, 0.5];
        let w = [3.0, 1.0];
        let t = sparse_prob(
            &[1u8, 0],
            &p,
            2,
            2,
            0.0,
            Weights::PerItem(&w),
            NanPolicy::Propagate,
            None,
        )
        .unwrap();
        let want = (3.0 * -(0.75f64).ln() + -(0.5f64).ln()) / 4.0;
        assert!((t.mean().unwrap() - want).abs() <= 1e-16);
        assert_eq!(t.weight, 4.0);
    }

    #[test]
    fn row_sums_ride_along_with_the_loss() {
        // Enough rows for several chunks on every thread count; rows off by a known amount.
        let (n, c) = (50_000, 13);
        let mut p = vec![1.0 / c as f64; n * c];
        let labels: Vec<i64> = (0..n).map(|r| (r * 7 % c) as i64).collect();
        let mut onehot = vec![0.0f64; n * c];
        for (r, &y) in labels.iter().enumerate() {
            onehot[r * c + y as usize] = 1.0;
        }
        p[31_337 * c + 4] += 3e-6;
        p[777 * c] -= 1e-7;
        let want = |p: &[f64]| {
            (0..n)
                .map(|r| (p[r * c..(r + 1) * c].iter().sum::<f64>() - 1.0).abs())
                .fold(0.0, f64::max)
        };
        let (w, nan, eps) = (Weights::None, NanPolicy::Propagate, 1e-15);
        let by_labels = || Truth::Labels((&labels[..]).into());
        let (sparse, stats) = prob_with_row_sums(by_labels(), &p[..], n, c, eps, w).unwrap();
        let plain = sparse_prob(&labels[..], &p[..], n, c, eps, w, nan, None).unwrap();
        assert_eq!(sparse, plain);
        let dev = stats.row_sum_deviation;
        assert!((dev - want(&p)).abs() < 1e-15, "{dev} vs {}", want(&p));
        assert!(dev > 2.9e-6);
        assert_eq!(stats.labels_seen, c);
        let targets = Truth::Targets((&onehot[..]).into());
        let (dense, dense_stats) = prob_with_row_sums(targets, &p[..], n, c, eps, w).unwrap();
        let plain = cce_prob(&onehot[..], &p[..], n, c, eps, w, nan, None).unwrap();
        assert_eq!(dense, plain);
        assert_eq!(dense_stats.row_sum_deviation, dev);
        assert_eq!(dense_stats.labels_seen, 0);
        // Labels that miss classes, with more than 64 classes: only those seen are counted.
        let wide: Vec<i64> = (0..n).map(|r| (r % 3 * 50) as i64).collect();
        let p150 = vec![1.0 / 150.0; n * 150];
        let truth = Truth::Labels((&wide[..]).into());
        let (_, wide_stats) = prob_with_row_sums(truth, &p150[..], n, 150, eps, w).unwrap();
        assert_eq!(wide_stats.labels_seen, 3);
        assert!(wide_stats.row_sum_deviation < 1e-13);
        // float32 rows.
        let p32: Vec<f32> = p.iter().map(|&x| x as f32).collect();
        let (_, stats32) = prob_with_row_sums(by_labels(), &p32[..], n, c, 1e-7, w).unwrap();
        let dev32 = stats32.row_sum_deviation;
        assert!(dev32 > 2.5e-6 && dev32 < 4e-6, "{dev32}");
        // A NaN row sum wins over every finite one; no rows give 0.
        p[40_000 * c + 2] = f64::NAN;
        let (with_nan, stats) = prob_with_row_sums(by_labels(), &p[..], n, c, eps, w).unwrap();
        assert!(with_nan.loss.is_nan() && stats.row_sum_deviation.is_nan());
        let none: [i64; 0] = [];
        let truth = Truth::Labels((&none[..]).into());
        let (_, stats) = prob_with_row_sums(truth, &p[..0], 0, c, eps, w).unwrap();
        let zero = RowStats {
            row_sum_deviation: 0.0,
            labels_seen: 0,
        };
        assert_eq!(stats, zero);
    }

    #[test]
    fn the_worst_row_sum_is_found_in_every_position() {
        // Short rows are summed eight rows at a time, then the block's last rows one by one:
        // one row off by a known amount, in lanes 0, 3 and 7 of a group and in the tail.
        let n = 8 * 40 + 5;
        for c in 1..=17usize {
            let labels: Vec<u32> = (0..n).map(|r| (r % c) as u32).collect();
            for off in [0, 3, 7, 8 * 33 + 1, n - 1] {
                let mut p = vec![1.0 / c as f64; n * c];
                p[off * c + c / 2] -= 2e-5;
                let truth = Truth::Labels((&labels[..]).into());
                let (_, stats) =
                    prob_with_row_sums(truth, &p[..], n, c, 1e-15, Weights::None).unwrap();
                let dev = stats.row_sum_deviation;
                assert!((dev - 2e-5).abs() < 1e-12, "c={c} row {off}: {dev}");
            }
        }
    }
}
