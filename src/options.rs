//! Options shared by the public functions, checked while holding the GIL before any kernel runs.

use crate::arrays::{prepare, readonly, shape_str, slice, Prepared, Role};
use crate::axes::reduced_shape;
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use plogp_core::{NanPolicy, Weights};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};
use std::num::NonZeroUsize;

// Option types extract themselves, so that a bad value is a ValueError (bad value) or a
// TypeError (bad type) whose message names the argument; `None` is never silently a default.

fn type_name(obj: &Borrowed<'_, '_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    Sum,
    None,
    /// `"_tally"`, private to `plogp.metrics`: the sums and counts of a batch as a tuple
    /// (see [`crate::loss_inputs::LossInputs::run`]), from the same single pass.
    Tally,
}

impl FromPyObject<'_, '_> for Reduction {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        match obj.extract::<String>().ok().as_deref() {
            Some("mean") => Ok(Reduction::Mean),
            Some("sum") => Ok(Reduction::Sum),
            Some("none") => Ok(Reduction::None),
            Some("_tally") => Ok(Reduction::Tally),
            _ => Err(PyValueError::new_err(format!(
                "reduction must be one of 'mean', 'sum', 'none'; got {}",
                obj.repr()?
            ))),
        }
    }
}

/// `nan_policy`: "propagate" | "raise" | "omit".
pub struct NanPolicyArg(pub NanPolicy);

impl FromPyObject<'_, '_> for NanPolicyArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        match obj.extract::<String>().ok().as_deref() {
            Some("propagate") => Ok(NanPolicyArg(NanPolicy::Propagate)),
            Some("raise") => Ok(NanPolicyArg(NanPolicy::Raise)),
            Some("omit") => Ok(NanPolicyArg(NanPolicy::Omit)),
            _ => Err(PyValueError::new_err(format!(
                "nan_policy must be one of 'propagate', 'raise', 'omit'; got {}",
                obj.repr()?
            ))),
        }
    }
}

/// `eps`: "auto" (the dtype's machine epsilon) or a real number in `[0, 0.5)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Eps {
    Auto,
    Value(f64),
}

impl Eps {
    pub fn resolve(self, dtype_eps: f64) -> f64 {
        match self {
            Eps::Auto => dtype_eps,
            Eps::Value(v) => v,
        }
    }
}

impl FromPyObject<'_, '_> for Eps {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return if s.to_cow()? == "auto" {
                Ok(Eps::Auto)
            } else {
                Err(PyValueError::new_err(format!(
                    "eps must be 'auto' or a float in [0, 0.5); got {}",
                    obj.repr()?
                )))
            };
        }
        if obj.is_instance_of::<PyBool>() || obj.is_none() {
            return Err(PyTypeError::new_err(format!(
                "eps must be 'auto' or a float in [0, 0.5); got {}",
                type_name(&obj)
            )));
        }
        let value: f64 = obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "eps must be 'auto' or a float in [0, 0.5); got {}",
                type_name(&obj)
            ))
        })?;
        if (0.0..0.5).contains(&value) {
            Ok(Eps::Value(value))
        } else {
            Err(PyValueError::new_err(format!(
                "eps must be 'auto' or a float in [0, 0.5); got {value}"
            )))
        }
    }
}

/// `axis` (SciPy's and optax's convention): an integer, None (every axis: the whole array is
/// one distribution) or a tuple / list of integers.
#[derive(Debug, Clone)]
pub enum Axes {
    One(isize),
    All,
    Many(Vec<isize>),
}

impl FromPyObject<'_, '_> for Axes {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(Axes::All);
        }
        let bad = || {
            PyTypeError::new_err(format!(
                "axis must be an int, None or a tuple of ints, got {}",
                type_name(&obj)
            ))
        };
        if obj.is_instance_of::<PyBool>() {
            return Err(bad());
        }
        if let Ok(a) = obj.extract::<isize>() {
            return Ok(Axes::One(a));
        }
        if obj.is_instance_of::<PyString>() {
            return Err(bad());
        }
        let items: Vec<Bound<'_, PyAny>> = obj
            .try_iter()
            .map_err(|_| bad())?
            .collect::<PyResult<_>>()
            .map_err(|_| bad())?;
        let axes = items
            .iter()
            .map(|a| {
                if a.is_instance_of::<PyBool>() {
                    return Err(bad());
                }
                a.extract::<isize>().map_err(|_| bad())
            })
            .collect::<PyResult<Vec<_>>>()?;
        if axes.is_empty() {
            return Err(PyValueError::new_err(
                "axis must name at least one axis, got an empty tuple",
            ));
        }
        Ok(Axes::Many(axes))
    }
}

