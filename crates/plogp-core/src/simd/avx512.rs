//! The AVX-512 tier: the 8-lane virtual vector as one `__m512d`, masks as `__mmask8`.
//!
//! Only AVX-512F instructions (plus the AVX2/FMA baseline every AVX-512 CPU has), all
//! correctly rounded or pure bit manipulation: no `vrcp14`, `vgetexp` or `vscalef`, whose
//! results no other tier could reproduce. Every method is `#[inline(always)]` so that it is
//! compiled inside `run_avx512`'s `#[target_feature(enable = "avx512f,avx2,fma")]` body.

use super::{Simd, LANES};
use crate::math;
use std::arch::x86_64::*;

/// Proof that the CPU supports AVX-512F (and AVX2, FMA): only [`Avx512::try_new`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// The tier token, if this CPU has AVX-512F, AVX2 and FMA.
    pub fn try_new() -> Option<Avx512> {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
        {
            Some(Avx512 { _detected: () })
        } else {
            None
        }
    }
}

type V = __m512d;
type M = __mmask8;
type I = __m512i;

/// Evaluate intrinsics that need AVX-512F.
macro_rules! avx512 {
    ($e:expr) => {{
        // SAFETY: an `Avx512` token exists, so the CPU supports AVX-512F, AVX2 and FMA.
        unsafe { $e }
    }};
}

impl Simd for Avx512 {
    type V = V;
    type M = M;
    type I = I;

