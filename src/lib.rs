//! `plogp._native`: the thin PyO3 layer over `plogp-core`.
//!
//! Every function does the same five steps: extract the arrays (any float dtype, any integer
//! label dtype), check shapes and options while holding the GIL, get contiguous slices (copying
//! only strided or misaligned inputs), run the core kernel — with the GIL released above
//! [`GIL_RELEASE_MIN`] elements — and map the error / wrap the result. No math lives here.
//!
//! While the GIL is released another Python thread could write to an input array; as with
//! NumPy ufuncs, the result is then unspecified (but never unsafe: inputs are only read).

mod arrays;
mod axes;
mod focal;
mod grad;
mod groups;
mod loss_inputs;
mod loss_opts;
mod options;
mod views;

use arrays::{finish_array, new_output, prepare, Prepared, Role};
use axes::Folded;
use loss_inputs::LossInputs;
use loss_opts::{IgnoreIndex, LabelSmoothing};
use numpy::{PyArrayDescrMethods, PyArrayMethods, PyUntypedArrayMethods};
use options::{Axes, Eps, Flag, LnBase, NanPolicyArg, Reduction};
use plogp_core::categorical::{prob_with_row_sums, RowStats, Truth};
use plogp_core::entropy as info;
use plogp_core::loss_options;
use plogp_core::NanPolicy;
use plogp_core::{activation, grouped, parallel, simd, FloatsMut};
use pyo3::exceptions::{PyKeyboardInterrupt, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyFloat;
use std::sync::Mutex;
use views::FloatArray;

/// Calls touching fewer elements keep the GIL: below ~8k elements the whole call takes a few
/// microseconds, comparable to the cost of releasing and re-taking the GIL (blake3-py makes the
/// same trade-off).
const GIL_RELEASE_MIN: usize = 1 << 13;

/// Calls touching at least this many elements can be stopped by Ctrl-C. Below it a call takes
/// a few milliseconds at most, so a signal waits for its end unnoticed; above it the call runs
/// on a helper thread (spawning one costs ~20–50 µs, under 2% of such a call) while the
/// calling thread watches for signals.
const INTERRUPTIBLE_MIN: usize = 1 << 22;

/// How often the calling thread of an interruptible call looks for a pending signal: well
/// under the 0.5 s in which Ctrl-C must stop a call, and rare enough that taking the GIL for
/// the check costs nothing measurable.
const SIGNAL_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Run the kernel call `f`, with the GIL released above [`GIL_RELEASE_MIN`] elements of
/// `work`. Above [`INTERRUPTIBLE_MIN`], `f` runs on a helper thread inside
/// [`parallel::cancellable`] while this thread waits for it, briefly re-attaching every
/// [`SIGNAL_POLL`] to run Python's signal handlers (CPython runs them only on the main thread,
/// and `check_signals` does nothing on any other, so only a call made from the main thread is
/// ever cancelled: concurrent calls from other threads run on). When a handler raises (Ctrl-C:
/// `KeyboardInterrupt`), the call's token is set, `f` stops at its next chunk, the helper is
/// joined and that exception is returned; `f`'s partial result is dropped. A call that
/// finished anyway is discarded too: the user's interrupt is never swallowed.
fn detached<T: Send>(py: Python<'_>, work: usize, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    if work < GIL_RELEASE_MIN {
        return Ok(f());
    }
    if work < INTERRUPTIBLE_MIN {
        return Ok(py.detach(f));
    }
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    let token = Arc::new(AtomicBool::new(false));
    // Taken by whichever thread runs it: the helper, or this one if no helper can be spawned
    // (`spawn_scoped` then drops its closure unrun).
    let call = std::sync::Mutex::new(Some(f));
    let take = || call.lock().ok().and_then(|mut f| f.take());
    let (outcome, signal) = py.detach(|| {
        std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel::<()>();
            let helper = std::thread::Builder::new()
                .name("plogp-call".into())
                .spawn_scoped(scope, || {
                    let result = take().map(|f| parallel::cancellable(&token, f));
                    drop(done);
                    result
                });
            let helper = match helper {
                Ok(helper) => helper,
                // No thread to be had (resource limits): run here, uninterruptibly.
                Err(_) => return (Ok(take().map(|f| Ok(f()))), None),
            };
            let mut signal = None;
            // Until `done` is dropped: the helper has returned (or unwound).
            while let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(SIGNAL_POLL) {
                if signal.is_none() {
                    signal = Python::attach(|py| py.check_signals().err());
                    if signal.is_some() {
                        token.store(true, Ordering::Relaxed);
                    }
                }
            }
            (helper.join(), signal)
        })
    });
    match (outcome, signal) {
        // A panic in a kernel is a bug: let PyO3 report it as usual.
        (Err(panic), _) => std::panic::resume_unwind(panic),
        (Ok(_), Some(interrupt)) => Err(interrupt),
        (Ok(Some(Ok(t))), None) => Ok(t),
        (Ok(Some(Err(e))), None) => Err(value_error(e)),
        (Ok(None), None) => Err(value_error(plogp_core::Error::Internal(
            "an interruptible call was run twice",
        ))),
    }
}

