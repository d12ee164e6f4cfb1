//! Element types the kernels read.
//!
//! Every kernel computes in f64 lanes: f32 inputs are widened on load (exact) and results are
//! rounded once when stored back as f32. Targets and labels of other dtypes reach the kernels
//! through the views of [`crate::input`].

use crate::input::FloatElement;
use crate::simd::LANES;

/// A floating-point input (probabilities, logits, distributions).
pub trait Real: FloatElement + Send + Sync {
    /// Machine epsilon of the type, the default clipping bound (`eps="auto"`).
    const EPSILON: f64;
    fn to_f64(self) -> f64;
    /// Round an f64 result to this type (one rounding).
    fn from_f64(x: f64) -> Self;
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
