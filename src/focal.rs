//! Bindings of the focal losses: `binary_focal_cross_entropy`,
//! `categorical_focal_cross_entropy` and `sparse_categorical_focal_cross_entropy`. Same steps
//! as the plain losses in `lib.rs`, plus the `gamma`, `alpha`, `ignore_index` and
//! `label_smoothing` options.

use crate::arrays::{self, prepare, readonly, Role};
use crate::loss_inputs::LossInputs;
use crate::loss_opts::LabelSmoothing;
use crate::options::{Axes, Eps, Flag, NanPolicyArg, Reduction};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use plogp_core::focal::{self, ClassAlpha, Focus, SparseFocus};
use plogp_core::grouped;
use plogp_core::NanPolicy;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A real number option (not bool, not None): TypeError naming `name` otherwise.
fn real(obj: &Bound<'_, PyAny>, name: &str, what: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyBool>() || obj.is_none() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be {what}, got {}",
            type_name(obj)
        )));
    }
    obj.extract::<f64>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be {what}, got {}", type_name(obj))))
}

/// `gamma`: a finite real ≥ 0.
pub struct Gamma(pub f64);

impl FromPyObject<'_, '_> for Gamma {
    type Error = PyErr;
    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        let g = real(&obj, "gamma", "a finite number >= 0")?;
        if g.is_finite() && g >= 0.0 {
            Ok(Gamma(g))
        } else {
            Err(PyValueError::new_err(format!(
                "gamma must be a finite number >= 0, got {g}"
            )))
        }
    }
}

fn binary_alpha(alpha: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    let Some(a) = alpha.filter(|a| !a.is_none()) else {
        return Ok(None);
    };
    let v = real(a, "alpha", "None or a number in [0, 1]")?;
    if (0.0..=1.0).contains(&v) {
        Ok(Some(v))
    } else {
        Err(PyValueError::new_err(format!(
            "alpha must be None or a number in [0, 1], got {v}"
        )))
    }
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/binary_focal_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, from_logits = Flag(false), gamma = Gamma(2.0), alpha = None, sample_weight = None, eps = Eps::Auto, reduction = Reduction::Mean, nan_policy = NanPolicyArg(NanPolicy::Propagate), groups = None),
    text_signature = "(y_true, y_pred, *, from_logits=False, gamma=2.0, alpha=None, sample_weight=None, eps='auto', reduction='mean', nan_policy='propagate', groups=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn binary_focal_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: Flag,
    gamma: Gamma,
    alpha: Option<&Bound<'py, PyAny>>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    eps: Eps,
    reduction: Reduction,
    nan_policy: NanPolicyArg,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let nan = nan_policy.0;
    let focus = Focus {
        gamma: gamma.0,
        alpha: binary_alpha(alpha)?,
    };
    let inputs = LossInputs::elementwise(y_true, y_pred)?
        .eps(eps, from_logits.0)
        .sample_weight(sample_weight)?
        .reduce(reduction, groups)?;
    let tally = inputs.tally(nan);
    inputs.run(
        1,
        |v, out| focal::binary_focal(v.y_true, v.y_pred, focus, v.eps, v.weights, tally, out),
        |v, ids, ng| {
            grouped::binary_focal(v.y_true, v.y_pred, focus, v.eps, ids, ng, v.weights, tally)
        },
    )
}

/// `alpha` of the sparse focal loss: None, one number, or one per class (a 1-D array of
/// length C); every value finite and >= 0.
enum AlphaArg<'py> {
    None,
    All(f64),
    PerClass(PyReadonlyArrayDyn<'py, f64>),
}

impl AlphaArg<'_> {
    fn get(&self) -> PyResult<ClassAlpha<'_>> {
        Ok(match self {
            AlphaArg::None => ClassAlpha::None,
            AlphaArg::All(v) => ClassAlpha::All(*v),
            AlphaArg::PerClass(a) => ClassAlpha::PerClass(arrays::slice(a)?),
        })
    }
}

fn class_alpha<'py>(alpha: Option<&Bound<'py, PyAny>>, c: usize) -> PyResult<AlphaArg<'py>> {
    let Some(a) = alpha.filter(|a| !a.is_none()) else {
        return Ok(AlphaArg::None);
    };
    let what = "None, a number >= 0 or a 1-D array of one number >= 0 per class";
    if a.extract::<f64>().is_ok() && !a.is_instance_of::<PyBool>() && !a.hasattr("shape")? {
        let v = real(a, "alpha", what)?;
        return if v.is_finite() && v >= 0.0 {
            Ok(AlphaArg::All(v))
        } else {
            Err(PyValueError::new_err(format!(
                "alpha must be finite and >= 0, got {v}"
            )))
        };
    }
    let p = prepare(a, "alpha", Role::Weight, None)?;
    let shape = p.array.shape().to_vec();
    if shape.is_empty() {
        let v: f64 = p.array.call_method0("item")?.extract()?;
        return class_alpha_scalar(v);
    }
    if shape != [c] {
        return Err(PyValueError::new_err(format!(
            "alpha must have one value per class: alpha.shape = {} but there are {c} classes",
            arrays::shape_str(&shape)
        )));
    }
    let arr = readonly::<f64>(&p)?;
    if let Some((i, v)) = arrays::slice(&arr)?
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(PyValueError::new_err(format!(
            "alpha must be finite and >= 0: alpha[{i}] = {v}"
        )));
    }
    Ok(AlphaArg::PerClass(arr))
}