fn value_error(e: plogp_core::Error) -> PyErr {
    match e {
        // Only reached if a token were set without a pending signal; `detached` returns the
        // signal handler's own exception otherwise.
        plogp_core::Error::Interrupted => PyKeyboardInterrupt::new_err(e.to_string()),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// Kernels report flat indices in the layout they read (class axes moved last); translate an
/// index back to the C-order flat index of the array as the caller passed it.
fn unmove<'a>(layout: &'a Prepared<'_>) -> impl Fn(plogp_core::Error) -> plogp_core::Error + 'a {
    use plogp_core::Error;
    let moved: Option<(&[usize], Vec<usize>)> = match (&layout.fold, layout.axis) {
        (Some(fold), _) => Some((&fold.shape, fold.axes.clone())),
        (None, Some(axis)) if axis + 1 < layout.orig_shape.len() => {
            Some((&layout.orig_shape, vec![axis]))
        }
        _ => None,
    };
    let flat = move |index: usize| {
        let Some((shape, class)) = &moved else {
            return index;
        };
        // The read order: the other axes, then the class axes, each in array order.
        let order = (0..shape.len())
            .filter(|d| !class.contains(d))
            .chain(class.iter().copied());
        let mut pos = vec![0; shape.len()];
        let mut rest = index;
        for d in order.collect::<Vec<_>>().into_iter().rev() {
            pos[d] = rest % shape[d].max(1);
            rest /= shape[d].max(1);
        }
        pos.iter().zip(*shape).fold(0, |acc, (&i, &n)| acc * n + i)
    };
    move |e| match e {
        Error::OutOfRange {
            arg,
            index,
            value,
            lo,
            hi,
        } => Error::OutOfRange {
            arg,
            index: flat(index),
            value,
            lo,
            hi,
        },
        // A value of a distribution under normalize=True (sample weights have their own
        // layout).
        Error::BadWeight { arg, index, value } if arg == "p" || arg == "q" => Error::BadWeight {
            arg,
            index: flat(index),
            value,
        },
        e => e,
    }
}

fn float<'py>(py: Python<'py>, x: f64) -> Bound<'py, PyAny> {
    PyFloat::new(py, x).into_any()
}

/// Create a zeroed output array of `shape`, float64 if `wide` else float32, and let `fill`
/// write it (GIL released above the threshold); returns the array and what `fill` returned.
fn fill_new<'py, R: Send>(
    py: Python<'py>,
    shape: &[usize],
    wide: bool,
    work: usize,
    fill: impl FnOnce(FloatsMut<'_>) -> R + Send,
) -> PyResult<(Bound<'py, PyAny>, R)> {
    let internal = |e: numpy::AsSliceError| PyValueError::new_err(e.to_string());
    if wide {
        let out = new_output::<f64>(py, shape);
        // SAFETY: `out` was just created here and is not shared with any other code.
        let slice = unsafe { out.as_slice_mut() }.map_err(internal)?;
        let result = detached(py, work, || fill(FloatsMut::F64(slice)))?;
        Ok((out.into_any(), result))
    } else {
        let out = new_output::<f32>(py, shape);
        // SAFETY: as above.
        let slice = unsafe { out.as_slice_mut() }.map_err(internal)?;
        let result = detached(py, work, || fill(FloatsMut::F32(slice)))?;
        Ok((out.into_any(), result))
    }
}