/// `base`: None (nats) or a finite number > 0 other than 1; holds `ln(base)`.
#[derive(Debug, Clone, Copy)]
pub struct LnBase(pub f64);

impl FromPyObject<'_, '_> for LnBase {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(LnBase(1.0));
        }
        let b: f64 = obj.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "base must be None or a number, got {}",
                type_name(&obj)
            ))
        })?;
        if b.is_finite() && b > 0.0 && b != 1.0 {
            Ok(LnBase(b.ln()))
        } else {
            Err(PyValueError::new_err(format!(
                "base must be a positive number other than 1, got {b}"
            )))
        }
    }
}

/// A yes/no option (`from_logits`, `keepdims`): any object, read by its truth value.
#[derive(Debug, Clone, Copy)]
pub struct Flag(pub bool);

impl FromPyObject<'_, '_> for Flag {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        obj.is_truthy().map(Flag)
    }
}

/// A validated `sample_weight` argument, borrowed as float64.
pub struct SampleWeight<'py> {
    /// The weights, `inner` of [`weight_layout`], and whether they start again (fewer weights
    /// than groups of `inner` items: `Weights::Tiled`).
    array: Option<(PyReadonlyArrayDyn<'py, f64>, Option<NonZeroUsize>, bool)>,
    _prepared: Option<Prepared<'py>>,
}

impl<'py> SampleWeight<'py> {
    pub fn none() -> Self {
        SampleWeight {
            array: None,
            _prepared: None,
        }
    }

    /// `items` is the shape of the per-item losses (elements for binary losses, rows for
    /// categorical ones); the weights' shape follows [`weight_layout`].
    pub fn new(sw: Option<&Bound<'py, PyAny>>, items: &[usize]) -> PyResult<Self> {
        let Some(sw) = sw.filter(|s| !s.is_none()) else {
            return Ok(Self::none());
        };
        let p = prepare(sw, "sample_weight", Role::Weight, None)?;
        let inner = weight_layout(p.array.shape(), items)?;
        let groups = items.iter().product::<usize>() / inner.map_or(1, |n| n.get());
        let tiled = inner.is_some() && p.array.len() < groups;
        let a = readonly(&p)?;
        Ok(SampleWeight {
            array: Some((a, inner, tiled)),
            _prepared: Some(p),
        })
    }

    pub fn weights(&self) -> PyResult<Weights<'_>> {
        Ok(match &self.array {
            None => Weights::None,
            Some((a, None, _)) => Weights::PerItem(slice(a)?),
            Some((a, Some(inner), tiled)) => {
                let w = slice(a)?;
                match NonZeroUsize::new(w.len()).filter(|_| *tiled) {
                    Some(len) => Weights::Tiled {
                        w,
                        inner: *inner,
                        len,
                    },
                    None => Weights::PerGroup { w, inner: *inner },
                }
            }
        })
    }
}

/// The shape rule of the arrays with one value per item (`sample_weight`, `groups`): exactly
/// the items' shape `items` (`None`), or 1-D of length `items[0]` broadcast along the first
/// axis (`Some(inner)`: each value covers `inner` consecutive items; an empty item axis has no
/// items to cover, and any `inner` will do). ValueError naming `name` otherwise.
pub fn per_item(name: &str, shape: &[usize], items: &[usize]) -> PyResult<Option<NonZeroUsize>> {
    if shape == items {
        return Ok(None);
    }
    if shape.len() == 1 && items.len() >= 2 && shape[0] == items[0] {
        let inner = items[1..].iter().product::<usize>();
        return Ok(Some(NonZeroUsize::new(inner).unwrap_or(NonZeroUsize::MIN)));
    }
    let broadcast = if items.len() >= 2 {
        format!(" or ({},)", items[0])
    } else {
        String::new()
    };
    Err(PyValueError::new_err(format!(
        "{name} has shape {} but the losses have shape {}; expected {}{}",
        shape_str(shape),
        shape_str(items),
        shape_str(items),
        broadcast
    )))
}

