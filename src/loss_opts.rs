//! The loss options `pos_weight`, `class_weight`, `label_smoothing`, `ignore_index`, checked
//! while holding the GIL and handed to the kernels as a [`plogp_core::LossOptions`].

use crate::arrays::{prepare, readonly, shape_str, slice, Prepared, Role};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

fn type_name(obj: &Borrowed<'_, '_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `label_smoothing`: a real number in `[0, 1]`.
#[derive(Debug, Clone, Copy)]
pub struct LabelSmoothing(pub f64);

impl FromPyObject<'_, '_> for LabelSmoothing {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        let wrong_type = || {
            PyTypeError::new_err(format!(
                "label_smoothing must be a float in [0, 1], got {}",
                type_name(&obj)
            ))
        };
        if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyString>() || obj.is_none() {
            return Err(wrong_type());
        }
        let v: f64 = obj.extract().map_err(|_| wrong_type())?;
        if (0.0..=1.0).contains(&v) {
            Ok(LabelSmoothing(v))
        } else {
            Err(PyValueError::new_err(format!(
                "label_smoothing must be in [0, 1], got {v}"
            )))
        }
    }
}

/// `ignore_index`: None or an integer label value.
#[derive(Debug, Clone, Copy)]
pub struct IgnoreIndex(pub Option<i128>);

impl FromPyObject<'_, '_> for IgnoreIndex {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(IgnoreIndex(None));
        }
        if obj.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(
                "ignore_index must be an int or None, got bool",
            ));
        }
        let index = obj
            .call_method0("__index__")
            .and_then(|i| i.extract::<i128>())
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "ignore_index must be an int or None, got {}",
                    type_name(&obj)
                ))
            })?;
        Ok(IgnoreIndex(Some(index)))
    }
}

/// A small float64 option array (`pos_weight`, `class_weight`), values checked finite, >= 0.
pub struct OptionArray<'py> {
    array: Option<PyReadonlyArrayDyn<'py, f64>>,
    _prepared: Option<Prepared<'py>>,
}

impl<'py> OptionArray<'py> {
    pub fn none() -> Self {
        OptionArray {
            array: None,
            _prepared: None,
        }
    }

    fn load(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<(Prepared<'py>, Vec<usize>)> {
        let p = prepare(obj, name, Role::Weight, None)?;
        let shape = p.array.shape().to_vec();
        Ok((p, shape))
    }

    fn finish(p: Prepared<'py>, name: &str) -> PyResult<Self> {
        let a = readonly::<f64>(&p)?;
        if let Some(i) = slice(&a)?
            .iter()
            .position(|w| !(0.0..=f64::MAX).contains(w))
        {
            return Err(PyValueError::new_err(format!(
                "{name} must be finite and non-negative; found {name}[{i}] = {}",
                slice(&a)?[i]
            )));
        }
        Ok(OptionArray {
            array: Some(a),
            _prepared: Some(p),
        })
    }

    /// `pos_weight`: a scalar, or an array whose shape (leading length-1 dimensions dropped)
    /// equals the trailing dimensions of `y_pred` (`(C,)` for `(N, C)` multilabel input).
    pub fn pos_weight(obj: Option<&Bound<'py, PyAny>>, pred_shape: &[usize]) -> PyResult<Self> {
        let Some(obj) = obj.filter(|o| !o.is_none()) else {
            return Ok(Self::none());
        };
        let (p, shape) = Self::load(obj, "pos_weight")?;
        let first = shape.iter().position(|&d| d != 1).unwrap_or(shape.len());
        let core = &shape[first..];
        if core.len() > pred_shape.len() || pred_shape[pred_shape.len() - core.len()..] != *core {
            return Err(PyValueError::new_err(format!(
                "pos_weight has shape {} but must be a scalar or match the trailing dimensions \
                 of y_pred.shape = {}",
                shape_str(&shape),
                shape_str(pred_shape)
            )));
        }
        if p.len() == 0 {
            return Ok(Self::none()); // y_pred is empty too
        }
        Self::finish(p, "pos_weight")
    }

    /// `class_weight`: a 1-D array of one weight per class.
    pub fn class_weight(obj: Option<&Bound<'py, PyAny>>, n_classes: usize) -> PyResult<Self> {
        let Some(obj) = obj.filter(|o| !o.is_none()) else {
            return Ok(Self::none());
        };
        let (p, shape) = Self::load(obj, "class_weight")?;
        if shape.len() != 1 || shape[0] != n_classes {
            return Err(PyValueError::new_err(format!(
                "class_weight must be 1-D with one weight per class: class_weight.shape = {} \
                 but y_pred has {n_classes} classes",
                shape_str(&shape)
            )));
        }
        Self::finish(p, "class_weight")
    }

    pub fn get(&self) -> PyResult<Option<&[f64]>> {
        self.array.as_ref().map(|a| slice(a)).transpose()
    }
}
