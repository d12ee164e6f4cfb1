//! The inputs and outputs of every entry point, as non-generic views.
//!
//! NumPy's dtype axes stop here. Predictions are `f32` or `f64` ([`Floats`]): the float lane
//! type is, with the SIMD tier, the only compile-time parameter of the heavy code. Targets of
//! any dtype ([`Targets`]) and integer labels or group ids ([`Ints`]) are held as one of four
//! unsigned widths plus a `signed` flag (the binding reinterprets signed integers and bool in
//! place, as polars' `BitRepr` does: no copy), and the kernels decode them a block at a time
//! into a small L1-resident buffer with one non-generic routine per source type ([`BLOCK`]
//! values per call). Decoding gives exactly the values the caller passed (`-1i8` is `-1.0`,
//! not `255.0`), so range checks and error messages see the caller's signed values.
//!
//! Every view converts from typed slices (`&[T]`, `&Vec<T>`, `&[T; N]`) with `From`, so Rust
//! callers pass slices as before.

use crate::error::{Error, Result};

/// Values decoded per call: 4 KiB of f64, a multiple of the lane count, so that only the
/// last block of a slice is partial and the vector sequence (and every sum) is unchanged.
pub const BLOCK: usize = 512;

/// A slice of unsigned integers of one of four widths.
#[derive(Debug, Clone, Copy)]
pub enum Uints<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
}

/// Integer labels, targets or group ids: the bits of the caller's array and whether they are
/// two's-complement signed (bool is unsigned 8-bit).
#[derive(Debug, Clone, Copy)]
pub struct Ints<'a> {
    pub bits: Uints<'a>,
    pub signed: bool,
}

/// Run `$body` with `$s` bound to the slice of any width.
macro_rules! with_bits {
    ($bits:expr, $s:ident => $body:expr) => {
        match $bits {
            Uints::U8($s) => $body,
            Uints::U16($s) => $body,
            Uints::U32($s) => $body,
            Uints::U64($s) => $body,
        }
    };
}

