//! The AVX2 + FMA tier: the 8-lane virtual vector as two `__m256d` (lanes 0–3, 4–7).
//!
//! Every method is `#[inline(always)]` so that, inlined into `run_avx2`'s
//! `#[target_feature(enable = "avx2,fma")]` body, the intrinsics compile to single
//! instructions. Operations map one to one onto correctly rounded instructions; `min`/`max`
//! add a NaN fix-up so that they match the [`super::Scalar`] reference bit for bit.

use super::{Simd, LANES};
use crate::math;
use std::arch::x86_64::*;

/// Proof that the CPU supports AVX2 and FMA: only [`Avx2::try_new`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Avx2 {
    _detected: (),
}

impl Avx2 {
    /// The tier token, if this CPU has AVX2 and FMA.
    pub fn try_new() -> Option<Avx2> {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Some(Avx2 { _detected: () })
        } else {
            None
        }
    }
}

type V = [__m256d; 2];
type I = [__m256i; 2];

/// Apply a two-operand intrinsic to both halves.
macro_rules! halves {
    ($f:ident, $a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { [$f(a[0], b[0]), $f(a[1], b[1])] }
    }};
}

/// Lane-wise comparison with predicate `$p` (all-ones where true).
macro_rules! compare {
    ($p:ident, $a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe {
            [
                _mm256_cmp_pd::<$p>(a[0], b[0]),
                _mm256_cmp_pd::<$p>(a[1], b[1]),
            ]
        }
    }};
}

/// All-ones in the 64-bit lanes `0..n` of the two halves (lanes 0–3, 4–7), zero elsewhere.
#[inline(always)]
fn live_halves(n: i64) -> I {
    // SAFETY: only called from `Avx2` methods, which exist only when the CPU has AVX2.
    unsafe {
        let n = _mm256_set1_epi64x(n);
        [
            _mm256_cmpgt_epi64(n, _mm256_setr_epi64x(0, 1, 2, 3)),
            _mm256_cmpgt_epi64(n, _mm256_setr_epi64x(4, 5, 6, 7)),
        ]
    }
}

impl Simd for Avx2 {
    type V = V;
    type M = V;
    type I = I;

