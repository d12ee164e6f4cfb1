//! Focal losses (Lin et al., 2017): cross-entropy scaled down where the model is already
//! confident, by `(1 − p_t)^γ` with `p_t` the probability given to the target.
//!
//! Binary, per element, in the form of torchvision's `sigmoid_focal_loss`, Keras'
//! `BinaryFocalCrossentropy` and optax's `sigmoid_focal_loss`, which also holds for soft
//! targets:
//!   l(y, p) = α_t·(1 − p_t)^γ·BCE(y, p),   p_t = p·y + (1 − p)·(1 − y),
//!   α_t = α·y + (1 − α)·(1 − y) (1 without α),  BCE = −[y·ln p + (1 − y)·ln(1 − p)].
//! `1 − p_t = y·(1 − p) + (1 − y)·p` is a sum of non-negative terms, formed in log space:
//! `ln(1 − p_t) = logaddexp(ln y + ln(1 − p), ln(1 − y) + ln p)`, which is exactly
//! `ln(1 − p)` for y = 1 and `ln p` for y = 0 (a vector of 0/1 targets skips the general
//! form). For 0/1 targets this is the per-term form
//! `−[α·y·(1 − p)^γ·ln p + (1 − α)·(1 − y)·p^γ·ln(1 − p)]`, bit for bit.
//! From probabilities `p` is clipped to `[eps, 1 − eps]`, `ln(1 − p)` is `ln_1p(−p)` and the
//! power is `exp(γ·ln(1 − p_t))`. From logits every factor comes from the two softplus values
//! `ln p = −softplus(−z)`, `ln(1 − p) = −softplus(z)`: no `exp` of a positive argument, exact
//! for every finite z, including |z| = 1e30. A cross-entropy term whose weight (`y` or
//! `1 − y`) is exactly 0 contributes exactly 0, and so does an element with `α_t = 0`.
//! With γ = 0 and no α the loss is binary cross-entropy, and the kernel is that of
//! [`crate::binary`] (bit for bit).
//!
//! Sparse categorical, per row with the true class y:
//!   l = −α_y·(1 − p_y)^γ·ln p_y.
//! From logits, one max pass and one exp pass over the row give `S = Σ exp(z_c − m)` and
//! `S_y' = Σ_{c ≠ y} exp(z_c − m)`, so `ln p_y = (z_y − m) − ln S` and
//! `ln(1 − p_y) = ln S_y' − ln S` keep their relative accuracy at both ends (no `1 − p_y`
//! is ever rounded). A −inf logit is a masked class and contributes nothing. With label
//! smoothing ε ≠ 0 the row's target is `(1 − ε)·onehot(y) + ε/K`, and the loss is the
//! categorical one below on that target (α per class, `α_c` on each class's term).
//!
//! Categorical, per row with dense (one-hot or soft) targets `t`, as Keras'
//! `CategoricalFocalCrossentropy`:
//!   l = −Σ_c α_c·t'_c·(1 − p_c)^γ·ln p_c,   t'_c = (1 − ε)·t_c + ε/K (label smoothing over
//! the K classes, the unmasked ones from logits). From logits, with the row's
//! `S = Σ exp(z_c − m)`: `ln p_c = (z_c − m) − ln S` and `ln(1 − p_c) = ln(S − e_c) − ln S`,
//! where `S − e_c ≥ S/2` for a class below the max and `S − 1` is kept exactly for a class at
//! it ([`crate::math::RowShift::others`]). A row whose max is NaN or +inf, or whose logits are
//! all −inf, gives NaN. With γ = 0 and no α it is [`crate::loss_options::cce`], bit for bit.

use crate::driver::{
    check_unit, elementwise, rows, ClassTargets, ElementLoss, NanPolicy, RowOp, Tally, Totals,
    Weights,
};
use crate::error::{Error, Result};
use crate::input::{with_floats, Floats, FloatsMut, Ints, Targets, BLOCK};
use crate::loss_options::{self, class_weights, smoothing_classes, DenseRow, OneHot, RowTargets};
use crate::math::{lane0, row_shift};
use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::Real;
use crate::LossOptions;

/// The focusing parameter γ and the optional class balance α of a binary focal loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Focus {
    /// γ ≥ 0, finite (checked by the caller).
    pub gamma: f64,
    /// α in `[0, 1]`, or None for no class balancing (checked by the caller).
    pub alpha: Option<f64>,
}

