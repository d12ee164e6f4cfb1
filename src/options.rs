//! Options shared by the public functions, checked while holding the GIL before any kernel runs.

use crate::arrays::{prepare, readonly, shape_str, slice, Prepared, Role};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use plogp_core::Weights;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    Sum,
    None,
}

impl Reduction {
    pub fn parse(s: &Bound<'_, PyAny>) -> PyResult<Self> {
        match s.extract::<String>().ok().as_deref() {
            Some("mean") => Ok(Reduction::Mean),
            Some("sum") => Ok(Reduction::Sum),
            Some("none") => Ok(Reduction::None),
            _ => Err(PyValueError::new_err(format!(
                "reduction must be one of 'mean', 'sum', 'none'; got {}",
                s.repr()?
            ))),
        }
    }
}

/// `eps`: "auto" (the dtype's machine epsilon, `dtype_eps`), or a real in `[0, 0.5)`.
pub fn parse_eps(eps: Option<&Bound<'_, PyAny>>, dtype_eps: f64) -> PyResult<f64> {
    let Some(eps) = eps else { return Ok(dtype_eps) };
    if let Ok(s) = eps.cast::<PyString>() {
        return if s.to_str()? == "auto" {
            Ok(dtype_eps)
        } else {
            Err(PyValueError::new_err(format!("eps must be 'auto' or a float in [0, 0.5); got {}", eps.repr()?)))
        };
    }
    let value: f64 = eps
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("eps must be 'auto' or a float in [0, 0.5); got {}", eps.repr().map(|r| r.to_string()).unwrap_or_default())))?;
    if (0.0..0.5).contains(&value) {
        Ok(value)
    } else {
        Err(PyValueError::new_err(format!("eps must be 'auto' or a float in [0, 0.5); got {value}")))
    }
}

/// `base`: None → 1 (nats), else `ln(base)` for a finite base > 0 other than 1.
pub fn parse_base(base: Option<f64>) -> PyResult<f64> {
    match base {
        None => Ok(1.0),
        Some(b) if b.is_finite() && b > 0.0 && b != 1.0 => Ok(b.ln()),
        Some(b) => Err(PyValueError::new_err(format!("base must be a positive number other than 1, got {b}"))),
    }
}

/// A validated `sample_weight` argument, borrowed as float64.
pub struct SampleWeight<'py> {
    array: Option<(PyReadonlyArrayDyn<'py, f64>, Option<usize>)>,
    _prepared: Option<Prepared<'py>>,
}

impl<'py> SampleWeight<'py> {
    /// `items` is the shape of the per-item losses (elements for binary losses, rows for
    /// categorical ones). Accepted: exactly that shape, or a 1-D array of length `items[0]`.
    pub fn new(sw: Option<&Bound<'py, PyAny>>, items: &[usize]) -> PyResult<Self> {
        let Some(sw) = sw.filter(|s| !s.is_none()) else {
            return Ok(SampleWeight { array: None, _prepared: None });
        };
        let p = prepare(sw, "sample_weight", Role::Weight, None)?;
        let shape = p.array.shape().to_vec();
        let group = if shape == items {
            None
        } else if shape.len() == 1 && items.len() >= 2 && shape[0] == items[0] {
            Some(items[1..].iter().product::<usize>().max(1))
        } else {
            let broadcast = if items.len() >= 2 { format!(" or ({},)", items[0]) } else { String::new() };
            return Err(PyValueError::new_err(format!(
                "sample_weight has shape {} but the losses have shape {}; expected {}{}",
                shape_str(&shape),
                shape_str(items),
                shape_str(items),
                broadcast
            )));
        };
        let a = readonly(&p)?;
        Ok(SampleWeight { array: Some((a, group)), _prepared: Some(p) })
    }

    pub fn weights(&self) -> PyResult<Weights<'_>> {
        Ok(match &self.array {
            None => Weights::None,
            Some((a, None)) => Weights::PerItem(slice(a)?),
            Some((a, Some(inner))) => Weights::PerGroup { w: slice(a)?, inner: *inner },
        })
    }
}

/// ValueError unless both arrays have the same shape (as passed by the caller).
pub fn same_shape(a_name: &str, a: &Prepared<'_>, b_name: &str, b: &Prepared<'_>) -> PyResult<()> {
    if a.orig_shape == b.orig_shape {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "{a_name} and {b_name} must have the same shape, got {a_name}.shape = {} and {b_name}.shape = {}",
            shape_str(&a.orig_shape),
            shape_str(&b.orig_shape)
        )))
    }
}