impl<'a> Ints<'a> {
    pub fn len(&self) -> usize {
        with_bits!(self.bits, s => s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-view of `range` (which must lie inside).
    pub fn slice(self, range: std::ops::Range<usize>) -> Ints<'a> {
        let bits = match self.bits {
            Uints::U8(s) => Uints::U8(&s[range]),
            Uints::U16(s) => Uints::U16(&s[range]),
            Uints::U32(s) => Uints::U32(&s[range]),
            Uints::U64(s) => Uints::U64(&s[range]),
        };
        Ints { bits, ..self }
    }

    /// Value `i` as the caller's integer. Out of line: kernels call it once per row, and a
    /// per-row `match` inlined into a row loop could be unswitched into one loop per width.
    #[inline(never)]
    pub fn get(&self, i: usize) -> i128 {
        let signed = self.signed;
        match self.bits {
            Uints::U8(s) if signed => s[i] as i8 as i128,
            Uints::U16(s) if signed => s[i] as i16 as i128,
            Uints::U32(s) if signed => s[i] as i32 as i128,
            Uints::U64(s) if signed => s[i] as i64 as i128,
            _ => with_bits!(self.bits, s => s[i] as i128),
        }
    }

    /// Values `start..start + out.len()` as `i64` (u64 values above `i64::MAX` become
    /// negative, so every out-of-range value stays out of range for a non-negative bound).
    #[inline(never)]
    pub fn decode_i64(&self, start: usize, out: &mut [i64]) {
        let end = start + out.len();
        let signed = self.signed;
        match self.bits {
            Uints::U8(s) if signed => widen(&s[start..end], out, |x| x as i8 as i64),
            Uints::U16(s) if signed => widen(&s[start..end], out, |x| x as i16 as i64),
            Uints::U32(s) if signed => widen(&s[start..end], out, |x| x as i32 as i64),
            Uints::U8(s) => widen(&s[start..end], out, |x| x as i64),
            Uints::U16(s) => widen(&s[start..end], out, |x| x as i64),
            Uints::U32(s) => widen(&s[start..end], out, |x| x as i64),
            Uints::U64(s) => widen(&s[start..end], out, |x| x as i64),
        }
    }

    /// Values `start..start + out.len()` as f64 (exact for every value below 2^53 in
    /// magnitude, as `as f64` of the caller's type).
    #[inline(never)]
    fn decode_f64(&self, start: usize, out: &mut [f64]) {
        let end = start + out.len();
        let signed = self.signed;
        match self.bits {
            Uints::U8(s) if signed => widen(&s[start..end], out, |x| x as i8 as f64),
            Uints::U16(s) if signed => widen(&s[start..end], out, |x| x as i16 as f64),
            Uints::U32(s) if signed => widen(&s[start..end], out, |x| x as i32 as f64),
            Uints::U64(s) if signed => widen(&s[start..end], out, |x| x as i64 as f64),
            Uints::U8(s) => widen(&s[start..end], out, |x| x as f64),
            Uints::U16(s) => widen(&s[start..end], out, |x| x as f64),
            Uints::U32(s) => widen(&s[start..end], out, |x| x as f64),
            Uints::U64(s) => widen(&s[start..end], out, |x| x as f64),
        }
    }
}

/// `out[i] = f(src[i])`: a straight loop the compiler vectorises.
#[inline(always)]
fn widen<T: Copy, U>(src: &[T], out: &mut [U], f: impl Fn(T) -> U) {
    for (o, &x) in out.iter_mut().zip(src) {
        *o = f(x);
    }
}

/// Targets of a binary or categorical loss: floats, or integers / bool (0/1 read in place).
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    Int(Ints<'a>),
}

impl<'a> Targets<'a> {
    pub fn len(&self) -> usize {
        match self {
            Targets::F32(s) => s.len(),
            Targets::F64(s) => s.len(),
            Targets::Int(i) => i.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-view of `range` (which must lie inside).
    pub fn slice(self, range: std::ops::Range<usize>) -> Targets<'a> {
        match self {
            Targets::F32(s) => Targets::F32(&s[range]),
            Targets::F64(s) => Targets::F64(&s[range]),
            Targets::Int(i) => Targets::Int(i.slice(range)),
        }
    }

    /// Values `start..start + len` (`len ≤ BLOCK`) as f64: borrowed for f64 targets, decoded
    /// into `buf` otherwise.
    #[inline(always)]
    pub(crate) fn block<'b>(
        &'b self,
        start: usize,
        len: usize,
        buf: &'b mut [f64; BLOCK],
    ) -> &'b [f64] {
        match *self {
            Targets::F64(s) => &s[start..start + len],
            _ => {
                self.decode(start, &mut buf[..len]);
                &buf[..len]
            }
        }
    }

    /// Values `start..start + out.len()` as f64, into `out`.
    #[inline(never)]
    pub(crate) fn decode(&self, start: usize, out: &mut [f64]) {
        match self {
            Targets::F32(s) => widen(&s[start..start + out.len()], out, |x| x as f64),
            Targets::F64(s) => out.copy_from_slice(&s[start..start + out.len()]),
            Targets::Int(i) => i.decode_f64(start, out),
        }
    }
}

