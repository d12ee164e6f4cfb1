//! Bindings of `plogp.grad`: gradients (and diagonal Hessians) of cross-entropy with respect
//! to the logits, written into new arrays or into caller-provided `out=` arrays.

use crate::arrays::{self, prepare, shape_str, Role};
use crate::options::{same_shape, Flag, SampleWeight};
use crate::views::{FloatArray, IntArray, TargetArray, Truth};
use crate::{detached, row_layout, value_error};
use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use plogp_core::input::FloatElement;
use plogp_core::{grad, Floats, FloatsMut};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

type Out<'py, P> = Bound<'py, PyArrayDyn<P>>;

fn dtype_name<P: Element>(py: Python<'_>) -> String {
    P::get_dtype(py)
        .getattr("name")
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "?".into())
}

/// One `out` array: an ndarray of dtype `P` and `shape`, C-contiguous and writeable, sharing
/// no memory with any of `inputs`.
fn checked_out<'py, P: Element>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    shape: &[usize],
    inputs: &[&Bound<'py, PyAny>],
) -> PyResult<Out<'py, P>> {
    let py = obj.py();
    let want = dtype_name::<P>(py);
    let Ok(a) = obj.cast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a numpy.ndarray of dtype {want}, got {}",
            obj.get_type().name()?
        )));
    };
    let got = a.dtype();
    if !got.is_equiv_to(&P::get_dtype(py)) {
        return Err(PyTypeError::new_err(format!(
            "{what} must have dtype {want}, got {}",
            got.getattr("name")?
        )));
    }
    if a.shape() != shape {
        return Err(PyValueError::new_err(format!(
            "{what} must have the shape of logits {}, got {}",
            shape_str(shape),
            shape_str(a.shape())
        )));
    }
    if !a.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{what} must be C-contiguous"
        )));
    }
    if !a
        .getattr("flags")?
        .getattr("writeable")?
        .extract::<bool>()?
    {
        return Err(PyValueError::new_err(format!("{what} must be writeable")));
    }
    let np = py.import("numpy")?;
    for input in inputs {
        if np
            .call_method1("may_share_memory", (obj, *input))?
            .extract::<bool>()?
        {
            return Err(PyValueError::new_err(format!(
                "{what} must not share memory with an input array"
            )));
        }
    }
    Ok(a.cast::<PyArrayDyn<P>>()?.clone())
}

/// The gradient array and, when `hessian`, the Hessian array: new, or the checked `out`.
fn outputs<'py, P: Element>(
    py: Python<'py>,
    out: Option<&Bound<'py, PyAny>>,
    shape: &[usize],
    hessian: bool,
    inputs: &[&Bound<'py, PyAny>],
) -> PyResult<(Out<'py, P>, Option<Out<'py, P>>)> {
    let Some(out) = out.filter(|o| !o.is_none()) else {
        let g = arrays::new_output::<P>(py, shape);
        let h = hessian.then(|| arrays::new_output::<P>(py, shape));
        return Ok((g, h));
    };
    if !hessian {
        return Ok((checked_out::<P>(out, "out", shape, inputs)?, None));
    }
    let pair = if out.is_instance_of::<PyTuple>() || out.is_instance_of::<PyList>() {
        out.len()? == 2
    } else {
        false
    };
    if !pair {
        return Err(PyTypeError::new_err(
            "out must be a (gradient, hessian) tuple of two arrays when hessian=True",
        ));
    }
    let (go, ho) = (out.get_item(0)?, out.get_item(1)?);
    let g = checked_out::<P>(&go, "out[0]", shape, inputs)?;
    let h = checked_out::<P>(&ho, "out[1]", shape, inputs)?;
    if py
        .import("numpy")?
        .call_method1("may_share_memory", (&go, &ho))?
        .extract::<bool>()?
    {
        return Err(PyValueError::new_err(
            "out[0] and out[1] must not share memory",
        ));
    }
    Ok((g, Some(h)))
}

/// Fill `g` (and `h`) with `kernel` (GIL released for large inputs) and return `g` or `(g, h)`.
fn fill<'py, P: Element + Send>(
    py: Python<'py>,
    g: Out<'py, P>,
    h: Option<Out<'py, P>>,
    work: usize,
    kernel: impl FnOnce(&mut [P], Option<&mut [P]>) -> plogp_core::Result<()> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    {
        let mut gw = g
            .try_readwrite()
            .map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
        let mut hw = h
            .as_ref()
            .map(|h| h.try_readwrite())
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
        let gs = gw
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
        let hs = match hw.as_mut() {
            Some(hw) => Some(
                hw.as_slice_mut()
                    .map_err(|e| PyValueError::new_err(format!("out: {e}")))?,
            ),
            None => None,
        };
        detached(py, work, || kernel(gs, hs))?.map_err(value_error)?;
    }
    Ok(match h {
        Some(h) => PyTuple::new(py, [g.into_any(), h.into_any()])?.into_any(),
        None => g.into_any(),
    })
}

