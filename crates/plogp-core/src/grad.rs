//! Gradients (and diagonal Hessians) of cross-entropy losses with respect to the logits, for
//! custom objectives of gradient-boosting libraries. One pass over the data, written in place.
//!
//! Binary, per element, with `σ(z) = 1/(1 + e^−z)`, `e = exp(−|z|)`:
//!   g = s·(σ(z) − y) = s·((1 − y)·σ(z) − y·σ(−z)),   h = s·σ(z)·σ(−z) = s·e/(1 + e)².
//! Both sigmoids come from `e ≤ 1` (no overflow for any z); h has no cancellation, so it is
//! not 0 wherever its value is representable, and for hard labels g has none either.
//!
//! Softmax, per row with label y, `p = softmax(z)` from one max pass and one exp pass:
//!   g_c = s·(p_c − [c = y]),   h_c = s·p_c·(1 − p_c)   (the exact diagonal).
//! `1 − p_c` is computed without cancellation: for the class at the maximum it is
//! `(S − 1)/S` with `S − 1` summed from the other classes; elsewhere `p_c ≤ ½`.
//!
//! Both run on the driver's map shapes ([`crate::driver`]): every output element is written by
//! exactly one chunk with no reduction, so the result does not depend on the thread count.

use crate::driver::{bad_weight, check_weight, map_elements, map_rows, ElementMap, Outs};
use crate::driver::{store_lanes, RowMapOp, Weights};
use crate::error::{Error, Result};
use crate::input::{Floats, FloatsMut, Ints, Targets};
use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::Real;

/// Gradient `g = s·(σ(z) − y)` of binary cross-entropy from logits `z`, and the Hessian
/// `h = s·σ(z)·(1 − σ(z))` when `h` is given. `y` in `[0, 1]` (NaN propagates). `g` and `h`
/// have `z`'s float type.
pub fn binary_logits<'a, 'g>(
    y: impl Into<Targets<'a>>,
    z: impl Into<Floats<'a>>,
    w: Weights<'_>,
    g: impl Into<FloatsMut<'g>>,
    h: Option<FloatsMut<'_>>,
) -> Result<()> {
    binary_logits_(y.into(), z.into(), w, g.into(), h)
}

fn binary_logits_(
    y: Targets<'_>,
    z: Floats<'_>,
    w: Weights<'_>,
    g: FloatsMut<'_>,
    h: Option<FloatsMut<'_>>,
) -> Result<()> {
    match z {
        Floats::F32(z) => binary_typed(
            y,
            z,
            w,
            g.into_f32()?,
            h.map(FloatsMut::into_f32).transpose()?,
        ),
        Floats::F64(z) => binary_typed(
            y,
            z,
            w,
            g.into_f64()?,
            h.map(FloatsMut::into_f64).transpose()?,
        ),
    }
}

fn binary_typed<P: Real>(
    y: Targets<'_>,
    z: &[P],
    w: Weights<'_>,
    g: &mut [P],
    h: Option<&mut [P]>,
) -> Result<()> {
    debug_assert!(y.len() == z.len() && g.len() == z.len());
    let outs = Outs {
        first: g,
        second: h,
    };
    map_elements(BinaryGrad, Some(y), z, w, outs)
}

/// The binary gradient (first output) and Hessian (second) of the lanes.
#[derive(Clone, Copy)]
struct BinaryGrad;

impl ElementMap for BinaryGrad {
    #[inline(always)]
    fn map<S: Simd, P: Real>(self, s: S, y: S::V, z: S::V, w: S::V, second: bool) -> [S::V; 2] {
        let (zero, one) = (s.splat(0.0), s.splat(1.0));
        let e = P::exp_v(s, s.neg(s.abs(z)));
        let inv = s.div(one, s.add(one, e));
        let big = inv; // σ(|z|)
        let small = s.mul(e, inv); // σ(−|z|)
        let pos = s.le(zero, z);
        let sig = s.select(pos, big, small);
        let sig_neg = s.select(pos, small, big);
        // NaN logits: keep the NaN in both outputs.
        let nan_z = s.is_nan(z);
        let sig = s.select(nan_z, z, sig);
        let grad = s.sub(s.mul(s.sub(one, y), sig), s.mul(y, sig_neg));
        let hess = if second {
            s.select(nan_z, z, s.mul(s.mul(w, small), inv))
        } else {
            zero
        };
        [s.mul(w, grad), hess]
    }
}

/// Gradient `g = s·(softmax(z) − onehot(y))` of softmax cross-entropy from logits `z`
/// (`n_rows × c` row-major) and integer labels, and the diagonal Hessian `s·p·(1 − p)` when
/// `h` is given. `w` holds one weight per row.
pub fn softmax_logits<'a, 'g>(
    labels: impl Into<Ints<'a>>,
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    w: Weights<'_>,
    g: impl Into<FloatsMut<'g>>,
    h: Option<FloatsMut<'_>>,
) -> Result<()> {
    softmax_logits_(labels.into(), z.into(), (n_rows, c), w, g.into(), h)
}

fn softmax_logits_(
    labels: Ints<'_>,
    z: Floats<'_>,
    shape: (usize, usize),
    w: Weights<'_>,
    g: FloatsMut<'_>,
    h: Option<FloatsMut<'_>>,
) -> Result<()> {
    match z {
        Floats::F32(z) => softmax_typed(
            labels,
            z,
            shape,
            w,
            g.into_f32()?,
            h.map(FloatsMut::into_f32).transpose()?,
        ),
        Floats::F64(z) => softmax_typed(
            labels,
            z,
            shape,
            w,
            g.into_f64()?,
            h.map(FloatsMut::into_f64).transpose()?,
        ),
    }
}