impl Focus {
    fn is_plain(self) -> bool {
        self.gamma == 0.0 && self.alpha.is_none()
    }
}

/// `x^γ` from `ln x`: `exp(γ·ln x)`, and exactly 1 for γ = 0 (also where `ln x = −inf`).
#[inline(always)]
fn pow_from_ln<S: Simd, P: Real>(s: S, gamma: f64, ln_x: S::V) -> S::V {
    if gamma == 0.0 {
        s.splat(1.0)
    } else {
        P::exp_v(s, s.mul(s.splat(gamma), ln_x))
    }
}

/// `ln(1 − p_t) = ln(y·(1 − p) + (1 − y)·p)` from `ln p` and `ln(1 − p)`: exactly `ln_q`
/// where y = 1 and `ln_p` where y = 0; otherwise
/// `logaddexp(ln y + ln_q, ln(1 − y) + ln_p) = hi + ln_1p(exp(lo − hi))`.
#[inline(always)]
fn ln_one_minus_pt<S: Simd, P: Real>(s: S, y: S::V, ln_p: S::V, ln_q: S::V) -> S::V {
    let (zero, one) = (s.splat(0.0), s.splat(1.0));
    let (is_one, is_zero) = (s.eq(y, one), s.eq(y, zero));
    let hard = s.select(is_one, ln_q, ln_p);
    if s.all(s.or(is_one, is_zero)) {
        return hard;
    }
    let a = s.add(P::ln_v(s, y), ln_q);
    let b = s.add(P::ln_1p_v(s, s.neg(y)), ln_p);
    let (hi, lo) = (s.max(a, b), s.min(a, b));
    let neg_inf = s.splat(f64::NEG_INFINITY);
    // Both terms 0 (hi = −inf): −inf, not −inf − −inf = NaN.
    let mixed = s.select(
        s.eq(hi, neg_inf),
        neg_inf,
        s.add(hi, P::ln_1p_v(s, P::exp_v(s, s.sub(lo, hi)))),
    );
    s.select(s.or(is_one, is_zero), hard, mixed)
}

/// `α_t·(1 − p_t)^γ·BCE` from the targets `y`, `ln p` and `ln(1 − p)` (see the module docs);
/// a cross-entropy term of zero weight and an element of zero `α_t` contribute exactly 0.
#[inline(always)]
fn focal_term<S: Simd, P: Real>(s: S, focus: Focus, y: S::V, ln_p: S::V, ln_q: S::V) -> S::V {
    let (zero, one) = (s.splat(0.0), s.splat(1.0));
    let ny = s.sub(one, y);
    let pos = s.select(s.ne(y, zero), s.mul(y, ln_p), zero);
    let neg = s.select(s.ne(ny, zero), s.mul(ny, ln_q), zero);
    let balance = match focus.alpha {
        Some(a) => s.add(s.mul(s.splat(a), y), s.mul(s.splat(1.0 - a), ny)),
        None => one,
    };
    let factor = if focus.gamma == 0.0 {
        one
    } else {
        let ln_m = ln_one_minus_pt::<S, P>(s, y, ln_p, ln_q);
        P::exp_v(s, s.mul(s.splat(focus.gamma), ln_m))
    };
    let l = s.mul(s.mul(balance, factor), s.add(pos, neg));
    // `0 − x` rather than `−x`, so that a zero loss is +0, never −0.
    s.select(s.ne(balance, zero), s.sub(zero, l), zero)
}

#[derive(Debug, Clone, Copy)]
struct FocalProb {
    focus: Focus,
    eps: f64,
}

impl ElementLoss for FocalProb {
    const P_IS_PROBABILITY: bool = true;

    #[inline(always)]
    fn term<S: Simd, P: Real>(self, s: S, y: S::V, p: S::V) -> S::V {
        let p = s.min(s.max(p, s.splat(self.eps)), s.splat(1.0 - self.eps));
        focal_term::<S, P>(s, self.focus, y, P::ln_v(s, p), P::ln_1p_v(s, s.neg(p)))
    }
}

#[derive(Debug, Clone, Copy)]
struct FocalLogits {
    focus: Focus,
}

