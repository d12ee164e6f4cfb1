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

use crate::driver::{check_unit, lane0, row_logsumexp, rows, NanPolicy, RowOp, Totals, Weights};
use crate::error::{Error, Result};
use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::{lanes, Label, Real, Target};

struct CategoricalRows<'a, T, P> {
    t: &'a [T],
    p: &'a [P],
    c: usize,
    /// `Some(eps)`: probabilities clipped to `[eps, 1 − eps]`; `None`: logits.
    eps: Option<f64>,
}

impl<T: Target, P: Real> RowOp for CategoricalRows<'_, T, P> {
    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize) -> Result<f64> {
        let base = r * self.c;
        let (t, p) = (&self.t[base..base + self.c], &self.p[base..base + self.c]);
        let zero = s.splat(0.0);
        let lse = match self.eps {
            Some(_) => 0.0,
            None => row_logsumexp(s, p),
        };
        let mut acc = VecSum::<S, 1>::new(s);
        for k in (0..self.c).step_by(LANES) {
            let tv = s.load(&lanes(t, k, 0.0, T::to_f64));
            let pv = s.load(&lanes(p, k, 0.5, P::to_f64));
            check_unit(s, tv, "y_true", t, base, T::to_f64)?;
            // Zero-target terms are skipped, but a NaN prediction still propagates.
            let keep = s.or(s.ne(tv, zero), s.is_nan(pv));
            if self.eps.is_some() {
                check_unit(s, pv, "y_pred", p, base, P::to_f64)?;
            }
            if !s.any(keep) {
                continue; // a one-hot row: most vectors hold only zero targets, no log needed
            }
            let term = match self.eps {
                Some(eps) => {
                    let pc = s.min(s.max(pv, s.splat(eps)), s.splat(1.0 - eps));
                    s.neg(s.mul(tv, s.ln(pc)))
                }
                None => s.mul(tv, s.sub(s.splat(lse), pv)),
            };
            acc.push([s.select(keep, term, zero)]);
        }
        Ok(acc.finish()[0].value())
    }
}

struct SparseRows<'a, L, P> {
    labels: &'a [L],
    p: &'a [P],
    c: usize,
    eps: Option<f64>,
}

impl<L: Label, P: Real> RowOp for SparseRows<'_, L, P> {
    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize) -> Result<f64> {
        let label = self.labels[r].to_i128();
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
                    let pv = s.load(&lanes(row, k, 0.5, P::to_f64));
                    check_unit(s, pv, "y_pred", row, base, P::to_f64)?;
                    nan = s.or(nan, s.is_nan(pv));
                }
                if s.any(nan) {
                    return Ok(f64::NAN);
                }
                // 0 − ln(1) is +0 (a bare negation would give −0).
                Ok(0.0 - lane0(s, s.ln(s.splat(target.clamp(eps, 1.0 - eps)))))
            }
            None => Ok(row_logsumexp(s, row) - target),
        }
    }
}

/// Categorical cross-entropy of targets `t` and probabilities `p`, both `n_rows × c` row-major:
/// returns `Σ s_r·l_r` and `Σ s_r`; writes `s_r·l_r` to `out` (length `n_rows`) if given.
pub fn cce_prob<T: Target, P: Real>(
    t: &[T],
    p: &[P],
    n_rows: usize,
    c: usize,
    eps: f64,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<&mut [P]>,
) -> Result<Totals> {
    rows(
        &CategoricalRows {
            t,
            p,
            c,
            eps: Some(eps),
        },
        n_rows,
        c,
        w,
        nan,
        out,
    )
}

/// Categorical cross-entropy of targets `t` and logits `z` (see [`cce_prob`]).
pub fn cce_logits<T: Target, P: Real>(
    t: &[T],
    z: &[P],
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<&mut [P]>,
) -> Result<Totals> {
    rows(
        &CategoricalRows {
            t,
            p: z,
            c,
            eps: None,
        },
        n_rows,
        c,
        w,
        nan,
        out,
    )
}

/// Sparse categorical cross-entropy of integer `labels` (length `n_rows`) and probabilities
/// `p` (`n_rows × c`), see [`cce_prob`] for the outputs.
pub fn sparse_prob<L: Label, P: Real>(
    labels: &[L],
    p: &[P],
    n_rows: usize,
    c: usize,
    eps: f64,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<&mut [P]>,
) -> Result<Totals> {
    rows(
        &SparseRows {
            labels,
            p,
            c,
            eps: Some(eps),
        },
        n_rows,
        c,
        w,
        nan,
        out,
    )
}

/// Sparse categorical cross-entropy of integer `labels` and logits `z`: `lse(z_r) − z_r[y_r]`.
pub fn sparse_logits<L: Label, P: Real>(
    labels: &[L],
    z: &[P],
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<&mut [P]>,
) -> Result<Totals> {
    rows(
        &SparseRows {
            labels,
            p: z,
            c,
            eps: None,
        },
        n_rows,
        c,
        w,
        nan,
        out,
    )
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
