//! Entropy, cross-entropy and divergences of discrete distributions, one value per row.
//!
//! Formulas (natural log; the caller's `ln_base` divides the result for other bases):
//! - `H(p) = −Σ p·ln p`, with `0·ln 0 = 0`.
//! - `H(softmax(z)) = ln S − Σ e_c·(z_c − m) / S` with `m = max z`, `e_c = exp(z_c − m)`,
//!   `S = Σ e_c`; classes with `e_c = 0` (e.g. `z_c = −inf`) contribute 0.
//! - `H(p, q) = −Σ p·ln q`, terms with `p = 0` are 0 (also when `q = 0`).
//! - `KL(p‖q) = Σ rel_entr(p, q)` with SciPy's edge cases: `p = 0 → 0`, `p > 0 = q → inf`;
//!   else `p·ln(p/q)` (`p·(ln p − ln q)` if `p/q` over- or underflows). Near p ≈ q the terms
//!   have both signs and their sum cancels, so where `q/2 ≤ p ≤ 2q` (there `p − q` is exact by
//!   Sterbenz's lemma) a term is split as `q·g(d) + (p − q)` with `d = (p − q)/q` and
//!   `g(d) = (1 + d)·ln_1p(d) − d ≥ 0` (a Taylor series for |d| ≤ ¼): the non-negative parts
//!   and the exact differences are summed separately, so a tiny divergence keeps its relative
//!   accuracy instead of drowning in the rounding of terms 10^10 times larger (SciPy's
//!   `rel_entr(p, q).sum()` loses it).
//! - `JS(p, q) = ½·KL(p‖m) + ½·KL(q‖m)`, `m = (p + q)/2` (the divergence, not its square root).
//!
//! Inputs must lie in `[0, 1]` (NaN propagates); rows are not normalised, unless the
//! `*_normalized` entry points are used (SciPy's `entropy(pk, qk)` / `jensenshannon`): there
//! each row of `p` (and `q`) must be finite and non-negative with a positive finite sum `S`,
//! and is read as `p_c / S` — one pass over the row for `S` (compensated), then the formulas
//! above on the quotients, which are correctly rounded and lie in `[0, 1]`. The row is read
//! twice, from cache for rows of up to a few hundred kB.
//! Each row is summed with the blocked compensated sum of [`crate::reduce`].
//!
//! The two distributions of a pair may broadcast against each other (NumPy's rules over the
//! rows, e.g. many rows of `p` against one `q`): [`pair_broadcast`] finds each operand's row
//! from the output's row index through a [`RowMap`], so the smaller operand is read in place,
//! never repeated in memory.

use crate::driver::{check_unit, rows, NanPolicy, RowOp, Totals, Weights};
use crate::error::{Error, Result};
use crate::input::{with_floats_out, Floats, FloatsMut, BLOCK};
use crate::math::row_shift;
use crate::reduce::VecSum;
use crate::simd::{Simd, LANES};
use crate::value::Real;

/// `rel_entr(p, q)` lane-wise, split into `(a, b)` with `a + b = rel_entr(p, q)`: `a ≥ 0` in
/// the near region and `b = p − q` there (exact), `b = 0` elsewhere (see the module docs).
#[inline(always)]
pub(crate) fn rel_entr_parts<S: Simd, P: Real>(s: S, p: S::V, q: S::V) -> (S::V, S::V) {
    let zero = s.splat(0.0);
    let two = s.splat(2.0);
    let r = s.div(p, q);
    let mut far = s.mul(p, P::ln_v(s, r));
    // p/q overflowed or underflowed although both are finite and positive: subtract logs.
    let q_pos = s.lt(zero, q);
    let unsafe_ratio = s.or(
        s.eq(r, s.splat(f64::INFINITY)),
        s.lt(r, s.splat(f64::MIN_POSITIVE)),
    );
    let fix = s.and(s.and(q_pos, s.lt(zero, p)), unsafe_ratio);
    if s.any(fix) {
        far = s.select(fix, s.mul(p, s.sub(P::ln_v(s, p), P::ln_v(s, q))), far);
    }
    let near = s.and(s.and(q_pos, s.le(p, s.mul(two, q))), s.le(q, s.mul(two, p)));
    let (mut a, mut b) = (far, zero);
    if s.any(near) {
        let diff = s.sub(p, q);
        let d = s.div(diff, q);
        a = s.select(near, s.mul(q, excess::<S, P>(s, d)), far);
        b = s.select(near, diff, zero);
    }
    // p = 0 contributes 0 unless q is NaN (NaN propagates as in SciPy).
    let keep = s.or(s.ne(p, zero), s.is_nan(q));
    (s.select(keep, a, zero), s.select(keep, b, zero))
}

