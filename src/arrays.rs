//! Getting NumPy inputs into contiguous slices, and results back out.
//!
//! Every input goes through [`prepare`]: anything `numpy.asarray` accepts; the dtype checked
//! against the argument's role (naming the argument in the TypeError); float16 widened to
//! float32; the class axis moved last; and, only if needed, one copy to an aligned C-contiguous
//! array (strided, Fortran-ordered, misaligned or byte-swapped inputs). Arrow arrays (the
//! PyCapsule interface: pyarrow, polars) are read by `plogp._arrow`. Targets and labels of
//! every integer dtype and bool are borrowed as they are, never converted.

use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// What an argument is, which decides the dtypes it accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Probabilities or logits of a loss: floating point only.
    Float,
    /// A distribution of an information function: floating point; bool/integers → float64.
    Distribution,
    /// Targets of binary / categorical losses: floating point, bool or any integer.
    Target,
    /// Class labels: bool or any integer.
    Label,
    /// Sample weights: any real dtype, read as float64.
    Weight,
}

/// A prepared input: aligned, C-contiguous, native byte order, class axis last.
pub struct Prepared<'py> {
    pub array: Bound<'py, PyUntypedArray>,
    /// The shape as the caller passed it (before moving the class axis), for messages.
    pub orig_shape: Vec<usize>,
    /// The class axis, normalised, if one was moved last.
    pub axis: Option<usize>,
    /// The input was float16 (computed as float32, per-item results returned as float16).
    pub was_f16: bool,
    /// Set when `array` is an input with several class axes moved last and merged into one
    /// ([`crate::axes::Folded`]): the input's shape and those axes (sorted), for messages.
    pub fold: Option<Fold>,
}

/// Where the elements of a folded input came from.
#[derive(Clone, Debug)]
pub struct Fold {
    pub shape: Vec<usize>,
    pub axes: Vec<usize>,
}

impl<'py> Prepared<'py> {
    pub fn len(&self) -> usize {
        self.array.len()
    }
}

fn numpy(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("numpy")
}

/// Normalise `axis` for an array of `ndim` dimensions (NumPy's rules; ValueError otherwise).
pub fn normalize_axis(axis: isize, ndim: usize) -> PyResult<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        return Err(PyValueError::new_err(format!(
            "axis {axis} is out of bounds for an array of dimension {ndim}"
        )));
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}

/// The dtype an argument is computed in: NumPy name, kind character and item size.
#[derive(Clone, Copy)]
struct Want {
    name: &'static str,
    kind: u8,
    size: usize,
}

const fn want(name: &'static str, kind: u8, size: usize) -> Want {
    Want { name, kind, size }
}

const FLOAT32: Want = want("float32", b'f', 4);
const FLOAT64: Want = want("float64", b'f', 8);

/// The dtype this role computes in for an input of `kind`/`itemsize` (and whether the input was
/// float16), or None if the role does not accept it.
fn wanted_dtype(role: Role, kind: u8, itemsize: usize) -> Option<(Want, bool)> {
    let float = |size: usize| match size {
        2 => Some((FLOAT32, true)),
        4 => Some((FLOAT32, false)),
        8 => Some((FLOAT64, false)),
        _ => None,
    };
    let int = || {
        Some((
            match (kind, itemsize) {
                (b'b', 1) => want("bool", b'b', 1),
                (b'i', 1) => want("int8", b'i', 1),
                (b'i', 2) => want("int16", b'i', 2),
                (b'i', 4) => want("int32", b'i', 4),
                (b'i', 8) => want("int64", b'i', 8),
                (b'u', 1) => want("uint8", b'u', 1),
                (b'u', 2) => want("uint16", b'u', 2),
                (b'u', 4) => want("uint32", b'u', 4),
                (b'u', 8) => want("uint64", b'u', 8),
                _ => return None,
            },
            false,
        ))
    };
    let is_int = matches!(kind, b'b' | b'i' | b'u');
    match role {
        _ if kind == b'f' && role == Role::Weight => Some((FLOAT64, false)),
        _ if kind == b'f' && role != Role::Label => float(itemsize),
        Role::Distribution | Role::Weight if is_int => Some((FLOAT64, false)),
        Role::Target | Role::Label if is_int => int(),
        _ => None,
    }
}

