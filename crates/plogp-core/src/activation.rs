//! Softmax, log-softmax and log-sum-exp over rows; sigmoid and log-sigmoid elementwise.
//!
//! - `softmax(z)_c = exp(z_c − m) / S`, `log_softmax(z)_c = (z_c − m) − ln S`,
//!   `logsumexp(z) = m + ln S`, with `m = max z`, `S = Σ exp(z_c − m)`. Rows that are all −inf
//!   give logsumexp −inf and softmax NaN (as SciPy); NaN propagates.
//! - `sigmoid(z) = 1/(1 + e^{−z})` for z ≥ 0 and `e^{z}/(1 + e^{z})` for z < 0, computed from
//!   `e = exp(−|z|) ≤ 1`, so it never overflows;
//!   `log_sigmoid(z) = −softplus(−z) = min(z, 0) − ln_1p(exp(−|z|))`, exact for all finite z.

use crate::driver::{map_elements, map_rows, rows, store_lanes, ElementMap, NanPolicy, Outs};
use crate::driver::{RowMapOp, RowOp, Weights};
use crate::error::Result;
use crate::input::{with_floats_out, Floats, FloatsMut, BLOCK};
use crate::math::{row_logsumexp, row_shift};
use crate::simd::{Simd, LANES};
use crate::value::Real;

/// What to write for each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMap {
    Softmax,
    LogSoftmax,
}

struct RowMapRows<'a, P> {
    z: &'a [P],
    c: usize,
    kind: RowMap,
}

impl<P: Real> RowMapOp for RowMapRows<'_, P> {
    type Out = P;

    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, out: &mut [P], _: Option<&mut [P]>) -> Result<()> {
        let (c, kind) = (self.c, self.kind);
        let zr = &self.z[r * c..(r + 1) * c];
        let shift = row_shift(s, zr);
        // A row with a +inf, NaN or only −inf logits has no finite shift: NaN throughout.
        let (mv, sv, lnsv) = if shift.m.is_finite() {
            (s.splat(shift.m), s.splat(shift.sum), s.splat(shift.ln_sum))
        } else {
            let nan = s.splat(f64::NAN);
            (nan, nan, nan)
        };
        for k in (0..c).step_by(LANES) {
            let d = s.sub(P::load(s, zr, k, 0.0), mv);
            let v = match kind {
                RowMap::Softmax => s.div(P::exp_v(s, d), sv),
                RowMap::LogSoftmax => s.sub(d, lnsv),
            };
            store_lanes(s, out, k, v);
        }
        Ok(())
    }
}

/// Softmax or log-softmax of each row of `z` (`n_rows × c`, row-major) into `out` (`z`'s
/// float type).
pub fn row_map<'a, 'o>(
    kind: RowMap,
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    match (z.into(), out.into()) {
        (Floats::F32(z), FloatsMut::F32(out)) => row_map_typed(kind, z, n_rows, c, out),
        (Floats::F64(z), FloatsMut::F64(out)) => row_map_typed(kind, z, n_rows, c, out),
        _ => return Err(same_type_error()),
    }
    Ok(())
}

#[cold]
fn same_type_error() -> crate::Error {
    crate::Error::Internal("the output must have the input's float type")
}

fn row_map_typed<P: Real>(kind: RowMap, z: &[P], n_rows: usize, c: usize, out: &mut [P]) {
    let outs = Outs {
        first: out,
        second: None,
    };
    // Rows never fail.
    let _ = map_rows(&RowMapRows { z, c, kind }, n_rows, c, outs);
}

/// The logsumexp of each row, as a row value of the reduction driver (unweighted, so every
/// value is written as computed).
struct LseRows<'a, P> {
    z: &'a [P],
    c: usize,
}

impl<P: Real> RowOp for LseRows<'_, P> {
    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, _: &mut [f64; BLOCK]) -> Result<f64> {
        Ok(row_logsumexp(s, &self.z[r * self.c..(r + 1) * self.c]))
    }
}

/// `logsumexp` of each row of `z` into `out` (length `n_rows`; an empty row gives −inf),
/// computed in f64 and rounded once to the output type (which may be wider than `z`'s).
pub fn logsumexp<'a, 'o>(
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    with_floats_out!(z.into(), out.into(), |z, out| {
        logsumexp_typed(z, n_rows, c, out);
        Ok(())
    })
}