/// Predictions, logits or distributions.
#[derive(Debug, Clone, Copy)]
pub enum Floats<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl<'a> Floats<'a> {
    /// The sub-view of `range` (which must lie inside).
    pub fn slice(self, range: std::ops::Range<usize>) -> Floats<'a> {
        match self {
            Floats::F32(s) => Floats::F32(&s[range]),
            Floats::F64(s) => Floats::F64(&s[range]),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Floats::F32(s) => s.len(),
            Floats::F64(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An output of one float type.
#[derive(Debug)]
pub enum FloatsMut<'a> {
    F32(&'a mut [f32]),
    F64(&'a mut [f64]),
}

impl<'a> FloatsMut<'a> {
    pub(crate) fn into_f32(self) -> Result<&'a mut [f32]> {
        match self {
            FloatsMut::F32(s) => Ok(s),
            FloatsMut::F64(_) => Err(Error::Internal("a float32 output was expected")),
        }
    }

    pub(crate) fn into_f64(self) -> Result<&'a mut [f64]> {
        match self {
            FloatsMut::F64(s) => Ok(s),
            FloatsMut::F32(_) => Err(Error::Internal("a float64 output was expected")),
        }
    }
}

/// Run `$body` once per float type of `$p`, with `$p` the typed slice and `$out` the optional
/// output of the same type (a mismatched output is an internal error).
macro_rules! with_floats {
    ($p:expr, $out:expr, |$ps:ident, $os:ident| $body:expr) => {
        match $p {
            $crate::input::Floats::F32($ps) => {
                let $os = $out.map($crate::input::FloatsMut::into_f32).transpose()?;
                $body
            }
            $crate::input::Floats::F64($ps) => {
                let $os = $out.map($crate::input::FloatsMut::into_f64).transpose()?;
                $body
            }
        }
    };
}
pub(crate) use with_floats;

/// Run `$body` once per (input, output) float type pair that the kernels support: an output
/// as wide as the input, or f64 for f32 input (a value returned as a Python float). `$q`, when
/// given, is a second input of `$p`'s type.
macro_rules! with_floats_out {
    ($p:expr, $out:expr, |$ps:ident, $os:ident| $body:expr) => {
        match ($p, $out) {
            ($crate::input::Floats::F32($ps), $crate::input::FloatsMut::F32($os)) => $body,
            ($crate::input::Floats::F32($ps), $crate::input::FloatsMut::F64($os)) => $body,
            ($crate::input::Floats::F64($ps), $crate::input::FloatsMut::F64($os)) => $body,
            (_, _) => Err($crate::error::Error::Internal(
                "a float64 input cannot be written to a float32 output",
            )),
        }
    };
    ($p:expr, $q:expr, $out:expr, |$ps:ident, $qs:ident, $os:ident| $body:expr) => {
        match ($p, $q, $out) {
            (
                $crate::input::Floats::F32($ps),
                $crate::input::Floats::F32($qs),
                $crate::input::FloatsMut::F32($os),
            ) => $body,
            (
                $crate::input::Floats::F32($ps),
                $crate::input::Floats::F32($qs),
                $crate::input::FloatsMut::F64($os),
            ) => $body,
            (
                $crate::input::Floats::F64($ps),
                $crate::input::Floats::F64($qs),
                $crate::input::FloatsMut::F64($os),
            ) => $body,
            (_, _, _) => Err($crate::error::Error::Internal(
                "p and q must have one float type, and the output at least as wide",
            )),
        }
    };
}
pub(crate) use with_floats_out;

// ------------------------------------------------------------------------ typed conversions

/// An element type that converts to a view (for the `From` impls of typed slices).
pub trait Element: Copy + 'static {
    fn targets(s: &[Self]) -> Targets<'_>;
}

/// Reinterpret a slice of one integer type as another of the same width.
macro_rules! cast_slice {
    ($s:expr, $t:ty) => {{
        let s = $s;
        // SAFETY: the source and target element types have the same size and alignment, and
        // every bit pattern of the source (including bool's 0/1) is a valid target value.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<$t>(), s.len()) }
    }};
}

macro_rules! int_element {
    ($($t:ty => $variant:ident as $u:ty, $signed:expr);* $(;)?) => {$(
        impl Element for $t {
            fn targets(s: &[Self]) -> Targets<'_> {
                Targets::Int(<$t as IntElement>::ints(s))
            }
        }
        impl IntElement for $t {
            fn ints(s: &[Self]) -> Ints<'_> {
                Ints { bits: Uints::$variant(cast_slice!(s, $u)), signed: $signed }
            }
        }
    )*};
}