impl ElementLoss for FocalLogits {
    const P_IS_PROBABILITY: bool = false;

    #[inline(always)]
    fn term<S: Simd, P: Real>(self, s: S, y: S::V, z: S::V) -> S::V {
        let zero = s.splat(0.0);
        let l = P::ln_1p_exp_neg_abs_v(s, z);
        // ln p = −softplus(−z), ln(1 − p) = −softplus(z).
        let ln_p = s.sub(zero, s.add(l, s.max(s.neg(z), zero)));
        let ln_q = s.sub(zero, s.add(l, s.max(z, zero)));
        focal_term::<S, P>(s, self.focus, y, ln_p, ln_q)
    }
}

/// Binary focal cross-entropy of targets `y` (soft in `[0, 1]` or 0/1 integers) and
/// probabilities `p` clipped to `[eps, 1 − eps]`: returns `Σ s_i·l_i` and `Σ s_i`; writes
/// `s_i·l_i` to `out` if given.
pub fn binary_focal_prob<'a>(
    y: impl Into<Targets<'a>>,
    p: impl Into<Floats<'a>>,
    focus: Focus,
    eps: f64,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    binary_focal(y.into(), p.into(), focus, Some(eps), w, nan, out)
}

/// Binary focal cross-entropy of targets `y` and logits `z` (see [`binary_focal_prob`]).
pub fn binary_focal_logits<'a>(
    y: impl Into<Targets<'a>>,
    z: impl Into<Floats<'a>>,
    focus: Focus,
    w: Weights<'_>,
    nan: NanPolicy,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    binary_focal(y.into(), z.into(), focus, None, w, nan, out)
}

/// Both binary focal losses: from probabilities (`eps` given) or logits (`eps` `None`).
/// `tally` is a [`NanPolicy`], or a [`Tally`] that also sums the targets kept.
pub fn binary_focal(
    y: Targets<'_>,
    p: Floats<'_>,
    focus: Focus,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally = tally.into();
    with_floats!(p, out, |p, out| binary_focal_typed(
        y, p, focus, eps, w, tally, out
    ))
}

/// [`binary_focal`] on typed slices; the output may be wider than the input (per-group
/// losses).
pub(crate) fn binary_focal_typed<P: Real, O: Real>(
    y: Targets<'_>,
    p: &[P],
    focus: Focus,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: Tally,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    if focus.is_plain() {
        return crate::binary::bce_typed(y, p, eps, w, tally, out);
    }
    match eps {
        Some(eps) => elementwise(FocalProb { focus, eps }, y, p, w, tally, out),
        None => elementwise(FocalLogits { focus }, y, p, w, tally, out),
    }
}

/// Class balance of the sparse focal loss.
#[derive(Debug, Clone, Copy)]
pub enum ClassAlpha<'a> {
    /// α = 1 for every class.
    None,
    /// One α for every class.
    All(f64),
    /// α_c per class (length C).
    PerClass(&'a [f64]),
}

impl ClassAlpha<'_> {
    #[inline(always)]
    fn of(&self, class: usize) -> f64 {
        match *self {
            ClassAlpha::None => 1.0,
            ClassAlpha::All(a) => a,
            ClassAlpha::PerClass(a) => a[class],
        }
    }
}

/// The options of a sparse categorical focal loss.
#[derive(Debug, Clone, Copy)]
pub struct SparseFocus<'a> {
    /// γ ≥ 0, finite (checked by the caller).
    pub gamma: f64,
    /// The class balance α (finite, ≥ 0; checked by the caller).
    pub alpha: ClassAlpha<'a>,
    /// Rows with this label get weight 0.
    pub ignore: Option<i128>,
    /// Label smoothing ε in `[0, 1]`: the row's target is `(1 − ε)·onehot(y) + ε/K`, and the
    /// loss that of [`categorical_focal`] on it.
    pub smoothing: f64,
}

struct SparseFocalRows<'a, P> {
    labels: Ints<'a>,
    p: &'a [P],
    c: usize,
    focus: SparseFocus<'a>,
    /// `Some(eps)`: probabilities clipped to `[eps, 1 − eps]`; `None`: logits.
    eps: Option<f64>,
}