    #[inline(always)]
    fn splat(self, x: f64) -> V {
        avx512!(_mm512_set1_pd(x))
    }
    #[inline(always)]
    fn load(self, a: &[f64; LANES]) -> V {
        // SAFETY: AVX-512F is available (token); the unaligned load reads exactly the 8 f64 of `a`.
        unsafe { _mm512_loadu_pd(a.as_ptr()) }
    }
    #[inline(always)]
    fn load_f32(self, a: &[f32; LANES]) -> V {
        // SAFETY: AVX-512F is available (token); the unaligned load reads exactly the 8 f32
        // of `a`.
        unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(a.as_ptr())) }
    }
    #[inline(always)]
    fn load_head(self, a: &[f64], fill: f64) -> V {
        let live = (1u32 << a.len().min(LANES)) - 1;
        // SAFETY: AVX-512F is available (token); the masked load reads only the first
        // `min(len, 8)` f64 of `a` (masked-off lanes are not accessed and cannot fault).
        unsafe { _mm512_mask_loadu_pd(_mm512_set1_pd(fill), live as M, a.as_ptr()) }
    }
    #[inline(always)]
    fn load_head_f32(self, a: &[f32], fill: f64) -> V {
        let live = (1u32 << a.len().min(LANES)) - 1;
        // SAFETY: AVX-512F is available (token); the masked load reads only the first
        // `min(len, 8)` f32 of `a` (masked-off lanes are not accessed and cannot fault).
        unsafe {
            let x = _mm512_maskz_loadu_ps(live as __mmask16, a.as_ptr());
            let wide = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
            _mm512_mask_blend_pd(live as M, _mm512_set1_pd(fill), wide)
        }
    }
    #[inline(always)]
    fn store(self, v: V) -> [f64; LANES] {
        let mut out = [0.0; LANES];
        // SAFETY: AVX-512F is available (token); the unaligned store writes exactly the 8 f64
        // of `out`.
        unsafe { _mm512_storeu_pd(out.as_mut_ptr(), v) };
        out
    }
    #[inline(always)]
    fn add(self, a: V, b: V) -> V {
        avx512!(_mm512_add_pd(a, b))
    }
    #[inline(always)]
    fn sub(self, a: V, b: V) -> V {
        avx512!(_mm512_sub_pd(a, b))
    }
    #[inline(always)]
    fn mul(self, a: V, b: V) -> V {
        avx512!(_mm512_mul_pd(a, b))
    }
    #[inline(always)]
    fn div(self, a: V, b: V) -> V {
        avx512!(_mm512_div_pd(a, b))
    }
    #[inline(always)]
    fn mul_add(self, a: V, b: V, c: V) -> V {
        avx512!(_mm512_fmadd_pd(a, b, c))
    }
    #[inline(always)]
    fn min(self, a: V, b: V) -> V {
        // `vminpd(a, b)` is `a < b ? a : b`; lanes where either is NaN become the canonical NaN.
        avx512!(_mm512_mask_blend_pd(
            _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a, b),
            _mm512_min_pd(a, b),
            _mm512_set1_pd(f64::NAN)
        ))
    }
    #[inline(always)]
    fn reduce_sum(self, v: V) -> f64 {
        avx512!(super::avx2::sum_quarters(_mm256_add_pd(
            _mm512_castpd512_pd256(v),
            _mm512_extractf64x4_pd::<1>(v)
        )))
    }
    #[inline(always)]
    fn reduce_sum_each(self, v: [V; LANES]) -> V {
        // SAFETY: an `Avx512` token exists, so the CPU supports AVX-512F, AVX2 and FMA.
        unsafe {
            let q0 = sum_level2(sum_level1(v[0], v[1]), sum_level1(v[2], v[3]));
            let q1 = sum_level2(sum_level1(v[4], v[5]), sum_level1(v[6], v[7]));
            // Rows 0..3 in `q0`, 4..7 in `q1`, two lanes each: the last pair, row order
            // 0 4 1 5 2 6 3 7, then back in order.
            let sums = _mm512_add_pd(_mm512_unpacklo_pd(q0, q1), _mm512_unpackhi_pd(q0, q1));
            _mm512_permutexvar_pd(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), sums)
        }
    }
    #[inline(always)]
    fn reduce_max(self, v: V) -> f64 {
        if avx512!(_mm512_cmp_pd_mask::<_CMP_UNORD_Q>(v, v)) != 0 {
            return f64::NAN;
        }
        avx512!(super::avx2::max_quarters(_mm256_max_pd(
            _mm512_castpd512_pd256(v),
            _mm512_extractf64x4_pd::<1>(v)
        )))
    }
    #[inline(always)]
    fn max(self, a: V, b: V) -> V {
        avx512!(_mm512_mask_blend_pd(
            _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a, b),
            _mm512_max_pd(a, b),
            _mm512_set1_pd(f64::NAN)
        ))
    }
    #[inline(always)]
    fn abs(self, a: V) -> V {
        // Clear the sign bit (integer AND: `vandpd` on zmm would need AVX-512DQ).
        let mask = self.splat_bits(!(1u64 << 63));
        self.from_bits(self.and_bits(self.to_bits(a), mask))
    }
    #[inline(always)]
    fn neg(self, a: V) -> V {
        let sign = self.splat_bits(1u64 << 63);
        self.from_bits(avx512!(_mm512_xor_si512(self.to_bits(a), sign)))
    }
    #[inline(always)]
    fn lt(self, a: V, b: V) -> M {
        avx512!(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b))
    }
    #[inline(always)]
    fn le(self, a: V, b: V) -> M {
        avx512!(_mm512_cmp_pd_mask::<_CMP_LE_OQ>(a, b))
    }
    #[inline(always)]
    fn eq(self, a: V, b: V) -> M {
        avx512!(_mm512_cmp_pd_mask::<_CMP_EQ_OQ>(a, b))
    }
    #[inline(always)]
    fn ne(self, a: V, b: V) -> M {
        // Unordered or not equal, like `!=` on f64 (true when either is NaN).
        avx512!(_mm512_cmp_pd_mask::<_CMP_NEQ_UQ>(a, b))
    }
    #[inline(always)]
    fn is_nan(self, a: V) -> M {
        avx512!(_mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a, a))
    }
    #[inline(always)]
    fn and(self, a: M, b: M) -> M {
        a & b
    }
    #[inline(always)]
    fn or(self, a: M, b: M) -> M {
        a | b
    }
    #[inline(always)]
    fn any(self, m: M) -> bool {
        m != 0
    }
    #[inline(always)]
    fn all(self, m: M) -> bool {
        m == 0xFF
    }
    #[inline(always)]
    fn bits(self, m: M) -> u32 {
        u32::from(m)
    }
    #[inline(always)]
    fn select(self, m: M, a: V, b: V) -> V {
        // `mask_blend(k, b, a)` takes `a` where `k` is set.
        avx512!(_mm512_mask_blend_pd(m, b, a))
    }

    #[inline(always)]
    fn to_bits(self, a: V) -> I {
        avx512!(_mm512_castpd_si512(a))
    }
    #[inline(always)]
    fn from_bits(self, a: I) -> V {
        avx512!(_mm512_castsi512_pd(a))
    }
    #[inline(always)]
    fn splat_bits(self, x: u64) -> I {
        avx512!(_mm512_set1_epi64(x as i64))
    }
    #[inline(always)]
    fn add_bits(self, a: I, b: I) -> I {
        avx512!(_mm512_add_epi64(a, b))
    }
    #[inline(always)]
    fn sub_bits(self, a: I, b: I) -> I {
        avx512!(_mm512_sub_epi64(a, b))
    }
    #[inline(always)]
    fn and_bits(self, a: I, b: I) -> I {
        avx512!(_mm512_and_si512(a, b))
    }
    #[inline(always)]
    fn or_bits(self, a: I, b: I) -> I {
        avx512!(_mm512_or_si512(a, b))
    }
    #[inline(always)]
    fn shl_bits<const N: u32>(self, a: I) -> I {
        // A constant count compiles to the immediate form.
        avx512!(_mm512_sll_epi64(a, _mm_cvtsi32_si128(N as i32)))
    }
    #[inline(always)]
    fn shr_bits<const N: u32>(self, a: I) -> I {
        avx512!(_mm512_srl_epi64(a, _mm_cvtsi32_si128(N as i32)))
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
/// The CPU must support avx512f,avx2,fma (guaranteed by the token).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline(never)]
unsafe fn exp_rare(s: Avx512, a: V) -> V {
    math::exp_rare(s, a)
}

/// # Safety
/// The CPU must support avx512f,avx2,fma (guaranteed by the token).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline(never)]
unsafe fn ln_rare(s: Avx512, a: V) -> V {
    math::ln_rare(s, a)
}

/// # Safety
/// The CPU must support avx512f,avx2,fma (guaranteed by the token).
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline(never)]
unsafe fn ln_1p_rare(s: Avx512, a: V) -> V {
    math::ln_1p_rare(s, a)
}

/// Level 1 of [`Simd::reduce_sum`]'s tree for two rows `a`, `b`: `[a0..3, b0..3] + [a4..7,
/// b4..7]`, each row's `l_i + l_(i+4)` (128-bit lane shuffles put the halves side by side).
///
/// # Safety
/// The CPU must support AVX-512F.
#[inline(always)]
unsafe fn sum_level1(a: V, b: V) -> V {
    _mm512_add_pd(
        _mm512_shuffle_f64x2::<0x44>(a, b),
        _mm512_shuffle_f64x2::<0xEE>(a, b),
    )
}

/// Level 2 for two vectors of [`sum_level1`] (rows 0, 1 and rows 2, 3): `h_i + h_(i+2)` of
/// the four rows, two lanes each, in row order.
///
/// # Safety
/// The CPU must support AVX-512F.
#[inline(always)]
unsafe fn sum_level2(a: V, b: V) -> V {
    _mm512_add_pd(
        _mm512_shuffle_f64x2::<0x88>(a, b),
        _mm512_shuffle_f64x2::<0xDD>(a, b),
    )
}
