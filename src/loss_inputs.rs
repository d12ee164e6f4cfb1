//! The shared first half of every loss binding, and the run that follows it.
//!
//! [`LossInputs`] prepares `y_pred` and `y_true` and checks their shapes, then takes the
//! steps a loss has — `eps`, `sample_weight`, the reduction and `groups=`, `pos_weight`,
//! `class_weight`, `label_smoothing`, `ignore_index` — one builder call each, so every
//! pyfunction raises its errors in the order it calls them. [`LossInputs::run`] lends the
//! kernel the core's views ([`LossViews`]) and applies the reduction: the plain kernel, or the
//! grouped one with `groups=`.

use crate::arrays::{as_array, finish_array, prepare, shape_str, Prepared, Role};
use crate::axes::Folded;
use crate::groups::{self, Groups};
use crate::loss_opts::{IgnoreIndex, LabelSmoothing, OptionArray};
use crate::options::{
    binary_shapes_fit, labels_fit_classes, same_shape, Axes, Eps, Reduction, SampleWeight,
};
use crate::views::{FloatArray, IntArray, TargetArray, Truth};
use crate::{detached, fill_new, float, is_wide, row_layout, unmove, value_error};
use numpy::{PyArray1, PyArrayDescrMethods, PyUntypedArrayMethods};
use plogp_core::grouped::{GroupIds, GroupTotals};
use plogp_core::{
    Floats, FloatsMut, LossOptions, NanPolicy, Result as CoreResult, Tally, Totals, Weights,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// How the per-item losses lie in `y_pred`.
#[derive(Clone, Copy)]
pub enum Items {
    /// One loss per element (binary losses).
    Elements,
    /// One loss per row along the class axis, already moved last (categorical losses).
    Rows,
}

/// The checked inputs of one loss call, borrowed for the kernel.
pub struct LossInputs<'py, T> {
    /// `y_pred` (or the logits) as prepared: class axis last; its dtype is the per-item
    /// losses' dtype and its layout the one kernel errors are reported in.
    pub pred: Prepared<'py>,
    /// The shape of the per-item losses.
    pub items: Vec<usize>,
    /// Rows and classes (the element count and 1 for elementwise losses).
    pub n: usize,
    pub c: usize,
    y_pred: FloatArray<'py>,
    y_true: T,
    eps: Option<f64>,
    sample_weight: SampleWeight<'py>,
    reduction: Reduction,
    groups: Option<Groups<'py>>,
    pos_weight: OptionArray<'py>,
    class_weight: OptionArray<'py>,
    label_smoothing: f64,
    ignore_index: Option<i128>,
}

/// What a kernel reads, lent by [`LossInputs`].
#[derive(Clone, Copy)]
pub struct LossViews<'a, V> {
    pub y_pred: Floats<'a>,
    pub y_true: V,
    /// Rows and classes, as in [`LossInputs`].
    pub n: usize,
    pub c: usize,
    /// The probability clip: `None` from logits.
    pub eps: Option<f64>,
    pub weights: Weights<'a>,
    pub opts: LossOptions<'a>,
}

/// The views of a [`LossInputs`] of `y_true` array type `T`, borrowed for `'s`.
type ViewsOf<'s, 'py, T> = LossViews<'s, <T as Truth<'py>>::View<'s>>;