impl<P: Real> RowOp for SparseFocalRows<'_, P> {
    /// Rows whose label is `ignore` have weight 0 in `Σ s_r` (α does not enter it).
    const SCALED_WEIGHT: bool = true;

    fn class_targets(&self) -> Option<ClassTargets<'_>> {
        Some(ClassTargets::Labels {
            labels: self.labels,
            c: self.c,
            ignore: self.focus.ignore,
        })
    }

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, _: &mut [f64; BLOCK]) -> Result<f64> {
        let label = self.labels.get(r);
        let SparseFocus {
            gamma,
            alpha,
            ignore,
            smoothing,
        } = self.focus;
        if Some(label) == ignore {
            return Ok(0.0);
        }
        if label < 0 || label >= self.c as i128 {
            return Err(Error::LabelOutOfRange {
                arg: "y_true",
                index: r,
                value: label,
                n_classes: self.c,
            });
        }
        let y = label as usize;
        let base = r * self.c;
        let row = &self.p[base..base + self.c];
        if smoothing != 0.0 {
            let focus = (gamma, alpha, smoothing);
            return focal_row(s, row, base, focus, self.eps, OneHot(y));
        }
        let alpha = alpha.of(y);
        let (ln_p, ln_q) = match self.eps {
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
                let p = s.splat(row[y].to_f64().clamp(eps, 1.0 - eps));
                (P::ln_v(s, p), P::ln_1p_v(s, s.neg(p)))
            }
            None => match log_p_and_q(s, row, y) {
                Some(v) => v,
                None => {
                    // A NaN, a +inf or an all −inf row: the plain loss lse − z_y, scaled.
                    let m = row
                        .iter()
                        .map(|x| x.to_f64())
                        .fold(f64::NEG_INFINITY, |a, b| {
                            if a.is_nan() || b.is_nan() {
                                f64::NAN
                            } else {
                                a.max(b)
                            }
                        });
                    let plain = m - row[y].to_f64();
                    return Ok(if plain.is_nan() { plain } else { alpha * plain });
                }
            },
        };
        let factor = pow_from_ln::<S, P>(s, gamma, ln_q);
        let l = s.mul(s.mul(s.splat(alpha), factor), ln_p);
        if alpha == 0.0 {
            return Ok(0.0);
        }
        Ok(0.0 - lane0(s, l))
    }

    #[inline(always)]
    fn row_weight(&self, r: usize) -> f64 {
        let ignore = self.focus.ignore;
        if ignore.is_some() && Some(self.labels.get(r)) == ignore {
            0.0
        } else {
            1.0
        }
    }
}

/// `(ln p_y, ln(1 − p_y))` of a row of logits as lane vectors (lane 0 holds the value), or
/// None when the row's maximum is not finite.
#[inline(always)]
fn log_p_and_q<S: Simd, P: Real>(s: S, z: &[P], y: usize) -> Option<(S::V, S::V)> {
    let mut mv = s.splat(f64::NEG_INFINITY);
    for k in (0..z.len()).step_by(LANES) {
        mv = s.max(mv, P::load(s, z, k, f64::NEG_INFINITY));
    }
    let m = s.reduce_max(mv);
    if !m.is_finite() {
        return None;
    }
    let zero = s.splat(0.0);
    let (mut acc, mut n) = (VecSum::<S, 2>::new(s), 0u64);
    let mv = s.splat(m);
    let yv = s.splat(y as f64);
    let mut idx = s.load(&std::array::from_fn(|k| k as f64));
    let step = s.splat(LANES as f64);
    for k in (0..z.len()).step_by(LANES) {
        let zv = P::load(s, z, k, f64::NEG_INFINITY);
        let at_max = s.eq(zv, mv);
        let e = P::exp_v(s, s.sub(zv, mv));
        let not_y = s.select(s.eq(idx, yv), zero, e);
        acc.push([s.select(at_max, zero, e), not_y]);
        n += u64::from(s.bits(at_max).count_ones());
        idx = s.add(idx, step);
    }
    let [rest, others] = acc.finish();
    let (rest, n, others) = (rest.value(), n as f64, others.value());
    // ln S with S = n + rest, accurate when S is close to 1 (see `math::row_shift`).
    let ln_sum = P::ln_1p_v(s, s.splat((n - 1.0) + rest));
    let zy = z[y].to_f64();
    let ln_p = s.sub(s.splat(zy - m), ln_sum);
    let ln_q = s.sub(P::ln_v(s, s.splat(others)), ln_sum);
    Some((ln_p, ln_q))
}

