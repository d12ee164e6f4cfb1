//! `e^x` on lane vectors: Cody–Waite reduction and a degree-12 polynomial, no table.

use super::{pow2_from_shifted, SHIFT};
use crate::simd::Simd;

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 = LN2_HI + LN2_LO to ~2^-107; LN2_HI is ln 2 rounded to double.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEFA_39EF);
const LN2_LO: f64 = f64::from_bits(0x3C7A_BC9E_3B39_803F);

/// Coefficients of `Q1(r) ≈ ((e^r − 1 − r)/r² − 1/2)/r` on |r| ≤ 1.002·ln2/2, degree 9 (so
/// `e^r ≈ 1 + r + r²/2 + r³·Q1(r)` is a degree-12 polynomial): near-minimax Chebyshev fit
/// (mpmath `chebyfit`, 60 digits), rounded to double; relative error of the whole ≤ 2^-59.8.
const Q1: [f64; 10] = [
    f64::from_bits(0x3FC5_5555_5555_5556),
    f64::from_bits(0x3FA5_5555_5555_5555),
    f64::from_bits(0x3F81_1111_1111_0996),
    f64::from_bits(0x3F56_C16C_16C1_67D1),
    f64::from_bits(0x3F2A_01A0_1A7D_A98D),
    f64::from_bits(0x3EFA_01A0_1A48_7DD6),
    f64::from_bits(0x3EC7_1DE0_D573_888B),
    f64::from_bits(0x3E92_7E4E_1C2B_899F),
    f64::from_bits(0x3E5A_F397_89BF_D689),
    f64::from_bits(0x3E21_F675_5B5E_CAB2),
];

/// Inputs with |x| ≤ FAST_MAX take the fast path: `2^n` and the result are normal numbers.
const FAST_MAX: f64 = 700.0;
/// The rare path clamps x to [CLAMP_LO, CLAMP_HI]: e^x rounds to 0 below −745.2 and
/// overflows above 709.8, so the clamp changes no result and keeps `n` in [−1076, 1025].
const CLAMP_LO: f64 = -746.0;
const CLAMP_HI: f64 = 710.0;

/// `e^x`, lane-wise.
///
/// Method: `n = round(x·log2 e)` (one FMA with [`SHIFT`], which also leaves `n + 1023` in the
/// low bits); Cody–Waite reduction `r = x − n·ln2_hi − n·ln2_lo` by two FMAs (the first is
/// exact), with the rounding error `r_lo` of the second kept; `e^r = 1 + r + r²/2 + r³·Q1(r)`
/// with `1 + r + r²/2` summed exactly (two Fast2Sums, `r²` split by an FMA) and every small
/// term (`r_lo·(1 + r)`, the rounding errors, `r³·Q1(r)`) added before the one final
/// rounding; then scaling by `2^n` built from integer bits. Vectors with a special lane
/// (|x| > 700 or NaN) take the rare path ([`exp_rare`]), unless those lanes are all ≤ −746
/// (−inf included), whose result is +0.
///
/// Domain and special values: every f64; +inf → +inf, −inf → +0, NaN → NaN (the input,
/// quieted), x > 709.79 → +inf, x < −745.14 → +0, ±0 → 1, subnormal x → 1.
///
/// Accuracy: ≤ 0.531 ulp measured over 10^7 inputs against a double-double reference (see
/// `tests/math_ulp.rs`), also for subnormal results (in units of their spacing 2^-1074).
///
/// `rare` must compute [`exp_rare`] (each tier passes an out-of-line copy compiled with its
/// target features, to keep the inlined code small).
#[inline(always)]
pub(crate) fn exp_v<S: Simd>(s: S, x: S::V, rare: impl FnOnce(S::V) -> S::V) -> S::V {
    let ok = s.le(s.abs(x), s.splat(FAST_MAX));
    if s.all(ok) {
        exp_fast(s, x)
    } else {
        // Lanes far below the underflow threshold (−inf: masked logits, the padding of a row)
        // are exactly +0, as on the rare path; they need no rare path.
        let zero_lanes = s.le(x, s.splat(CLAMP_LO));
        if s.all(s.or(ok, zero_lanes)) {
            s.select(ok, exp_fast(s, s.select(ok, x, s.splat(0.0))), s.splat(0.0))
        } else {
            rare(x)
        }
    }
}

/// The fast path of [`exp_v`], for |x| ≤ [`FAST_MAX`]. A function, not a closure: a closure
/// does not inherit the tier's target features, so LLVM would call every intrinsic in it out
/// of line (measured: 130 ns instead of 1 ns per element).
#[inline(always)]
fn exp_fast<S: Simd>(s: S, x: S::V) -> S::V {
    let c = core(s, x);
    s.mul(c.p, pow2_from_shifted(s, c.t))
}

/// `e^x = (big + lo)·2^n`, `p = big + lo` rounded, `t = n + SHIFT`.
struct Core<V> {
    p: V,
    big: V,
    lo: V,
    n: V,
    t: V,
}

