//! Binary cross-entropy (log loss) per element, from probabilities or from logits.
//!
//! From probabilities, with `p` clipped to `[eps, 1 − eps]`:
//!   l(y, p) = −[ y·ln p + (1 − y)·ln(1 − p) ],
//! where a term whose weight (`y` or `1 − y`) is exactly 0 contributes exactly 0, so that hard
//! labels never produce `0·(−inf) = NaN`. `ln(1 − p)` is evaluated as `ln_1p(−p)`, which keeps
//! full relative accuracy for small `p` (`ln(1 − p)` loses it to the rounding of `1 − p`).
//!
//! From logits z (never clipped), with `L = ln_1p(exp(−|z|))`:
//!   l(y, z) = y·softplus(−z) + (1 − y)·softplus(z) = L + max(z, 0) − y·z,
//! exact for every finite z (no `exp` of a positive argument, so no overflow), and for
//! z = ±inf as the limit L + y·max(−z, 0) + (1 − y)·max(z, 0) (0 or inf), skipping
//! zero-weight terms.
//!
//! Accuracy: each term is a few flops around one or two ≤ 1 ulp primitives; sums are the
//! compensated, deterministic sums of [`crate::reduce`].
//! NaN in `y` or `p` propagates to the result; values outside `[0, 1]` are errors.

use crate::driver::{elementwise, ElementLoss, NanPolicy, Tally, Totals, Weights};
use crate::error::Result;
use crate::input::{with_floats, Floats, FloatsMut, Targets};
use crate::simd::Simd;
use crate::value::Real;

/// Per-element binary cross-entropy from probabilities, clipped to `[eps, 1 − eps]`.
#[derive(Debug, Clone, Copy)]
pub struct BceProb {
    pub eps: f64,
}

impl ElementLoss for BceProb {
    const P_IS_PROBABILITY: bool = true;

    #[inline(always)]
    fn term<S: Simd, P: Real>(self, s: S, y: S::V, p: S::V) -> S::V {
        let zero = s.splat(0.0);
        let one = s.splat(1.0);
        let p = s.min(s.max(p, s.splat(self.eps)), s.splat(1.0 - self.eps));
        let is_one = s.eq(y, one);
        // `0 − x` rather than `−x`, so that a zero loss is +0, never −0.
        if s.all(s.or(is_one, s.eq(y, zero))) {
            return s.sub(zero, ln_of_chosen::<S, P>(s, is_one, p));
        }
        let pos = s.select(s.ne(y, zero), s.mul(y, P::ln_v(s, p)), zero);
        let ny = s.sub(one, y);
        let neg = s.select(s.ne(ny, zero), s.mul(ny, P::ln_1p_v(s, s.neg(p))), zero);
        s.sub(zero, s.add(pos, neg))
    }
}

/// `ln p` where `pick_p`, else `ln(1 − p)`, with one logarithm per lane (hard labels).
///
/// With `u = p` or `u = 1 − p` (rounded) and `x = u − 1` known exactly (`p − 1` is exact for
/// p ≥ ½ by Sterbenz, `−p` always), `ln(1 + x) = ln u + (x − (u − 1))/u` to first order: the
/// correction restores the bits lost when `1 − p` was rounded (only lanes with u ≥ ½ need it;
/// there `u − 1` is exact). This keeps `ln(1 − p)` accurate for tiny p, like `ln_1p(−p)`.
/// `1/u` is replaced by `2 − u` (no division): its relative error `(1 − u)²/u` is negligible
/// where the correction matters (u → 1) and costs ≤ ¼ ulp of the result at u = ½.
#[inline(always)]
fn ln_of_chosen<S: Simd, P: Real>(s: S, pick_p: S::M, p: S::V) -> S::V {
    let one = s.splat(1.0);
    let u = s.select(pick_p, p, s.sub(one, p));
    let x = s.select(pick_p, s.sub(p, one), s.neg(p));
    let correction = s.mul(s.sub(x, s.sub(u, one)), s.sub(s.splat(2.0), u));
    let correction = s.select(s.le(s.splat(0.5), u), correction, s.splat(0.0));
    s.add(P::ln_v(s, u), correction)
}

/// Per-element binary cross-entropy from logits (softplus form).
#[derive(Debug, Clone, Copy)]
pub struct BceLogits;