/// `g(d) = (1 + d)·ln_1p(d) − d` for `d ∈ [−½, 1]`: `d²·Σ_k (−d)^k / ((k+1)(k+2))` for
/// |d| ≤ ¼ (25 terms: truncation < 1e-17 relative), the closed form elsewhere (there
/// g ≥ 0.034 and the subtraction loses at most ~3 bits).
#[inline(always)]
fn excess<S: Simd, P: Real>(s: S, d: S::V) -> S::V {
    const TERMS: usize = 25;
    let mut acc = s.splat(0.0);
    for k in (0..TERMS).rev() {
        let c = if k % 2 == 0 { 1.0 } else { -1.0 } / ((k + 1) * (k + 2)) as f64;
        acc = s.mul_add(acc, d, s.splat(c));
    }
    let series = s.mul(s.mul(d, d), acc);
    let small = s.le(s.abs(d), s.splat(0.25));
    if s.all(small) {
        return series;
    }
    let closed = s.sub(s.mul(s.add(s.splat(1.0), d), P::ln_1p_v(s, d)), d);
    s.select(small, series, closed)
}

/// `Σ row` (compensated) after checking that every value is finite and non-negative; the
/// divisor of a row under `normalize`. `r` is the row's index, `base` its first flat index.
#[inline(always)]
fn row_sum<S: Simd, P: Real>(
    s: S,
    arg: &'static str,
    row: &[P],
    r: usize,
    base: usize,
) -> Result<S::V> {
    let zero = s.splat(0.0);
    let inf = s.splat(f64::INFINITY);
    let mut acc = VecSum::<S, 1>::new(s);
    for k in (0..row.len()).step_by(LANES) {
        let v = P::load(s, row, k, 0.0);
        // NaN fails `0 <= v`; +inf fails `v < inf`.
        let ok = s.and(s.le(zero, v), s.lt(v, inf));
        if !s.all(ok) {
            return Err(bad_value(arg, row, base));
        }
        acc.push([v]);
    }
    let sum = acc.finish()[0].value();
    if sum > 0.0 && sum.is_finite() {
        Ok(s.splat(sum))
    } else {
        Err(Error::BadSum { arg, row: r, sum })
    }
}

/// The first value of `row` that is negative, infinite or NaN.
#[cold]
fn bad_value<P: Real>(arg: &'static str, row: &[P], base: usize) -> Error {
    let (k, value) = row
        .iter()
        .map(|x| x.to_f64())
        .enumerate()
        .find(|&(_, x)| !(x >= 0.0 && x.is_finite()))
        .unwrap_or((0, f64::NAN));
    Error::BadWeight {
        arg,
        index: base + k,
        value,
    }
}

/// Which per-row quantity of two distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// `H(p, q)`.
    CrossEntropy,
    /// `KL(p‖q)`.
    Kl,
    /// `JS(p, q)`.
    Js,
}

/// One term of a [`RowMap`]: output rows advance this operand's row by `stride` every
/// `inner` rows, `len` times, then start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowTerm {
    pub inner: usize,
    pub len: usize,
    pub stride: usize,
}

/// Which row of an operand output row `r` reads.
#[derive(Debug, Clone, Copy)]
pub enum RowMap<'a> {
    /// Row `r`: the operand has the output's rows.
    Same,
    /// Row `Σ_t ((r / inner_t) % len_t)·stride_t`: the operand broadcast (no terms: row 0).
    Broadcast(&'a [RowTerm]),
}