/// The pieces of `e^x` for |x| ≤ 746.
#[inline(always)]
fn core<S: Simd>(s: S, x: S::V) -> Core<S::V> {
    let shift = s.splat(SHIFT);
    let t = s.mul_add(x, s.splat(LOG2_E), shift);
    let n = s.sub(t, shift);
    // Exact: n·LN2_HI is a multiple of 2^-53 and so is x whenever n ≠ 0, and |r1| < 1/2.
    let r1 = s.mul_add(n, s.splat(-LN2_HI), x);
    let r = s.mul_add(n, s.splat(-LN2_LO), r1);
    let r_lo = s.mul_add(n, s.splat(-LN2_LO), s.sub(r1, r));

    // r² = r2 + r2_err exactly; r²/2 is the largest term after 1 + r.
    let r2 = s.mul(r, r);
    let r2_err = s.mul_add(r, r, s.neg(r2));
    let r3 = s.mul(r2, r);
    let c = |i: usize| s.splat(Q1[i]); // inlined: one splat of a constant
    let q01 = s.mul_add(c(1), r, c(0));
    let q23 = s.mul_add(c(3), r, c(2));
    let q45 = s.mul_add(c(5), r, c(4));
    let q67 = s.mul_add(c(7), r, c(6));
    let q89 = s.mul_add(c(9), r, c(8));
    let mut q = s.mul_add(q89, r2, q67);
    q = s.mul_add(q, r2, q45);
    q = s.mul_add(q, r2, q23);
    q = s.mul_add(q, r2, q01);

    let one = s.splat(1.0);
    let half = s.splat(0.5);
    let one_r = s.add(one, r);
    let one_r_err = s.add(s.sub(one, one_r), r);
    // e^(r + r_lo) ≈ e^r + r_lo·(1 + r).
    let mut small = s.add(one_r_err, s.mul_add(r_lo, r, r_lo));
    small = s.mul_add(r2_err, half, small);
    // (1 + r) + r2/2 = big + big_err exactly (Fast2Sum: r2/2 < 1 + r).
    let h2 = s.mul(half, r2);
    let big = s.add(one_r, h2);
    let big_err = s.add(s.sub(one_r, big), h2);
    let lo = s.add(big_err, s.mul_add(r3, q, small));
    Core {
        p: s.add(big, lo),
        big,
        lo,
        n,
        t,
    }
}

/// The rare path of [`exp_v`] (any lane with |x| > 700 or NaN); correct for every input.
///
/// x is clamped to [−746, 710] (NaN kept); e^x overflows above 709.8 and rounds to 0 below
/// −745.2, so the clamp changes no result and keeps `n` in [−1076, 1025]. Normal results use
/// `2^n = 2^{n1}·2^{n−n1}`, `n1 = round(n/2)`, both factors normal: overflow gives +inf, and
/// for ordinary lanes both products are exact, so they get the fast path's bits.
/// Subnormal results (`n < −1022`, or `n = −1022` and `p < 1`) are rounded once, with no
/// subnormal arithmetic (which would also cost a microcode assist per lane on x86): with
/// `c = 2^{n+1022}`, `S = 1 + big·c + lo·c` is rounded in [1, 2], whose spacing 2^-52 is the
/// subnormal spacing scaled by 2^1022, and the result's bits are `bits(S) − bits(1)`.
#[inline(always)]
pub(crate) fn exp_rare<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    let shift = s.splat(SHIFT);
    let xc = s.min(s.max(x, s.splat(CLAMP_LO)), s.splat(CLAMP_HI));
    let c = core(s, xc);
    let limit = s.splat(-1022.0);
    let sub = s.or(s.lt(c.n, limit), s.and(s.eq(c.n, limit), s.lt(c.p, one)));

    // Normal (or overflowing) results; subnormal lanes are computed with n = 0 (unused) so
    // that no product underflows.
    let n = s.select(sub, s.splat(0.0), c.n);
    let t1 = s.mul_add(n, s.splat(0.5), shift);
    let n1 = s.sub(t1, shift);
    let t2 = s.add(s.sub(n, n1), shift);
    let y = s.mul(
        s.mul(c.p, pow2_from_shifted(s, t1)),
        pow2_from_shifted(s, t2),
    );

    // Subnormal results; other lanes use n = −1076 (any value keeping 2^{n+1022} normal).
    let n = s.select(sub, c.n, s.splat(-1076.0));
    let scale = pow2_from_shifted(s, s.add(n, s.splat(SHIFT + 1022.0)));
    let a = s.mul(c.big, scale);
    let b = s.add(one, a);
    let err = s.add(s.sub(one, b), a); // Fast2Sum: a < 2
    let sum = s.add(b, s.mul_add(c.lo, scale, err));
    let tiny = s.from_bits(s.sub_bits(s.to_bits(sum), s.to_bits(one)));

    let y = s.select(sub, tiny, y);
    s.select(s.is_nan(x), s.add(x, x), y)
}
