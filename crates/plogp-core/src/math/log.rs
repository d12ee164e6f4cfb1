//! `ln x` and `ln(1 + x)` on lane vectors: fdlibm's reduction and polynomial (`e_log.c`),
//! evaluated with FMA and exact error terms, no table.

use crate::simd::Simd;

/// ln 2 = LN2_HI + LN2_LO; LN2_HI has 21 trailing zero bits, so `k·LN2_HI` is exact for
/// |k| < 2^21 (fdlibm's split).
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// fdlibm `e_log.c`: `R(z) = Lg1·z + … + Lg7·z^7`, `z = s²`, approximates
/// `(ln(1+f) − 2s)/s` for `s = f/(2+f) ∈ [−0.1716, 0.1716]` within 2^-58.45.
const LG: [f64; 7] = [
    f64::from_bits(0x3FE5_5555_5555_5593),
    f64::from_bits(0x3FD9_9999_9997_FA04),
    f64::from_bits(0x3FD2_4924_9422_9359),
    f64::from_bits(0x3FCC_71C5_1D8E_78AF),
    f64::from_bits(0x3FC7_4664_96CB_03DE),
    f64::from_bits(0x3FC3_9A09_D078_C69F),
    f64::from_bits(0x3FC2_F112_DF3E_5244),
];

/// Bits of √2/2 (rounded): the reduced argument `m` lies in [√2/2, √2).
const SQRT_HALF_BITS: u64 = 0x3FE6_A09E_667F_3BCD;
/// Adding this to the bits of a positive normal x gives `(k + 1023) << 52` plus the bits of
/// `m − √2/2` in the low 52 bits, where `x = 2^k·m`.
const REDUCE_ADD: u64 = 0x3FF0_0000_0000_0000 - SQRT_HALF_BITS;
const LOW52: u64 = (1 << 52) - 1;
const TWO52_BITS: u64 = 0x4330_0000_0000_0000;
const TWO54: f64 = 18014398509481984.0;

/// `(k, f)` with `x = 2^k·(1 + f)`, `1 + f ∈ [√2/2, √2)`, for a positive normal x, plus the
/// integer `(k + 1023) << 52` (exponent bits). `k` and `f` are exact.
#[inline(always)]
pub(super) fn reduce<S: Simd>(s: S, x: S::V) -> (S::V, S::V, S::I) {
    let tmp = s.add_bits(s.to_bits(x), s.splat_bits(REDUCE_ADD));
    let e = s.shr_bits::<52>(tmp); // k + 1023, in [1, 2047]
    let two52 = f64::from_bits(TWO52_BITS);
    let k = s.sub(
        s.from_bits(s.or_bits(e, s.splat_bits(TWO52_BITS))),
        s.splat(two52 + 1023.0),
    );
    let m_bits = s.add_bits(
        s.and_bits(tmp, s.splat_bits(LOW52)),
        s.splat_bits(SQRT_HALF_BITS),
    );
    let f = s.sub(s.from_bits(m_bits), s.splat(1.0));
    (k, f, s.and_bits(tmp, s.splat_bits(!LOW52)))
}