fn softmax_typed<P: Real>(
    labels: Ints<'_>,
    z: &[P],
    (n_rows, c): (usize, usize),
    w: Weights<'_>,
    g: &mut [P],
    h: Option<&mut [P]>,
) -> Result<()> {
    debug_assert!(labels.len() == n_rows && z.len() == n_rows * c && g.len() == z.len());
    let op = SoftmaxGrad { labels, z, c, w };
    let outs = Outs {
        first: g,
        second: h,
    };
    map_rows(&op, n_rows, c, outs)
}

struct SoftmaxGrad<'a, P> {
    labels: Ints<'a>,
    z: &'a [P],
    c: usize,
    w: Weights<'a>,
}

impl<P: Real> RowMapOp for SoftmaxGrad<'_, P> {
    type Out = P;

    #[inline(always)]
    fn row<S: Simd>(
        &self,
        s: S,
        r: usize,
        g_row: &mut [P],
        mut h_row: Option<&mut [P]>,
    ) -> Result<()> {
        let SoftmaxGrad { labels, z, c, w } = *self;
        let (zero, one) = (s.splat(0.0), s.splat(1.0));
        let label = labels.get(r);
        if label < 0 || label >= c as i128 {
            return Err(Error::LabelOutOfRange {
                arg: "y_true",
                index: r,
                value: label,
                n_classes: c,
            });
        }
        let wr = w.get(r);
        if !check_weight(wr) {
            return Err(bad_weight(&w, r));
        }
        let row = &z[r * c..(r + 1) * c];
        // Max pass, then one exp pass: S = n + rest (n logits at the max).
        let mut mv = s.splat(f64::NEG_INFINITY);
        for j in (0..c).step_by(LANES) {
            mv = s.max(mv, P::load(s, row, j, f64::NEG_INFINITY));
        }
        let m = s.reduce_max(mv);
        let m_v = s.splat(m);
        let (mut acc, mut n) = (VecSum::<S, 1>::new(s), 0u64);
        for j in (0..c).step_by(LANES) {
            let zv = P::load(s, row, j, f64::NEG_INFINITY);
            let at_max = s.eq(zv, m_v);
            let e = P::exp_v(s, s.sub(zv, m_v));
            acc.push([s.select(at_max, zero, e)]);
            n += u64::from(s.bits(at_max).count_ones());
        }
        let [rest] = acc.finish();
        let (rest, n) = (rest.value(), n as f64);
        // A non-finite max (NaN, +inf, all −inf) makes every output of the row NaN.
        let bad_row = !m.is_finite();
        let total = n + rest;
        let inv_s = s.splat(1.0 / total);
        let at_max_rest = s.splat(((n - 1.0) + rest) / total);
        let wv = s.splat(wr);
        let yv = s.splat(label as f64);
        let mut idx = s.load(&std::array::from_fn(|j| j as f64));
        let step = s.splat(LANES as f64);
        let nan = s.splat(f64::NAN);
        for j in (0..c).step_by(LANES) {
            let zv = P::load(s, row, j, f64::NEG_INFINITY);
            let p = s.mul(P::exp_v(s, s.sub(zv, m_v)), inv_s);
            // 1 − p: exact-ish at the maximum, no cancellation elsewhere (p ≤ ½ there).
            let q = s.select(s.eq(zv, m_v), at_max_rest, s.sub(one, p));
            let is_y = s.eq(idx, yv);
            let grad = s.select(is_y, s.neg(q), p);
            let gv = if bad_row { nan } else { s.mul(wv, grad) };
            store_lanes(s, g_row, j, gv);
            if let Some(h_row) = h_row.as_deref_mut() {
                let hv = if bad_row { nan } else { s.mul(s.mul(wv, p), q) };
                store_lanes(s, h_row, j, hv);
            }
            idx = s.add(idx, step);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_is_stable_and_exact() {
        let y = [1.0f64, 0.0, 1.0, 0.0, 0.5];
        let z = [40.0f64, -40.0, -1e30, 1e30, 0.0];
        let mut g = [0.0f64; 5];
        let mut h = [0.0f64; 5];
        binary_logits(&y, &z, Weights::None, &mut g, Some((&mut h).into())).unwrap();
        let e40 = (-40f64).exp();
        assert!((g[0] + e40).abs() <= 2e-16 * e40, "{}", g[0]);
        assert!((g[1] - e40).abs() <= 2e-16 * e40);
        assert_eq!(g[2..4], [-1.0, 1.0]);
        assert_eq!(g[4], 0.0);
        assert!((h[0] - e40).abs() <= 4e-16 * e40 && h[0] > 0.0);
        assert_eq!(h[2..], [0.0, 0.0, 0.25]);
    }

    #[test]
    fn softmax_rows() {
        let labels = [2u8, 0];
        let z = [0.0f64, 0.0, 50.0, 1.0, 2.0, 3.0];
        let mut g = [0.0f64; 6];
        let mut h = [0.0f64; 6];
        softmax_logits(
            &labels,
            &z,
            2,
            3,
            Weights::None,
            &mut g,
            Some((&mut h).into()),
        )
        .unwrap();
        let e = (-50f64).exp();
        assert!((g[2] + 2.0 * e).abs() <= 1e-15 * e, "{}", g[2]);
        assert!(h[2] > 0.0 && (h[2] - 2.0 * e).abs() <= 1e-15 * e);
        let s: f64 = g[3..].iter().sum();
        assert!(s.abs() < 1e-15);
        let err = softmax_logits(&[3u8], &z[..3], 1, 3, Weights::None, &mut g[..3], None);
        assert!(matches!(err, Err(Error::LabelOutOfRange { value: 3, .. })));
    }
}