    #[inline(always)]
    fn splat(self, x: f64) -> V {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        let v = unsafe { _mm256_set1_pd(x) };
        [v, v]
    }
    #[inline(always)]
    fn load(self, a: &[f64; LANES]) -> V {
        // SAFETY: AVX is available (token); both unaligned loads read 4 of the 8 f64 of `a`.
        unsafe {
            [
                _mm256_loadu_pd(a.as_ptr()),
                _mm256_loadu_pd(a.as_ptr().add(4)),
            ]
        }
    }
    #[inline(always)]
    fn load_f32(self, a: &[f32; LANES]) -> V {
        // SAFETY: AVX is available (token); each load reads 4 of the 8 f32 of `a`.
        unsafe {
            [
                _mm256_cvtps_pd(_mm_loadu_ps(a.as_ptr())),
                _mm256_cvtps_pd(_mm_loadu_ps(a.as_ptr().add(4))),
            ]
        }
    }
    #[inline(always)]
    fn load_head(self, a: &[f64], fill: f64) -> V {
        let n = a.len().min(LANES) as i64;
        // SAFETY: AVX2 is available (token); the masked loads read only the first
        // `min(len, 8)` f64 of `a` (masked-off lanes are not accessed and cannot fault; the
        // second half's address is formed with `wrapping_add` and only read where live).
        unsafe {
            let live = live_halves(n);
            let f = _mm256_set1_pd(fill);
            let lo = _mm256_maskload_pd(a.as_ptr(), live[0]);
            let hi = _mm256_maskload_pd(a.as_ptr().wrapping_add(4), live[1]);
            [
                _mm256_blendv_pd(f, lo, _mm256_castsi256_pd(live[0])),
                _mm256_blendv_pd(f, hi, _mm256_castsi256_pd(live[1])),
            ]
        }
    }
    #[inline(always)]
    fn load_head_f32(self, a: &[f32], fill: f64) -> V {
        let n = a.len().min(LANES);
        // SAFETY: AVX2 is available (token); the masked load reads only the first
        // `min(len, 8)` f32 of `a` (masked-off lanes are not accessed and cannot fault).
        unsafe {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let x = _mm256_maskload_ps(
                a.as_ptr(),
                _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes),
            );
            let live = live_halves(n as i64);
            let f = _mm256_set1_pd(fill);
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x));
            [
                _mm256_blendv_pd(f, lo, _mm256_castsi256_pd(live[0])),
                _mm256_blendv_pd(f, hi, _mm256_castsi256_pd(live[1])),
            ]
        }
    }
    #[inline(always)]
    fn store(self, v: V) -> [f64; LANES] {
        let mut out = [0.0; LANES];
        // SAFETY: AVX is available (token); both unaligned stores write 4 of the 8 f64 of `out`.
        unsafe {
            _mm256_storeu_pd(out.as_mut_ptr(), v[0]);
            _mm256_storeu_pd(out.as_mut_ptr().add(4), v[1]);
        }
        out
    }
    #[inline(always)]
    fn reduce_sum(self, v: V) -> f64 {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { sum_quarters(_mm256_add_pd(v[0], v[1])) }
    }
    #[inline(always)]
    fn reduce_sum_each(self, v: [V; LANES]) -> V {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { [sum_four(&v[..4]), sum_four(&v[4..])] }
    }
    #[inline(always)]
    fn reduce_max(self, v: V) -> f64 {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe {
            let nan = _mm256_or_pd(
                _mm256_cmp_pd::<_CMP_UNORD_Q>(v[0], v[0]),
                _mm256_cmp_pd::<_CMP_UNORD_Q>(v[1], v[1]),
            );
            if _mm256_movemask_pd(nan) != 0 {
                return f64::NAN;
            }
            max_quarters(_mm256_max_pd(v[0], v[1]))
        }
    }
    #[inline(always)]
    fn add(self, a: V, b: V) -> V {
        halves!(_mm256_add_pd, a, b)
    }
    #[inline(always)]
    fn sub(self, a: V, b: V) -> V {
        halves!(_mm256_sub_pd, a, b)
    }
    #[inline(always)]
    fn mul(self, a: V, b: V) -> V {
        halves!(_mm256_mul_pd, a, b)
    }
    #[inline(always)]
    fn div(self, a: V, b: V) -> V {
        halves!(_mm256_div_pd, a, b)
    }
    #[inline(always)]
    fn mul_add(self, a: V, b: V, c: V) -> V {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe {
            [
                _mm256_fmadd_pd(a[0], b[0], c[0]),
                _mm256_fmadd_pd(a[1], b[1], c[1]),
            ]
        }
    }
    #[inline(always)]
    fn min(self, a: V, b: V) -> V {
        // `minpd(a, b)` is `a < b ? a : b`; lanes where either is NaN become the canonical NaN.
        let m = halves!(_mm256_min_pd, a, b);
        let nan = compare!(_CMP_UNORD_Q, a, b);
        self.select(nan, self.splat(f64::NAN), m)
    }
    #[inline(always)]
    fn max(self, a: V, b: V) -> V {
        let m = halves!(_mm256_max_pd, a, b);
        let nan = compare!(_CMP_UNORD_Q, a, b);
        self.select(nan, self.splat(f64::NAN), m)
    }
    #[inline(always)]
    fn abs(self, a: V) -> V {
        // Clear the sign bit (like `f64::abs`, also for NaN).
        let sign = self.splat(-0.0);
        halves!(_mm256_andnot_pd, sign, a)
    }
    #[inline(always)]
    fn neg(self, a: V) -> V {
        halves!(_mm256_xor_pd, a, self.splat(-0.0))
    }
    #[inline(always)]
    fn lt(self, a: V, b: V) -> V {
        compare!(_CMP_LT_OQ, a, b)
    }
    #[inline(always)]
    fn le(self, a: V, b: V) -> V {
        compare!(_CMP_LE_OQ, a, b)
    }
    #[inline(always)]
    fn eq(self, a: V, b: V) -> V {
        compare!(_CMP_EQ_OQ, a, b)
    }
    #[inline(always)]
    fn ne(self, a: V, b: V) -> V {
        // Unordered or not equal, like `!=` on f64 (true when either is NaN).
        compare!(_CMP_NEQ_UQ, a, b)
    }
    #[inline(always)]
    fn is_nan(self, a: V) -> V {
        compare!(_CMP_UNORD_Q, a, a)
    }
    #[inline(always)]
    fn and(self, a: V, b: V) -> V {
        halves!(_mm256_and_pd, a, b)
    }
    #[inline(always)]
    fn or(self, a: V, b: V) -> V {
        halves!(_mm256_or_pd, a, b)
    }
    #[inline(always)]
    fn any(self, m: V) -> bool {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { _mm256_movemask_pd(_mm256_or_pd(m[0], m[1])) != 0 }
    }
    #[inline(always)]
    fn all(self, m: V) -> bool {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { _mm256_movemask_pd(_mm256_and_pd(m[0], m[1])) == 0xF }
    }
    #[inline(always)]
    fn bits(self, m: V) -> u32 {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { (_mm256_movemask_pd(m[0]) | (_mm256_movemask_pd(m[1]) << 4)) as u32 }
    }
    #[inline(always)]
    fn select(self, m: V, a: V, b: V) -> V {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe {
            [
                _mm256_blendv_pd(b[0], a[0], m[0]),
                _mm256_blendv_pd(b[1], a[1], m[1]),
            ]
        }
    }

    #[inline(always)]
    fn to_bits(self, a: V) -> I {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { [_mm256_castpd_si256(a[0]), _mm256_castpd_si256(a[1])] }
    }
    #[inline(always)]
    fn from_bits(self, a: I) -> V {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe { [_mm256_castsi256_pd(a[0]), _mm256_castsi256_pd(a[1])] }
    }
    #[inline(always)]
    fn splat_bits(self, x: u64) -> I {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        let v = unsafe { _mm256_set1_epi64x(x as i64) };
        [v, v]
    }
    #[inline(always)]
    fn add_bits(self, a: I, b: I) -> I {
        halves!(_mm256_add_epi64, a, b)
    }
    #[inline(always)]
    fn sub_bits(self, a: I, b: I) -> I {
        halves!(_mm256_sub_epi64, a, b)
    }
    #[inline(always)]
    fn and_bits(self, a: I, b: I) -> I {
        halves!(_mm256_and_si256, a, b)
    }
    #[inline(always)]
    fn or_bits(self, a: I, b: I) -> I {
        halves!(_mm256_or_si256, a, b)
    }
    #[inline(always)]
    fn shl_bits<const N: u32>(self, a: I) -> I {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA. (A constant count
        // compiles to the immediate form.)
        unsafe {
            let n = _mm_cvtsi32_si128(N as i32);
            [_mm256_sll_epi64(a[0], n), _mm256_sll_epi64(a[1], n)]
        }
    }
    #[inline(always)]
    fn shr_bits<const N: u32>(self, a: I) -> I {
        // SAFETY: an `Avx2` token exists, so the CPU supports AVX2 and FMA.
        unsafe {
            let n = _mm_cvtsi32_si128(N as i32);
            [_mm256_srl_epi64(a[0], n), _mm256_srl_epi64(a[1], n)]
        }
    }

    #[inline(always)]
    fn ln(self, a: V) -> V {
        math::ln_v(
            self,
            a,
            // SAFETY: the token proves that the CPU has the target features of `ln_rare`.
            #[inline(always)]
            |a| unsafe { ln_rare(self, a) },
        )
    }
    #[inline(always)]
    fn exp(self, a: V) -> V {
        math::exp_v(
            self,
            a,
            // SAFETY: the token proves that the CPU has the target features of `exp_rare`.
            #[inline(always)]
            |a| unsafe { exp_rare(self, a) },
        )
    }
    #[inline(always)]
    fn ln_1p(self, a: V) -> V {
        math::ln_1p_v(
            self,
            a,
            // SAFETY: the token proves that the CPU has the target features of `ln_1p_rare`.
            #[inline(always)]
            |a| unsafe { ln_1p_rare(self, a) },
        )
    }
}

