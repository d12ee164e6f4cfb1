//! The one SIMD dispatch point, and the lane abstraction every kernel is written against.
//!
//! Kernels are generic over [`Simd`]: a "virtual vector" of [`LANES`] f64 lanes with a fixed
//! set of correctly rounded operations (add, sub, mul, div, fused multiply-add, min/max,
//! compare, select) plus the elementwise math primitives. Every tier implements the same
//! virtual vector — one AVX-512 register, two AVX2 registers or eight scalars — and the same
//! horizontal reduction tree, so a kernel returns bit-identical results on every tier.
//!
//! The tier is detected once per process and cached: the best tier this CPU supports among
//! those verified on real hardware ([`active_tier`]); `PLOGP_SIMD=scalar|avx2|avx512|neon`
//! names another supported tier (an unsupported request falls back to the automatic choice).
//! Tests and benchmarks can override it at run time with [`force_tier`].
//! A kernel runs on a tier through [`WithSimd`]: its `with_simd` body is `#[inline(always)]`
//! so that it is compiled inside the tier's `#[target_feature]` entry function ([`run_on`]).
//! Every method of every tier is `#[inline(always)]` for the same reason: target features only
//! reach code that is inlined into the entry function.
//!
//! Tiers: [`Scalar`] (the reference, any CPU), `Avx2` (two `__m256d`, needs AVX2 + FMA) and
//! `Avx512` (one `__m512d`, needs AVX-512F) on x86-64, and `Neon` (four `float64x2_t`, the
//! aarch64 baseline) on aarch64. No tier touches MXCSR (no FTZ/DAZ) or uses approximate instructions (`vrcp14`,
//! `vgetexp`, `vscalef`): only correctly rounded operations and bit manipulation, so every
//! tier computes the same bits.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
mod scalar;

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;
#[cfg(target_arch = "x86_64")]
pub use avx512::Avx512;
#[cfg(target_arch = "aarch64")]
pub use neon::Neon;
pub use scalar::Scalar;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// Number of f64 lanes of the virtual vector (the canonical layout shared by all tiers).
pub const LANES: usize = 8;

