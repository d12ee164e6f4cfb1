//! Bindings of `plogp.grad`: gradients (and diagonal Hessians) of cross-entropy with respect
//! to the logits, written into new arrays or into caller-provided `out=` arrays.

use crate::arrays::{self, prepare, shape_str, Role};
use crate::loss_inputs::{Items, LossInputs};
use crate::options::{same_shape, Flag};
use crate::views::{IntArray, TargetArray};
use crate::{detached, value_error};
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
    py: Python<'py>,
    out: Option<&'a Bound<'py, PyAny>>,
    shape: &'a [usize],
    hessian: bool,
    /// The call's input arrays, which `out` must not overlap.
    inputs: Vec<&'a Bound<'py, PyAny>>,
    work: usize,
}

impl<'a, 'py> Write<'a, 'py> {
    /// The gradient of `x`'s logits; `cost` is the work per logit, as in
    /// [`LossInputs::run`].
    fn new<T>(
        out: Option<&'a Bound<'py, PyAny>>,
        x: &'a LossInputs<'py, T>,
        hessian: Flag,
        arrays: [&'a Bound<'py, PyAny>; 2],
        sample_weight: Option<&'a Bound<'py, PyAny>>,
        cost: usize,
    ) -> Self {
        let mut inputs = arrays.to_vec();
        inputs.extend(sample_weight.filter(|s| !s.is_none()));
        Write {
            py: x.pred.array.py(),
            out,
            shape: &x.pred.orig_shape,
            hessian: hessian.0,
            inputs,
            work: cost * x.pred.len(),
        }
    }

    fn run(
        &self,
        z: Floats<'_>,
        kernel: impl FnOnce(FloatsMut<'_>, Option<FloatsMut<'_>>) -> plogp_core::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        match z {
            Floats::F32(_) => self.typed::<f32>(kernel),
            Floats::F64(_) => self.typed::<f64>(kernel),
        }
    }

    fn typed<P: Element + FloatElement + Send>(
        &self,
        kernel: impl FnOnce(FloatsMut<'_>, Option<FloatsMut<'_>>) -> plogp_core::Result<()> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let (g, h) = outputs::<P>(py, self.out, self.shape, self.hessian, &self.inputs)?;
        fill(py, g, h, self.work, |g, h| {
            kernel(P::floats_mut(g), h.map(P::floats_mut))
        })
    }
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
    let za = prepare(logits, "logits", Role::Float, None)?;
    let ya = prepare(y_true, "y_true", Role::Target, None)?;
    same_shape("y_true", &ya, "logits", &za)?;
    let inputs = LossInputs::<TargetArray>::from_prepared(za, &ya, Items::Elements)?
        .sample_weight(sample_weight)?;
    let v = inputs.views()?;
    let write = Write::new(out, &inputs, hessian, [y_true, logits], sample_weight, 1);
    write.run(v.y_pred, |g, h| {
        grad::binary_logits(v.y_true, v.y_pred, v.weights, g, h)
    })
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
    let za = prepare(logits, "logits", Role::Float, None)?;
    if za.orig_shape.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "logits must be a 2-D array (n_samples, n_classes), got shape {}",
            shape_str(&za.orig_shape)
        )));
    }
    let la = prepare(labels, "labels", Role::Label, None)?;
    let inputs = LossInputs::<IntArray>::from_prepared(za, &la, Items::Rows)?;
    if la.orig_shape != inputs.items {
        return Err(PyValueError::new_err(format!(
            "labels must have shape ({},) for logits of shape {}, got {}",
            inputs.n,
            shape_str(&inputs.pred.orig_shape),
            shape_str(&la.orig_shape)
        )));
    }
    let inputs = inputs.sample_weight(sample_weight)?;
    let v = inputs.views()?;
    let write = Write::new(out, &inputs, hessian, [labels, logits], sample_weight, 2);
    write.run(v.y_pred, |g, h| {
        grad::softmax_logits(v.y_true, v.y_pred, v.n, v.c, v.weights, g, h)
    })
}
