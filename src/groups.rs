//! `groups=` of the three losses: one loss per group, in one pass over the data.
//!
//! The loss pyfunctions check their arguments as usual, then hand the typed slices to one of
//! [`binary`], [`categorical`] or [`sparse`], which run `plogp_core::grouped` with the loss's
//! kernel entry and return a float64 array of length `G = max(groups) + 1`: per-group
//! `Σ s·l` ("sum") or `Σ s·l / Σ s` ("mean", NaN for a group of zero weight, e.g. an id that
//! never occurs).

use std::ops::Range;

use crate::arrays::{prepare, shape_str, Prepared, Role};
use crate::options::Reduction;
use crate::views::IntArray;
use crate::{detached, unmove, value_error};
use numpy::{PyArray1, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use plogp_core::grouped::{grouped, n_groups, GroupIds};
use plogp_core::parallel::{rows_per_chunk, CHUNK_ELEMS};
use plogp_core::{
    binary, categorical, Floats, FloatsMut, Ints, NanPolicy, Targets, Totals, Weights,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// Validated group ids: an integer array of the items' shape, or 1-D of length `items[0]`
/// (broadcast along the first axis, as `sample_weight`).
pub struct Groups<'py> {
    prepared: Prepared<'py>,
    inner: usize,
}

impl<'py> Groups<'py> {
    /// `None` without `groups`. `items` is the shape of the per-item losses.
    pub fn new(
        groups: Option<&Bound<'py, PyAny>>,
        items: &[usize],
        reduction: Reduction,
    ) -> PyResult<Option<Self>> {
        let Some(groups) = groups.filter(|g| !g.is_none()) else {
            return Ok(None);
        };
        if reduction == Reduction::None {
            return Err(PyValueError::new_err(
                "groups= needs reduction='mean' or 'sum' (reduction='none' already returns \
                 one loss per item)",
            ));
        }
        let array = match groups.cast::<PyUntypedArray>() {
            Ok(a) => a.clone(),
            Err(_) => groups
                .py()
                .import("numpy")?
                .call_method1("asarray", (groups,))
                .map_err(|e| {
                    PyValueError::new_err(format!("groups could not be converted to an array: {e}"))
                })?
                .cast_into::<PyUntypedArray>()?,
        };
        let dtype = array.dtype();
        if !matches!(dtype.kind(), b'b' | b'i' | b'u') {
            let name = dtype.getattr("name")?.extract::<String>()?;
            return Err(PyTypeError::new_err(format!(
                "groups must be an integer array of group ids, got dtype {name}"
            )));
        }
        let prepared = prepare(array.as_any(), "groups", Role::Label, None)?;
        let shape = prepared.orig_shape.clone();
        let inner = if shape == items {
            1
        } else if shape.len() == 1 && items.len() >= 2 && shape[0] == items[0] {
            items[1..].iter().product::<usize>().max(1)
        } else {
            let broadcast = if items.len() >= 2 {
                format!(" or ({},)", items[0])
            } else {
                String::new()
            };
            return Err(PyValueError::new_err(format!(
                "groups has shape {} but the losses have shape {}; expected {}{}",
                shape_str(&shape),
                shape_str(items),
                shape_str(items),
                broadcast
            )));
        };
        Ok(Some(Groups { prepared, inner }))
    }
}

/// Run `kernel` (unweighted per-item losses of an item range) over every group and build the
/// result array.
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    groups: &Groups<'py>,
    reduction: Reduction,
    layout: &Prepared<'_>,
    n_items: usize,
    chunk_items: usize,
    elems_per_item: usize,
    w: Weights<'_>,
    nan: NanPolicy,
    kernel: impl Fn(Range<usize>, FloatsMut<'_>) -> plogp_core::Result<Totals> + Sync + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let inner = groups.inner;
    let work = n_items.saturating_mul(elems_per_item.max(1));
    let ids = IntArray::new(&groups.prepared)?;
    let ids = ids.view()?;
    let totals = detached(py, work, || {
        let g = n_groups(ids)?;
        let ids = GroupIds { ids, inner };
        grouped::<f64>(
            n_items,
            chunk_items,
            elems_per_item,
            ids,
            g,
            w,
            nan,
            |r, out| kernel(r, FloatsMut::F64(out)),
        )
    })
    .map_err(|e| value_error(unmove(layout)(e)))?;
    let values = match reduction {
        Reduction::Sum => totals.loss,
        _ => totals.means(),
    };
    Ok(PyArray1::from_vec(py, values).into_any())
}

/// Per-group binary cross-entropy (items = elements); `eps` is `None` for logits.
#[allow(clippy::too_many_arguments)]
pub fn binary<'py>(
    py: Python<'py>,
    groups: &Groups<'py>,
    reduction: Reduction,
    layout: &Prepared<'_>,
    y: Targets<'_>,
    p: Floats<'_>,
    eps: Option<f64>,
    w: Weights<'_>,
    nan: NanPolicy,
) -> PyResult<Bound<'py, PyAny>> {
    let (none, keep) = (Weights::None, NanPolicy::Propagate);
    let kernel = |r: Range<usize>, out: FloatsMut<'_>| {
        let (y, p) = (y.slice(r.clone()), p.slice(r));
        match eps {
            Some(eps) => binary::bce_prob(y, p, eps, none, keep, Some(out)),
            None => binary::bce_logits(y, p, none, keep, Some(out)),
        }
    };
    let n = p.len();
    run(
        py,
        groups,
        reduction,
        layout,
        n,
        CHUNK_ELEMS,
        1,
        w,
        nan,
        kernel,
    )
}