fn class_alpha_scalar<'py>(v: f64) -> PyResult<AlphaArg<'py>> {
    if v.is_finite() && v >= 0.0 {
        Ok(AlphaArg::All(v))
    } else {
        Err(PyValueError::new_err(format!(
            "alpha must be finite and >= 0, got {v}"
        )))
    }
}

fn ignore_index(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i128>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if o.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "ignore_index must be None or an int, got bool",
        ));
    }
    o.extract::<i128>().map(Some).map_err(|_| {
        PyTypeError::new_err(format!(
            "ignore_index must be None or an int, got {}",
            type_name(o)
        ))
    })
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/sparse_categorical_focal_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, from_logits = Flag(false), axis = Axes::One(-1), gamma = Gamma(2.0), alpha = None, sample_weight = None, ignore_index = None, label_smoothing = LabelSmoothing(0.0), eps = Eps::Auto, reduction = Reduction::Mean, nan_policy = NanPolicyArg(NanPolicy::Propagate), groups = None),
    text_signature = "(y_true, y_pred, *, from_logits=False, axis=-1, gamma=2.0, alpha=None, sample_weight=None, ignore_index=None, label_smoothing=0.0, eps='auto', reduction='mean', nan_policy='propagate', groups=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn sparse_categorical_focal_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: Flag,
    axis: Axes,
    gamma: Gamma,
    alpha: Option<&Bound<'py, PyAny>>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    ignore_index: Option<&Bound<'py, PyAny>>,
    label_smoothing: LabelSmoothing,
    eps: Eps,
    reduction: Reduction,
    nan_policy: NanPolicyArg,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let nan = nan_policy.0;
    let ignore = self::ignore_index(ignore_index)?;
    let inputs = LossInputs::sparse(y_true, y_pred, &axis)?;
    let alpha_arg = class_alpha(alpha, inputs.c)?;
    let focus = SparseFocus {
        gamma: gamma.0,
        alpha: alpha_arg.get()?,
        ignore,
        smoothing: label_smoothing.0,
    };
    let inputs = inputs
        .eps(eps, from_logits.0)
        .sample_weight(sample_weight)?
        .reduce(reduction, groups)?;
    let tally = inputs.tally(nan);
    inputs.run(
        2,
        |v, out| {
            let (y, p, w) = (v.y_true, v.y_pred, v.weights);
            focal::sparse_focal(y, p, (v.n, v.c), focus, v.eps, w, tally, out)
        },
        |v, ids, ng| {
            let (y, p) = (v.y_true, v.y_pred);
            grouped::sparse_focal(y, p, (v.n, v.c), focus, v.eps, ids, ng, v.weights, tally)
        },
    )
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/categorical_focal_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, from_logits = Flag(false), axis = Axes::One(-1), gamma = Gamma(2.0), alpha = None, sample_weight = None, label_smoothing = LabelSmoothing(0.0), eps = Eps::Auto, reduction = Reduction::Mean, nan_policy = NanPolicyArg(NanPolicy::Propagate), groups = None),
    text_signature = "(y_true, y_pred, *, from_logits=False, axis=-1, gamma=2.0, alpha=None, sample_weight=None, label_smoothing=0.0, eps='auto', reduction='mean', nan_policy='propagate', groups=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn categorical_focal_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: Flag,
    axis: Axes,
    gamma: Gamma,
    alpha: Option<&Bound<'py, PyAny>>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: LabelSmoothing,
    eps: Eps,
    reduction: Reduction,
    nan_policy: NanPolicyArg,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (nan, gamma, smoothing) = (nan_policy.0, gamma.0, label_smoothing.0);
    let inputs = LossInputs::categorical(y_true, y_pred, &axis)?;
    let alpha_arg = class_alpha(alpha, inputs.c)?;
    let alpha = alpha_arg.get()?;
    let inputs = inputs
        .eps(eps, from_logits.0)
        .sample_weight(sample_weight)?
        .reduce(reduction, groups)?;
    let tally = inputs.tally(nan);
    inputs.run(
        2,
        |v, out| {
            let (t, p, focus) = (v.y_true, v.y_pred, (gamma, alpha));
            focal::categorical_focal(
                t,
                p,
                (v.n, v.c),
                focus,
                smoothing,
                v.eps,
                v.weights,
                tally,
                out,
            )
        },
        |v, ids, ng| {
            let (t, p, focus) = (v.y_true, v.y_pred, (gamma, alpha));
            let nc = (v.n, v.c);
            grouped::categorical_focal(t, p, nc, focus, smoothing, v.eps, ids, ng, v.weights, tally)
        },
    )
}