impl RowMap<'_> {
    #[inline(always)]
    fn row(self, r: usize) -> usize {
        match self {
            RowMap::Same => r,
            RowMap::Broadcast(terms) => {
                terms.iter().map(|t| (r / t.inner) % t.len * t.stride).sum()
            }
        }
    }

    /// The number of operand rows that `n_rows` output rows read (the last one read, + 1);
    /// `None` for a term that is not well formed (zero `inner` or `len`) or an overflow.
    fn rows_read(self, n_rows: usize) -> Option<usize> {
        match self {
            _ if n_rows == 0 => Some(0),
            RowMap::Same => Some(n_rows),
            RowMap::Broadcast(terms) => terms.iter().try_fold(1usize, |last, t| {
                if t.inner == 0 || t.len == 0 {
                    return None;
                }
                last.checked_add((t.len - 1).checked_mul(t.stride)?)
            }),
        }
    }
}

/// How an operand of shape `op` (the rows only, as many axes as `out`, 1 along each
/// broadcast axis) is read for the rows of shape `out`: its [`RowMap`] terms, C order, axes
/// of length 1 dropped and adjacent axes merged. `None` unless every axis of `op` is 1 or
/// that of `out`.
pub fn broadcast_terms(out: &[usize], op: &[usize]) -> Option<Vec<RowTerm>> {
    if out.len() != op.len() {
        return None;
    }
    let mut terms: Vec<RowTerm> = Vec::new();
    let (mut inner, mut stride) = (1usize, 1usize);
    for (&n, &m) in out.iter().zip(op).rev() {
        if m != n && m != 1 {
            return None;
        }
        if m == n && n > 1 {
            match terms.last_mut() {
                // Continues the last term (no broadcast axis between them): one term.
                Some(t) if t.inner * t.len == inner && t.stride * t.len == stride => t.len *= n,
                _ => terms.push(RowTerm {
                    inner,
                    len: n,
                    stride,
                }),
            }
        }
        inner = inner.checked_mul(n)?;
        stride = stride.checked_mul(m)?;
    }
    Some(terms)
}

/// One operand of a pair function: its values and how its rows are read.
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    pub values: Floats<'a>,
    pub rows: RowMap<'a>,
}

impl<'a> Operand<'a> {
    /// An operand with the output's rows.
    pub fn same(values: impl Into<Floats<'a>>) -> Self {
        Operand {
            values: values.into(),
            rows: RowMap::Same,
        }
    }
}

struct PairRows<'a, P> {
    p: &'a [P],
    q: &'a [P],
    p_rows: RowMap<'a>,
    q_rows: RowMap<'a>,
    c: usize,
    ln_base: f64,
    kind: Pair,
    normalize: bool,
}

impl<P: Real> RowOp for PairRows<'_, P> {
    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, _: &mut [f64; BLOCK]) -> Result<f64> {
        let (rp, rq) = (self.p_rows.row(r), self.q_rows.row(r));
        let (bp, bq) = (rp * self.c, rq * self.c);
        let (p, q) = (&self.p[bp..bp + self.c], &self.q[bq..bq + self.c]);
        let zero = s.splat(0.0);
        let half = s.splat(0.5);
        let sums = match self.normalize {
            true => Some((row_sum(s, "p", p, rp, bp)?, row_sum(s, "q", q, rq, bq)?)),
            false => None,
        };
        let mut acc = VecSum::<S, 2>::new(s);
        for k in (0..self.c).step_by(LANES) {
            let mut pv = P::load(s, p, k, 0.0);
            let mut qv = P::load(s, q, k, 0.0);
            if let Some((sp, sq)) = sums {
                (pv, qv) = (s.div(pv, sp), s.div(qv, sq));
            } else {
                check_unit(s, pv, "p", p, bp, P::to_f64)?;
                check_unit(s, qv, "q", q, bq, P::to_f64)?;
            }
            let terms = match self.kind {
                Pair::CrossEntropy => {
                    let nz = s.ne(pv, zero);
                    [
                        s.select(
                            s.or(nz, s.is_nan(qv)),
                            s.neg(s.mul(pv, P::ln_v(s, qv))),
                            zero,
                        ),
                        zero,
                    ]
                }
                Pair::Kl => {
                    let (a, b) = rel_entr_parts::<S, P>(s, pv, qv);
                    [a, b]
                }
                Pair::Js => {
                    let m = s.add(s.mul(half, pv), s.mul(half, qv));
                    let (pa, pb) = rel_entr_parts::<S, P>(s, pv, m);
                    let (qa, qb) = rel_entr_parts::<S, P>(s, qv, m);
                    [s.mul(half, s.add(pa, qa)), s.mul(half, s.add(pb, qb))]
                }
            };
            acc.push(terms);
        }
        let [mut a, b] = acc.finish();
        a.merge(b);
        Ok(a.value() / self.ln_base)
    }
}

