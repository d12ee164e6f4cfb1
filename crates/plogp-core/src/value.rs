//! Element types the kernels read.
//!
//! Every kernel computes in f64 lanes: f32 inputs are widened on load (exact) and results are
//! rounded once when stored back as f32. The math primitives come at the accuracy the input
//! type needs ([`Real::exp_v`] and friends): the full f64 ones for f64 inputs, the float32
//! grade of [`crate::math`]'s `lite` forms (≤ 2^-32 relative, about half the work) for f32
//! inputs. Targets and labels of other dtypes reach the kernels through the views of
//! [`crate::input`].

use crate::input::FloatElement;
use crate::math::lite;
use crate::simd::{Simd, LANES};

/// A floating-point input (probabilities, logits, distributions).
pub trait Real: FloatElement + Send + Sync {
    /// Machine epsilon of the type, the default clipping bound (`eps="auto"`).
    const EPSILON: f64;
    fn to_f64(self) -> f64;
    /// Round an f64 result to this type (one rounding).
    fn from_f64(x: f64) -> Self;

    /// Lanes `start .. start + LANES` of `src`, widened to f64 (lanes past the end get
    /// `fill`): one widening load for a full block, no trip through an f64 array.
    fn load<S: Simd>(s: S, src: &[Self], start: usize, fill: f64) -> S::V;

    /// `e^x` on lanes, as accurate as results of this type need.
    fn exp_v<S: Simd>(s: S, x: S::V) -> S::V;
    /// `ln x` on lanes, as accurate as results of this type need.
    fn ln_v<S: Simd>(s: S, x: S::V) -> S::V;
    /// `ln(1 + x)` on lanes, as accurate as results of this type need.
    fn ln_1p_v<S: Simd>(s: S, x: S::V) -> S::V;
    /// `ln(1 + e^−|z|)` on lanes (the correction term of softplus and log-sigmoid).
    fn ln_1p_exp_neg_abs_v<S: Simd>(s: S, z: S::V) -> S::V;
}

impl Real for f64 {
    const EPSILON: f64 = f64::EPSILON;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn load<S: Simd>(s: S, src: &[Self], start: usize, fill: f64) -> S::V {
        match src.get(start..).and_then(<[f64]>::first_chunk::<LANES>) {
            Some(block) => s.load(block),
            None => s.load_head(src.get(start..).unwrap_or(&[]), fill),
        }
    }
    #[inline(always)]
    fn exp_v<S: Simd>(s: S, x: S::V) -> S::V {
        s.exp(x)
    }
    #[inline(always)]
    fn ln_v<S: Simd>(s: S, x: S::V) -> S::V {
        s.ln(x)
    }
    #[inline(always)]
    fn ln_1p_v<S: Simd>(s: S, x: S::V) -> S::V {
        s.ln_1p(x)
    }
    #[inline(always)]
    fn ln_1p_exp_neg_abs_v<S: Simd>(s: S, z: S::V) -> S::V {
        s.ln_1p(s.exp(s.neg(s.abs(z))))
    }
}

impl Real for f32 {
    const EPSILON: f64 = f32::EPSILON as f64;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn load<S: Simd>(s: S, src: &[Self], start: usize, fill: f64) -> S::V {
        match src.get(start..).and_then(<[f32]>::first_chunk::<LANES>) {
            Some(block) => s.load_f32(block),
            None => s.load_head_f32(src.get(start..).unwrap_or(&[]), fill),
        }
    }
    #[inline(always)]
    fn exp_v<S: Simd>(s: S, x: S::V) -> S::V {
        lite::exp(s, x)
    }
    #[inline(always)]
    fn ln_v<S: Simd>(s: S, x: S::V) -> S::V {
        lite::ln(s, x)
    }
    #[inline(always)]
    fn ln_1p_v<S: Simd>(s: S, x: S::V) -> S::V {
        lite::ln_1p(s, x)
    }
    #[inline(always)]
    fn ln_1p_exp_neg_abs_v<S: Simd>(s: S, z: S::V) -> S::V {
        lite::ln_1p_exp_neg_abs(s, z)
    }
}

/// Widen up to `LANES` values starting at `start` into an f64 lane array; lanes past the end
/// of `src` get `fill`. Full blocks compile to a straight widening load: the fixed-size block
/// keeps the compiler from merging both cases into one variable-length `memcpy` call.
#[inline(always)]
pub(crate) fn lanes<T: Copy>(
    src: &[T],
    start: usize,
    fill: f64,
    f: impl Fn(T) -> f64,
) -> [f64; LANES] {
    match src.get(start..).and_then(<[T]>::first_chunk::<LANES>) {
        Some(block) => std::array::from_fn(|i| f(block[i])),
        None => partial_lanes(src, start, fill, f),
    }
}

/// The last, partial block of [`lanes`] (out of line: once per slice).
#[cold]
#[inline(never)]
fn partial_lanes<T: Copy>(
    src: &[T],
    start: usize,
    fill: f64,
    f: impl Fn(T) -> f64,
) -> [f64; LANES] {
    let mut out = [fill; LANES];
    for (o, &x) in out.iter_mut().zip(src.get(start..).unwrap_or(&[])) {
        *o = f(x);
    }
    out
}