fn logsumexp_typed<P: Real, O: Real>(z: &[P], n_rows: usize, c: usize, out: &mut [O]) {
    let op = LseRows { z, c };
    // Rows never fail, and the totals are not needed.
    let _ = rows(
        &op,
        n_rows,
        c,
        Weights::None,
        NanPolicy::Propagate,
        Some(out),
    );
}

/// Which elementwise function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elementwise {
    Sigmoid,
    LogSigmoid,
}

impl ElementMap for Elementwise {
    #[inline(always)]
    fn map<S: Simd, P: Real>(self, s: S, _: S::V, z: S::V, _: S::V, _: bool) -> [S::V; 2] {
        let zero = s.splat(0.0);
        let one = s.splat(1.0);
        let e = P::exp_v(s, s.neg(s.abs(z)));
        let v = match self {
            Elementwise::Sigmoid => {
                let d = s.add(one, e);
                s.select(s.le(zero, z), s.div(one, d), s.div(e, d))
            }
            Elementwise::LogSigmoid => s.sub(s.min(z, zero), P::ln_1p_v(s, e)),
        };
        [v, zero]
    }
}

/// Sigmoid or log-sigmoid of every element of `z` into `out` (`z`'s float type).
pub fn elementwise<'a, 'o>(
    kind: Elementwise,
    z: impl Into<Floats<'a>>,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    match (z.into(), out.into()) {
        (Floats::F32(z), FloatsMut::F32(out)) => elementwise_typed(kind, z, out),
        (Floats::F64(z), FloatsMut::F64(out)) => elementwise_typed(kind, z, out),
        _ => return Err(same_type_error()),
    }
    Ok(())
}

fn elementwise_typed<P: Real>(kind: Elementwise, z: &[P], out: &mut [P]) {
    let outs = Outs {
        first: out,
        second: None,
    };
    // Without targets nothing is checked, so nothing fails.
    let _ = map_elements(kind, None, z, Weights::None, outs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_match_log_softmax() {
        let c = 13;
        let z: Vec<f64> = (0..3 * c).map(|i| (i as f64 * 0.37).sin() * 30.0).collect();
        let mut sm = vec![0.0f64; 3 * c];
        let mut lsm = vec![0.0f64; 3 * c];
        row_map(RowMap::Softmax, &z, 3, c, &mut sm).unwrap();
        row_map(RowMap::LogSoftmax, &z, 3, c, &mut lsm).unwrap();
        for r in 0..3 {
            let s: f64 = sm[r * c..(r + 1) * c].iter().sum();
            assert!((s - 1.0).abs() < 1e-14);
        }
        for (a, b) in sm.iter().zip(&lsm) {
            assert!((a.ln() - b).abs() <= 1e-13 * b.abs().max(1.0));
        }
    }

    #[test]
    fn sigmoid_extremes() {
        let z = [-1000.0f64, -30.0, 0.0, 30.0, 1000.0, f64::NAN];
        let mut out = [0.0f64; 6];
        elementwise(Elementwise::Sigmoid, &z, &mut out).unwrap();
        assert_eq!(out[0], 0.0);
        assert_eq!(out[2], 0.5);
        assert_eq!(out[4], 1.0);
        assert!(out[5].is_nan());
        elementwise(Elementwise::LogSigmoid, &z, &mut out).unwrap();
        assert_eq!(out[0], -1000.0);
        assert_eq!(out[4], 0.0);
        assert_eq!(out[2], -std::f64::consts::LN_2);
    }

    #[test]
    fn logsumexp_edge_rows() {
        let z = [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            1.0,
            f64::INFINITY,
            800.0,
            800.0,
        ];
        let mut out = [0.0f64; 3];
        logsumexp(&z, 3, 2, &mut out).unwrap();
        assert_eq!(out[0], f64::NEG_INFINITY);
        assert_eq!(out[1], f64::INFINITY);
        assert_eq!(out[2], 800.0 + std::f64::consts::LN_2);
    }
}
