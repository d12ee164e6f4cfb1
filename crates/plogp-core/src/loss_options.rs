//! The loss options `pos_weight`, `class_weight`, `label_smoothing` and `ignore_index`.
//!
//! The plain kernels of [`crate::binary`] and [`crate::categorical`] stay the fast path: an
//! entry point here checks once per call whether any option is set and, if none is, calls the
//! plain kernel. Otherwise the optioned row / element loss below runs (same drivers, same
//! chunking and summation order, so results stay bit-identical for any thread count and tier).
//!
//! Definitions (ε = label smoothing, w = class or positive weight):
//! - binary: `y ← y(1 − ε) + ε/2`, `l = −[pw·y·ln p + (1 − y)·ln(1 − p)]`; from logits
//!   `l = pw·y·softplus(−z) + (1 − y)·softplus(z)`. Zero-coefficient terms contribute 0.
//! - categorical: `t_c ← (1 − ε)·t_c + ε/K` for the K classes whose logit is not −inf (from
//!   probabilities all C classes), `l = Σ_c w_c·t_c·(−ln p_c)`; zero-coefficient terms are 0,
//!   so a masked class (−inf logit, target 0) contributes nothing.
//! - sparse: the same with the one-hot target of the label; a row whose label equals
//!   `ignore_index` has loss 0 and weight 0; the "mean" denominator is `Σ s_r·w_{y_r}`
//!   (PyTorch's `cross_entropy` with `weight`, `ignore_index`, `label_smoothing`).

use crate::binary;
use crate::categorical;
use crate::driver::{check_unit, elementwise, rows, ElementLoss, RowOp};
use crate::driver::{ClassTargets, Tally, Totals, Weights};
use crate::error::{Error, Result};
use crate::input::{with_floats, Floats, FloatsMut, Ints, Targets, BLOCK};
use crate::math::{lane0, row_logsumexp, row_max, RowShift};
use crate::reduce::{Sum, VecSum};
use crate::simd::{Simd, LANES};
use crate::value::{lanes, Real};

/// Options of the three cross-entropy losses. Validated by the caller: weights finite and
/// `>= 0`, `class_weight.len() == C`, `0 <= label_smoothing <= 1`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossOptions<'a> {
    /// Binary only: weight of the positive term, element `i` uses `pw[i % pw.len()]` (a scalar
    /// is a slice of length 1; an array over the trailing dimensions repeats with that period).
    pub pos_weight: Option<&'a [f64]>,
    /// Categorical and sparse: one weight per class.
    pub class_weight: Option<&'a [f64]>,
    /// ε in `[0, 1]`.
    pub label_smoothing: f64,
    /// Sparse only: rows with this label are skipped (loss 0, weight 0).
    pub ignore_index: Option<i128>,
}

// ------------------------------------------------------------------------------------ binary

#[derive(Debug, Clone, Copy)]
struct BceOpt<'a, const LOGITS: bool> {
    eps: f64,
    smoothing: f64,
    pos_weight: Option<&'a [f64]>,
}

impl<const LOGITS: bool> BceOpt<'_, LOGITS> {
    /// Positive weights of the lanes starting at flat element `index`.
    #[inline(always)]
    fn pos_weights<S: Simd>(&self, s: S, index: usize) -> S::V {
        match self.pos_weight {
            None => s.splat(1.0),
            Some([w]) => s.splat(*w),
            Some(w) => {
                let o = index % w.len();
                if let Some(block) = w.get(o..o + LANES) {
                    s.load(block.try_into().expect("LANES values"))
                } else {
                    let mut v = [0.0f64; LANES];
                    for (k, x) in v.iter_mut().enumerate() {
                        *x = w[(o + k) % w.len()];
                    }
                    s.load(&v)
                }
            }
        }
    }
}