/// Whether per-item results of `layout` are float64 (else float32, the float16 / float32
/// input types).
fn is_wide(layout: &Prepared<'_>) -> bool {
    layout.array.dtype().itemsize() == 8
}

/// Run a per-row kernel writing one value per row. `rows` is the output shape; an empty shape
/// (a single distribution) gives a Python float, written by the kernel straight to an f64 so
/// that an f32 input's value is not rounded to f32 first (which would cost all but a few bits
/// of a subnormal result).
fn run_rows<'py>(
    py: Python<'py>,
    rows: &[usize],
    work: usize,
    layout: &Prepared<'_>,
    kernel: impl FnOnce(FloatsMut<'_>) -> plogp_core::Result<()> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    run_rows_with(py, rows, work, layout, unmove(layout), kernel)
}

/// [`run_rows`] with the kernel's errors translated by `translate` (for two inputs of
/// different layouts).
fn run_rows_with<'py>(
    py: Python<'py>,
    rows: &[usize],
    work: usize,
    layout: &Prepared<'_>,
    translate: impl Fn(plogp_core::Error) -> plogp_core::Error,
    kernel: impl FnOnce(FloatsMut<'_>) -> plogp_core::Result<()> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    let value_error = |e| value_error(translate(e));
    if rows.is_empty() {
        let mut value = [0.0f64];
        detached(py, work, || kernel(FloatsMut::F64(&mut value)))?.map_err(value_error)?;
        return Ok(float(py, value[0]));
    }
    let (out, result) = fill_new(py, rows, is_wide(layout), work, kernel)?;
    result.map_err(value_error)?;
    finish_array(out, layout.was_f16)
}

/// `(n_rows, row_len, rows_shape)` of an array whose class axis is last.
fn row_layout(p: &Prepared<'_>) -> (usize, usize, Vec<usize>) {
    let shape = p.array.shape();
    let (rows, c) = shape.split_at(shape.len() - 1);
    (rows.iter().product(), c[0], rows.to_vec())
}

// ---------------------------------------------------------------------------------------------
// Information theory

/// `p` of the entropy functions, its class axes folded into the last: the fold (for the
/// output shape) and the prepared array.
fn distribution<'py>(p: &Bound<'py, PyAny>, axis: &Axes) -> PyResult<(Folded<'py>, Prepared<'py>)> {
    let folded = Folded::new(p, axis)?;
    let prepared = folded.mark(prepare(
        &folded.array,
        "p",
        Role::Distribution,
        Some(folded.axis),
    )?);
    Ok((folded, prepared))
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (p, *, axis = Axes::One(-1), base = LnBase(1.0), keepdims = Flag(false), normalize = Flag(false)),
    text_signature = "(p, *, axis=-1, base=None, keepdims=False, normalize=False)"
)]
fn entropy<'py>(
    p: &Bound<'py, PyAny>,
    axis: Axes,
    base: LnBase,
    keepdims: Flag,
    normalize: Flag,
) -> PyResult<Bound<'py, PyAny>> {
    let py = p.py();
    let (folded, pa) = distribution(p, &axis)?;
    let (n, c, _) = row_layout(&pa);
    let rows = folded.rows(&pa, keepdims.0);
    let p = FloatArray::new(&pa)?;
    let p = p.view()?;
    run_rows(py, &rows, pa.len(), &pa, |out| match normalize.0 {
        true => info::entropy_normalized(p, n, c, base.0, out),
        false => info::entropy(p, n, c, base.0, out),
    })
}

