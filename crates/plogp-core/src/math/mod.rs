//! Elementwise math primitives and the stable compound forms built from them.
//!
//! Until the vectorised polynomial primitives land, `ln`, `exp` and `ln_1p` are the
//! platform's libm (glibc: ≤ 1 ulp, all special values per C99 Annex F). Every tier calls
//! the same functions lane by lane, so results stay identical across tiers.
//!
//! Compound forms (used by the kernels, documented where they are defined):
//! `softplus(x) = max(x, 0) + ln_1p(exp(-|x|))`, exact in double for every finite x
//! (`exp(-|x|) ≤ 1` never overflows; for x > 36.7 the correction is below half an ulp).

/// Natural logarithm. Domain: x ≥ 0 (x < 0 → NaN, 0 → −inf, +inf → +inf, NaN → NaN).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    x.ln()
}

/// `e^x`. Overflows to +inf above 709.78, underflows gradually to 0 below −708.4.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    x.exp()
}

/// `ln(1 + x)`, accurate to 1 ulp also for |x| ≪ 1. x < −1 → NaN, −1 → −inf.
#[inline(always)]
pub fn ln_1p(x: f64) -> f64 {
    x.ln_1p()
}