impl<const LOGITS: bool> ElementLoss for BceOpt<'_, LOGITS> {
    const P_IS_PROBABILITY: bool = !LOGITS;

    #[inline(always)]
    fn term<S: Simd, P: Real>(self, s: S, y: S::V, p: S::V) -> S::V {
        self.term_at::<S, P>(s, y, p, 0)
    }

    #[inline(always)]
    fn term_at<S: Simd, P: Real>(self, s: S, y: S::V, p: S::V, index: usize) -> S::V {
        let (zero, one) = (s.splat(0.0), s.splat(1.0));
        let y = if self.smoothing != 0.0 {
            s.add(
                s.mul(y, s.splat(1.0 - self.smoothing)),
                s.splat(0.5 * self.smoothing),
            )
        } else {
            y
        };
        let wy = s.mul(self.pos_weights(s, index), y);
        let ny = s.sub(one, y);
        if LOGITS {
            let l = P::ln_1p_exp_neg_abs_v(s, p);
            let pos = s.mul(wy, s.add(l, s.max(s.neg(p), zero)));
            let neg = s.mul(ny, s.add(l, s.max(p, zero)));
            let pos = s.select(s.ne(wy, zero), pos, zero);
            let neg = s.select(s.ne(ny, zero), neg, zero);
            s.add(pos, neg)
        } else {
            let p = s.min(s.max(p, s.splat(self.eps)), s.splat(1.0 - self.eps));
            let pos = s.select(s.ne(wy, zero), s.mul(wy, P::ln_v(s, p)), zero);
            let neg = s.select(s.ne(ny, zero), s.mul(ny, P::ln_1p_v(s, s.neg(p))), zero);
            s.sub(zero, s.add(pos, neg))
        }
    }
}

/// Binary cross-entropy with options; `eps` is `None` for logits. `tally` is a
/// [`NanPolicy`], or a [`Tally`] that also sums the targets kept.
pub fn bce(
    y: Targets<'_>,
    p: Floats<'_>,
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally = tally.into();
    with_floats!(p, out, |p, out| bce_typed(y, p, eps, opts, w, tally, out))
}

/// [`bce`] on typed slices; the output may be wider than the input (per-group losses).
pub(crate) fn bce_typed<P: Real, O: Real>(
    y: Targets<'_>,
    p: &[P],
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    w: Weights<'_>,
    tally: Tally,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    if opts.pos_weight.is_none() && opts.label_smoothing == 0.0 {
        return binary::bce_typed(y, p, eps, w, tally, out);
    }
    let (smoothing, pos_weight) = (opts.label_smoothing, opts.pos_weight);
    match eps {
        Some(eps) => {
            let loss = BceOpt::<false> {
                eps,
                smoothing,
                pos_weight,
            };
            elementwise(loss, y, p, w, tally, out)
        }
        None => {
            let loss = BceOpt::<true> {
                eps: 0.0,
                smoothing,
                pos_weight,
            };
            elementwise(loss, y, p, w, tally, out)
        }
    }
}

// ------------------------------------------------------------------------------- categorical

/// Class weights of classes `k..k + LANES`; lanes past the row get 0 (so padding never counts).
#[inline(always)]
pub(crate) fn class_weights<S: Simd>(s: S, cw: Option<&[f64]>, c: usize, k: usize) -> S::V {
    match cw {
        Some(cw) => s.load(&lanes(cw, k, 0.0, |x| x)),
        None if k + LANES <= c => s.splat(1.0),
        None => {
            let mut v = [0.0f64; LANES];
            for x in v.iter_mut().take(c - k) {
                *x = 1.0;
            }
            s.load(&v)
        }
    }
}

/// Number of classes sharing the smoothing mass: classes whose logit is not −inf (logits), all
/// classes (probabilities).
#[inline(always)]
pub(crate) fn smoothing_classes<S: Simd, P: Real>(s: S, z: &[P], logits: bool) -> f64 {
    if !logits {
        return z.len() as f64;
    }
    let (ninf, zero, one) = (s.splat(f64::NEG_INFINITY), s.splat(0.0), s.splat(1.0));
    let mut count = zero;
    for k in (0..z.len()).step_by(LANES) {
        let zv = P::load(s, z, k, f64::NEG_INFINITY);
        count = s.add(count, s.select(s.ne(zv, ninf), one, zero));
    }
    s.reduce_sum(count)
}