// The tuple returned is that of the losses' `reduction="_tally"`: `(Σ s·H, Σ s, 0, 0.0, [],
// 0)`, or with `groups` `(Σ s·H, Σ s, rows, rows, [], (G, 0))` of arrays per group.
#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/_entropy_tally.txt"))]
#[pyfunction]
#[pyo3(
    signature = (p, *, axis = Axes::One(-1), base = LnBase(1.0), sample_weight = None, groups = None),
    text_signature = "(p, *, axis=-1, base=None, sample_weight=None, groups=None)"
)]
fn _entropy_tally<'py>(
    p: &Bound<'py, PyAny>,
    axis: Axes,
    base: LnBase,
    sample_weight: Option<&Bound<'py, PyAny>>,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = p.py();
    let (_, pa) = distribution(p, &axis)?;
    let (n, c, rows) = row_layout(&pa);
    let sw = options::SampleWeight::new(sample_weight, &rows)?;
    let groups = groups::Groups::new(groups, &rows, Reduction::Tally)?;
    let p = FloatArray::new(&pa)?;
    let (p, w) = (p.view()?, sw.weights()?);
    let ln_base = base.0;
    match &groups {
        Some(g) => groups::run(py, g, Reduction::Tally, &pa, pa.len(), |ids, n_groups| {
            grouped::entropy(p, (n, c), ln_base, ids, n_groups, w)
        }),
        None => loss_inputs::run_loss(py, &rows, pa.len(), Reduction::Tally, &pa, |_| {
            info::entropy_totals(p, n, c, ln_base, w)
        }),
    }
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/entropy_from_logits.txt"))]
#[pyfunction]
#[pyo3(
    signature = (z, *, axis = Axes::One(-1), base = LnBase(1.0), keepdims = Flag(false)),
    text_signature = "(z, *, axis=-1, base=None, keepdims=False)"
)]
fn entropy_from_logits<'py>(
    z: &Bound<'py, PyAny>,
    axis: Axes,
    base: LnBase,
    keepdims: Flag,
) -> PyResult<Bound<'py, PyAny>> {
    let py = z.py();
    let ln_base = base.0;
    let folded = Folded::new(z, &axis)?;
    let za = prepare(&folded.array, "z", Role::Float, Some(folded.axis))?;
    let (n, c, _) = row_layout(&za);
    let rows = folded.rows(&za, keepdims.0);
    let z = FloatArray::new(&za)?;
    let z = z.view()?;
    run_rows(py, &rows, za.len(), &za, |out| {
        info::entropy_from_logits(z, n, c, ln_base, out)
    })
}

/// Prepare `p` and `q` of a two-distribution function in a common float dtype.
/// `p` and `q` prepared along `axis`, in one float type (the wider of the two).
fn prepare_pair<'py>(
    p: &Bound<'py, PyAny>,
    q: &Bound<'py, PyAny>,
    axis: isize,
) -> PyResult<(Prepared<'py>, Prepared<'py>)> {
    let mut pa = prepare(p, "p", Role::Distribution, Some(axis))?;
    let mut qa = prepare(q, "q", Role::Distribution, Some(axis))?;
    let (ps, qs) = (pa.array.dtype().itemsize(), qa.array.dtype().itemsize());
    if ps != qs {
        let widen = |a: &mut Prepared<'py>| -> PyResult<()> {
            a.array = a
                .array
                .py()
                .import("numpy")?
                .call_method1("require", (&a.array, "float64", "CA"))?
                .cast_into()?;
            Ok(())
        };
        if ps < qs {
            widen(&mut pa)?
        } else {
            widen(&mut qa)?
        }
    }
    let both_f16 = pa.was_f16 && qa.was_f16;
    pa.was_f16 = both_f16;
    qa.was_f16 = both_f16;
    Ok((pa, qa))
}

/// How a prepared operand (class axis last) is read for the output rows `rows`: in place, or
/// through its broadcast terms.
fn row_terms(operand: &Prepared<'_>, rows: &[usize]) -> PyResult<Option<Vec<info::RowTerm>>> {
    let shape = operand.array.shape();
    let own = &shape[..shape.len() - 1];
    if own == rows {
        return Ok(None);
    }
    info::broadcast_terms(rows, own).map(Some).ok_or_else(|| {
        value_error(plogp_core::Error::Internal(
            "a broadcast operand does not fit the output rows",
        ))
    })
}

fn operand<'a>(
    values: plogp_core::Floats<'a>,
    terms: &'a Option<Vec<info::RowTerm>>,
) -> info::Operand<'a> {
    let rows = terms
        .as_deref()
        .map_or(info::RowMap::Same, info::RowMap::Broadcast);
    info::Operand { values, rows }
}