/// An instruction-set tier, from slowest to fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Scalar,
    Avx2,
    Avx512,
    Neon,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Scalar => "scalar",
            Tier::Avx2 => "avx2",
            Tier::Avx512 => "avx512",
            Tier::Neon => "neon",
        }
    }

    pub fn from_name(name: &str) -> Option<Tier> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Tier::Scalar),
            "avx2" => Some(Tier::Avx2),
            "avx512" => Some(Tier::Avx512),
            "neon" => Some(Tier::Neon),
            _ => None,
        }
    }

    /// Whether this CPU can run the tier (x86-64: detected with `is_x86_feature_detected!`;
    /// aarch64: NEON always).
    pub fn is_supported(self) -> bool {
        match self {
            Tier::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => Avx2::try_new().is_some(),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => Avx512::try_new().is_some(),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon => Neon::try_new().is_some(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    fn code(self) -> u8 {
        match self {
            Tier::Scalar => 1,
            Tier::Avx2 => 2,
            Tier::Avx512 => 3,
            Tier::Neon => 4,
        }
    }

    fn from_code(code: u8) -> Option<Tier> {
        match code {
            1 => Some(Tier::Scalar),
            2 => Some(Tier::Avx2),
            3 => Some(Tier::Avx512),
            4 => Some(Tier::Neon),
            _ => None,
        }
    }
}

/// Every tier this machine can run, slowest first.
pub fn supported_tiers() -> Vec<Tier> {
    [Tier::Scalar, Tier::Avx2, Tier::Avx512, Tier::Neon]
        .into_iter()
        .filter(|t| t.is_supported())
        .collect()
}

/// Tiers whose tier test (`tests/tiers.rs`), f32 sweep and `math_speed` have passed on real
/// hardware: automatic detection picks only these (README, "Threads and SIMD", says where each
/// was verified; AVX-512 on an AMD EPYC with AVX-512F/DQ/BW/VL, 2026-12-02). A future tier
/// starts outside this list, usable only when asked for with `PLOGP_SIMD`.
const VERIFIED: [Tier; 4] = [Tier::Scalar, Tier::Avx2, Tier::Avx512, Tier::Neon];

/// The tier kernels run on: the best verified tier this CPU supports, or the tier named by
/// `PLOGP_SIMD` if the CPU supports it (a lower one, or an unverified one).
/// Detected once.
pub fn active_tier() -> Tier {
    static TIER: OnceLock<Tier> = OnceLock::new();
    *TIER.get_or_init(|| {
        let best = supported_tiers()
            .into_iter()
            .rfind(|t| VERIFIED.contains(t))
            .unwrap_or(Tier::Scalar);
        match std::env::var("PLOGP_SIMD")
            .ok()
            .as_deref()
            .and_then(Tier::from_name)
        {
            Some(forced) if forced.is_supported() => forced,
            _ => best,
        }
    })
}

/// Process-wide tier override of [`force_tier`]: 0 = none, else [`Tier::code`].
static FORCED: AtomicU8 = AtomicU8::new(0);

/// Make [`dispatch`] use `tier` in every thread from now on (`None` restores [`active_tier`]).
/// For tests and benchmarks that compare tiers inside one process; kernels running
/// concurrently may see the switch mid-call (each chunk reads it once), so serialise such
/// tests. Returns `false`, and changes nothing, if this CPU cannot run `tier`.
pub fn force_tier(tier: Option<Tier>) -> bool {
    match tier {
        Some(t) if !t.is_supported() => false,
        Some(t) => {
            FORCED.store(t.code(), Ordering::Relaxed);
            true
        }
        None => {
            FORCED.store(0, Ordering::Relaxed);
            true
        }
    }
}

/// The tier [`dispatch`] runs on: the one set by [`force_tier`], else [`active_tier`].
pub fn current_tier() -> Tier {
    Tier::from_code(FORCED.load(Ordering::Relaxed)).unwrap_or_else(active_tier)
}

/// A computation that can run on any tier.
pub trait WithSimd {
    type Output;
    fn with_simd<S: Simd>(self, s: S) -> Self::Output;
}

/// Run `op` on the current tier ([`current_tier`]).
#[inline]
pub fn dispatch<Op: WithSimd>(op: Op) -> Op::Output {
    run_on(current_tier(), op).unwrap_or_else(|op| op.with_simd(Scalar))
}

/// Run `op` on a given tier; gives `op` back if this CPU cannot run that tier.
pub fn run_on<Op: WithSimd>(tier: Tier, op: Op) -> Result<Op::Output, Op> {
    match tier {
        Tier::Scalar => Ok(op.with_simd(Scalar)),
        #[cfg(target_arch = "x86_64")]
        Tier::Avx2 => match Avx2::try_new() {
            // SAFETY: the token exists only if the CPU has AVX2 and FMA.
            Some(s) => Ok(unsafe { run_avx2(s, op) }),
            None => Err(op),
        },
        #[cfg(target_arch = "x86_64")]
        Tier::Avx512 => match Avx512::try_new() {
            // SAFETY: the token exists only if the CPU has AVX-512F, AVX2 and FMA.
            Some(s) => Ok(unsafe { run_avx512(s, op) }),
            None => Err(op),
        },
        // NEON is the aarch64 baseline: no target-feature entry point is needed.
        #[cfg(target_arch = "aarch64")]
        Tier::Neon => match Neon::try_new() {
            Some(s) => Ok(op.with_simd(s)),
            None => Err(op),
        },
        #[allow(unreachable_patterns)]
        _ => Err(op),
    }
}

/// The AVX2 entry point: `op.with_simd` (always inlined) is compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA (guaranteed by the `Avx2` token).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<Op: WithSimd>(s: Avx2, op: Op) -> Op::Output {
    op.with_simd(s)
}

/// The AVX-512 entry point: `op.with_simd` (always inlined) is compiled with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA (guaranteed by the `Avx512` token).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<Op: WithSimd>(s: Avx512, op: Op) -> Op::Output {
    op.with_simd(s)
}