// The rare paths of the math primitives, out of line (compiled once, with this tier's
// features) so that every call site inlines only the fast path.

/// # Safety
/// The CPU must support avx2,fma (guaranteed by the token).
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn exp_rare(s: Avx2, a: V) -> V {
    math::exp_rare(s, a)
}

/// # Safety
/// The CPU must support avx2,fma (guaranteed by the token).
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn ln_rare(s: Avx2, a: V) -> V {
    math::ln_rare(s, a)
}

/// # Safety
/// The CPU must support avx2,fma (guaranteed by the token).
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
unsafe fn ln_1p_rare(s: Avx2, a: V) -> V {
    math::ln_1p_rare(s, a)
}

/// The last two levels of [`Simd::reduce_sum`]'s canonical tree in registers, from
/// `h = [l0 + l4, l1 + l5, l2 + l6, l3 + l7]`: `(h0 + h2) + (h1 + h3)`, the same roundings as
/// the generic form, without a store and reload. Shared with the AVX-512 tier.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(super) unsafe fn sum_quarters(h: __m256d) -> f64 {
    let q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd::<1>(h));
    _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)))
}

/// The last two levels of [`Simd::reduce_max`]'s tree, from `h = [max(l0, l4), ..]` of
/// NaN-free lanes. `maxpd(x, y)` is `x > y ? x : y`, the generic form's tie rule, so ±0 ties
/// resolve the same way.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(super) unsafe fn max_quarters(h: __m256d) -> f64 {
    let q = _mm_max_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd::<1>(h));
    _mm_cvtsd_f64(_mm_max_sd(q, _mm_unpackhi_pd(q, q)))
}

/// [`Simd::reduce_sum`] of four rows `v` as the lanes of one half: level 1 adds each row's
/// halves; level 2 pairs rows `j` and `j + 2`, so that one horizontal add finishes the four
/// rows in order.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn sum_four(v: &[V]) -> __m256d {
    let h = |j: usize| _mm256_add_pd(v[j][0], v[j][1]);
    let (h0, h1, h2, h3) = (h(0), h(1), h(2), h(3));
    let q02 = _mm256_add_pd(
        _mm256_permute2f128_pd::<0x20>(h0, h2),
        _mm256_permute2f128_pd::<0x31>(h0, h2),
    );
    let q13 = _mm256_add_pd(
        _mm256_permute2f128_pd::<0x20>(h1, h3),
        _mm256_permute2f128_pd::<0x31>(h1, h3),
    );
    _mm256_hadd_pd(q02, q13)
}
