//! Input generation and the cross-tier / cross-thread comparison shared by every fuzz target.
//!
//! Shapes are generated the way the binding crate hands them to the kernels (slice lengths
//! agree with `n_rows × c`, `eps ∈ [0, 0.5)`, `ln_base` finite and non-zero): those are the
//! kernels' documented preconditions, checked in Python before a kernel runs. Everything the
//! kernels themselves must validate (values, labels, weights, NaN) is fully arbitrary.
//!
//! Each input runs on the Scalar tier with one thread, then on every supported tier with one
//! thread and with the fuzzed thread count; the outcomes (totals, per-item outputs, error)
//! must agree bit for bit, NaN payloads excepted.

#![allow(dead_code)]

use std::num::NonZeroUsize;

use arbitrary::{Result, Unstructured};
use plogp_core::parallel::{set_num_threads, CHUNK_ELEMS, PAR_MIN_ELEMS};
use plogp_core::simd::{force_tier, supported_tiers, Tier};
use plogp_core::{Error, NanPolicy, Real, Totals, Weights};

/// Most inputs stay at or below this many elements, so that a run is fast.
pub const MAX_ELEMS: usize = 4096;
/// One input in sixteen is "long": enough elements for several chunks and the thread pool.
pub const LONG_ELEMS: usize = PAR_MIN_ELEMS + 2 * CHUNK_ELEMS;

/// A float type the fuzzer can generate, with its own special values.
pub trait Gen: Real + Copy {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self>;
}

/// A value with a bias towards the edges of the kernels' domains: NaN, ±inf, ±0, subnormals,
/// 1 and its neighbours, ε, huge numbers, arbitrary bit patterns, probabilities and logits.
fn gen_f64(u: &mut Unstructured<'_>, tiny: f64, eps: f64, max: f64, bits: f64) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => 0.0,
        4 => -0.0,
        5 => tiny * f64::from(u.int_in_range(1u16..=1000)?), // subnormal of the type
        6 => 1.0,
        7 => 1.0 - eps / 2.0,
        8 => eps,
        9 => bits,
        10 => max,
        11 => -max,
        12 => f64::from(u.arbitrary::<i16>()?) / 64.0, // a logit
        13 => -f64::from(u.int_in_range(0u32..=1 << 20)?) / f64::from(1u32 << 20), // in [-1, 0]
        _ => f64::from(u.arbitrary::<u32>()?) / f64::from(u32::MAX), // a probability
    })
}

impl Gen for f64 {
    fn gen(u: &mut Unstructured<'_>) -> Result<f64> {
        let bits = f64::from_bits(u64::from_le_bytes(u.arbitrary()?));
        gen_f64(u, 4.9e-324, f64::EPSILON, f64::MAX, bits)
    }
}

impl Gen for f32 {
    fn gen(u: &mut Unstructured<'_>) -> Result<f32> {
        let bits = f64::from(f32::from_bits(u32::from_le_bytes(u.arbitrary()?)));
        let tiny = f64::from(f32::from_bits(1));
        // Values are generated in f64 and rounded once, as NumPy would store them.
        Ok(gen_f64(u, tiny, f64::from(f32::EPSILON), f64::from(f32::MAX), bits)? as f32)
    }
}

/// An integer label: usually a valid class, sometimes −1, `c`, or the type's extremes.
pub fn label_i128(u: &mut Unstructured<'_>, c: usize, lo: i128, hi: i128) -> Result<i128> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => -1,
        1 => c as i128,
        2 => lo,
        3 => hi,
        4 => i128::from(u.arbitrary::<i64>()?),
        _ if c > 0 => u.int_in_range(0..=c as i128 - 1)?,
        _ => 0,
    }
    .clamp(lo, hi))
}

/// Generate `n` values: up to `MAX_ELEMS` fresh ones, then the fresh ones repeated (long inputs
/// cost no more input bytes than short ones).
pub fn values<T: Clone>(
    u: &mut Unstructured<'_>,
    n: usize,
    mut one: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let fresh = n.min(MAX_ELEMS);
    let mut v = Vec::with_capacity(n);
    for _ in 0..fresh {
        v.push(one(u)?);
    }
    // v[i] = v[i % fresh], a block at a time (an element-by-element loop costs as much as a
    // kernel run under ASan and coverage instrumentation).
    while v.len() < n {
        let k = (n - v.len()).min(fresh);
        v.extend_from_within(..k);
    }
    Ok(v)
}