/// An integer (or bool) element type: converts to [`Ints`].
pub trait IntElement: Copy + 'static {
    fn ints(s: &[Self]) -> Ints<'_>;
}

int_element! {
    bool => U8 as u8, false;
    u8 => U8 as u8, false;
    i8 => U8 as u8, true;
    u16 => U16 as u16, false;
    i16 => U16 as u16, true;
    u32 => U32 as u32, false;
    i32 => U32 as u32, true;
    u64 => U64 as u64, false;
    i64 => U64 as u64, true;
}

impl Element for f32 {
    fn targets(s: &[Self]) -> Targets<'_> {
        Targets::F32(s)
    }
}

impl Element for f64 {
    fn targets(s: &[Self]) -> Targets<'_> {
        Targets::F64(s)
    }
}

/// A float element type: converts to [`Floats`] / [`FloatsMut`].
pub trait FloatElement: Copy + 'static {
    fn floats(s: &[Self]) -> Floats<'_>;
    fn floats_mut(s: &mut [Self]) -> FloatsMut<'_>;
}

impl FloatElement for f32 {
    fn floats(s: &[Self]) -> Floats<'_> {
        Floats::F32(s)
    }
    fn floats_mut(s: &mut [Self]) -> FloatsMut<'_> {
        FloatsMut::F32(s)
    }
}

impl FloatElement for f64 {
    fn floats(s: &[Self]) -> Floats<'_> {
        Floats::F64(s)
    }
    fn floats_mut(s: &mut [Self]) -> FloatsMut<'_> {
        FloatsMut::F64(s)
    }
}

macro_rules! from_slices {
    ($view:ident, $bound:ident, $conv:ident) => {
        impl<'a, T: $bound> From<&'a [T]> for $view<'a> {
            fn from(s: &'a [T]) -> Self {
                T::$conv(s)
            }
        }
        impl<'a, T: $bound> From<&'a Vec<T>> for $view<'a> {
            fn from(s: &'a Vec<T>) -> Self {
                T::$conv(s)
            }
        }
        impl<'a, T: $bound, const N: usize> From<&'a [T; N]> for $view<'a> {
            fn from(s: &'a [T; N]) -> Self {
                T::$conv(s)
            }
        }
    };
}

from_slices!(Targets, Element, targets);
from_slices!(Ints, IntElement, ints);
from_slices!(Floats, FloatElement, floats);

impl<'a, T: FloatElement> From<&'a mut [T]> for FloatsMut<'a> {
    fn from(s: &'a mut [T]) -> Self {
        T::floats_mut(s)
    }
}

impl<'a, T: FloatElement> From<&'a mut Vec<T>> for FloatsMut<'a> {
    fn from(s: &'a mut Vec<T>) -> Self {
        T::floats_mut(s)
    }
}

impl<'a, T: FloatElement, const N: usize> From<&'a mut [T; N]> for FloatsMut<'a> {
    fn from(s: &'a mut [T; N]) -> Self {
        T::floats_mut(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_survive_the_unsigned_view() {
        let y: Ints = (&[-1i8, 0, 1, -128, 127]).into();
        assert!(matches!(y.bits, Uints::U8(_)));
        let got: Vec<i128> = (0..5).map(|i| y.get(i)).collect();
        assert_eq!(got, [-1, 0, 1, -128, 127]);
        let mut out = [0i64; 5];
        y.decode_i64(0, &mut out);
        assert_eq!(out, [-1, 0, 1, -128, 127]);
        let t: Targets = (&[-1i64, 2, i64::MIN]).into();
        let mut buf = [0.0f64; BLOCK];
        assert_eq!(t.block(0, 3, &mut buf), [-1.0, 2.0, i64::MIN as f64]);
        let u: Ints = (&[u64::MAX, 3]).into();
        assert_eq!(u.get(0), u64::MAX as i128);
        let b: Targets = (&[true, false]).into();
        assert_eq!(b.block(0, 2, &mut buf), [1.0, 0.0]);
    }
}