/// How `sample_weight` of shape `shape` covers the items (shape `items`), as the kernels'
/// `Weights::PerGroup { w, inner }` reads it (`Weights::Tiled` where the weights start again:
/// item `i` has weight `w[(i / inner) % w.len()]`): `None` for the items' shape, else
/// `Some(inner)`. Two rules, the first that applies:
/// - leading axes: `shape` without its trailing 1s is the first axes of `items` — a scalar,
///   `(N,)` or `(N, 1)` over `(N, …)` (Keras' and scikit-learn's per-sample weights, also
///   `(N, 1)` over `(N,)`);
/// - NumPy broadcasting whose non-1 axes of `shape` are one block of consecutive axes of
///   `items` — `(C,)` or `(1, C)` over `(N, C)` (PyTorch's `weight=`), `(T, 1)` over
///   `(N, T, C)`: the weights start again every block.
///
/// Both read the array as passed, without a copy. Any other shape is a ValueError naming
/// `sample_weight`, including a NumPy broadcast with gaps (`(N, 1, C)` over `(N, T, C)`).
pub fn weight_layout(shape: &[usize], items: &[usize]) -> PyResult<Option<NonZeroUsize>> {
    if shape == items {
        return Ok(None);
    }
    let inner = |from: usize| {
        let n = items[from..].iter().product::<usize>();
        Some(NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN))
    };
    let mut lead = shape;
    while let [rest @ .., 1] = lead {
        lead = rest;
    }
    if items.starts_with(lead) {
        return Ok(inner(lead.len()));
    }
    if shape.len() <= items.len() {
        // Right-aligned: every axis equal or 1; the axes where the weights vary (equal and
        // not 1) must be consecutive.
        let offset = items.len() - shape.len();
        let aligned = |k: usize| if k < offset { 1 } else { shape[k - offset] };
        let fits = (0..items.len()).all(|k| aligned(k) == items[k] || aligned(k) == 1);
        let varies: Vec<usize> = (0..items.len())
            .filter(|&k| items[k] != 1 && aligned(k) == items[k])
            .collect();
        if let (true, Some(&first), Some(&last)) = (fits, varies.first(), varies.last()) {
            // Axes of length 1 inside the block do not break it.
            if (first..=last).all(|k| items[k] == 1 || aligned(k) == items[k]) {
                return Ok(inner(last + 1));
            }
        }
    }
    let broadcast = if items.len() >= 2 {
        format!(", ({},)", items[0])
    } else {
        String::new()
    };
    Err(PyValueError::new_err(format!(
        "sample_weight has shape {} but the losses have shape {}; expected {}{}, a scalar, or a \
         shape that broadcasts to {} over one block of consecutive axes",
        shape_str(shape),
        shape_str(items),
        shape_str(items),
        broadcast,
        shape_str(items),
    )))
}

/// ValueError unless the integer labels have `pred`'s shape without its class axis, or with
/// a class axis of length 1 (Keras' `(N, 1)` labels for `(N, C)` predictions, squeezed): one
/// label per row of predictions in the sparse losses. Both shapes lay the labels out alike.
pub fn labels_fit_classes(labels: &Prepared<'_>, pred: &Prepared<'_>) -> PyResult<()> {
    let (shape, class) = match (&pred.fold, pred.axis) {
        (Some(fold), _) => (&fold.shape, fold.axes.clone()),
        (None, axis) => (&pred.orig_shape, axis.into_iter().collect()),
    };
    let expected = reduced_shape(shape, &class, false);
    let kept_axis = reduced_shape(shape, &class, true);
    if labels.orig_shape == expected || labels.orig_shape == kept_axis {
        return Ok(());
    }
    Err(PyValueError::new_err(format!(
        "y_true must have the shape of y_pred without its class axis: y_true.shape = {} but \
         y_pred.shape = {} (expected y_true.shape = {} or {})",
        shape_str(&labels.orig_shape),
        shape_str(shape),
        shape_str(&expected),
        shape_str(&kept_axis)
    )))
}

/// ValueError unless the targets of a binary loss fit the predictions: the same shape, or
/// one trailing axis of length 1 more or less (Keras squeezes it: `(N,)` targets against
/// `(N, 1)` predictions, which NumPy would broadcast to `(N, N)`). Both are read as flat runs
/// of the same elements, so no reshape is needed.
pub fn binary_shapes_fit(targets: &Prepared<'_>, pred: &Prepared<'_>) -> PyResult<()> {
    let (t, p) = (&targets.orig_shape, &pred.orig_shape);
    let squeezed = |long: &[usize], short: &[usize]| long.split_last() == Some((&1, short));
    if squeezed(t, p) || squeezed(p, t) {
        return Ok(());
    }
    same_shape("y_true", targets, "y_pred", pred)
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