/// `Σ_c coef_c·(−ln p_c)` (or `coef_c·(lse − z_c)`) of one row, where `coef_c = w_c·t'_c` and
/// `t'_c = (1 − ε)·t_c + ε/K` on the smoothing classes; `t_c` comes from `target.lanes(s, k)`.
/// Terms with `coef_c = 0` are 0 unless the prediction is NaN.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weighted_row<S: Simd, P: Real>(
    s: S,
    p: &[P],
    base: usize,
    eps: Option<f64>,
    cw: Option<&[f64]>,
    smoothing: f64,
    mut target: impl RowTargets,
) -> Result<f64> {
    let c = p.len();
    let logits = eps.is_none();
    let lse = if logits { row_logsumexp(s, p) } else { 0.0 };
    let zero = s.splat(0.0);
    let share = if smoothing != 0.0 {
        smoothing / smoothing_classes(s, p, logits)
    } else {
        0.0
    };
    let (keep_t, share_v) = (s.splat(1.0 - smoothing), s.splat(share));
    let ninf = s.splat(f64::NEG_INFINITY);
    let mut acc = VecSum::<S, 1>::new(s);
    for k in (0..c).step_by(LANES) {
        let tv = target.lanes(s, k)?;
        let pv = s.load(&lanes(
            p,
            k,
            if logits { f64::NEG_INFINITY } else { 0.5 },
            P::to_f64,
        ));
        if !logits {
            check_unit(s, pv, "y_pred", p, base, P::to_f64)?;
        }
        let wv = class_weights(s, cw, c, k);
        let mut t = s.mul(tv, keep_t);
        if smoothing != 0.0 {
            let shared = if logits {
                s.select(s.ne(pv, ninf), share_v, zero)
            } else {
                share_v
            };
            t = s.add(t, s.select(s.ne(wv, zero), shared, zero));
        }
        let coef = s.mul(wv, t);
        let keep = s.or(s.ne(coef, zero), s.is_nan(pv));
        if !s.any(keep) {
            continue;
        }
        let term = match eps {
            Some(eps) => {
                let pc = s.min(s.max(pv, s.splat(eps)), s.splat(1.0 - eps));
                s.neg(s.mul(coef, P::ln_v(s, pc)))
            }
            None => s.mul(coef, s.sub(s.splat(lse), pv)),
        };
        acc.push([s.select(keep, term, zero)]);
    }
    // +0, never −0.
    Ok(acc.finish()[0].value() + 0.0)
}

/// The targets of one row, as lanes of classes `k..k + LANES`, for [`weighted_row`]. A trait
/// rather than a closure: a closure does not inherit the tier's target features, and when LLVM
/// does not inline it, every intrinsic in it becomes an out-of-line call.
pub(crate) trait RowTargets {
    fn lanes<S: Simd>(&mut self, s: S, k: usize) -> Result<S::V>;
}

/// Dense targets of the row at flat offset `base`, decoded a block at a time into `scratch`
/// whenever `k` enters a new block, and checked to be probabilities.
pub(crate) struct DenseRow<'a, 'b> {
    t: Targets<'a>,
    base: usize,
    c: usize,
    scratch: &'b mut [f64; BLOCK],
    decoded: Option<usize>,
}

impl<'a, 'b> DenseRow<'a, 'b> {
    /// The row of `c` targets at flat offset `base` of `t`.
    #[inline(always)]
    pub(crate) fn new(
        t: Targets<'a>,
        base: usize,
        c: usize,
        scratch: &'b mut [f64; BLOCK],
    ) -> Self {
        DenseRow {
            t,
            base,
            c,
            scratch,
            decoded: None,
        }
    }
}

impl RowTargets for DenseRow<'_, '_> {
    #[inline(always)]
    fn lanes<S: Simd>(&mut self, s: S, k: usize) -> Result<S::V> {
        let b = k - k % BLOCK;
        let len = (self.c - b).min(BLOCK);
        if self.decoded != Some(b) {
            self.t.decode(self.base + b, &mut self.scratch[..len]);
            self.decoded = Some(b);
        }
        let block = &self.scratch[..len];
        let tv = s.load(&lanes(block, k - b, 0.0, |x| x));
        check_unit(s, tv, "y_true", block, self.base + b, |x| x)?;
        Ok(tv)
    }
}

/// The one-hot row of class `label`.
pub(crate) struct OneHot(pub(crate) usize);

impl RowTargets for OneHot {
    #[inline(always)]
    fn lanes<S: Simd>(&mut self, s: S, k: usize) -> Result<S::V> {
        let label = self.0;
        Ok(if (k..k + LANES).contains(&label) {
            let mut v = [0.0f64; LANES];
            v[label - k] = 1.0;
            s.load(&v)
        } else {
            s.splat(0.0)
        })
    }
}