/// Where and how a gradient is written: the caller's `out=` (or new arrays) of the logits'
/// shape and float type.
struct Write<'a, 'py> {
    out: Option<&'a Bound<'py, PyAny>>,
    shape: &'a [usize],
    hessian: bool,
    inputs: &'a [&'a Bound<'py, PyAny>],
    work: usize,
}

impl<'py> Write<'_, 'py> {
    fn run(
        &self,
        py: Python<'py>,
        z: Floats<'_>,
        kernel: impl FnOnce(FloatsMut<'_>, Option<FloatsMut<'_>>) -> plogp_core::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        match z {
            Floats::F32(_) => self.typed::<f32>(py, kernel),
            Floats::F64(_) => self.typed::<f64>(py, kernel),
        }
    }

    fn typed<P: Element + FloatElement + Send>(
        &self,
        py: Python<'py>,
        kernel: impl FnOnce(FloatsMut<'_>, Option<FloatsMut<'_>>) -> plogp_core::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (g, h) = outputs::<P>(py, self.out, self.shape, self.hessian, self.inputs)?;
        fill(py, g, h, self.work, |g, h| {
            kernel(P::floats_mut(g), h.map(P::floats_mut))
        })
    }
}

fn inputs<'a, 'py>(
    a: &'a Bound<'py, PyAny>,
    b: &'a Bound<'py, PyAny>,
    c: Option<&'a Bound<'py, PyAny>>,
) -> Vec<&'a Bound<'py, PyAny>> {
    let mut v = vec![a, b];
    v.extend(c.filter(|c| !c.is_none()));
    v
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/grad_binary_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, logits, *, sample_weight = None, hessian = Flag(false), out = None),
    text_signature = "(y_true, logits, *, sample_weight=None, hessian=False, out=None)"
)]
pub fn grad_binary_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    logits: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    hessian: Flag,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = logits.py();
    let za = prepare(logits, "logits", Role::Float, None)?;
    let ya = prepare(y_true, "y_true", Role::Target, None)?;
    same_shape("y_true", &ya, "logits", &za)?;
    let shape = za.orig_shape.clone();
    let sw = SampleWeight::new(sample_weight, &shape)?;
    let w = sw.weights()?;
    let srcs = inputs(y_true, logits, sample_weight);
    let n = za.len();
    let (zv, yv) = (FloatArray::new(&za)?, TargetArray::new(&ya)?);
    let (z, y) = (zv.view()?, yv.view()?);
    let write = Write {
        out,
        shape: &shape,
        hessian: hessian.0,
        inputs: &srcs,
        work: n,
    };
    write.run(py, z, |g, h| grad::binary_logits(y, z, w, g, h))
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/grad_softmax_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (labels, logits, *, sample_weight = None, hessian = Flag(false), out = None),
    text_signature = "(labels, logits, *, sample_weight=None, hessian=False, out=None)"
)]
pub fn grad_softmax_cross_entropy<'py>(
    labels: &Bound<'py, PyAny>,
    logits: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    hessian: Flag,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = logits.py();
    let za = prepare(logits, "logits", Role::Float, None)?;
    if za.orig_shape.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "logits must be a 2-D array (n_samples, n_classes), got shape {}",
            shape_str(&za.orig_shape)
        )));
    }
    let la = prepare(labels, "labels", Role::Label, None)?;
    let (n, c, rows) = row_layout(&za);
    if la.orig_shape != rows {
        return Err(PyValueError::new_err(format!(
            "labels must have shape ({n},) for logits of shape {}, got {}",
            shape_str(&za.orig_shape),
            shape_str(&la.orig_shape)
        )));
    }
    let sw = SampleWeight::new(sample_weight, &rows)?;
    let w = sw.weights()?;
    let srcs = inputs(labels, logits, sample_weight);
    let shape = za.orig_shape.clone();
    let (zv, yv) = (FloatArray::new(&za)?, IntArray::new(&la)?);
    let (z, y) = (zv.view()?, yv.view()?);
    let write = Write {
        out,
        shape: &shape,
        hessian: hessian.0,
        inputs: &srcs,
        work: 2 * za.len(),
    };
    write.run(py, z, |g, h| grad::softmax_logits(y, z, n, c, w, g, h))
}