/// Cross-entropy, KL or JS divergence of `p` and `q` (broadcast against each other) along
/// `axis`.
fn pair_values<'py>(
    kind: info::Pair,
    p: &Bound<'py, PyAny>,
    q: &Bound<'py, PyAny>,
    axis: Axes,
    ln_base: f64,
    keepdims: bool,
    normalize: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = p.py();
    let pair = axes::PairOperands::new(p, q, &axis)?;
    let (fp, fq) = (Folded::new(&pair.p, &axis)?, Folded::new(&pair.q, &axis)?);
    let (pa, qa) = prepare_pair(&fp.array, &fq.array, fp.axis)?;
    let (pa, qa) = (fp.mark(pa), fq.mark(qa));
    let batch = axes::reduced_shape(&pair.shape, &pair.class, false);
    let n: usize = batch.iter().product();
    let c = pa.array.shape().last().copied().unwrap_or(1);
    let (p_terms, q_terms) = (row_terms(&pa, &batch)?, row_terms(&qa, &batch)?);
    let rows = axes::reduced_shape(&pair.shape, &pair.class, keepdims);
    let (pv, qv) = (FloatArray::new(&pa)?, FloatArray::new(&qa)?);
    let (p, q) = (operand(pv.view()?, &p_terms), operand(qv.view()?, &q_terms));
    let (unmove_p, unmove_q) = (unmove(&pa), unmove(&qa));
    let translate = |e: plogp_core::Error| match e.arg() {
        Some("q") => unmove_q(e),
        _ => unmove_p(e),
    };
    run_rows_with(py, &rows, 2 * n * c, &pa, translate, |out| {
        info::pair_broadcast(kind, p, q, n, c, ln_base, normalize, out)
    })
}

macro_rules! pair_function {
    ($name:ident, $kind:expr) => {
        #[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/", stringify!($name), ".txt"))]
        #[pyfunction]
        #[pyo3(
            signature = (p, q, *, axis = Axes::One(-1), base = LnBase(1.0), keepdims = Flag(false), normalize = Flag(false)),
            text_signature = "(p, q, *, axis=-1, base=None, keepdims=False, normalize=False)"
        )]
        fn $name<'py>(
            p: &Bound<'py, PyAny>,
            q: &Bound<'py, PyAny>,
            axis: Axes,
            base: LnBase,
            keepdims: Flag,
            normalize: Flag,
        ) -> PyResult<Bound<'py, PyAny>> {
            pair_values($kind, p, q, axis, base.0, keepdims.0, normalize.0)
        }
    };
}

pair_function!(cross_entropy, info::Pair::CrossEntropy);
pair_function!(kl_divergence, info::Pair::Kl);
pair_function!(js_divergence, info::Pair::Js);

// ---------------------------------------------------------------------------------------------
// Activations