struct EntropyRows<'a, P> {
    p: &'a [P],
    c: usize,
    ln_base: f64,
    normalize: bool,
}

impl<P: Real> RowOp for EntropyRows<'_, P> {
    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, _: &mut [f64; BLOCK]) -> Result<f64> {
        let base = r * self.c;
        let p = &self.p[base..base + self.c];
        let zero = s.splat(0.0);
        let sum = match self.normalize {
            true => Some(row_sum(s, "p", p, r, base)?),
            false => None,
        };
        let mut acc = VecSum::<S, 1>::new(s);
        for k in (0..self.c).step_by(LANES) {
            let mut pv = P::load(s, p, k, 0.0);
            match sum {
                Some(sum) => pv = s.div(pv, sum),
                None => check_unit(s, pv, "p", p, base, P::to_f64)?,
            }
            acc.push([s.select(s.ne(pv, zero), s.neg(s.mul(pv, P::ln_v(s, pv))), zero)]);
        }
        Ok(acc.finish()[0].value() / self.ln_base)
    }
}

struct LogitEntropyRows<'a, P> {
    z: &'a [P],
    c: usize,
    ln_base: f64,
}

impl<P: Real> RowOp for LogitEntropyRows<'_, P> {
    #[inline(always)]
    fn row<S: Simd>(&self, s: S, r: usize, _: &mut [f64; BLOCK]) -> Result<f64> {
        let z = &self.z[r * self.c..(r + 1) * self.c];
        if z.is_empty() {
            return Ok(0.0); // an empty distribution has entropy 0, as in `entropy`
        }
        let shift = row_shift(s, z);
        let (m, sum) = (shift.m, shift.sum);
        if !m.is_finite() {
            // All −inf (or empty): softmax is undefined; +inf or NaN logits: likewise.
            return Ok(f64::NAN);
        }
        let zero = s.splat(0.0);
        let mv = s.splat(m);
        let mut acc = VecSum::<S, 1>::new(s);
        for k in (0..self.c).step_by(LANES) {
            let d = s.sub(P::load(s, z, k, f64::NEG_INFINITY), mv);
            let e = P::exp_v(s, d);
            acc.push([s.select(s.ne(e, zero), s.mul(e, d), zero)]);
        }
        let weighted = acc.finish()[0].value();
        Ok((shift.ln_sum - weighted / sum) / self.ln_base)
    }
}

/// Entropy of each of the `n_rows` rows of `p` (row length `c`), divided by `ln_base`
/// (1 for nats), written to `out` (length `n_rows`).
///
/// Here and below, `out` may have a wider type than the input (an f64 value for an f32 row,
/// e.g. when one distribution's value is returned as a Python float): every row value is
/// computed in f64 and rounded once to `O`.
pub fn entropy<'a, 'o>(
    p: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    entropy_(p.into(), n_rows, c, ln_base, false, out.into())
}

/// [`entropy`] of each row divided by its sum (`normalize=True`; see the module docs).
pub fn entropy_normalized<'a, 'o>(
    p: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    entropy_(p.into(), n_rows, c, ln_base, true, out.into())
}