impl<'py> LossInputs<'py, TargetArray<'py>> {
    /// Binary losses: `y_true` of `y_pred`'s shape (or one trailing axis of length 1 more or
    /// less), one loss per element.
    pub fn elementwise(y_true: &Bound<'py, PyAny>, y_pred: &Bound<'py, PyAny>) -> PyResult<Self> {
        Self::same_shape(y_true, y_pred, None)
    }

    /// Categorical losses: one-hot or soft `y_true` of `y_pred`'s shape, one loss per row
    /// along the class `axis` (several axes, or None: read as one, in C order).
    pub fn categorical(
        y_true: &Bound<'py, PyAny>,
        y_pred: &Bound<'py, PyAny>,
        axis: &Axes,
    ) -> PyResult<Self> {
        let Axes::One(axis) = axis else {
            let (t, p) = (as_array(y_true, "y_true")?, as_array(y_pred, "y_pred")?);
            if t.shape() != p.shape() {
                return Err(PyValueError::new_err(format!(
                    "y_true and y_pred must have the same shape, got y_true.shape = {} and \
                     y_pred.shape = {}",
                    shape_str(t.shape()),
                    shape_str(p.shape())
                )));
            }
            let (ft, fp) = (Folded::new(&t, axis)?, Folded::new(&p, axis)?);
            let pred = fp.mark(prepare(&fp.array, "y_pred", Role::Float, Some(-1))?);
            let targ = ft.mark(prepare(&ft.array, "y_true", Role::Target, Some(-1))?);
            return Self::from_prepared(pred, &targ, Items::Rows);
        };
        Self::same_shape(y_true, y_pred, Some(*axis))
    }

    fn same_shape(
        y_true: &Bound<'py, PyAny>,
        y_pred: &Bound<'py, PyAny>,
        axis: Option<isize>,
    ) -> PyResult<Self> {
        let pred = prepare(y_pred, "y_pred", Role::Float, axis)?;
        let targ = prepare(y_true, "y_true", Role::Target, axis)?;
        match axis {
            None => binary_shapes_fit(&targ, &pred)?,
            Some(_) => same_shape("y_true", &targ, "y_pred", &pred)?,
        }
        let items = match axis {
            None => Items::Elements,
            Some(_) => Items::Rows,
        };
        Self::from_prepared(pred, &targ, items)
    }
}

impl<'py> LossInputs<'py, IntArray<'py>> {
    /// Sparse losses: integer labels of `y_pred`'s shape without its class `axis` (or axes:
    /// a label then indexes them in C order, as `numpy.ravel_multi_index` does), one loss
    /// per row.
    pub fn sparse(
        y_true: &Bound<'py, PyAny>,
        y_pred: &Bound<'py, PyAny>,
        axis: &Axes,
    ) -> PyResult<Self> {
        let folded = Folded::new(y_pred, axis)?;
        let pred = prepare(&folded.array, "y_pred", Role::Float, Some(folded.axis))?;
        let pred = folded.mark(pred);
        let labels = prepare(y_true, "y_true", Role::Label, None)?;
        labels_fit_classes(&labels, &pred)?;
        Self::from_prepared(pred, &labels, Items::Rows)
    }
}