/// Softmax or log-softmax along `axis`, same shape and dtype as `z`.
fn row_map<'py>(
    z: &Bound<'py, PyAny>,
    axis: &Axes,
    kind: activation::RowMap,
) -> PyResult<Bound<'py, PyAny>> {
    let py = z.py();
    let folded = Folded::new(z, axis)?;
    let za = prepare(&folded.array, "z", Role::Float, Some(folded.axis))?;
    let (n, c, _) = row_layout(&za);
    let shape = za.array.shape().to_vec();
    let zv = FloatArray::new(&za)?;
    let z = zv.view()?;
    let (out, result) = fill_new(py, &shape, is_wide(&za), za.len(), |out| {
        activation::row_map(kind, z, n, c, out)
    })?;
    result.map_err(value_error)?;
    let out = match za.axis {
        Some(axis) if axis + 1 != za.orig_shape.len() => {
            let np = py.import("numpy")?;
            np.call_method1(
                "ascontiguousarray",
                (np.call_method1("moveaxis", (out, -1, axis))?,),
            )?
        }
        _ => out,
    };
    finish_array(folded.unfold(out)?, za.was_f16)
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/softmax.txt"))]
#[pyfunction]
#[pyo3(signature = (z, *, axis = Axes::One(-1)), text_signature = "(z, *, axis=-1)")]
fn softmax<'py>(z: &Bound<'py, PyAny>, axis: Axes) -> PyResult<Bound<'py, PyAny>> {
    row_map(z, &axis, activation::RowMap::Softmax)
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/log_softmax.txt"))]
#[pyfunction]
#[pyo3(signature = (z, *, axis = Axes::One(-1)), text_signature = "(z, *, axis=-1)")]
fn log_softmax<'py>(z: &Bound<'py, PyAny>, axis: Axes) -> PyResult<Bound<'py, PyAny>> {
    row_map(z, &axis, activation::RowMap::LogSoftmax)
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/logsumexp.txt"))]
#[pyfunction]
#[pyo3(
    signature = (z, *, axis = Axes::One(-1), keepdims = Flag(false)),
    text_signature = "(z, *, axis=-1, keepdims=False)"
)]
fn logsumexp<'py>(
    z: &Bound<'py, PyAny>,
    axis: Axes,
    keepdims: Flag,
) -> PyResult<Bound<'py, PyAny>> {
    let py = z.py();
    let folded = Folded::new(z, &axis)?;
    let za = prepare(&folded.array, "z", Role::Float, Some(folded.axis))?;
    let (n, c, _) = row_layout(&za);
    let rows = folded.rows(&za, keepdims.0);
    let z = FloatArray::new(&za)?;
    let z = z.view()?;
    run_rows(py, &rows, za.len(), &za, |out| {
        activation::logsumexp(z, n, c, out)
    })
}

fn elementwise<'py>(
    z: &Bound<'py, PyAny>,
    kind: activation::Elementwise,
) -> PyResult<Bound<'py, PyAny>> {
    let py = z.py();
    let za = prepare(z, "z", Role::Float, None)?;
    let shape = za.array.shape().to_vec();
    let zv = FloatArray::new(&za)?;
    let z = zv.view()?;
    let (out, result) = fill_new(py, &shape, is_wide(&za), za.len(), |out| {
        activation::elementwise(kind, z, out)
    })?;
    result.map_err(value_error)?;
    finish_array(out, za.was_f16)
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/sigmoid.txt"))]
#[pyfunction]
fn sigmoid<'py>(z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    elementwise(z, activation::Elementwise::Sigmoid)
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/log_sigmoid.txt"))]
#[pyfunction]
fn log_sigmoid<'py>(z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    elementwise(z, activation::Elementwise::LogSigmoid)
}