/// `Σ s_r·H(p_r)` and `Σ s_r` over the `n_rows` rows of `p` (each `H` divided by
/// `ln_base`), in one pass and without a per-row output: the sums a streaming metric
/// accumulates. NaN rows propagate; weights are checked as the losses check them.
pub fn entropy_totals<'a>(
    p: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    w: Weights<'_>,
) -> Result<Totals> {
    match p.into() {
        Floats::F32(p) => entropy_totals_typed(p, n_rows, c, ln_base, w),
        Floats::F64(p) => entropy_totals_typed(p, n_rows, c, ln_base, w),
    }
}

fn entropy_totals_typed<P: Real>(
    p: &[P],
    n_rows: usize,
    c: usize,
    ln_base: f64,
    w: Weights<'_>,
) -> Result<Totals> {
    let op = EntropyRows {
        p,
        c,
        ln_base,
        normalize: false,
    };
    rows(&op, n_rows, c, w, NanPolicy::Propagate, None::<&mut [f64]>)
}

fn entropy_(
    p: Floats<'_>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    normalize: bool,
    out: FloatsMut<'_>,
) -> Result<()> {
    with_floats_out!(p, out, |p, out| per_row(
        &EntropyRows {
            p,
            c,
            ln_base,
            normalize
        },
        n_rows,
        c,
        out
    ))
}

/// Entropy of `softmax(z)` of each row, fused (no probability array).
pub fn entropy_from_logits<'a, 'o>(
    z: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    entropy_from_logits_(z.into(), n_rows, c, ln_base, out.into())
}

fn entropy_from_logits_(
    z: Floats<'_>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: FloatsMut<'_>,
) -> Result<()> {
    with_floats_out!(z, out, |z, out| per_row(
        &LogitEntropyRows { z, c, ln_base },
        n_rows,
        c,
        out
    ))
}

/// One value per row, unweighted.
fn per_row<Op: RowOp, O: Real>(op: &Op, n_rows: usize, c: usize, out: &mut [O]) -> Result<()> {
    rows(
        op,
        n_rows,
        c,
        Weights::None,
        NanPolicy::Propagate,
        Some(out),
    )
    .map(drop)
}

/// Cross-entropy, KL or JS divergence of each row pair, both rows divided by their sums
/// (`normalize=True`; see the module docs).
pub fn pair_normalized<'a, 'o>(
    kind: Pair,
    p: impl Into<Floats<'a>>,
    q: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    pair_broadcast(
        kind,
        Operand::same(p),
        Operand::same(q),
        n_rows,
        c,
        ln_base,
        true,
        out.into(),
    )
}

/// Cross-entropy, KL or JS divergence of each of the `n_rows` output rows, reading the rows
/// of `p` and `q` through their [`RowMap`]s (broadcast operands), each divided by its sum
/// when `normalize`. An operand too short for its map is an internal error, not a panic.
#[allow(clippy::too_many_arguments)]
pub fn pair_broadcast(
    kind: Pair,
    p: Operand<'_>,
    q: Operand<'_>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    normalize: bool,
    out: FloatsMut<'_>,
) -> Result<()> {
    for operand in [p, q] {
        let needed = operand
            .rows
            .rows_read(n_rows)
            .and_then(|r| r.checked_mul(c));
        if needed.is_none_or(|needed| operand.values.len() < needed) {
            return Err(Error::Internal(
                "a distribution has fewer rows than its row map reads",
            ));
        }
    }
    let (p_rows, q_rows) = (p.rows, q.rows);
    with_floats_out!(p.values, q.values, out, |p, q, out| per_row(
        &PairRows {
            p,
            q,
            p_rows,
            q_rows,
            c,
            ln_base,
            kind,
            normalize,
        },
        n_rows,
        c,
        out
    ))
}

/// Cross-entropy `H(p, q)` of each row pair.
pub fn cross_entropy<'a, 'o>(
    p: impl Into<Floats<'a>>,
    q: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    pair_broadcast(
        Pair::CrossEntropy,
        Operand::same(p),
        Operand::same(q),
        n_rows,
        c,
        ln_base,
        false,
        out.into(),
    )
}