/// Smoothed sparse loss of one row of logits `z` with true class `y`, in two passes (max, then
/// one fused pass) where [`weighted_row`] needs four. With `m = max z`, `ln S = lse − m` and
/// `g_c = m − z_c ≥ 0`, and `W = Σ_c w_c` (C when unweighted):
///
/// `l = (1 − ε)·w_y·(ln S + g_y) + (ε/C)·[ln S·W + Σ_c w_c·g_c]`
///
/// Every sum has non-negative terms, so nothing cancels. This holds when every logit is
/// finite; `None` (use [`weighted_row`], which excludes masked classes) when one is not: the max
/// is then NaN or ±inf, or `Σ w_c·g_c` is inf or NaN (a −inf logit).
#[inline(always)]
fn smoothed_logits_row<S: Simd, P: Real>(
    s: S,
    z: &[P],
    y: usize,
    cw: Option<(&[f64], f64)>,
    smoothing: f64,
) -> Option<f64> {
    let c = z.len();
    let m = row_max(s, z);
    if !m.is_finite() {
        return None;
    }
    let (zero, mv) = (s.splat(0.0), s.splat(m));
    let (mut acc, mut n) = (VecSum::<S, 2>::new(s), 0u64);
    // Padding lanes hold m: they add 0 to the exp sum and to the gaps, and are taken off the
    // count of logits at the max below.
    for k in (0..c).step_by(LANES) {
        let zv = P::load(s, z, k, m);
        let at_max = s.eq(zv, mv);
        let d = s.sub(zv, mv);
        let e = P::exp_v(s, d);
        let wd = match cw {
            None => d,
            Some((cw, _)) => s.mul(s.load(&lanes(cw, k, 0.0, |x| x)), d),
        };
        acc.push([s.select(at_max, zero, e), wd]);
        n += u64::from(s.bits(at_max).count_ones());
    }
    let [rest, neg_gap] = acc.finish();
    let gap = -neg_gap.value();
    if !gap.is_finite() {
        return None;
    }
    let pads = (c.next_multiple_of(LANES) - c) as f64;
    let ln_s = RowShift::from_parts::<S, P>(s, m, n as f64 - pads, rest.value()).ln_sum;
    let (w_y, w_total) = match cw {
        None => (1.0, c as f64),
        Some((cw, total)) => (cw[y], total),
    };
    let coef_y = (1.0 - smoothing) * w_y;
    let label_term = if coef_y == 0.0 {
        0.0
    } else {
        coef_y * (ln_s + (m - z[y].to_f64()))
    };
    let shared = smoothing / c as f64 * (ln_s * w_total + gap);
    Some(label_term + shared + 0.0)
}

struct CategoricalOptRows<'a, P> {
    t: Targets<'a>,
    p: &'a [P],
    c: usize,
    eps: Option<f64>,
    cw: Option<&'a [f64]>,
    smoothing: f64,
}

impl<P: Real> RowOp for CategoricalOptRows<'_, P> {
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
        weighted_row(s, p, base, self.eps, self.cw, self.smoothing, targets)
    }
}

/// Categorical cross-entropy with options (`eps` is `None` for logits); `pos_weight` and
/// `ignore_index` do not apply and are ignored.
#[allow(clippy::too_many_arguments)]
pub fn cce(
    t: Targets<'_>,
    p: Floats<'_>,
    n_rows: usize,
    c: usize,
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    with_floats!(p, out, |p, out| cce_typed(
        t,
        p,
        (n_rows, c),
        eps,
        opts,
        w,
        tally,
        out
    ))
}

/// [`cce`] on typed slices; the output may be wider than the input (per-group losses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn cce_typed<P: Real, O: Real>(
    t: Targets<'_>,
    p: &[P],
    (n_rows, c): (usize, usize),
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    if opts.class_weight.is_none() && opts.label_smoothing == 0.0 {
        return categorical::cce_typed(t, p, n_rows, c, eps, w, tally, out);
    }
    let op = CategoricalOptRows {
        t,
        p,
        c,
        eps,
        cw: opts.class_weight,
        smoothing: opts.label_smoothing,
    };
    rows(&op, n_rows, c, w, tally, out)
}

