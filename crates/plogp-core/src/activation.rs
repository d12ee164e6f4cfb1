//! Softmax, log-softmax and log-sum-exp over rows; sigmoid and log-sigmoid elementwise.
//!
//! - `softmax(z)_c = exp(z_c − m) / S`, `log_softmax(z)_c = (z_c − m) − ln S`,
//!   `logsumexp(z) = m + ln S`, with `m = max z`, `S = Σ exp(z_c − m)`. Rows that are all −inf
//!   give logsumexp −inf and softmax NaN (as SciPy); NaN propagates.
//! - `sigmoid(z) = 1/(1 + e^{−z})` for z ≥ 0 and `e^{z}/(1 + e^{z})` for z < 0, computed from
//!   `e = exp(−|z|) ≤ 1`, so it never overflows;
//!   `log_sigmoid(z) = −softplus(−z) = min(z, 0) − ln_1p(exp(−|z|))`, exact for all finite z.

use crate::error::Result;
use crate::input::{with_floats_out, Floats, FloatsMut};
use crate::math::row_shift;
use crate::parallel::{map_chunks, rows_per_chunk, CHUNK_ELEMS};
use crate::simd::{dispatch, Simd, WithSimd, LANES};
use crate::value::Real;

/// What to write for each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMap {
    Softmax,
    LogSoftmax,
}

struct RowMapChunk<'a, P> {
    z: &'a [P],
    c: usize,
    kind: RowMap,
    out: &'a mut [P],
}

impl<P: Real> WithSimd for RowMapChunk<'_, P> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let RowMapChunk { z, c, kind, out } = self;
        for (zr, or) in z.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
            let r = row_shift(s, zr);
            // A row with a +inf, NaN or only −inf logits has no finite shift: NaN throughout.
            let (mv, sv, lnsv) = if r.m.is_finite() {
                (s.splat(r.m), s.splat(r.sum), s.splat(r.ln_sum))
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
                let v = s.store(v);
                let live = (c - k).min(LANES);
                for (o, &x) in or[k..k + live].iter_mut().zip(&v) {
                    *o = P::from_f64(x);
                }
            }
        }
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
    if c == 0 {
        return;
    }
    let rpc = rows_per_chunk(c);
    map_chunks(n_rows, rpc, n_rows * c, Some(out), c, |rows, out| {
        let z = &z[rows.start * c..rows.end * c];
        dispatch(RowMapChunk {
            z,
            c,
            kind,
            out: out.unwrap_or_default(),
        })
    });
}

struct LseChunk<'a, P, O> {
    z: &'a [P],
    c: usize,
    out: &'a mut [O],
}

impl<P: Real, O: Real> WithSimd for LseChunk<'_, P, O> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        for (r, o) in self.out.iter_mut().enumerate() {
            let row = &self.z[r * self.c..(r + 1) * self.c];
            *o = O::from_f64(crate::math::row_logsumexp(s, row));
        }
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
    map_chunks(
        n_rows,
        rows_per_chunk(c),
        n_rows * c.max(1),
        Some(out),
        1,
        |rows, out| {
            let z = &z[rows.start * c..rows.end * c];
            dispatch(LseChunk {
                z,
                c,
                out: out.unwrap_or_default(),
            })
        },
    );
}

/// Which elementwise function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elementwise {
    Sigmoid,
    LogSigmoid,
}

struct ElementChunk<'a, P> {
    z: &'a [P],
    kind: Elementwise,
    out: &'a mut [P],
}

impl<P: Real> WithSimd for ElementChunk<'_, P> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let zero = s.splat(0.0);
        let one = s.splat(1.0);
        let n = self.z.len();
        for k in (0..n).step_by(LANES) {
            let z = P::load(s, self.z, k, 0.0);
            let e = P::exp_v(s, s.neg(s.abs(z)));
            let v = match self.kind {
                Elementwise::Sigmoid => {
                    let d = s.add(one, e);
                    s.select(s.le(zero, z), s.div(one, d), s.div(e, d))
                }
                Elementwise::LogSigmoid => s.sub(s.min(z, zero), P::ln_1p_v(s, e)),
            };
            let v = s.store(v);
            let live = (n - k).min(LANES);
            for (o, &x) in self.out[k..k + live].iter_mut().zip(&v) {
                *o = P::from_f64(x);
            }
        }
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
    map_chunks(z.len(), CHUNK_ELEMS, z.len(), Some(out), 1, |range, out| {
        dispatch(ElementChunk {
            z: &z[range],
            kind,
            out: out.unwrap_or_default(),
        })
    });
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
