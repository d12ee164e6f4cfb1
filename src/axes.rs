//! Several axes at once (`axis=None`, tuples of axes) for the functions that reduce or
//! normalise along an axis: the axes are moved last (in their order in the array) and merged
//! into one, so the kernels see one class axis. NumPy's `moveaxis` and `reshape` make a view
//! where the axes already are the last ones, and one copy otherwise (as `prepare` does for a
//! class axis that is not last).

use crate::arrays::{normalize_axis, shape_str, Prepared};
use crate::options::Axes;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// An input with its axes folded into one last axis.
pub struct Folded<'py> {
    /// What to prepare: the caller's object for one integer axis, else the folded array.
    pub array: Bound<'py, PyAny>,
    /// The class axis of `array`.
    pub axis: isize,
    /// For folded axes: the input's shape, the shape after `moveaxis`, and the axes (sorted).
    moved: Option<Moved>,
}

struct Moved {
    shape: Vec<usize>,
    moved_shape: Vec<usize>,
    axes: Vec<usize>,
}

impl<'py> Folded<'py> {
    /// `obj` read along `axes`; ValueError for an axis out of range or named twice.
    pub fn new(obj: &Bound<'py, PyAny>, axes: &Axes) -> PyResult<Self> {
        let named = match axes {
            Axes::One(axis) => {
                return Ok(Folded {
                    array: obj.clone(),
                    axis: *axis,
                    moved: None,
                })
            }
            Axes::All => None,
            Axes::Many(named) => Some(named),
        };
        let np = obj.py().import("numpy")?;
        let array = np.call_method1("asarray", (obj,))?;
        let shape: Vec<usize> = array.getattr("shape")?.extract()?;
        let ndim = shape.len();
        let mut axes: Vec<usize> = match named {
            None => (0..ndim).collect(),
            Some(named) => named
                .iter()
                .map(|&a| normalize_axis(a, ndim))
                .collect::<PyResult<_>>()?,
        };
        axes.sort_unstable();
        if axes.windows(2).any(|w| w[0] == w[1]) {
            return Err(PyValueError::new_err("repeated axis in axis argument"));
        }
        let last: Vec<usize> = (ndim - axes.len()..ndim).collect();
        let moved = np.call_method1("moveaxis", (&array, axes.clone(), last))?;
        let moved_shape: Vec<usize> = moved.getattr("shape")?.extract()?;
        let mut folded: Vec<usize> = moved_shape[..ndim - axes.len()].to_vec();
        folded.push(axes.iter().map(|&a| shape[a]).product());
        Ok(Folded {
            array: moved.call_method1("reshape", (folded,))?,
            axis: -1,
            moved: Some(Moved {
                shape,
                moved_shape,
                axes,
            }),
        })
    }

    /// The shape of one value per distribution of `prepared` (the folded input): without the
    /// class axes, or with each of them kept as length 1 (`keepdims`).
    pub fn rows(&self, prepared: &Prepared<'_>, keepdims: bool) -> Vec<usize> {
        match (&self.moved, keepdims) {
            (Some(m), true) => {
                let mut kept = m.shape.clone();
                for &a in &m.axes {
                    kept[a] = 1;
                }
                kept
            }
            (Some(m), false) => m.moved_shape[..m.shape.len() - m.axes.len()].to_vec(),
            (None, keep) => {
                let mut shape = prepared.orig_shape.clone();
                match (prepared.axis, keep) {
                    (Some(axis), true) => shape[axis] = 1,
                    (Some(axis), false) => {
                        shape.remove(axis);
                    }
                    (None, _) => {}
                }
                shape
            }
        }
    }

    /// ValueError unless `self` and `other` (the two distributions of a pair function) had the
    /// same shape before folding.
    pub fn same_shape(&self, other: &Folded<'_>) -> PyResult<()> {
        match (&self.moved, &other.moved) {
            (Some(a), Some(b)) if a.shape != b.shape => Err(PyValueError::new_err(format!(
                "p and q must have the same shape, got p.shape = {} and q.shape = {}",
                shape_str(&a.shape),
                shape_str(&b.shape)
            ))),
            _ => Ok(()),
        }
    }

    /// A per-element result computed on the folded input, in the input's own layout.
    pub fn unfold(&self, out: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let Some(m) = &self.moved else {
            return Ok(out);
        };
        let np = out.py().import("numpy")?;
        let ndim = m.shape.len();
        let last: Vec<usize> = (ndim - m.axes.len()..ndim).collect();
        let moved = out.call_method1("reshape", (m.moved_shape.clone(),))?;
        let back = np.call_method1("moveaxis", (moved, last, m.axes.clone()))?;
        // `require`, not `ascontiguousarray`, which would make a 0-d result 1-d.
        np.call_method1("require", (back, py_none(out.py()), "C"))
    }
}

fn py_none(py: Python<'_>) -> Bound<'_, PyAny> {
    py.None().into_bound(py)
}