pub fn floats<P: Gen>(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<P>> {
    values(u, n, P::gen)
}

/// `(n_rows, c)` with `n_rows·c` bounded (long inputs now and then); `c` may be 0.
pub fn shape(u: &mut Unstructured<'_>) -> Result<(usize, usize)> {
    // Exhausted input reads as 0, so 0 must mean "short".
    let long = u.int_in_range(0u8..=15)? == 15;
    let budget = if long { LONG_ELEMS } else { MAX_ELEMS };
    let c = match u.int_in_range(0u8..=7)? {
        0 => 0,
        1 => u.int_in_range(1..=budget.min(3 * CHUNK_ELEMS / 2))?, // rows of chunk size
        _ => u.int_in_range(1..=40)?,
    };
    let max_rows = if c == 0 { 64 } else { budget / c };
    let n_rows = if long {
        max_rows
    } else {
        u.int_in_range(0..=max_rows)?
    };
    Ok((n_rows, c))
}

/// Number of elements of an elementwise input.
pub fn length(u: &mut Unstructured<'_>) -> Result<usize> {
    if u.int_in_range(0u8..=15)? == 15 {
        u.int_in_range(PAR_MIN_ELEMS..=LONG_ELEMS)
    } else {
        u.int_in_range(0..=MAX_ELEMS)
    }
}

/// Owned weights, turned into [`Weights`] per run.
pub enum OwnedWeights {
    None,
    PerItem(Vec<f64>),
    PerGroup { w: Vec<f64>, inner: NonZeroUsize },
    /// Fewer weights than groups, taken again from the first (non-empty).
    Tiled { w: Vec<f64>, inner: NonZeroUsize },
}

impl OwnedWeights {
    pub fn view(&self) -> Weights<'_> {
        match self {
            OwnedWeights::None => Weights::None,
            OwnedWeights::PerItem(w) => Weights::PerItem(w),
            OwnedWeights::PerGroup { w, inner } => Weights::PerGroup { w, inner: *inner },
            OwnedWeights::Tiled { w, inner } => Weights::Tiled {
                w,
                inner: *inner,
                len: NonZeroUsize::new(w.len()).expect("tiled weights are not empty"),
            },
        }
    }
}

fn weight(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => -1.0,
        1 => f64::NAN,
        2 => f64::INFINITY,
        3 => -0.0,
        4 => 0.0,
        5 => 5e-324,
        6 => f64::MAX,
        7 => -f64::from(u.arbitrary::<u8>()?),
        _ => f64::from(u.arbitrary::<u16>()?) / 256.0,
    })
}

/// Sample weights for `n_items` items: none, one per item, one per group of `inner` items, or
/// fewer weights than groups, taken again from the first when they run out (a scalar, or a
/// weight broadcast over trailing axes).
pub fn weights(u: &mut Unstructured<'_>, n_items: usize) -> Result<OwnedWeights> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => OwnedWeights::None,
        1 => OwnedWeights::PerItem(values(u, n_items, weight)?),
        kind => {
            let k = u.int_in_range(1..=8usize)?;
            let inner = if n_items % k == 0 { k } else { 1 };
            let groups = n_items / inner;
            let inner = NonZeroUsize::new(inner).expect("k >= 1");
            if kind == 3 && groups > 0 {
                let len = u.int_in_range(1..=groups)?;
                OwnedWeights::Tiled {
                    w: values(u, len, weight)?,
                    inner,
                }
            } else {
                OwnedWeights::PerGroup {
                    w: values(u, groups, weight)?,
                    inner,
                }
            }
        }
    })
}

pub fn nan_policy(u: &mut Unstructured<'_>) -> Result<NanPolicy> {
    Ok(match u.int_in_range(0u8..=2)? {
        0 => NanPolicy::Propagate,
        1 => NanPolicy::Raise,
        _ => NanPolicy::Omit,
    })
}

/// `eps` as the binding passes it: in `[0, 0.5)`.
pub fn eps<P: Real>(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 => 0.0,
        1 => P::EPSILON,
        2 => 0.5 - f64::EPSILON / 4.0,
        3 => 5e-324,
        _ => f64::from(u.arbitrary::<u32>()?) / f64::from(u32::MAX) * 0.499,
    })
}

/// `ln(base)` as the binding passes it: finite and non-zero (base > 0, base ≠ 1).
pub fn ln_base(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => 1.0,
        1 => std::f64::consts::LN_2,
        2 => std::f64::consts::LN_10,
        3 => -std::f64::consts::LN_2,
        4 => 1e-300,
        _ => f64::from(u.int_in_range(1u32..=1 << 20)?) / 1024.0,
    })
}

pub fn threads(u: &mut Unstructured<'_>) -> Result<usize> {
    u.int_in_range(1..=4)
}