impl<'py, T: Truth<'py>> LossInputs<'py, T> {
    /// Inputs already prepared and checked against each other (the gradients, whose
    /// arguments and checks are their own); no weights, options or clip yet.
    pub fn from_prepared(
        pred: Prepared<'py>,
        truth: &Prepared<'py>,
        items: Items,
    ) -> PyResult<Self> {
        let (n, c, items) = match items {
            Items::Elements => (pred.len(), 1, pred.orig_shape.clone()),
            Items::Rows => row_layout(&pred),
        };
        Ok(LossInputs {
            y_pred: FloatArray::new(&pred)?,
            y_true: T::new(truth)?,
            pred,
            items,
            n,
            c,
            eps: None,
            sample_weight: SampleWeight::none(),
            reduction: Reduction::None,
            groups: None,
            pos_weight: OptionArray::none(),
            class_weight: OptionArray::none(),
            label_smoothing: 0.0,
            ignore_index: None,
        })
    }

    /// Clip probabilities at `eps` (`"auto"`: the machine epsilon of `y_pred`'s computed
    /// dtype); logits are never clipped.
    pub fn eps(mut self, eps: Eps, from_logits: bool) -> Self {
        let dtype_eps = if self.pred.array.dtype().itemsize() == 4 {
            f32::EPSILON as f64
        } else {
            f64::EPSILON
        };
        self.eps = (!from_logits).then(|| eps.resolve(dtype_eps));
        self
    }

    pub fn sample_weight(mut self, sample_weight: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        self.sample_weight = SampleWeight::new(sample_weight, &self.items)?;
        Ok(self)
    }

    /// Reduce the per-item losses by `reduction` (they are returned as they are until this
    /// is called), per group with `groups=`.
    pub fn reduce(
        mut self,
        reduction: Reduction,
        groups: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        self.groups = Groups::new(groups, &self.items, reduction)?;
        self.reduction = reduction;
        Ok(self)
    }

    pub fn pos_weight(mut self, pos_weight: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        self.pos_weight = OptionArray::pos_weight(pos_weight, &self.items)?;
        Ok(self)
    }

    pub fn class_weight(mut self, class_weight: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        self.class_weight = OptionArray::class_weight(class_weight, self.c)?;
        Ok(self)
    }

    pub fn label_smoothing(mut self, label_smoothing: LabelSmoothing) -> Self {
        self.label_smoothing = label_smoothing.0;
        self
    }

    pub fn ignore_index(mut self, ignore_index: IgnoreIndex) -> Self {
        self.ignore_index = ignore_index.0;
        self
    }

    /// What the kernel counts: the NaN policy, and for `"_tally"` the targets kept (`Σ s·y`
    /// of a binary loss, the class masses of a categorical one).
    pub fn tally(&self, nan: NanPolicy) -> Tally {
        Tally {
            nan,
            positives: self.reduction == Reduction::Tally,
        }
    }

    /// The core's views of the inputs.
    pub fn views(&self) -> PyResult<ViewsOf<'_, 'py, T>> {
        Ok(LossViews {
            y_pred: self.y_pred.view()?,
            y_true: self.y_true.view()?,
            n: self.n,
            c: self.c,
            eps: self.eps,
            weights: self.sample_weight.weights()?,
            opts: LossOptions {
                pos_weight: self.pos_weight.get()?,
                class_weight: self.class_weight.get()?,
                label_smoothing: self.label_smoothing,
                ignore_index: self.ignore_index,
            },
        })
    }

    /// Run the loss and reduce it: `grouped(views, ids, n_groups)` with `groups=` (a float64
    /// array of one loss per group), else `plain(views, out)` (per-item losses written to
    /// `out` for reduction="none", a Python float otherwise). `"_tally"` returns the tuple
    /// `(Σ s·l, Σ s, dropped, Σ s·y, class masses, ignored)` — with groups,
    /// `(Σ s·l, Σ s, items, kept, Σ s·y, class masses)` of arrays of one entry (class masses:
    /// one row) per group — that `plogp.metrics` accumulates. `cost` is the work
    /// per element of `y_pred` (2 where the kernel reads a second array of that size or does
    /// about twice the math of one pass) that decides whether the GIL is released.
    pub fn run<'s>(
        &'s self,
        cost: usize,
        plain: impl FnOnce(ViewsOf<'s, 'py, T>, Option<FloatsMut<'_>>) -> CoreResult<Totals> + Send,
        grouped: impl FnOnce(ViewsOf<'s, 'py, T>, GroupIds<'_>, usize) -> CoreResult<GroupTotals> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.pred.array.py();
        let views = self.views()?;
        let work = cost * self.pred.len();
        if let Some(g) = &self.groups {
            return groups::run(
                py,
                g,
                self.reduction,
                &self.pred,
                work,
                move |ids, n_groups| grouped(views, ids, n_groups),
            );
        }
        run_loss(
            py,
            &self.items,
            work,
            self.reduction,
            &self.pred,
            move |out| plain(views, out),
        )
    }
}

/// Run a loss kernel and apply the reduction. `items` is the shape of the per-item losses,
/// written in `layout`'s float type.
pub fn run_loss<'py>(
    py: Python<'py>,
    items: &[usize],
    work: usize,
    reduction: Reduction,
    layout: &Prepared<'_>,
    kernel: impl FnOnce(Option<FloatsMut<'_>>) -> CoreResult<Totals> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let value_error = |e| value_error(unmove(layout)(e));
    match reduction {
        Reduction::None => {
            let (out, result) = fill_new(py, items, is_wide(layout), work, |o| kernel(Some(o)))?;
            result.map_err(value_error)?;
            finish_array(out, layout.was_f16)
        }
        Reduction::Sum => {
            let t = detached(py, work, || kernel(None))?.map_err(value_error)?;
            Ok(float(py, t.loss))
        }
        Reduction::Mean => {
            let t = detached(py, work, || kernel(None))?.map_err(value_error)?;
            Ok(float(py, t.mean().map_err(value_error)?))
        }
        Reduction::Tally => {
            let t = detached(py, work, || kernel(None))?.map_err(value_error)?;
            let mass = PyArray1::from_vec(py, t.class_mass);
            Ok((t.loss, t.weight, t.dropped, t.positive, mass, t.ignored)
                .into_pyobject(py)?
                .into_any())
        }
    }
}