fn unsupported(name: &str, role: Role, dtype: &Bound<'_, numpy::PyArrayDescr>) -> PyErr {
    let allowed = match role {
        Role::Float => "a floating-point array (float16, float32 or float64)",
        Role::Distribution => "a real array (float16/32/64, or integer/bool read as float64)",
        Role::Target => "a real array (float16/32/64, bool or any integer dtype)",
        Role::Label => "an integer array of class labels (any integer dtype or bool)",
        Role::Weight => "a real array (float, integer or bool)",
    };
    let shown = dtype
        .getattr("name")
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "?".into());
    PyTypeError::new_err(format!("{name} must be {allowed}, got dtype {shown}"))
}

/// `obj` as a NumPy array: itself if it is one, else read by `plogp._arrow` (Arrow data) or
/// `numpy.asarray`; a failed conversion names the argument.
pub fn as_array<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = obj.py();
    let arrow = |o: &Bound<'py, PyAny>| -> PyResult<bool> {
        Ok(o.hasattr("__arrow_c_array__")? || o.hasattr("__arrow_c_stream__")?)
    };
    Ok(match obj.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        // Arrow data (pyarrow, polars, ...): read by `plogp._arrow`, never as an object array.
        Err(_) if arrow(obj)? => py
            .import("plogp._arrow")?
            .call_method1("to_numpy", (obj, name))?
            .cast_into::<PyUntypedArray>()?,
        Err(_) => numpy(py)?
            .call_method1("asarray", (obj,))
            .map_err(|e| {
                let msg = format!("{name} could not be converted to an array: {e}");
                if e.is_instance_of::<PyValueError>(py) {
                    PyValueError::new_err(msg)
                } else {
                    PyTypeError::new_err(msg)
                }
            })?
            .cast_into::<PyUntypedArray>()?,
    })
}

/// Bring `obj` to an aligned, C-contiguous array of the role's dtype, with `axis` moved last.
pub fn prepare<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    role: Role,
    axis: Option<isize>,
) -> PyResult<Prepared<'py>> {
    let py = obj.py();
    let array = as_array(obj, name)?;
    let dtype = array.dtype();
    let (want, was_f16) = wanted_dtype(role, dtype.kind(), dtype.itemsize())
        .ok_or_else(|| unsupported(name, role, &dtype))?;
    let mut array = array;
    let orig_shape = array.shape().to_vec();
    let axis = axis
        .map(|a| normalize_axis(a, orig_shape.len()))
        .transpose()?;
    if let Some(axis) = axis {
        if axis + 1 != array.ndim() {
            array = numpy(py)?
                .call_method1("moveaxis", (array, axis, -1))?
                .cast_into()?;
        }
    }
    let dtype = array.dtype();
    let same_dtype = !was_f16
        && dtype.kind() == want.kind
        && dtype.itemsize() == want.size
        && dtype.is_native_byteorder() != Some(false);
    if !(same_dtype && array.is_c_contiguous() && array.is_aligned()) {
        array = numpy(py)?
            .call_method1("require", (array, want.name, "CA"))?
            .cast_into()?;
    }
    Ok(Prepared {
        array,
        orig_shape,
        axis,
        was_f16,
        fold: None,
    })
}

/// Borrow a prepared array as a typed read-only array of `T` (its dtype is `T` by construction).
pub fn readonly<'py, T: Element>(p: &Prepared<'py>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let typed = p.array.cast::<PyArrayDyn<T>>()?;
    typed
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("array is being written elsewhere: {e}")))
}

/// The contiguous data of a borrowed array.
pub fn slice<'a, T: Element>(a: &'a PyReadonlyArrayDyn<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|e| PyValueError::new_err(format!("internal: input not contiguous: {e}")))
}

/// A new uninitialised-free (zeroed) output array of `shape`.
pub fn new_output<'py, T: Element>(py: Python<'py>, shape: &[usize]) -> Bound<'py, PyArrayDyn<T>> {
    PyArrayDyn::<T>::zeros(py, shape, false)
}

/// Return an output array, cast to float16 if the input was float16.
pub fn finish_array<'py>(out: Bound<'py, PyAny>, was_f16: bool) -> PyResult<Bound<'py, PyAny>> {
    if was_f16 {
        out.call_method1("astype", ("float16",))
    } else {
        Ok(out)
    }
}

/// The shape as a Python tuple (for messages).
pub fn shape_str(shape: &[usize]) -> String {
    match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