struct SparseOptRows<'a, P> {
    labels: Ints<'a>,
    p: &'a [P],
    c: usize,
    eps: Option<f64>,
    cw: Option<&'a [f64]>,
    smoothing: f64,
    ignore: Option<i128>,
    /// `Σ_c w_c` of `cw` (0 without class weights).
    cw_total: f64,
}

impl<P: Real> RowOp for SparseOptRows<'_, P> {
    const SCALED_WEIGHT: bool = true;

    fn class_targets(&self) -> Option<ClassTargets<'_>> {
        Some(ClassTargets::Labels {
            labels: self.labels,
            c: self.c,
            ignore: self.ignore,
        })
    }

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, _: &mut [f64; BLOCK]) -> Result<f64> {
        let label = self.labels.get(r);
        let base = r * self.c;
        let row = &self.p[base..base + self.c];
        if Some(label) == self.ignore {
            if self.eps.is_some() {
                for k in (0..self.c).step_by(LANES) {
                    let pv = P::load(s, row, k, 0.5);
                    check_unit(s, pv, "y_pred", row, base, P::to_f64)?;
                }
            }
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
        let label = label as usize;
        if self.smoothing == 0.0 {
            // Only the label's term: the plain loss times its class weight.
            let plain = match self.eps {
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
                    let pc = row[label].to_f64().clamp(eps, 1.0 - eps);
                    0.0 - lane0(s, P::ln_v(s, s.splat(pc)))
                }
                None => row_logsumexp(s, row) - row[label].to_f64(),
            };
            let wy = self.cw.map_or(1.0, |cw| cw[label]);
            return Ok(if wy == 0.0 && !plain.is_nan() {
                0.0
            } else {
                wy * plain
            });
        }
        if self.eps.is_none() {
            let cw = self.cw.map(|cw| (cw, self.cw_total));
            if let Some(v) = smoothed_logits_row(s, row, label, cw, self.smoothing) {
                return Ok(v);
            }
        }
        let targets = OneHot(label);
        weighted_row(s, row, base, self.eps, self.cw, self.smoothing, targets)
    }

    #[inline(always)]
    fn row_weight(&self, r: usize) -> f64 {
        sparse_row_factor(self.labels, self.cw, self.ignore, r)
    }
}

/// Sparse categorical cross-entropy with options (`eps` is `None` for logits). With
/// `class_weight` or `ignore_index`, `Totals::weight` is `Σ s_r·w_{y_r}` over rows not ignored.
#[allow(clippy::too_many_arguments)]
pub fn sparse(
    labels: Ints<'_>,
    p: Floats<'_>,
    n_rows: usize,
    c: usize,
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<FloatsMut<'_>>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    with_floats!(p, out, |p, out| sparse_typed(
        labels,
        p,
        (n_rows, c),
        eps,
        opts,
        w,
        tally,
        out
    ))
}

/// [`sparse`] on typed slices; the output may be wider than the input (per-group losses).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sparse_typed<P: Real, O: Real>(
    labels: Ints<'_>,
    p: &[P],
    (n_rows, c): (usize, usize),
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally: Tally = tally.into();
    if opts.class_weight.is_none() && opts.label_smoothing == 0.0 && opts.ignore_index.is_none() {
        return categorical::sparse_typed(labels, p, n_rows, c, eps, w, tally, out);
    }
    let cw_total = opts.class_weight.map_or(0.0, |cw| {
        let mut total = Sum::ZERO;
        cw.iter().for_each(|&w| total.add(w));
        total.value()
    });
    let op = SparseOptRows {
        labels,
        p,
        c,
        eps,
        cw: opts.class_weight,
        smoothing: opts.label_smoothing,
        ignore: opts.ignore_index,
        cw_total,
    };
    rows(&op, n_rows, c, w, tally, out)
}

/// The factor of row `r` in the "mean" denominator of the sparse loss with options: 0 for a
/// row whose label is `ignore_index`, else its class weight (1 without class weights).
#[inline(always)]
pub(crate) fn sparse_row_factor(
    labels: Ints<'_>,
    cw: Option<&[f64]>,
    ignore: Option<i128>,
    r: usize,
) -> f64 {
    let label = labels.get(r);
    if Some(label) == ignore {
        return 0.0;
    }
    match cw {
        Some(cw) if (0..cw.len() as i128).contains(&label) => cw[label as usize],
        _ => 1.0,
    }
}