/// Per-group categorical cross-entropy of `n × c` targets and predictions (items = rows).
#[allow(clippy::too_many_arguments)]
pub fn categorical<'py>(
    py: Python<'py>,
    groups: &Groups<'py>,
    reduction: Reduction,
    layout: &Prepared<'_>,
    t: Targets<'_>,
    p: Floats<'_>,
    (n, c): (usize, usize),
    eps: Option<f64>,
    w: Weights<'_>,
    nan: NanPolicy,
) -> PyResult<Bound<'py, PyAny>> {
    let (none, keep) = (Weights::None, NanPolicy::Propagate);
    let kernel = |r: Range<usize>, out: FloatsMut<'_>| {
        let elems = r.start * c..r.end * c;
        let (t, p) = (t.slice(elems.clone()), p.slice(elems));
        match eps {
            Some(eps) => categorical::cce_prob(t, p, r.len(), c, eps, none, keep, Some(out)),
            None => categorical::cce_logits(t, p, r.len(), c, none, keep, Some(out)),
        }
    };
    run(
        py,
        groups,
        reduction,
        layout,
        n,
        rows_per_chunk(c),
        c,
        w,
        nan,
        kernel,
    )
}

/// Per-group sparse categorical cross-entropy of `n` labels and `n × c` predictions.
#[allow(clippy::too_many_arguments)]
pub fn sparse<'py>(
    py: Python<'py>,
    groups: &Groups<'py>,
    reduction: Reduction,
    layout: &Prepared<'_>,
    labels: Ints<'_>,
    p: Floats<'_>,
    (n, c): (usize, usize),
    eps: Option<f64>,
    w: Weights<'_>,
    nan: NanPolicy,
) -> PyResult<Bound<'py, PyAny>> {
    let (none, keep) = (Weights::None, NanPolicy::Propagate);
    let kernel = |r: Range<usize>, out: FloatsMut<'_>| {
        let (y, p) = (labels.slice(r.clone()), p.slice(r.start * c..r.end * c));
        match eps {
            Some(eps) => categorical::sparse_prob(y, p, r.len(), c, eps, none, keep, Some(out)),
            None => categorical::sparse_logits(y, p, r.len(), c, none, keep, Some(out)),
        }
    };
    run(
        py,
        groups,
        reduction,
        layout,
        n,
        rows_per_chunk(c),
        c,
        w,
        nan,
        kernel,
    )
}

/// `groups=` runs the plain kernels: the loss options are not available per group yet.
pub fn with_options_error() -> PyErr {
    PyValueError::new_err(
        "groups cannot be combined with pos_weight, class_weight, label_smoothing or \
         ignore_index (per-group losses support sample_weight, eps and nan_policy)",
    )
}

/// With `groups`, the per-item losses pass through a buffer of the input's float type before
/// they are added per group: widen a float32 (or float16) `y_pred` to float64 first, so that
/// float32 losses are summed unrounded, as without groups (one copy of `y_pred`).
pub fn widen<'py>(pred: Prepared<'py>, grouped: bool) -> PyResult<Prepared<'py>> {
    if !grouped || pred.array.dtype().itemsize() == 8 {
        return Ok(pred);
    }
    let wide = pred.array.call_method1("astype", ("float64",))?;
    Ok(Prepared {
        array: wide.cast_into::<PyUntypedArray>()?,
        was_f16: false,
        ..pred
    })
}