impl ElementLoss for BceLogits {
    const P_IS_PROBABILITY: bool = false;

    #[inline(always)]
    fn term<S: Simd, P: Real>(self, s: S, y: S::V, z: S::V) -> S::V {
        let zero = s.splat(0.0);
        let l = P::ln_1p_exp_neg_abs_v(s, z);
        // Finite logits: y·max(−z, 0) + (1 − y)·max(z, 0) = max(z, 0) − y·z, one rounding
        // (the same value for 0/1 labels; NaN z gives NaN through `l`).
        let relu = s.select(s.lt(zero, z), z, zero);
        let finite_part = s.mul_add(s.neg(y), z, relu);
        let finite = s.lt(s.abs(z), s.splat(f64::INFINITY));
        if s.all(finite) {
            return s.add(l, finite_part);
        }
        // ±inf logits: the limit, skipping zero-weight terms (0·inf would be NaN).
        let ny = s.sub(s.splat(1.0), y);
        let pos = s.select(s.ne(y, zero), s.mul(y, s.max(s.neg(z), zero)), zero);
        let neg = s.select(s.ne(ny, zero), s.mul(ny, s.max(z, zero)), zero);
        s.add(l, s.select(finite, finite_part, s.add(pos, neg)))
    }
}

/// Binary cross-entropy of targets `y` (soft in `[0, 1]`, or 0/1 of any integer type) and
/// probabilities `p`: returns `Σ s_i·l_i` and `Σ s_i`; writes `s_i·l_i` to `out` (`p`'s float
/// type) if given. `eps` must be in `[0, 0.5)` (checked by the caller).
pub fn bce_prob<'a>(
    y: impl Into<Targets<'a>>,
    p: impl Into<Floats<'a>>,
    eps: f64,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    bce(y.into(), p.into(), Some(eps), w, nan, out)
}

/// Binary cross-entropy of targets `y` and logits `z` (see [`bce_prob`] for the outputs).
pub fn bce_logits<'a>(
    y: impl Into<Targets<'a>>,
    z: impl Into<Floats<'a>>,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    bce(y.into(), z.into(), None, w, nan, out)
}

/// Both [`bce_prob`] (`eps` given) and [`bce_logits`] (`eps` `None`). Not generic: the typed
/// entry points above are one-line conversions, and the kernels are compiled here, once.
pub(crate) fn bce(
    y: Targets<'_>,
    p: Floats<'_>,
    eps: Option<f64>,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    with_floats!(p, out, |p, out| bce_typed(y, p, eps, w, nan.into(), out))
}

