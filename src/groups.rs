//! `groups=` of the three losses: one loss per group, in one pass over the data.
//!
//! The loss pyfunctions check their arguments as usual, then [`run`] calls the loss's entry in
//! `plogp_core::grouped` (every option composes) and returns a float64 array of length
//! `G = max(groups) + 1`: per-group `Σ s·l` ("sum") or `Σ s·l / Σ s` ("mean", NaN for a group
//! of zero weight, e.g. an id that never occurs), or for `plogp.metrics`' private `"_tally"`
//! the tuple of per-group sums and counts.

use crate::arrays::{prepare, Prepared, Role};
use crate::options::{per_item, Reduction};
use crate::views::{IntArray, Truth};
use crate::{detached, unmove, value_error};
use numpy::{PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use plogp_core::grouped::{n_groups, GroupIds, GroupTotals};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// Validated group ids: an integer array shaped by the per-item rule of `sample_weight`
/// ([`per_item`]).
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
        let inner = per_item("groups", &prepared.orig_shape, items)?.map_or(1, |n| n.get());
        Ok(Some(Groups { prepared, inner }))
    }
}

/// One loss per group: `Σ s·l` ("sum") or `Σ s·l / Σ s` ("mean") as a float64 array of
/// length `G`. `kernel(ids, n_groups)` runs one of `plogp_core::grouped::{binary,
/// categorical, sparse}` (GIL released above the threshold for `work` elements).
pub fn run<'py>(
    py: Python<'py>,
    groups: &Groups<'py>,
    reduction: Reduction,
    layout: &Prepared<'_>,
    work: usize,
    kernel: impl FnOnce(GroupIds<'_>, usize) -> plogp_core::Result<GroupTotals> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let inner = groups.inner;
    let ids = IntArray::new(&groups.prepared)?;
    let ids = ids.view()?;
    let totals = detached(py, work, || kernel(GroupIds { ids, inner }, n_groups(ids)?))?
        .map_err(|e| value_error(unmove(layout)(e)))?;
    let values = match reduction {
        Reduction::Sum => totals.loss,
        Reduction::Tally => {
            let array = |v: Vec<f64>| PyArray1::from_vec(py, v).into_any();
            // int64, as NumPy counts (u64 would turn sums with int64 into floats).
            let count = |v: Vec<u64>| {
                let v: Vec<i64> = v.into_iter().map(|k| k as i64).collect();
                PyArray1::from_vec(py, v).into_any()
            };
            // The class masses as (groups, classes); (groups, 0) for the binary losses.
            let n = totals.loss.len();
            let classes = totals.class_mass.len().checked_div(n).unwrap_or(0);
            let mass = PyArray1::from_vec(py, totals.class_mass).reshape([n, classes])?;
            let tally = (
                array(totals.loss),
                array(totals.weight),
                count(totals.items),
                count(totals.kept),
                array(totals.positive),
                mass.into_any(),
            );
            return Ok(tally.into_pyobject(py)?.into_any());
        }
        _ => totals.means(),
    };
    Ok(PyArray1::from_vec(py, values).into_any())
}
