//! Elementwise math primitives and the stable compound forms built from them.
//!
//! `exp`, `ln` and `ln_1p` are table-free polynomial approximations written once, generically
//! over [`Simd`] (`exp_v`, `ln_v`, `ln_1p_v` in `exp.rs` and `log.rs`): every tier runs the
//! same sequence of correctly rounded operations and fused multiply-adds on the same 8-lane
//! virtual vector, so results are bit-identical across tiers. The scalar functions [`exp`],
//! [`ln`], [`ln_1p`] evaluate the same code on a splatted [`Scalar`] vector, so a value
//! computed on a scalar path equals the vector path bit for bit. No libm transcendental is
//! involved.
//!
//! Each vector function has a fast path for ordinary inputs and a rare path, taken when any of
//! the 8 lanes is special (one branch per vector); the rare path computes ordinary lanes
//! exactly like the fast path, so a lane's result never depends on its neighbours. The fast
//! path is inlined into each kernel; each tier keeps one out-of-line copy of the rare paths,
//! compiled with its target features (small code, fast builds).
//!
//! Accuracy, measured by `tests/math_ulp.rs` against a double-double reference (10^7 random
//! inputs per function plus edge cases): exp ≤ 0.531 ulp, ln ≤ 0.626 ulp, ln_1p ≤ 0.624 ulp
//! (no proven bound; each method's error terms are listed where it is defined). Special
//! values follow C99 Annex F (NaN inputs return the same NaN, quieted).
//!
//! Compound forms (used by the kernels, documented where they are defined):
//! `softplus(x) = max(x, 0) + ln_1p(exp(-|x|))`, exact in double for every finite x
//! (`exp(-|x|) ≤ 1` never overflows; for x > 36.7 the correction is below half an ulp).

mod exp;
pub(crate) mod lite;
mod log;
mod softmax;

pub(crate) use exp::{exp_rare, exp_v};
pub(crate) use log::{ln_1p_rare, ln_1p_v, ln_rare, ln_v};
pub(crate) use softmax::{lane0, row_logsumexp, row_max, row_shift, RowShift};

use crate::simd::{Scalar, Simd, LANES};

/// Natural logarithm: fdlibm's reduction and polynomial with exact error terms and one
/// division (method in `math/log.rs`), ≤ 0.626 ulp measured. Domain: x ≥ 0 (x < 0 → NaN,
/// ±0 → −inf, +inf → +inf, NaN → NaN, 1 → +0; subnormals are exact inputs).
#[inline]
pub fn ln(x: f64) -> f64 {
    one(Fun::Ln, x)
}

/// `e^x`: Cody–Waite reduction and a degree-12 polynomial (method in `math/exp.rs`),
/// ≤ 0.531 ulp measured. Overflows to +inf above 709.78, underflows gradually below −708.4
/// (rounded once, exactly 0 below −745.14); −inf → +0, +inf → +inf, NaN → NaN.
#[inline]
pub fn exp(x: f64) -> f64 {
    one(Fun::Exp, x)
}

/// `ln(1 + x)`, accurate also for |x| ≪ 1: the rounding error of `1 + x` is kept and fed to
/// the `ln` method (`math/log.rs`), ≤ 0.624 ulp measured. x < −1 → NaN, −1 → −inf,
/// ±0 → ±0, +inf → +inf, NaN → NaN.
#[inline]
pub fn ln_1p(x: f64) -> f64 {
    one(Fun::Ln1p, x)
}

/// Which primitive an out-of-line instance evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fun {
    Exp,
    Ln,
    Ln1p,
}

/// The primitive on the [`Scalar`] tier, rare paths inlined. The closures carry
/// `#[inline(always)]` themselves: otherwise they stay out of line, without the caller's FMA
/// feature (a function item passed instead is called through a shim that is not inlined).
#[inline(always)]
fn eval(f: Fun, a: [f64; LANES]) -> [f64; LANES] {
    let s = Scalar;
    match f {
        Fun::Exp => exp_v(
            s,
            a,
            #[inline(always)]
            |a| exp_rare(s, a),
        ),
        Fun::Ln => ln_v(
            s,
            a,
            #[inline(always)]
            |a| ln_rare(s, a),
        ),
        Fun::Ln1p => ln_1p_v(
            s,
            a,
            #[inline(always)]
            |a| ln_1p_rare(s, a),
        ),
    }
}

// The Scalar tier and the single-value functions run out of line, compiled once, with
// hardware FMA where the CPU has the AVX2 tier (detected once, by the tier code: there is
// no second CPU-feature check here; `f64::mul_add` is otherwise a libm call). FMA is exact
// either way, so both copies return the same bits. The single-value copies evaluate one
// splatted vector: the optimiser keeps only lane 0.

/// The primitive on 8 lanes of the [`Scalar`] tier.
#[inline]
pub(crate) fn lanes(f: Fun, a: [f64; LANES]) -> [f64; LANES] {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::Tier::Avx2.is_supported() {
        // SAFETY: the AVX2 tier's token exists only where the CPU has AVX2 and FMA.
        return unsafe { lanes_fma(f, a) };
    }
    lanes_portable(f, a)
}

#[inline]
fn one(f: Fun, x: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::Tier::Avx2.is_supported() {
        // SAFETY: the AVX2 tier's token exists only where the CPU has AVX2 and FMA.
        return unsafe { one_fma(f, x) };
    }
    one_portable(f, x)
}

#[inline(never)]
fn lanes_portable(f: Fun, a: [f64; LANES]) -> [f64; LANES] {
    eval(f, a)
}

#[inline(never)]
fn one_portable(f: Fun, x: f64) -> f64 {
    eval(f, [x; LANES])[0]
}

/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
#[inline(never)]
unsafe fn lanes_fma(f: Fun, a: [f64; LANES]) -> [f64; LANES] {
    eval(f, a)
}

/// # Safety
/// The CPU must support FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
#[inline(never)]
unsafe fn one_fma(f: Fun, x: f64) -> f64 {
    eval(f, [x; LANES])[0]
}

/// `2^n` for lanes holding an integer-valued `n + 1023` in the low mantissa bits of `t`
/// (`t = n + SHIFT`): shifts the 11 low bits into the exponent field. Valid for
/// `n ∈ [−1022, 1023]`.
#[inline(always)]
fn pow2_from_shifted<S: Simd>(s: S, t: S::V) -> S::V {
    s.from_bits(s.shl_bits::<52>(s.to_bits(t)))
}

/// `1.5·2^52 + 1023`: adding it to a value `v` with `|v| < 2^51` rounds `v` to the nearest
/// integer `n` (ties to even) and leaves `n + 1023` in the low mantissa bits.
const SHIFT: f64 = 6755399441055744.0 + 1023.0;