// ---------------------------------------------------------------------------------------------
// Losses

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/binary_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, from_logits = Flag(false), sample_weight = None, pos_weight = None, label_smoothing = LabelSmoothing(0.0), eps = Eps::Auto, reduction = Reduction::Mean, nan_policy = NanPolicyArg(NanPolicy::Propagate), groups = None),
    text_signature = "(y_true, y_pred, *, from_logits=False, sample_weight=None, pos_weight=None, label_smoothing=0.0, eps='auto', reduction='mean', nan_policy='propagate', groups=None)"
)]
#[allow(clippy::too_many_arguments)]
fn binary_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: Flag,
    sample_weight: Option<&Bound<'py, PyAny>>,
    pos_weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: LabelSmoothing,
    eps: Eps,
    reduction: Reduction,
    nan_policy: NanPolicyArg,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let nan = nan_policy.0;
    let inputs = LossInputs::elementwise(y_true, y_pred)?
        .eps(eps, from_logits.0)
        .sample_weight(sample_weight)?
        .reduce(reduction, groups)?
        .pos_weight(pos_weight)?
        .label_smoothing(label_smoothing);
    let tally = inputs.tally(nan);
    inputs.run(
        1,
        |v, out| loss_options::bce(v.y_true, v.y_pred, v.eps, &v.opts, v.weights, tally, out),
        |v, ids, ng| {
            grouped::binary(
                v.y_true, v.y_pred, v.eps, &v.opts, ids, ng, v.weights, tally,
            )
        },
    )
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/categorical_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, from_logits = Flag(false), axis = Axes::One(-1), sample_weight = None, class_weight = None, label_smoothing = LabelSmoothing(0.0), eps = Eps::Auto, reduction = Reduction::Mean, nan_policy = NanPolicyArg(NanPolicy::Propagate), groups = None),
    text_signature = "(y_true, y_pred, *, from_logits=False, axis=-1, sample_weight=None, class_weight=None, label_smoothing=0.0, eps='auto', reduction='mean', nan_policy='propagate', groups=None)"
)]
#[allow(clippy::too_many_arguments)]
fn categorical_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: Flag,
    axis: Axes,
    sample_weight: Option<&Bound<'py, PyAny>>,
    class_weight: Option<&Bound<'py, PyAny>>,
    label_smoothing: LabelSmoothing,
    eps: Eps,
    reduction: Reduction,
    nan_policy: NanPolicyArg,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let nan = nan_policy.0;
    let inputs = LossInputs::categorical(y_true, y_pred, &axis)?
        .eps(eps, from_logits.0)
        .sample_weight(sample_weight)?
        .class_weight(class_weight)?
        .label_smoothing(label_smoothing)
        .reduce(reduction, groups)?;
    let tally = inputs.tally(nan);
    inputs.run(
        2,
        |v, out| {
            let (t, p) = (v.y_true, v.y_pred);
            loss_options::cce(t, p, v.n, v.c, v.eps, &v.opts, v.weights, tally, out)
        },
        |v, ids, ng| {
            let (t, p) = (v.y_true, v.y_pred);
            grouped::categorical(t, p, (v.n, v.c), v.eps, &v.opts, ids, ng, v.weights, tally)
        },
    )
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/sparse_categorical_cross_entropy.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, from_logits = Flag(false), axis = Axes::One(-1), sample_weight = None, class_weight = None, ignore_index = IgnoreIndex(None), label_smoothing = LabelSmoothing(0.0), eps = Eps::Auto, reduction = Reduction::Mean, nan_policy = NanPolicyArg(NanPolicy::Propagate), groups = None),
    text_signature = "(y_true, y_pred, *, from_logits=False, axis=-1, sample_weight=None, class_weight=None, ignore_index=None, label_smoothing=0.0, eps='auto', reduction='mean', nan_policy='propagate', groups=None)"
)]
#[allow(clippy::too_many_arguments)]
fn sparse_categorical_cross_entropy<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: Flag,
    axis: Axes,
    sample_weight: Option<&Bound<'py, PyAny>>,
    class_weight: Option<&Bound<'py, PyAny>>,
    ignore_index: IgnoreIndex,
    label_smoothing: LabelSmoothing,
    eps: Eps,
    reduction: Reduction,
    nan_policy: NanPolicyArg,
    groups: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let nan = nan_policy.0;
    let inputs = LossInputs::sparse(y_true, y_pred, &axis)?
        .eps(eps, from_logits.0)
        .sample_weight(sample_weight)?
        .reduce(reduction, groups)?
        .class_weight(class_weight)?
        .label_smoothing(label_smoothing)
        .ignore_index(ignore_index);
    let tally = inputs.tally(nan);
    inputs.run(
        1,
        |v, out| {
            let (y, p) = (v.y_true, v.y_pred);
            loss_options::sparse(y, p, v.n, v.c, v.eps, &v.opts, v.weights, tally, out)
        },
        |v, ids, ng| {
            let (y, p) = (v.y_true, v.y_pred);
            grouped::sparse(y, p, (v.n, v.c), v.eps, &v.opts, ids, ng, v.weights, tally)
        },
    )
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/_log_loss_rows.txt"))]
#[pyfunction]
#[pyo3(
    signature = (y_true, y_pred, *, one_hot, eps, sample_weight = None, reduction = Reduction::Mean),
    text_signature = "(y_true, y_pred, *, one_hot, eps, sample_weight=None, reduction='mean')"
)]
fn _log_loss_rows<'py>(
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    one_hot: bool,
    eps: Eps,
    sample_weight: Option<&Bound<'py, PyAny>>,
    reduction: Reduction,
) -> PyResult<(Bound<'py, PyAny>, f64, usize)> {
    let stats = Mutex::new(None);
    let keep = |found: plogp_core::Result<(plogp_core::Totals, RowStats)>| {
        found.map(|(totals, found)| {
            *stats.lock().unwrap_or_else(|e| e.into_inner()) = Some(found);
            totals
        })
    };
    let axis = Axes::One(-1);
    // The same steps for one-hot rows and for labels; only the inputs' kind differs.
    macro_rules! run {
        ($inputs:ident, $truth:ident) => {
            LossInputs::$inputs(y_true, y_pred, &axis)?
                .eps(eps, false)
                .sample_weight(sample_weight)?
                .reduce(reduction, None)?
                .run(
                    1,
                    |v, _| {
                        let truth = Truth::$truth(v.y_true);
                        let eps = v.eps.unwrap_or(0.0);
                        keep(prob_with_row_sums(
                            truth, v.y_pred, v.n, v.c, eps, v.weights,
                        ))
                    },
                    |_, _, _| {
                        Err(plogp_core::Error::Internal(
                            "_log_loss_rows takes no groups",
                        ))
                    },
                )?
        };
    }
    let loss = if one_hot {
        run!(categorical, Targets)
    } else {
        run!(sparse, Labels)
    };
    let stats = stats.into_inner().unwrap_or_else(|e| e.into_inner());
    let stats = stats.ok_or_else(|| PyValueError::new_err("_log_loss_rows: no result"))?;
    Ok((loss, stats.row_sum_deviation, stats.labels_seen))
}