/// The observable result of one kernel call, comparable across tiers.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    error: Option<String>,
    bits: Vec<u64>,
}

/// Bits of a value, with every NaN mapped to one pattern (NaN payloads are not specified).
fn canon(x: f64) -> u64 {
    if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        x.to_bits()
    }
}

/// Check an error against the kernel's contract: the variant names a real argument and an
/// index inside the input, and `ZeroTotalWeight` never comes from a kernel.
pub fn check_error(e: &Error, n_elems: usize, n_items: usize, c: Option<usize>) {
    match *e {
        Error::Internal(what) => panic!("internal error from a kernel: {what}"),
        Error::OutOfRange {
            arg,
            index,
            value,
            lo,
            hi,
        } => {
            assert!(["y_true", "y_pred", "p", "q"].contains(&arg), "{e:?}");
            assert!(index < n_elems, "{e:?}");
            assert!(
                !(lo..=hi).contains(&value),
                "{e:?} reports an in-range value"
            );
        }
        Error::LabelOutOfRange {
            index,
            value,
            n_classes,
            ..
        } => {
            assert!(index < n_items, "{e:?}");
            assert_eq!(Some(n_classes), c, "{e:?}");
            assert!(value < 0 || value >= n_classes as i128, "{e:?}");
        }
        Error::BadWeight { index, value, .. } => {
            assert!(index < n_items.max(1), "{e:?}");
            assert!(!(value >= 0.0 && value.is_finite()), "{e:?}");
        }
        Error::NanLoss { index } => assert!(index < n_items, "{e:?}"),
        Error::ZeroTotalWeight => panic!("a kernel returned ZeroTotalWeight"),
        // Only the normalising information functions (not fuzzed here) check sums.
        Error::BadSum { .. } => panic!("a kernel without normalize returned {e:?}"),
        // Only the grouped driver (not fuzzed here) reports bad group ids.
        Error::BadGroup { .. } => panic!("a kernel without groups returned {e:?}"),
        // Only a call run through `parallel::cancellable` with its token set stops early.
        Error::Interrupted => panic!("a call without a cancel token returned {e:?}"),
    }
}

/// Outcome of a loss kernel: totals, their mean (as `reduction="mean"` computes it) and the
/// per-item output.
pub fn loss_outcome<P: Real>(r: plogp_core::Result<Totals>, out: &[P]) -> Outcome {
    let mut bits: Vec<u64> = out.iter().map(|x| canon(x.to_f64())).collect();
    let error = match r {
        Ok(t) => {
            bits.extend([canon(t.loss), canon(t.weight)]);
            match t.mean() {
                Ok(m) => bits.push(canon(m)),
                Err(e) => {
                    assert!(t.weight <= 0.0 || t.weight.is_nan(), "{e:?} with {t:?}");
                    bits.push(u64::MAX);
                }
            }
            None
        }
        Err(e) => Some(format!("{e:?}")),
    };
    Outcome { error, bits }
}

/// Outcome of a kernel with a per-row output.
pub fn unit_outcome<P: Real>(r: plogp_core::Result<()>, out: &[P]) -> Outcome {
    Outcome {
        error: r.err().map(|e| format!("{e:?}")),
        bits: out.iter().map(|x| canon(x.to_f64())).collect(),
    }
}

/// Run `run` on the Scalar tier with one thread, then on every supported tier with one and
/// with `threads` threads; all outcomes must be identical. Each (tier, thread count) pair runs
/// once: the reference is Scalar with one thread, and with `threads == 1` a tier's two runs
/// would be the same run.
pub fn same_everywhere(threads: usize, run: impl Fn() -> Outcome) {
    set_num_threads(1);
    assert!(force_tier(Some(Tier::Scalar)));
    let reference = run();
    for tier in supported_tiers() {
        let counts: &[usize] = match (tier, threads) {
            (Tier::Scalar, 1) => &[],
            (Tier::Scalar, _) => &[threads],
            (_, 1) => &[1],
            _ => &[1, threads],
        };
        for &t in counts {
            assert!(force_tier(Some(tier)));
            set_num_threads(t);
            let got = run();
            assert!(
                got == reference,
                "{tier:?} with {t} threads differs from Scalar with 1 thread:\n\
                 {tier:?}: {:?}\nScalar: {:?}",
                got.error,
                reference.error
            );
        }
    }
    force_tier(None);
    set_num_threads(1);
}

/// A buffer for per-item output, pre-filled with a marker so unwritten slots show up.
pub fn out_buf<P: Real>(n: usize) -> Vec<P> {
    vec![P::from_f64(-12345.0); n]
}