/// The lane abstraction: `V` holds [`LANES`] f64 values, `M` a lane mask.
///
/// Every operation is lane-wise and correctly rounded (or, for the math primitives, the same
/// polynomial evaluated with the same fused operations), so that all tiers agree bit for bit.
/// `min`/`max` propagate NaN from either operand (unlike x86 `minpd`/`maxpd`).
///
/// `I` holds [`LANES`] 64-bit integers: the bit patterns of `V`'s lanes, for the exponent
/// tricks of [`crate::math`] (wrapping arithmetic, logical shifts).
pub trait Simd: Copy + Send + Sync + 'static {
    type V: Copy;
    type M: Copy;
    type I: Copy;

    fn splat(self, x: f64) -> Self::V;
    fn load(self, a: &[f64; LANES]) -> Self::V;
    /// Eight f32 values widened (exactly) to f64 lanes.
    fn load_f32(self, a: &[f32; LANES]) -> Self::V;
    /// The values of `a` (at most [`LANES`]; more are ignored) in the low lanes, `fill` in
    /// the others: the tail of a slice, or a short row. The x86 tiers use masked loads, which
    /// read only `a`: building the lanes in memory and loading them as one vector would stall
    /// on store forwarding, once per row for rows whose length is not a multiple of 8.
    #[inline(always)]
    fn load_head(self, a: &[f64], fill: f64) -> Self::V {
        let mut lanes = [fill; LANES];
        lanes.iter_mut().zip(a).for_each(|(l, &x)| *l = x);
        self.load(&lanes)
    }
    /// As [`Simd::load_head`], of f32 values widened (exactly) to f64.
    #[inline(always)]
    fn load_head_f32(self, a: &[f32], fill: f64) -> Self::V {
        let mut lanes = [fill; LANES];
        lanes
            .iter_mut()
            .zip(a)
            .for_each(|(l, &x)| *l = f64::from(x));
        self.load(&lanes)
    }
    fn store(self, v: Self::V) -> [f64; LANES];

    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c` with a single rounding.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// The canonical NaN (`f64::NAN`) if either lane is NaN, else `if a < b { a } else { b }`
    /// (so `min(-0.0, 0.0)` is `0.0`: the second operand wins ties, as in x86 `minpd`).
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// The canonical NaN if either lane is NaN, else `if a > b { a } else { b }`.
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    fn abs(self, a: Self::V) -> Self::V;
    fn neg(self, a: Self::V) -> Self::V;

    fn lt(self, a: Self::V, b: Self::V) -> Self::M;
    fn le(self, a: Self::V, b: Self::V) -> Self::M;
    fn eq(self, a: Self::V, b: Self::V) -> Self::M;
    fn ne(self, a: Self::V, b: Self::V) -> Self::M;
    fn is_nan(self, a: Self::V) -> Self::M;
    fn and(self, a: Self::M, b: Self::M) -> Self::M;
    fn or(self, a: Self::M, b: Self::M) -> Self::M;
    fn any(self, m: Self::M) -> bool;
    fn all(self, m: Self::M) -> bool;
    /// The mask as bits: bit `i` set when lane `i` is.
    fn bits(self, m: Self::M) -> u32;
    /// Lane-wise `if m { a } else { b }`.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;

    /// The bit pattern of each lane (`f64::to_bits`), free on SIMD tiers.
    fn to_bits(self, a: Self::V) -> Self::I;
    /// Lanes from bit patterns (`f64::from_bits`; `self` is the tier token).
    #[allow(clippy::wrong_self_convention)]
    fn from_bits(self, a: Self::I) -> Self::V;
    fn splat_bits(self, x: u64) -> Self::I;
    /// Wrapping 64-bit addition.
    fn add_bits(self, a: Self::I, b: Self::I) -> Self::I;
    /// Wrapping 64-bit subtraction.
    fn sub_bits(self, a: Self::I, b: Self::I) -> Self::I;
    fn and_bits(self, a: Self::I, b: Self::I) -> Self::I;
    fn or_bits(self, a: Self::I, b: Self::I) -> Self::I;
    /// Logical shift left by `N < 64` bits.
    fn shl_bits<const N: u32>(self, a: Self::I) -> Self::I;
    /// Logical shift right by `N < 64` bits.
    fn shr_bits<const N: u32>(self, a: Self::I) -> Self::I;

    /// Natural logarithm (see [`crate::math`] for method, domain and accuracy).
    fn ln(self, a: Self::V) -> Self::V;
    /// `e^a`.
    fn exp(self, a: Self::V) -> Self::V;
    /// `ln(1 + a)`, accurate for small `a`.
    fn ln_1p(self, a: Self::V) -> Self::V;

    /// Horizontal sum in the canonical tree: lanes `i` and `i + 4` first, then `i` and `i + 2`,
    /// then the last pair: `((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))`.
    #[inline(always)]
    fn reduce_sum(self, v: Self::V) -> f64 {
        let a = self.store(v);
        let h = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
        let q = [h[0] + h[2], h[1] + h[3]];
        q[0] + q[1]
    }

    /// Lane `j` is `reduce_sum(v[j])`, bit for bit: eight horizontal sums as one vector. The
    /// x86 tiers transpose as they add (a few shuffles per row instead of a reduction each).
    #[inline(always)]
    fn reduce_sum_each(self, v: [Self::V; LANES]) -> Self::V {
        self.load(&v.map(|x| self.reduce_sum(x)))
    }

    /// Largest lane, NaN if any lane is NaN (same tree shape as [`Simd::reduce_sum`], same
    /// tie rule as [`Simd::max`]).
    #[inline(always)]
    fn reduce_max(self, v: Self::V) -> f64 {
        let a = self.store(v);
        let m = |x: f64, y: f64| {
            if x.is_nan() || y.is_nan() {
                f64::NAN
            } else if x > y {
                x
            } else {
                y
            }
        };
        let h = [m(a[0], a[4]), m(a[1], a[5]), m(a[2], a[6]), m(a[3], a[7])];
        m(m(h[0], h[2]), m(h[1], h[3]))
    }
}