// ---------------------------------------------------------------------------------------------
// Runtime

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/set_num_threads.txt"))]
#[pyfunction]
fn set_num_threads(n: &Bound<'_, PyAny>) -> PyResult<()> {
    if n.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err("n must be an int, got bool"));
    }
    let n: i128 = n
        .extract()
        .map_err(|_| PyTypeError::new_err("n must be an int"))?;
    if !(1..=4096).contains(&n) {
        return Err(PyValueError::new_err(format!(
            "n must be a number of threads in [1, 4096], got {n}"
        )));
    }
    parallel::set_num_threads(n as usize);
    Ok(())
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/get_num_threads.txt"))]
#[pyfunction]
fn get_num_threads() -> usize {
    parallel::num_threads()
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/simd_level.txt"))]
#[pyfunction]
fn simd_level() -> &'static str {
    simd::active_tier().name()
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/_build_info.txt"))]
#[pyfunction]
fn _build_info(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    let info = pyo3::types::PyDict::new(py);
    info.set_item("profile", env!("PLOGP_BUILD_PROFILE"))?;
    info.set_item("rustc", env!("PLOGP_RUSTC_VERSION"))?;
    info.set_item("pyo3", env!("PLOGP_PYO3_VERSION"))?;
    info.set_item("rust-numpy", env!("PLOGP_NUMPY_VERSION"))?;
    info.set_item("rayon", env!("PLOGP_RAYON_VERSION"))?;
    info.set_item("target_arch", std::env::consts::ARCH)?;
    Ok(info)
}

#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc/_after_fork_in_child.txt"))]
#[pyfunction]
fn _after_fork_in_child() {
    parallel::forget_pool_after_fork();
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(entropy, m)?)?;
    m.add_function(wrap_pyfunction!(_log_loss_rows, m)?)?;
    m.add_function(wrap_pyfunction!(entropy_from_logits, m)?)?;
    m.add_function(wrap_pyfunction!(_entropy_tally, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(kl_divergence, m)?)?;
    m.add_function(wrap_pyfunction!(js_divergence, m)?)?;
    m.add_function(wrap_pyfunction!(softmax, m)?)?;
    m.add_function(wrap_pyfunction!(log_softmax, m)?)?;
    m.add_function(wrap_pyfunction!(logsumexp, m)?)?;
    m.add_function(wrap_pyfunction!(sigmoid, m)?)?;
    m.add_function(wrap_pyfunction!(log_sigmoid, m)?)?;
    m.add_function(wrap_pyfunction!(binary_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(categorical_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(sparse_categorical_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(focal::binary_focal_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(focal::categorical_focal_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(
        focal::sparse_categorical_focal_cross_entropy,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(grad::grad_binary_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(grad::grad_softmax_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(_build_info, m)?)?;
    Ok(())
}
