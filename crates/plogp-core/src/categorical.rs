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
    check_unit, outside_unit_lanes, row_by_row, rows, NanPolicy, RowOp, Totals, Weights,
};
use crate::error::{Error, Result};
use crate::input::{with_floats, Floats, FloatsMut, Ints, Targets, BLOCK};
use crate::math::{lane0, row_logsumexp};
use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::{lanes, Real};

struct CategoricalRows<'a, P> {
    t: Targets<'a>,
    p: &'a [P],
    c: usize,
    /// `Some(eps)`: probabilities clipped to `[eps, 1 − eps]`; `None`: logits.
    eps: Option<f64>,
}

impl<P: Real> RowOp for CategoricalRows<'_, P> {
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
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    cce(t.into(), p.into(), n_rows, c, Some(eps), w, nan, out)
}

/// Categorical cross-entropy of targets `t` and logits `z` (see [`cce_prob`]).
#[allow(clippy::too_many_arguments)]
pub fn cce_logits<'a>(
    t: impl Into<Targets<'a>>,
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    cce(t.into(), z.into(), n_rows, c, None, w, nan, out)
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
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    with_floats!(p, out, |p, out| cce_typed(
        t, p, n_rows, c, eps, w, nan, out
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
    nan: NanPolicy,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    rows(&CategoricalRows { t, p, c, eps }, n_rows, c, w, nan, out)
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
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    sparse(labels.into(), p.into(), n_rows, c, Some(eps), w, nan, out)
}

/// Sparse categorical cross-entropy of integer `labels` and logits `z`: `lse(z_r) − z_r[y_r]`.
#[allow(clippy::too_many_arguments)]
pub fn sparse_logits<'a>(
    labels: impl Into<Ints<'a>>,
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    sparse(labels.into(), z.into(), n_rows, c, None, w, nan, out)
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
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    with_floats!(p, out, |p, out| sparse_typed(
        labels, p, n_rows, c, eps, w, nan, out
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
    nan: NanPolicy,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    rows(&SparseRows { labels, p, c, eps }, n_rows, c, w, nan, out)
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
}