/// Kullback–Leibler divergence `KL(p‖q)` of each row pair.
pub fn kl_divergence<'a, 'o>(
    p: impl Into<Floats<'a>>,
    q: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    pair_broadcast(
        Pair::Kl,
        Operand::same(p),
        Operand::same(q),
        n_rows,
        c,
        ln_base,
        false,
        out.into(),
    )
}

/// Jensen–Shannon divergence of each row pair.
pub fn js_divergence<'a, 'o>(
    p: impl Into<Floats<'a>>,
    q: impl Into<Floats<'a>>,
    n_rows: usize,
    c: usize,
    ln_base: f64,
    out: impl Into<FloatsMut<'o>>,
) -> Result<()> {
    pair_broadcast(
        Pair::Js,
        Operand::same(p),
        Operand::same(q),
        n_rows,
        c,
        ln_base,
        false,
        out.into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn normalized_rows_are_the_quotients() {
        let p = [1.0f64, 1.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0];
        let q = [2.0f64, 1.0, 1.0, 4.0, 1.0, 1.0, 1.0, 1.0];
        let mut got = [0.0f64; 2];
        entropy_normalized(&p[..4], 1, 4, 1.0, &mut got[..1]).unwrap();
        let mut want = [0.0f64; 1];
        entropy(&[0.25f64, 0.25, 0.5, 0.0][..], 1, 4, 1.0, &mut want[..]).unwrap();
        assert_eq!(got[0], want[0]);
        pair_normalized(Pair::Kl, &p[4..], &q[4..], 1, 4, 1.0, &mut got[..1]).unwrap();
        assert!((got[0] - 4.0f64.ln()).abs() <= 2.0 * f64::EPSILON * got[0]);
        // A row of zeros and a negative value are errors naming the row / the element.
        let zero_row = [1.0f64, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let e = entropy_normalized(&zero_row[..], 2, 4, 1.0, &mut got[..]).unwrap_err();
        assert_eq!(
            e,
            Error::BadSum {
                arg: "p",
                row: 1,
                sum: 0.0
            }
        );
        let bad = [1.0f64, -1.0, 1.0, 1.0];
        let e = entropy_normalized(&bad[..], 1, 4, 1.0, &mut got[..1]).unwrap_err();
        assert_eq!(
            e,
            Error::BadWeight {
                arg: "p",
                index: 1,
                value: -1.0
            }
        );
    }

    #[test]
    fn uniform_entropy_is_ln_c() {
        for c in 1..=130usize {
            let p = vec![1.0 / c as f64; c];
            let mut out = [0.0];
            entropy(&p, 1, c, 1.0, &mut out).unwrap();
            assert!(
                (out[0] - (c as f64).ln()).abs() <= 4.0 * f64::EPSILON * (c as f64).ln().max(1.0),
                "c={c}"
            );
        }
    }

    #[test]
    fn zero_log_zero_and_bits() {
        let mut out = [0.0f64; 2];
        entropy(
            &[0.0f64, 1.0, 0.5, 0.5],
            2,
            2,
            std::f64::consts::LN_2,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0.0, 1.0]);
    }

    #[test]
    fn kl_edge_cases_match_rel_entr() {
        let mut out = [0.0f64; 4];
        let p = [0.0f64, 0.5, 0.5, 1e-300];
        let q = [0.0f64, 0.0, 0.5, 1.0];
        kl_divergence(&p, &q, 4, 1, 1.0, &mut out).unwrap();
        assert_eq!(out[0], 0.0);
        assert_eq!(out[1], f64::INFINITY);
        assert_eq!(out[2], 0.0);
        assert_eq!(out[3], 1e-300 * (1e-300f64).ln());
        // Near p = q the log1p form keeps relative accuracy: KL ≈ d²/(2q) for p = q + d.
        let (q, d) = (0.3f64, 1e-9f64);
        kl_divergence(&[q + d], &[q], 1, 1, 1.0, &mut out[..1]).unwrap();
        let dd = (q + d) - q;
        let exact = (q + dd) * (dd / q - dd * dd / (2.0 * q * q) + dd.powi(3) / (3.0 * q.powi(3)));
        assert!(
            (out[0] - exact).abs() <= 1e-15 * exact,
            "{} vs {}",
            out[0],
            exact
        );
        // A whole row near q: the signed terms cancel; the split sum keeps the tiny total.
        let (p2, q2) = ([0.5f64, 0.5], [0.5 + 1e-10, 0.5 - 1e-10]);
        kl_divergence(&p2, &q2, 1, 2, 1.0, &mut out[..1]).unwrap();
        let want: f64 = p2
            .iter()
            .zip(&q2)
            .map(|(&p, &q)| {
                let d = (p - q) / q;
                q * (d * d / 2.0 - d.powi(3) / 6.0 + d.powi(4) / 12.0)
            })
            .sum::<f64>()
            + ((p2[0] - q2[0]) + (p2[1] - q2[1]));
        assert!(
            (out[0] - want).abs() <= 1e-14 * want,
            "{:e} vs {:e}",
            out[0],
            want
        );
    }

    #[test]
    fn js_is_symmetric_and_bounded() {
        let p = [0.1f64, 0.2, 0.7, 1.0, 0.0];
        let q = [0.3f64, 0.3, 0.4, 0.0, 1.0];
        let (mut a, mut b) = ([0.0; 1], [0.0; 1]);
        js_divergence(&p, &q, 1, 5, 1.0, &mut a).unwrap();
        js_divergence(&q, &p, 1, 5, 1.0, &mut b).unwrap();
        assert_eq!(a, b);
        assert!(a[0] > 0.0 && a[0] <= 2.0 * std::f64::consts::LN_2);
    }

    #[test]
    fn f32_rows_into_f64_output_round_once() {
        // H([1e-45]) = −p·ln p ≈ 1.4472e-43 is subnormal in f32: an f32 output keeps 7 bits
        // of it, an f64 output all of them.
        let p = [f32::from_bits(1)]; // 1.4013e-45
        let exact = -(p[0] as f64) * (p[0] as f64).ln();
        let (mut wide, mut narrow) = ([0.0f64], [0.0f32]);
        entropy(&p, 1, 1, 1.0, &mut wide).unwrap();
        entropy(&p, 1, 1, 1.0, &mut narrow).unwrap();
        assert!((wide[0] - exact).abs() <= 2.0 * f64::EPSILON * exact);
        assert_eq!(narrow[0], exact as f32);
        assert!((narrow[0] as f64 - exact).abs() > 1e-3 * exact);
        let mut lse = [0.0f64];
        crate::activation::logsumexp(&[0.1f32, 0.2], 1, 2, &mut lse).unwrap();
        // f32 inputs are computed at float32 grade (≤ 2^-32 relative, far inside the 2^-24
        // of SPEC §4), not to the last bit of an f64 result.
        let want = ((0.1f32 as f64).exp() + (0.2f32 as f64).exp()).ln();
        assert!((lse[0] - want).abs() <= 2f64.powi(-31) * want);
    }

    #[test]
    fn logit_entropy_matches_probability_entropy() {
        let z = [1.0f64, -2.0, 0.5, f64::NEG_INFINITY, 3.0];
        let m = 3.0f64;
        let e: Vec<f64> = z.iter().map(|x| (x - m).exp()).collect();
        let sum: f64 = e.iter().sum();
        let p: Vec<f64> = e.iter().map(|x| x / sum).collect();
        let (mut a, mut b) = ([0.0f64; 1], [0.0f64; 1]);
        entropy_from_logits(&z, 1, 5, 1.0, &mut a).unwrap();
        entropy(&p, 1, 5, 1.0, &mut b).unwrap();
        assert!((a[0] - b[0]).abs() <= 1e-14);
    }

    #[test]
    fn out_of_range_names_argument_and_index() {
        let mut out = [0.0f64; 2];
        let err = cross_entropy(
            &[0.5f64, 0.5, 0.5, 0.5],
            &[0.5f64, 0.5, 0.5, 2.0],
            2,
            2,
            1.0,
            &mut out,
        );
        assert_eq!(
            err,
            Err(Error::OutOfRange {
                arg: "q",
                index: 3,
                value: 2.0,
                lo: 0.0,
                hi: 1.0
            })
        );
    }

    #[test]
    fn broadcast_terms_merge_adjacent_axes() {
        let t = |inner, len, stride| RowTerm { inner, len, stride };
        // The output's own rows: one term, the identity.
        assert_eq!(
            broadcast_terms(&[4, 3, 2], &[4, 3, 2]),
            Some(vec![t(1, 24, 1)])
        );
        // One reference row for all: no terms.
        assert_eq!(broadcast_terms(&[4, 3], &[1, 1]), Some(vec![]));
        // (N, 1) against (N, M): row r / M.
        assert_eq!(broadcast_terms(&[4, 3], &[4, 1]), Some(vec![t(3, 4, 1)]));
        // (1, M) against (N, M): row r % M.
        assert_eq!(broadcast_terms(&[4, 3], &[1, 3]), Some(vec![t(1, 3, 1)]));
        // (A, 1, B) against (A, M, B): two terms around the broadcast axis.
        assert_eq!(
            broadcast_terms(&[2, 5, 3], &[2, 1, 3]),
            Some(vec![t(1, 3, 1), t(15, 2, 3)])
        );
        // Axes of length 1 on both sides do not split a term.
        assert_eq!(
            broadcast_terms(&[2, 1, 3], &[2, 1, 3]),
            Some(vec![t(1, 6, 1)])
        );
        assert_eq!(broadcast_terms(&[4, 3], &[2, 3]), None);
        assert_eq!(broadcast_terms(&[4, 3], &[3]), None);
    }

    #[test]
    fn broadcast_rows_equal_the_repeated_rows() {
        // p: (2, 3, c) against q: (1, 3, c) and against q: (2, 1, c), c = 5.
        let c = 5;
        let row = |k: usize| -> Vec<f64> {
            let v: Vec<f64> = (0..c)
                .map(|j| 1.0 + ((k * 7 + j * 3) % 11) as f64)
                .collect();
            let sum: f64 = v.iter().sum();
            v.iter().map(|x| x / sum).collect()
        };
        let p: Vec<f64> = (0..6).flat_map(row).collect();
        for (q_shape, q_rows) in [([1usize, 3], 3usize), ([2, 1], 2)] {
            let q: Vec<f64> = (10..10 + q_rows).flat_map(row).collect();
            let terms = broadcast_terms(&[2, 3], &q_shape).unwrap();
            let repeated: Vec<f64> = (0..6)
                .flat_map(|r| {
                    let k = if q_shape[0] == 1 { r % 3 } else { r / 3 };
                    q[k * c..(k + 1) * c].to_vec()
                })
                .collect();
            for kind in [Pair::CrossEntropy, Pair::Kl, Pair::Js] {
                for normalize in [false, true] {
                    let (mut got, mut want) = ([0.0f64; 6], [0.0f64; 6]);
                    let qb = Operand {
                        values: Floats::from(&q[..]),
                        rows: RowMap::Broadcast(&terms),
                    };
                    pair_broadcast(
                        kind,
                        Operand::same(&p[..]),
                        qb,
                        6,
                        c,
                        1.0,
                        normalize,
                        FloatsMut::F64(&mut got),
                    )
                    .unwrap();
                    pair_broadcast(
                        kind,
                        Operand::same(&p[..]),
                        Operand::same(&repeated[..]),
                        6,
                        c,
                        1.0,
                        normalize,
                        FloatsMut::F64(&mut want),
                    )
                    .unwrap();
                    assert_eq!(got, want, "{kind:?} normalize={normalize} q {q_shape:?}");
                }
            }
        }
        // An operand shorter than its map reads is refused.
        let short = [RowTerm {
            inner: 1,
            len: 7,
            stride: 1,
        }];
        let bad = Operand {
            values: Floats::from(&p[..]),
            rows: RowMap::Broadcast(&short),
        };
        let mut out = [0.0f64; 7];
        assert!(matches!(
            pair_broadcast(
                Pair::Kl,
                bad,
                bad,
                7,
                c,
                1.0,
                false,
                FloatsMut::F64(&mut out)
            ),
            Err(Error::Internal(_))
        ));
    }
}