/// `k·ln 2 + ln(1 + f) + extra`, with f ∈ [√2/2 − 1, √2 − 1] exact and `extra` a small
/// correction added before the final rounding (`None`: 0).
///
/// fdlibm's identity `ln(1+f) = f − hfsq + s·(hfsq + R)`, `hfsq = f²/2`, `s = f/(2+f)`, with
/// the large part `k·ln2_hi + (f − hfsq)` summed exactly (two Fast2Sums; `f²/2` split by an
/// FMA) and all rounding errors collected in one small term.
#[inline(always)]
fn log_core<S: Simd>(s: S, k: S::V, f: S::V, extra: Option<S::V>) -> S::V {
    let hf = s.mul(s.splat(0.5), f);
    let h = s.mul(hf, f);
    let h_err = s.mul_add(hf, f, s.neg(h)); // f²/2 = h + h_err exactly
    let sv = s.div(f, s.add(s.splat(2.0), f));
    let z = s.mul(sv, sv);
    let w = s.mul(z, z);
    let c = |i: usize| s.splat(LG[i]);
    let t1 = s.mul(w, s.mul_add(w, s.mul_add(w, c(5), c(3)), c(1)));
    let t2 = s.mul_add(w, s.mul_add(w, s.mul_add(w, c(6), c(4)), c(2)), c(0));
    let r = s.mul_add(z, t2, t1);

    // f − h = fh + e exactly (|h| ≤ |f|/4); k·LN2_HI + fh = hi + e2 exactly (k = 0, or
    // |k·LN2_HI| ≥ 0.69 > |fh|).
    let fh = s.sub(f, h);
    let e = s.sub(s.sub(f, fh), h);
    let a = s.mul(k, s.splat(LN2_HI));
    let hi = s.add(a, fh);
    let e2 = s.add(s.sub(a, hi), fh);

    // ln(1+f) − (f − h) = −h_err + s·(h + h_err + R). The rounding errors of s (≈ 2^-52.6
    // relative) stay uncorrected: they cost ≤ 0.07 ulp, a correction term (division
    // residual) cost 30% of the time.
    let mut small = s.add(s.mul_add(sv, h_err, s.sub(e, h_err)), e2);
    if let Some(extra) = extra {
        small = s.add(small, extra);
    }
    small = s.mul_add(k, s.splat(LN2_LO), small);
    let lo = s.mul_add(sv, h, s.mul_add(sv, r, small));
    s.add(hi, lo)
}

/// Natural logarithm, lane-wise.
///
/// Method (fdlibm `e_log.c`): `x = 2^k·m`, `m ∈ [√2/2, √2)` from the exponent bits (integer
/// add, shift, mask), `f = m − 1` exact, `ln m = f − f²/2 + s·(f²/2 + R(s²))`, `s = f/(2+f)`
/// (one division), R fdlibm's degree-7 polynomial in s². Unlike fdlibm, the sum
/// `k·ln2_hi + f − f²/2` is formed exactly (FMA split of f²/2, two Fast2Sums) and every error
/// term is added to one small correction before the single final rounding.
/// Rare path, when any lane is not a positive normal finite number: subnormal lanes are
/// scaled by 2^54 (k −= 54), then x < 0 → NaN, ±0 → −inf, +inf → +inf, NaN → NaN (the input,
/// quieted). ln 1 = +0 exactly.
///
/// Accuracy: ≤ 0.626 ulp measured over 10^7 inputs against a double-double reference (see
/// `tests/math_ulp.rs`); the worst cases are near m = √2/2 and √2, where the rounding of
/// `s` (one division) weighs most.
///
/// `rare` must compute [`ln_rare`] (an out-of-line copy with the tier's target features).
#[inline(always)]
pub(crate) fn ln_v<S: Simd>(s: S, x: S::V, rare: impl FnOnce(S::V) -> S::V) -> S::V {
    let ordinary = s.and(
        s.le(s.splat(f64::MIN_POSITIVE), x),
        s.lt(x, s.splat(f64::INFINITY)),
    );
    if s.all(ordinary) {
        let (k, f, _) = reduce(s, x);
        log_core(s, k, f, None)
    } else {
        rare(x)
    }
}

/// The rare path of [`ln_v`]; correct for every input.
#[inline(always)]
pub(crate) fn ln_rare<S: Simd>(s: S, x: S::V) -> S::V {
    let zero = s.splat(0.0);
    let sub = s.and(s.lt(zero, x), s.lt(x, s.splat(f64::MIN_POSITIVE)));
    let xs = s.select(sub, s.mul(x, s.splat(TWO54)), x);
    let (k, f, _) = reduce(s, xs);
    let k = s.select(sub, s.sub(k, s.splat(54.0)), k);
    let mut y = log_core(s, k, f, None);
    y = s.select(s.lt(x, zero), s.splat(f64::NAN), y);
    y = s.select(s.eq(x, zero), s.splat(f64::NEG_INFINITY), y);
    y = s.select(s.eq(x, s.splat(f64::INFINITY)), x, y);
    s.select(s.is_nan(x), s.add(x, x), y)
}

