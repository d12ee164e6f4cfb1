//! Borrowed inputs, and the non-generic views of `plogp-core` made from them.
//!
//! A `*Array` holds NumPy's read-only borrow of a prepared array; `view()` lends the core's
//! view of its data (`Floats`, `Targets`, `Ints`). Signed integers and bool become the
//! unsigned type of the same width (a reinterpretation of the same memory, no copy), so every
//! core kernel is compiled for two float types only.

use crate::arrays::{readonly, slice, Prepared};
use numpy::{PyArrayDescrMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use plogp_core::{Floats, Ints, Targets};
use pyo3::prelude::*;

/// Probabilities, logits or distributions: float32 or float64.
pub enum FloatArray<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

impl<'py> FloatArray<'py> {
    pub fn new(p: &Prepared<'py>) -> PyResult<Self> {
        Ok(match p.array.dtype().itemsize() {
            4 => FloatArray::F32(readonly(p)?),
            _ => FloatArray::F64(readonly(p)?),
        })
    }

    pub fn view(&self) -> PyResult<Floats<'_>> {
        Ok(match self {
            FloatArray::F32(a) => Floats::F32(slice(a)?),
            FloatArray::F64(a) => Floats::F64(slice(a)?),
        })
    }
}

/// Labels, hard targets or group ids: bool or any integer dtype, borrowed in place.
pub enum IntArray<'py> {
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

/// Targets of binary / categorical losses: any float or integer dtype.
pub enum TargetArray<'py> {
    Float(FloatArray<'py>),
    Int(IntArray<'py>),
}

/// Borrowing an integer or target array and lending its core view: the `y_true` of a loss,
/// [`TargetArray`] (binary, categorical) or [`IntArray`] (sparse labels; also group ids), so
/// one [`crate::loss_inputs::LossInputs`] serves every loss.
pub trait Truth<'py>: Sized {
    /// The core's view of the data.
    type View<'a>: Copy + Send
    where
        Self: 'a;
    fn new(p: &Prepared<'py>) -> PyResult<Self>;
    fn view(&self) -> PyResult<Self::View<'_>>;
}

impl<'py> Truth<'py> for TargetArray<'py> {
    type View<'a>
        = Targets<'a>
    where
        Self: 'a;

    fn new(p: &Prepared<'py>) -> PyResult<Self> {
        Ok(match p.array.dtype().kind() {
            b'f' => TargetArray::Float(FloatArray::new(p)?),
            _ => TargetArray::Int(IntArray::new(p)?),
        })
    }

    fn view(&self) -> PyResult<Targets<'_>> {
        Ok(match self {
            TargetArray::Float(f) => match f.view()? {
                Floats::F32(s) => Targets::F32(s),
                Floats::F64(s) => Targets::F64(s),
            },
            TargetArray::Int(i) => Targets::Int(i.view()?),
        })
    }
}

impl<'py> Truth<'py> for IntArray<'py> {
    type View<'a>
        = Ints<'a>
    where
        Self: 'a;

    fn new(p: &Prepared<'py>) -> PyResult<Self> {
        let dtype = p.array.dtype();
        Ok(match (dtype.kind(), dtype.itemsize()) {
            (b'b', _) => IntArray::Bool(readonly(p)?),
            (b'i', 1) => IntArray::I8(readonly(p)?),
            (b'i', 2) => IntArray::I16(readonly(p)?),
            (b'i', 4) => IntArray::I32(readonly(p)?),
            (b'i', _) => IntArray::I64(readonly(p)?),
            (b'u', 1) => IntArray::U8(readonly(p)?),
            (b'u', 2) => IntArray::U16(readonly(p)?),
            (b'u', 4) => IntArray::U32(readonly(p)?),
            _ => IntArray::U64(readonly(p)?),
        })
    }

    fn view(&self) -> PyResult<Ints<'_>> {
        Ok(match self {
            IntArray::Bool(a) => slice(a)?.into(),
            IntArray::I8(a) => slice(a)?.into(),
            IntArray::I16(a) => slice(a)?.into(),
            IntArray::I32(a) => slice(a)?.into(),
            IntArray::I64(a) => slice(a)?.into(),
            IntArray::U8(a) => slice(a)?.into(),
            IntArray::U16(a) => slice(a)?.into(),
            IntArray::U32(a) => slice(a)?.into(),
            IntArray::U64(a) => slice(a)?.into(),
        })
    }
}