/// An integer (or bool) target/label type.
pub trait Int: Copy {
    const MIN: i128;
    const MAX: i128;
    fn from_i128(v: i128) -> Self;
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: i128 = <$t>::MAX as i128;
            fn from_i128(v: i128) -> Self { v as $t }
        }
    )*};
}
impl_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Int for bool {
    const MIN: i128 = 0;
    const MAX: i128 = 1;
    fn from_i128(v: i128) -> Self {
        v != 0
    }
}

/// A label for `c` classes (see [`label_i128`]) in type `T`.
pub fn int<T: Int>(u: &mut Unstructured<'_>, c: usize) -> Result<T> {
    label_i128(u, c, T::MIN, T::MAX).map(T::from_i128)
}

// ------------------------------------------------------------------ options and focal losses

/// A class / positive weight as the binding passes it: finite and non-negative.
pub fn option_weight(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => 0.0,
        1 => 1.0,
        2 => 5e-324,
        3 => 1e300,
        _ => f64::from(u.arbitrary::<u16>()?) / 256.0,
    })
}

/// `pos_weight`: none, a scalar, or a period of 2..=2·LANES+1 values.
pub fn pos_weight(u: &mut Unstructured<'_>) -> Result<Option<Vec<f64>>> {
    Ok(match u.int_in_range(0u8..=2)? {
        0 => None,
        1 => Some(vec![option_weight(u)?]),
        _ => {
            let len = u.int_in_range(2..=2 * plogp_core::simd::LANES + 1)?;
            Some(values(u, len, option_weight)?)
        }
    })
}

/// `class_weight` for `c` classes, or none.
pub fn class_weight(u: &mut Unstructured<'_>, c: usize) -> Result<Option<Vec<f64>>> {
    Ok(if u.arbitrary::<bool>()? {
        Some(values(u, c, option_weight)?)
    } else {
        None
    })
}

/// A probability-like parameter in `[0, 1]` (label smoothing, α).
pub fn unit(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => 0.0,
        1 => 1.0,
        2 => 0.1,
        3 => 5e-324,
        4 => 1.0 - f64::EPSILON / 2.0,
        _ => f64::from(u.arbitrary::<u32>()?) / f64::from(u32::MAX),
    })
}

/// `ignore_index`: none, a class, −100 (PyTorch's default), or any 64-bit value.
pub fn ignore_index(u: &mut Unstructured<'_>, c: usize) -> Result<Option<i128>> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => None,
        1 if c > 0 => Some(u.int_in_range(0..=c as i128 - 1)?),
        2 => Some(-100),
        _ => Some(i128::from(u.arbitrary::<i64>()?)),
    })
}

/// The focal γ as the binding passes it: finite and non-negative.
pub fn gamma(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => 0.0,
        1 => 2.0,
        2 => 0.5,
        3 => 1.0,
        4 => 1e-300,
        _ => f64::from(u.arbitrary::<u16>()?) / 4096.0,
    })
}

/// A float's bits in the canonical form of [`Outcome`] (all NaNs alike).
pub fn canon_bits(x: f64) -> u64 {
    canon(x)
}

impl Outcome {
    /// An outcome of raw values (e.g. per-group totals), NaN canonical.
    pub fn of(r: std::result::Result<Vec<f64>, String>) -> Outcome {
        match r {
            Ok(v) => Outcome {
                error: None,
                bits: v.into_iter().map(canon).collect(),
            },
            Err(e) => Outcome {
                error: Some(e),
                bits: Vec::new(),
            },
        }
    }
}

impl OwnedWeights {
    /// The weight of item `i` (1 without weights).
    pub fn get(&self, i: usize) -> f64 {
        match self {
            OwnedWeights::None => 1.0,
            OwnedWeights::PerItem(w) => w[i],
            OwnedWeights::PerGroup { w, inner } => w[i / inner.get()],
            OwnedWeights::Tiled { w, inner } => w[(i / inner.get()) % w.len()],
        }
    }
}

/// A target value as f64 (for plain references).
pub trait AsF64: Copy {
    fn as_f64(self) -> f64;
}

macro_rules! impl_as_f64 {
    ($($t:ty),*) => {$(
        impl AsF64 for $t {
            fn as_f64(self) -> f64 { self as f64 }
        }
    )*};
}
impl_as_f64!(f64, f32, i8, i16, i32, i64, u8, u16, u32, u64);

impl AsF64 for bool {
    fn as_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
}

/// The smallest positive normal number of the output type `P` (an absolute error floor).
pub fn tiny<P: Real>() -> f64 {
    if P::EPSILON > 1e-10 {
        f64::from(f32::MIN_POSITIVE)
    } else {
        f64::MIN_POSITIVE
    }
}