/// Sparse categorical focal cross-entropy of integer `labels` (length `n_rows`) and
/// probabilities (`eps = Some`) or logits (`eps = None`) `p` (`n_rows × c` row-major):
/// returns `Σ s_r·l_r` and `Σ s_r` over rows whose label is not `focus.ignore`; writes
/// `s_r·l_r` to `out` (0 on ignored rows) if given. α does not enter `Σ s_r`.
#[allow(clippy::too_many_arguments)]
pub fn sparse_focal<'a>(
    labels: impl Into<Ints<'a>>,
    p: impl Into<Floats<'a>>,
    (n_rows, c): (usize, usize),
    focus: SparseFocus<'_>,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    let (labels, p) = (labels.into(), p.into());
    with_floats!(p, out, |p, out| sparse_focal_typed(
        labels,
        p,
        (n_rows, c),
        focus,
        eps,
        w,
        tally,
        out
    ))
}

/// [`sparse_focal`] on typed slices; the output may be wider than the input (per-group
/// losses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sparse_focal_typed<P: Real, O: Real>(
    labels: Ints<'_>,
    p: &[P],
    (n_rows, c): (usize, usize),
    focus: SparseFocus<'_>,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    let op = SparseFocalRows {
        labels,
        p,
        c,
        focus,
        eps,
    };
    rows(&op, n_rows, c, w, tally, out)
}

impl ClassAlpha<'_> {
    /// α of classes `k..k + LANES` (any value on padding lanes: their target is 0).
    #[inline(always)]
    fn lanes<S: Simd>(&self, s: S, k: usize) -> S::V {
        match *self {
            ClassAlpha::None => s.splat(1.0),
            ClassAlpha::All(a) => s.splat(a),
            ClassAlpha::PerClass(a) => s.load(&crate::value::lanes(a, k, 0.0, |x| x)),
        }
    }
}

struct CategoricalFocalRows<'a, P> {
    t: Targets<'a>,
    p: &'a [P],
    c: usize,
    gamma: f64,
    alpha: ClassAlpha<'a>,
    smoothing: f64,
    /// `Some(eps)`: probabilities clipped to `[eps, 1 − eps]`; `None`: logits.
    eps: Option<f64>,
}

impl<P: Real> RowOp for CategoricalFocalRows<'_, P> {
    fn class_targets(&self) -> Option<ClassTargets<'_>> {
        Some(ClassTargets::Dense {
            t: self.t,
            c: self.c,
        })
    }

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, scratch: &mut [f64; BLOCK]) -> Result<f64> {
        let (base, c) = (r * self.c, self.c);
        let p = &self.p[base..base + c];
        let targets = DenseRow::new(self.t, base, c, scratch);
        let focus = (self.gamma, self.alpha, self.smoothing);
        focal_row(s, p, base, focus, self.eps, targets)
    }
}

