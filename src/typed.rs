//! Typed views of prepared arrays, and the macros that run one generic body per dtype.

use crate::arrays::{readonly, Prepared};
use numpy::{PyArrayDescrMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// Probabilities, logits or distributions: f32 or f64.
pub enum Floats<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

impl<'py> Floats<'py> {
    pub fn new(p: &Prepared<'py>) -> PyResult<Self> {
        Ok(match p.array.dtype().itemsize() {
            4 => Floats::F32(readonly(p)?),
            _ => Floats::F64(readonly(p)?),
        })
    }
}

/// Labels or hard targets: bool or any integer dtype, borrowed in place.
pub enum Ints<'py> {
    Bool(PyReadonlyArrayDyn<'py, bool>),
    I8(PyReadonlyArrayDyn<'py, i8>),
    I16(PyReadonlyArrayDyn<'py, i16>),
    I32(PyReadonlyArrayDyn<'py, i32>),
    I64(PyReadonlyArrayDyn<'py, i64>),
    U8(PyReadonlyArrayDyn<'py, u8>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    U32(PyReadonlyArrayDyn<'py, u32>),
    U64(PyReadonlyArrayDyn<'py, u64>),
}

impl<'py> Ints<'py> {
    pub fn new(p: &Prepared<'py>) -> PyResult<Self> {
        let dtype = p.array.dtype();
        Ok(match (dtype.kind(), dtype.itemsize()) {
            (b'b', _) => Ints::Bool(readonly(p)?),
            (b'i', 1) => Ints::I8(readonly(p)?),
            (b'i', 2) => Ints::I16(readonly(p)?),
            (b'i', 4) => Ints::I32(readonly(p)?),
            (b'i', _) => Ints::I64(readonly(p)?),
            (b'u', 1) => Ints::U8(readonly(p)?),
            (b'u', 2) => Ints::U16(readonly(p)?),
            (b'u', 4) => Ints::U32(readonly(p)?),
            _ => Ints::U64(readonly(p)?),
        })
    }
}

/// Targets of binary / categorical losses: any float or integer dtype.
pub enum Targets<'py> {
    Float(Floats<'py>),
    Int(Ints<'py>),
}

impl<'py> Targets<'py> {
    pub fn new(p: &Prepared<'py>) -> PyResult<Self> {
        Ok(match p.array.dtype().kind() {
            b'f' => Targets::Float(Floats::new(p)?),
            _ => Targets::Int(Ints::new(p)?),
        })
    }
}

/// `with_floats!(floats, p => body)`: run `body` with `p: &[f32]` or `p: &[f64]`.
#[macro_export]
macro_rules! with_floats {
    ($a:expr, $s:ident => $body:expr) => {
        match &$a {
            $crate::typed::Floats::F32(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            $crate::typed::Floats::F64(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
        }
    };
}

/// `with_ints!(ints, y => body)`: run `body` with `y` a slice of the array's integer type.
#[macro_export]
macro_rules! with_ints {
    ($a:expr, $s:ident => $body:expr) => {{
        use $crate::typed::Ints;
        match &$a {
            Ints::Bool(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::I8(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::I16(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::I32(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::I64(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::U8(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::U16(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::U32(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
            Ints::U64(a) => {
                let $s = $crate::arrays::slice(a)?;
                $body
            }
        }
    }};
}

/// `with_targets!(targets, y => body)`: any float or integer slice.
#[macro_export]
macro_rules! with_targets {
    ($a:expr, $s:ident => $body:expr) => {
        match &$a {
            $crate::typed::Targets::Float(f) => $crate::with_floats!(f, $s => $body),
            $crate::typed::Targets::Int(i) => $crate::with_ints!(i, $s => $body),
        }
    };
}