/// [`bce`] on typed slices; the output may be wider than the input (per-group losses).
pub(crate) fn bce_typed<P: Real, O: Real>(
    y: Targets<'_>,
    p: &[P],
    eps: Option<f64>,
    w: Weights<'_>,
    tally: Tally,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    match eps {
        Some(eps) => elementwise(BceProb { eps }, y, p, w, tally, out),
        None => elementwise(BceLogits, y, p, w, tally, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn exact(y: f64, p: f64) -> f64 {
        let a = if y != 0.0 { y * p.ln() } else { 0.0 };
        let b = if y != 1.0 {
            (1.0 - y) * (-p).ln_1p()
        } else {
            0.0
        };
        -(a + b)
    }

    #[test]
    fn matches_formula_all_lengths() {
        for n in 0..=130usize {
            let y: Vec<f64> = (0..n).map(|i| (i % 3) as f64 / 2.0).collect();
            let p: Vec<f64> = (0..n)
                .map(|i| (i as f64 + 0.5) / (n as f64 + 1.0))
                .collect();
            let mut out = vec![0.0f64; n];
            let t = bce_prob(
                &y,
                &p,
                0.0,
                Weights::None,
                NanPolicy::Propagate,
                Some((&mut out).into()),
            )
            .unwrap();
            let mut want = 0.0;
            for i in 0..n {
                let e = exact(y[i], p[i]);
                assert!(
                    (out[i] - e).abs() <= 2.0 * f64::EPSILON * e,
                    "n={n} i={i}: {} vs {e}",
                    out[i]
                );
                want += e;
            }
            assert!((t.loss - want).abs() <= 1e-12 * want.abs().max(1.0));
            assert_eq!(t.weight, n as f64);
        }
    }

    #[test]
    fn weights_that_start_again_equal_them_written_out() {
        // `PerGroup` (a scalar) and `Tiled` (fewer weights than groups, taken again from the
        // first: `(C,)` over `(N, C)`) give the same bits as the weights written out in full,
        // and a bad weight is reported at its own index.
        use std::num::NonZeroUsize;
        let n = 3 * 70;
        let y: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let p: Vec<f64> = (0..n)
            .map(|i| (i as f64 + 0.5) / (n as f64 + 1.0))
            .collect();
        for (w, inner) in [
            (vec![0.5, 2.0, 1.5], 1),
            (vec![3.0], n),
            (vec![0.25, 4.0], 3),
        ] {
            let inner = NonZeroUsize::new(inner).unwrap();
            let full: Vec<f64> = (0..n).map(|i| w[(i / inner) % w.len()]).collect();
            let run = |w: Weights<'_>| {
                let mut out = vec![0.0f64; n];
                let t = bce_prob(
                    &y,
                    &p,
                    0.0,
                    w,
                    NanPolicy::Propagate,
                    Some((&mut out).into()),
                );
                (t.unwrap(), out)
            };
            let len = NonZeroUsize::new(w.len()).unwrap();
            let grouped = match w.len() * inner.get() == n {
                true => Weights::PerGroup { w: &w, inner },
                false => Weights::Tiled { w: &w, inner, len },
            };
            let (a, out_a) = run(grouped);
            let (b, out_b) = run(Weights::PerItem(&full));
            assert_eq!((a.loss.to_bits(), a.weight), (b.loss.to_bits(), b.weight));
            assert_eq!(out_a, out_b);
        }
        let bad = [1.0, -2.0, 1.0];
        let w = Weights::Tiled {
            w: &bad,
            inner: NonZeroUsize::MIN,
            len: NonZeroUsize::new(3).unwrap(),
        };
        match bce_prob(&y, &p, 0.0, w, NanPolicy::Propagate, None) {
            Err(Error::BadWeight { index, .. }) => assert_eq!(index, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hard_labels_at_the_edges() {
        let y = [1u8, 0, 1, 0];
        let p = [0.0f64, 1.0, 1.0, 0.0];
        let mut out = [0.0f64; 4];
        bce_prob(
            &y,
            &p,
            0.0,
            Weights::None,
            NanPolicy::Propagate,
            Some((&mut out).into()),
        )
        .unwrap();
        assert_eq!(out, [f64::INFINITY, f64::INFINITY, 0.0, 0.0]);
        let eps = f64::EPSILON;
        bce_prob(
            &y,
            &p,
            eps,
            Weights::None,
            NanPolicy::Propagate,
            Some((&mut out).into()),
        )
        .unwrap();
        assert_eq!(out[0], -eps.ln());
    }

    #[test]
    fn hard_labels_keep_relative_accuracy() {
        // y = 0 with tiny p: the loss is ≈ p, which ln(1 − p) would lose entirely.
        let p: Vec<f64> = (0..2000)
            .map(|i| 10f64.powf(-300.0 + 0.15 * i as f64).min(0.999))
            .collect();
        for label in [0u8, 1] {
            let y = vec![label; p.len()];
            let mut out = vec![0.0f64; p.len()];
            bce_prob(
                &y,
                &p,
                0.0,
                Weights::None,
                NanPolicy::Propagate,
                Some((&mut out).into()),
            )
            .unwrap();
            for (&pi, &got) in p.iter().zip(&out) {
                let want = exact(label as f64, pi);
                assert!(
                    (got - want).abs() <= 2.0 * f64::EPSILON * want,
                    "y={label} p={pi:e}: {got:e} vs {want:e}"
                );
            }
        }
    }

    #[test]
    fn logits_are_stable() {
        let y = [1.0f64, 0.0, 1.0, 0.0, 0.5];
        let z = [1e300f64, -1e300, -800.0, 800.0, 0.0];
        let mut out = [0.0f64; 5];
        bce_logits(
            &y,
            &z,
            Weights::None,
            NanPolicy::Propagate,
            Some((&mut out).into()),
        )
        .unwrap();
        assert_eq!(out[..4], [0.0, 0.0, 800.0, 800.0]);
        assert_eq!(out[4], std::f64::consts::LN_2);
    }

    #[test]
    fn reports_first_bad_value() {
        let y = vec![0.0f64; 100];
        let mut p = vec![0.5f64; 100];
        p[70] = 1.5;
        p[90] = -1.0;
        let err = bce_prob(&y, &p, 0.0, Weights::None, NanPolicy::Propagate, None).unwrap_err();
        assert_eq!(
            err,
            Error::OutOfRange {
                arg: "y_pred",
                index: 70,
                value: 1.5,
                lo: 0.0,
                hi: 1.0
            }
        );
        let w = vec![1.0; 100];
        let mut w2 = w.clone();
        w2[3] = -1.0;
        let err =
            bce_logits(&y, &p, Weights::PerItem(&w2), NanPolicy::Propagate, None).unwrap_err();
        assert_eq!(
            err,
            Error::BadWeight {
                arg: "sample_weight",
                index: 3,
                value: -1.0
            }
        );
    }

    #[test]
    fn nan_policy_omit_and_raise() {
        let n = 70;
        let y = vec![1.0f64; n];
        let mut p = vec![0.5f64; n];
        p[3] = f64::NAN;
        p[66] = f64::NAN;
        let mut out = vec![0.0f64; n];
        let t = bce_prob(
            &y,
            &p,
            0.0,
            Weights::None,
            NanPolicy::Omit,
            Some((&mut out).into()),
        )
        .unwrap();
        assert_eq!(t.weight, (n - 2) as f64);
        // 68 equal terms: the mean is ln 2 within the 2 ulp of a reduction (SPEC §4).
        let ln2 = std::f64::consts::LN_2;
        assert!((t.mean().unwrap() - ln2).abs() <= 2.0 * f64::EPSILON * ln2);
        assert!(out[3].is_nan() && out[66].is_nan() && out[4] == std::f64::consts::LN_2);
        let err = bce_prob(&y, &p, 0.0, Weights::None, NanPolicy::Raise, None).unwrap_err();
        assert_eq!(err, Error::NanLoss { index: 3 });
    }

    #[test]
    fn tally_counts_dropped_items_and_sums_kept_targets() {
        use crate::driver::Tally;
        use crate::loss_options::{bce, LossOptions};
        use crate::reduce::Sum;
        // Soft targets, weights, NaN in both arguments, a partial last vector.
        let n = 3 * 4096 + 13;
        let y: Vec<f64> = (0..n).map(|i| (i * 7 % 11) as f64 / 10.0).collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.375).collect();
        let mut p: Vec<f64> = (0..n).map(|i| (i % 97 + 1) as f64 / 99.0).collect();
        let mut y = y;
        for i in [0, 5, 4096, n - 1] {
            p[i] = f64::NAN;
        }
        y[77] = f64::NAN;
        let kept = |i: usize| !p[i].is_nan() && !y[i].is_nan();
        let mut want = Sum::ZERO;
        (0..n)
            .filter(|&i| kept(i))
            .for_each(|i| want.add(w[i] * y[i]));
        let opts = LossOptions::default();
        let tally = Tally {
            nan: NanPolicy::Omit,
            positives: true,
        };
        let run = |tally: Tally| {
            let (y, p) = ((&y[..]).into(), (&p[..]).into());
            bce(y, p, Some(1e-12), &opts, Weights::PerItem(&w), tally, None).unwrap()
        };
        let t = run(tally);
        assert_eq!(t.dropped, 5);
        let exact = want.value();
        assert!(
            (t.positive - exact).abs() <= 2.0 * f64::EPSILON * exact,
            "{t:?} {exact}"
        );
        // The same loss and weight without the extra sum, which is then left at 0.
        let plain = run(NanPolicy::Omit.into());
        assert_eq!(
            (plain.loss, plain.weight, plain.positive),
            (t.loss, t.weight, 0.0)
        );
    }

    #[test]
    fn nan_propagates() {
        let t = bce_prob(
            &[0.0f64, 1.0],
            &[f64::NAN, 0.5],
            1e-7,
            Weights::None,
            NanPolicy::Propagate,
            None,
        )
        .unwrap();
        assert!(t.loss.is_nan());
        let t = bce_prob(
            &[f64::NAN, 1.0],
            &[0.2f64, 0.5],
            1e-7,
            Weights::None,
            NanPolicy::Propagate,
            None,
        )
        .unwrap();
        assert!(t.loss.is_nan());
    }
}