/// Above this, the rounding error of `1 + x` is dropped (it changes `ln(1 + x)` by less than
/// 2^-1000 relative) and `2^-k` would no longer be a normal number.
const BIG: f64 = f64::from_bits(0x7E70_0000_0000_0000); // 2^1000

/// `ln(1 + x)`, lane-wise, accurate for tiny |x|.
///
/// Method: `u = 1 + x` rounded, with its rounding error `d` from an exact TwoSum (so `1 + x`
/// is never lost for small x); `u = 2^k·(1 + f)` reduced as in [`ln_v`]; with `F = f + d·2^-k`
/// split exactly as `fr + δ` (|δ| ≤ ulp(fr)/2), `ln(1 + x) = k·ln 2 + ln(1 + fr) +
/// δ·(1 − fr + fr²)`, the last term being the first-order correction (error ≤ |δ·fr³|).
/// For tiny x this is `ln(1 + fr)` with `fr = x`, evaluated by the same fdlibm formula.
/// Special values (rare path, when any lane is outside (−1, 2^1000)): x < −1 → NaN,
/// −1 → −inf, +inf → +inf, NaN → NaN (the input, quieted); ±0 → ±0 on every path.
///
/// Accuracy: ≤ 0.624 ulp measured over 10^7 inputs against a double-double reference (see
/// `tests/math_ulp.rs`), ≤ 0.502 ulp for |x| < 2^-6.
///
/// `rare` must compute [`ln_1p_rare`] (an out-of-line copy with the tier's target features).
#[inline(always)]
pub(crate) fn ln_1p_v<S: Simd>(s: S, x: S::V, rare: impl FnOnce(S::V) -> S::V) -> S::V {
    let minus_one = s.splat(-1.0);
    let ordinary = s.and(s.lt(minus_one, x), s.lt(x, s.splat(BIG)));
    if s.all(ordinary) {
        let y = ln_1p_core(s, x, false);
        // ±0 → ±0 (the formula gives +0 for −0).
        s.select(s.eq(x, s.splat(0.0)), x, y)
    } else {
        rare(x)
    }
}

/// `ln(1 + x)` for −1 < x < 2^1000; with `drop_err`, lanes with x ≥ 2^1000 (or NaN) ignore
/// the rounding error of `1 + x`, so that they get `ln u` without an invalid `2^-k`.
#[inline(always)]
fn ln_1p_core<S: Simd>(s: S, x: S::V, drop_err: bool) -> S::V {
    let one = s.splat(1.0);
    let u = s.add(one, x);
    let bb = s.sub(u, one);
    let d = s.add(s.sub(one, s.sub(u, bb)), s.sub(x, bb)); // 1 + x = u + d exactly
    let (k, f, ebits) = reduce(s, u);
    // 2^-k from the exponent bits: (2046 − (k + 1023)) << 52, normal for k ∈ [−53, 1000].
    let scale = s.from_bits(s.sub_bits(s.splat_bits(0x7FE0_0000_0000_0000), ebits));
    let mut dl = s.mul(d, scale);
    if drop_err {
        dl = s.select(s.lt(x, s.splat(BIG)), dl, s.splat(0.0));
    }
    // Fast2Sum: f is a multiple of ulp(1 + f) ≥ 2|dl| unless f = 0.
    let fr = s.add(f, dl);
    let delta = s.add(s.sub(f, fr), dl);
    let g = s.mul_add(fr, fr, s.neg(fr)); // fr² − fr
    let extra = s.mul_add(delta, g, delta);
    log_core(s, k, fr, Some(extra))
}

/// The rare path of [`ln_1p_v`]; correct for every input.
#[inline(always)]
pub(crate) fn ln_1p_rare<S: Simd>(s: S, x: S::V) -> S::V {
    let minus_one = s.splat(-1.0);
    let mut y = ln_1p_core(s, x, true);
    y = s.select(s.eq(x, s.splat(0.0)), x, y);
    y = s.select(s.lt(x, minus_one), s.splat(f64::NAN), y);
    y = s.select(s.eq(x, minus_one), s.splat(f64::NEG_INFINITY), y);
    y = s.select(s.eq(x, s.splat(f64::INFINITY)), x, y);
    s.select(s.is_nan(x), s.add(x, x), y)
}
