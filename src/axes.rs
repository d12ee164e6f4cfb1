//! Several axes at once (`axis=None`, tuples of axes) for the functions that reduce or
//! normalise along an axis: the axes are moved last (in their order in the array) and merged
//! into one, so the kernels see one class axis. NumPy's `moveaxis` and `reshape` make a view
//! where the axes already are the last ones, and one copy otherwise (as `prepare` does for a
//! class axis that is not last).

use crate::arrays::{as_array, normalize_axis, shape_str, Fold, Prepared};
use crate::options::Axes;
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
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
        if let Axes::One(axis) = axes {
            return Ok(Folded {
                array: obj.clone(),
                axis: *axis,
                moved: None,
            });
        }
        let np = obj.py().import("numpy")?;
        let array = np.call_method1("asarray", (obj,))?;
        let shape: Vec<usize> = array.getattr("shape")?.extract()?;
        let ndim = shape.len();
        let axes = class_axes(axes, ndim)?;
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

    /// `array` prepared by `prepare` (a [`Prepared`] of the folded array), told where its
    /// elements came from, so that kernel errors name the caller's flat index.
    pub fn mark(&self, mut prepared: Prepared<'py>) -> Prepared<'py> {
        prepared.fold = self.moved.as_ref().map(|m| Fold {
            shape: m.shape.clone(),
            axes: m.axes.clone(),
        });
        prepared
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

/// The axes that `axes` names in an array of `ndim` axes, in increasing order; ValueError for
/// an axis out of range or named twice.
pub fn class_axes(axes: &Axes, ndim: usize) -> PyResult<Vec<usize>> {
    let mut named: Vec<usize> = match axes {
        Axes::One(axis) => vec![normalize_axis(*axis, ndim)?],
        Axes::All => (0..ndim).collect(),
        Axes::Many(named) => named
            .iter()
            .map(|&a| normalize_axis(a, ndim))
            .collect::<PyResult<_>>()?,
    };
    named.sort_unstable();
    if named.windows(2).any(|w| w[0] == w[1]) {
        return Err(PyValueError::new_err("repeated axis in axis argument"));
    }
    Ok(named)
}

/// `shape` without the axes `class` (sorted), or with each of them kept as length 1.
pub fn reduced_shape(shape: &[usize], class: &[usize], keepdims: bool) -> Vec<usize> {
    let kept = shape.iter().enumerate();
    match keepdims {
        true => kept
            .map(|(d, &n)| if class.contains(&d) { 1 } else { n })
            .collect(),
        false => kept
            .filter(|(d, _)| !class.contains(d))
            .map(|(_, &n)| n)
            .collect(),
    }
}

/// The two distributions of a pair function, broadcast against each other by NumPy's rules.
pub struct PairOperands<'py> {
    /// `p` and `q` as arrays with as many axes as `shape` (leading axes of length 1 added, a
    /// view): what [`Folded::new`] reads.
    pub p: Bound<'py, PyAny>,
    pub q: Bound<'py, PyAny>,
    /// The broadcast shape.
    pub shape: Vec<usize>,
    /// The axes of `shape` that hold the distributions (sorted).
    pub class: Vec<usize>,
}

impl<'py> PairOperands<'py> {
    /// `p` and `q` broadcast over their rows; ValueError for shapes that do not broadcast, or
    /// that differ along an axis of the distributions (a distribution is never repeated
    /// along its own axis).
    pub fn new(p: &Bound<'py, PyAny>, q: &Bound<'py, PyAny>, axes: &Axes) -> PyResult<Self> {
        let (p, q) = (as_array(p, "p")?, as_array(q, "q")?);
        let (ps, qs) = (p.shape().to_vec(), q.shape().to_vec());
        let ndim = ps.len().max(qs.len());
        let padded = |s: &[usize]| [vec![1; ndim - s.len()], s.to_vec()].concat();
        let (pp, qp) = (padded(&ps), padded(&qs));
        let shapes = || {
            format!(
                "p.shape = {} and q.shape = {}",
                shape_str(&ps),
                shape_str(&qs)
            )
        };
        let shape = pp
            .iter()
            .zip(&qp)
            .map(|(&a, &b)| match (a, b) {
                _ if a == b => Ok(a),
                (1, b) => Ok(b),
                (a, 1) => Ok(a),
                _ => Err(PyValueError::new_err(format!(
                    "p and q must broadcast against each other, got {}",
                    shapes()
                ))),
            })
            .collect::<PyResult<Vec<usize>>>()?;
        let class = class_axes(axes, ndim)?;
        if class.iter().any(|&d| pp[d] != qp[d]) {
            return Err(PyValueError::new_err(format!(
                "p and q must have the same length along axis, got {}",
                shapes()
            )));
        }
        let pad = |a: Bound<'py, PyUntypedArray>, s: &[usize], padded: &[usize]| match s.len()
            == padded.len()
        {
            true => Ok(a.into_any()),
            false => a.call_method1("reshape", (padded.to_vec(),)),
        };
        Ok(PairOperands {
            p: pad(p, &ps, &pp)?,
            q: pad(q, &qs, &qp)?,
            shape,
            class,
        })
    }
}

fn py_none(py: Python<'_>) -> Bound<'_, PyAny> {
    py.None().into_bound(py)
}