/// `−Σ_c α_c·t'_c·(1 − p_c)^γ·ln p_c` of one row `p` (at flat offset `base`) of
/// probabilities (`eps = Some`) or logits, with `focus = (γ, α, ε)` and `t_c` from `targets`
/// (see the module docs).
#[inline(always)]
fn focal_row<S: Simd, P: Real>(
    s: S,
    p: &[P],
    base: usize,
    (gamma, alpha, smoothing): (f64, ClassAlpha<'_>, f64),
    eps: Option<f64>,
    mut targets: impl RowTargets,
) -> Result<f64> {
    let c = p.len();
    let logits = eps.is_none();
    let shift = if logits { Some(row_shift(s, p)) } else { None };
    if let Some(shift) = shift {
        if !shift.m.is_finite() {
            // The targets are still checked, as without the focus.
            for k in (0..c).step_by(LANES) {
                targets.lanes(s, k)?;
            }
            return Ok(f64::NAN);
        }
    }
    let zero = s.splat(0.0);
    let share = match smoothing {
        0.0 => 0.0,
        e => e / smoothing_classes(s, p, logits),
    };
    let (keep_t, share_v) = (s.splat(1.0 - smoothing), s.splat(share));
    let ninf = s.splat(f64::NEG_INFINITY);
    let mut acc = VecSum::<S, 1>::new(s);
    for k in (0..c).step_by(LANES) {
        let tv = targets.lanes(s, k)?;
        let pad = if logits { f64::NEG_INFINITY } else { 0.5 };
        let pv = P::load(s, p, k, pad);
        if !logits {
            check_unit(s, pv, "y_pred", p, base, P::to_f64)?;
        }
        let valid = class_weights(s, None, c, k); // 1 on classes, 0 on padding lanes
        let mut t = s.mul(tv, keep_t);
        if smoothing != 0.0 {
            let shared = match logits {
                true => s.select(s.ne(pv, ninf), share_v, zero),
                false => share_v,
            };
            t = s.add(t, s.mul(valid, shared));
        }
        let coef = s.mul(alpha.lanes(s, k), t);
        let keep = s.or(s.ne(coef, zero), s.is_nan(pv));
        if !s.any(keep) {
            continue;
        }
        let (ln_p, ln_q) = match shift {
            // Logits: ln p_c and ln(1 − p_c) from the row's shift.
            Some(shift) => {
                let (mv, sum) = (s.splat(shift.m), s.splat(shift.sum));
                let d = s.sub(pv, mv);
                let e = P::exp_v(s, d);
                let rest = s.select(s.eq(pv, mv), s.splat(shift.others), s.sub(sum, e));
                let ln_sum = s.splat(shift.ln_sum);
                (s.sub(d, ln_sum), s.sub(P::ln_v(s, rest), ln_sum))
            }
            None => {
                let eps = eps.unwrap_or(0.0);
                let pc = s.min(s.max(pv, s.splat(eps)), s.splat(1.0 - eps));
                (P::ln_v(s, pc), P::ln_1p_v(s, s.neg(pc)))
            }
        };
        let factor = pow_from_ln::<S, P>(s, gamma, ln_q);
        let term = s.neg(s.mul(s.mul(coef, factor), ln_p));
        acc.push([s.select(keep, term, zero)]);
    }
    // +0, never −0.
    Ok(acc.finish()[0].value() + 0.0)
}

/// Categorical focal cross-entropy of dense targets `t` and probabilities (`eps = Some`) or
/// logits (`eps = None`) `p`, both `n_rows × c` row-major, with `label_smoothing` from
/// `opts` (its other options do not apply): returns `Σ s_r·l_r` and `Σ s_r`; writes `s_r·l_r`
/// to `out` if given. α does not enter `Σ s_r`.
#[allow(clippy::too_many_arguments)]
pub fn categorical_focal(
    t: Targets<'_>,
    p: Floats<'_>,
    (n_rows, c): (usize, usize),
    (gamma, alpha): (f64, ClassAlpha<'_>),
    smoothing: f64,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    with_floats!(p, out, |p, out| categorical_focal_typed(
        t,
        p,
        (n_rows, c),
        (gamma, alpha),
        smoothing,
        eps,
        w,
        tally,
        out
    ))
}

/// [`categorical_focal`] on typed slices; the output may be wider than the input (per-group
/// losses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn categorical_focal_typed<P: Real, O: Real>(
    t: Targets<'_>,
    p: &[P],
    (n_rows, c): (usize, usize),
    (gamma, alpha): (f64, ClassAlpha<'_>),
    smoothing: f64,
    eps: Option<f64>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    if gamma == 0.0 && matches!(alpha, ClassAlpha::None) {
        let opts = LossOptions {
            label_smoothing: smoothing,
            ..LossOptions::default()
        };
        return loss_options::cce_typed(t, p, (n_rows, c), eps, &opts, w, tally, out);
    }
    let op = CategoricalFocalRows {
        t,
        p,
        c,
        gamma,
        alpha,
        smoothing,
        eps,
    };
    rows(&op, n_rows, c, w, tally, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `α_t·(1 − p_t)^γ·BCE` (no α) with plain powers and logs.
    fn focal_exact(y: f64, z: f64, gamma: f64) -> f64 {
        let p = 1.0 / (1.0 + (-z).exp());
        let p_t = p * y + (1.0 - p) * (1.0 - y);
        -(1.0 - p_t).powf(gamma) * (y * p.ln() + (1.0 - y) * (1.0 - p).ln())
    }

    #[test]
    fn logits_match_formula_and_stay_finite() {
        let y = [1.0f64, 0.0, 0.3, 1.0, 0.0, 1.0, 0.0];
        let z = [0.5f64, -1.5, 2.0, 1e30, -1e30, -1e30, 1e30];
        let mut out = [0.0f64; 7];
        let focus = Focus {
            gamma: 2.0,
            alpha: None,
        };
        binary_focal_logits(
            &y,
            &z,
            focus,
            Weights::None,
            NanPolicy::Propagate,
            Some((&mut out).into()),
        )
        .unwrap();
        for i in 0..3 {
            let e = focal_exact(y[i], z[i], 2.0);
            assert!((out[i] - e).abs() <= 1e-14 * e, "{i}: {} vs {e}", out[i]);
        }
        assert_eq!(out[3..5], [0.0, 0.0]);
        assert_eq!(out[5..7], [1e30, 1e30]);
    }

    #[test]
    fn sparse_ignore_and_alpha() {
        let labels = [0i64, -100, 2];
        let z = [1.0f64, 2.0, 3.0, 9.0, 9.0, 9.0, 0.0, 0.0, -f64::INFINITY];
        let mut out = [0.0f64; 3];
        let focus = SparseFocus {
            gamma: 0.0,
            alpha: ClassAlpha::None,
            ignore: Some(-100),
            smoothing: 0.0,
        };
        let t = sparse_focal(
            &labels,
            &z,
            (3, 3),
            focus,
            None,
            Weights::None,
            NanPolicy::Propagate,
            Some((&mut out).into()),
        )
        .unwrap();
        assert_eq!(t.weight, 2.0);
        assert_eq!(out[1], 0.0);
        assert_eq!(out[2], f64::INFINITY);
        let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        assert!((out[0] - (lse - 1.0)).abs() <= 1e-15 * lse);
    }

    #[test]
    fn smoothed_sparse_focal_is_categorical_on_one_hot() {
        let c = 7;
        let labels = [3i64, 0, 6, -1, 2];
        let z: Vec<f64> = (0..labels.len() * c)
            .map(|i| match i {
                9 => f64::NEG_INFINITY,
                _ => ((i * 37) % 11) as f64 * 0.7 - 3.0,
            })
            .collect();
        let p: Vec<f64> = z
            .chunks(c)
            .flat_map(|row| {
                let e: Vec<f64> = row.iter().map(|x| x.exp()).collect();
                let sum: f64 = e.iter().sum();
                e.into_iter().map(move |x| x / sum)
            })
            .collect();
        let alpha = [0.5f64, 1.0, 2.0, 1.0, 0.25, 0.0, 3.0];
        let one_hot: Vec<f64> = (0..labels.len() * c)
            .map(|i| f64::from(u8::from(labels[i / c] == (i % c) as i64)))
            .collect();
        for (x, eps) in [(&z, None), (&p, Some(1e-7))] {
            for a in [ClassAlpha::None, ClassAlpha::PerClass(&alpha)] {
                let (mut got, mut want) = ([0.0f64; 5], [0.0f64; 5]);
                let focus = SparseFocus {
                    gamma: 1.5,
                    alpha: a,
                    ignore: Some(-1),
                    smoothing: 0.2,
                };
                let (none, keep) = (Weights::None, NanPolicy::Propagate);
                let t = sparse_focal(
                    &labels,
                    &x[..],
                    (5, c),
                    focus,
                    eps,
                    none,
                    keep,
                    Some((&mut got[..]).into()),
                )
                .unwrap();
                assert_eq!(t.weight, 4.0);
                categorical_focal(
                    Targets::from(&one_hot[..]),
                    Floats::from(&x[..]),
                    (5, c),
                    (1.5, a),
                    0.2,
                    eps,
                    none,
                    keep,
                    Some((&mut want[..]).into()),
                )
                .unwrap();
                want[3] = 0.0; // the ignored row
                assert_eq!(got, want, "{eps:?} {a:?}");
                assert!(got.iter().all(|v| v.is_finite()));
            }
        }
    }

    /// `−Σ_c α_c·t'_c·(1 − p_c)^γ·ln p_c` of one row of logits, plainly (softmax in f64).
    fn categorical_exact(t: &[f64], z: &[f64], gamma: f64, alpha: &[f64], eps: f64) -> f64 {
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|x| (x - m).exp()).collect();
        let sum: f64 = e.iter().sum();
        let k = z.iter().filter(|x| **x > f64::NEG_INFINITY).count() as f64;
        (0..z.len())
            .map(|c| {
                let share = if z[c] > f64::NEG_INFINITY {
                    eps / k
                } else {
                    0.0
                };
                let tc = alpha[c] * ((1.0 - eps) * t[c] + share);
                let p = e[c] / sum;
                if tc == 0.0 {
                    0.0
                } else {
                    -tc * (1.0 - p).powf(gamma) * p.ln()
                }
            })
            .sum()
    }

    #[test]
    fn categorical_focal_matches_formula() {
        let z = [
            0.5f64,
            -1.5,
            2.0,
            f64::NEG_INFINITY,
            0.0,
            1.0,
            3.0,
            -2.0,
            0.5,
        ];
        let t = [0.2f64, 0.0, 0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0];
        let alpha = [0.5f64, 1.0, 2.0, 1.0, 0.25, 1.0, 1.0, 3.0, 1.0];
        for (gamma, eps) in [(2.0, 0.0), (1.5, 0.1), (0.5, 1.0)] {
            let mut out = [0.0f64; 1];
            categorical_focal(
                Targets::from(&t[..]),
                Floats::from(&z[..]),
                (1, 9),
                (gamma, ClassAlpha::PerClass(&alpha)),
                eps,
                None,
                Weights::None,
                NanPolicy::Propagate,
                Some((&mut out[..]).into()),
            )
            .unwrap();
            let want = categorical_exact(&t, &z, gamma, &alpha, eps);
            assert!(
                (out[0] - want).abs() <= 1e-14 * want,
                "γ {gamma} ε {eps}: {} vs {want}",
                out[0]
            );
        }
    }

    #[test]
    fn categorical_focal_keeps_the_top_class_accurate() {
        // p_top = 1 − 2e-30: (1 − p_top)^2 = 4e-60, where S − 1 computed from S = 1 would give 0.
        let z = [0.0f64, -70.0, -70.0];
        let t = [1.0f64, 0.0, 0.0];
        let mut out = [0.0f64; 1];
        categorical_focal(
            Targets::from(&t[..]),
            Floats::from(&z[..]),
            (1, 3),
            (2.0, ClassAlpha::None),
            0.0,
            None,
            Weights::None,
            NanPolicy::Propagate,
            Some((&mut out[..]).into()),
        )
        .unwrap();
        let q = 2.0 * (-70.0f64).exp(); // 1 − p_top to first order
        let want = q * q * q; // (1 − p)^2 · (−ln p) with −ln p ≈ q
        assert!(
            (out[0] - want).abs() <= 1e-12 * want,
            "{} vs {want}",
            out[0]
        );
    }

    #[test]
    fn categorical_focal_without_focus_is_cce() {
        let z = [0.5f64, -1.5, 2.0, 0.25, 1.0, -3.0];
        let p = [0.1f64, 0.2, 0.7, 0.3, 0.3, 0.4];
        let t = [0.0f64, 0.0, 1.0, 0.5, 0.5, 0.0];
        for (x, eps) in [(&z, None), (&p, Some(1e-7))] {
            let (mut a, mut b) = ([0.0f64; 2], [0.0f64; 2]);
            categorical_focal(
                Targets::from(&t[..]),
                Floats::from(&x[..]),
                (2, 3),
                (0.0, ClassAlpha::None),
                0.1,
                eps,
                Weights::None,
                NanPolicy::Propagate,
                Some((&mut a[..]).into()),
            )
            .unwrap();
            let opts = LossOptions {
                label_smoothing: 0.1,
                ..LossOptions::default()
            };
            let (none, keep) = (Weights::None, NanPolicy::Propagate);
            let (tt, xx) = (Targets::from(&t[..]), Floats::from(&x[..]));
            loss_options::cce(
                tt,
                xx,
                2,
                3,
                eps,
                &opts,
                none,
                keep,
                Some((&mut b[..]).into()),
            )
            .unwrap();
            assert_eq!(a, b);
        }
    }
}
