"""The scikit-learn compatibility layer of ``log_loss``, written once.

``plogp.log_loss`` (the native kernels) and ``plogp.reference.log_loss`` (plain NumPy) both
start here: the argument checks, the label encoding, and scikit-learn 1.9's error messages
and warnings, raised in scikit-learn's order. Only the loss itself differs between the two.
This module depends on NumPy alone (nothing of the native package, nothing of the reference),
so it is the one piece the oracle and the production code share, and it is tested against
scikit-learn itself (``tests/test_log_loss_sklearn.py``).

Order of the checks (scikit-learn's): parameter kinds -> ``y_proba`` (dtype, dimensions,
finite, in [0, 1], non-empty) -> consistent numbers of samples -> sample weights ->
label types and classes (``encode_labels``) -> at least two classes -> the row-sum warning
-> classes against the columns of ``y_proba``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """``sample_weight`` as float64 of shape ``(n,)``: real, finite and >= 0 (plogp rejects
    negative weights, which scikit-learn accepts)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be a real array, got dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.shape != (n,):
        raise ValueError(
            f"sample_weight has shape {w.shape} but the losses have shape {(n,)}; expected {(n,)}"
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"sample_weight must be finite and non-negative; found sample_weight[{i}] = {w[i]}"
        )
    return w


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong kind (scikit-learn's ``InvalidParameterError`` is both)."""


def is_array_like(x: Any) -> bool:
    """scikit-learn's "array-like" parameter constraint."""
    has_length = hasattr(x, "__len__") or hasattr(x, "shape") or hasattr(x, "__array__")
    return has_length and not np.isscalar(x)


def n_samples(x: np.ndarray) -> int:
    if x.ndim == 0:
        raise TypeError(f"Singleton array {x!r} cannot be considered a valid collection.")
    return int(x.shape[0])


def sorted_classes(name: str, given: Any, values: np.ndarray) -> np.ndarray:
    """The sorted distinct class labels of a 1-D array of labels (``LabelBinarizer``'s).

    Labels may be of any sortable type; continuous (non-integral float) values, NaN, and
    lists mixing strings and numbers are errors, as in scikit-learn.
    """
    kind = values.dtype.kind
    if kind == "f":
        if not np.isfinite(values).all():
            raise ValueError(f"Input {name} contains NaN or infinity.")
        if np.any(values != np.round(values)):
            raise ValueError(f"Unknown label type: {name} holds continuous values")
    elif kind == "O":
        if values.size and not isinstance(values.flat[0], str):
            raise ValueError(f"Unknown label type: {name} is an object array of non-strings")
    elif kind == "S":
        raise TypeError(
            "Support for labels represented as bytes is not supported. Convert the labels to "
            "a string or integer format."
        )
    elif kind == "U":
        if not isinstance(given, np.ndarray):
            elements = np.asarray(given, dtype=object).ravel()
            if len({isinstance(v, str) for v in elements}) > 1:
                raise ValueError("Mix of label input types (string and number)")
    elif kind not in "biu":
        raise ValueError(f"Unknown label type: {name} has dtype {values.dtype}")
    return np.unique(values)


def encode_labels(
    y_true: Any, labels: Any, stacklevel: int = 3
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``y_true`` encoded for ``log_loss``: ``(codes, classes, is_indicator)``.

    1-D labels (or a single column) become integer codes ``0..C-1`` into the sorted classes
    (those of ``labels`` if given, else of ``y_true``); a 2-D label-indicator matrix is
    returned as it is (``is_indicator``), with classes ``0..C-1``. ``stacklevel`` of the
    label-order warning: 3 points at the caller of a ``log_loss`` that calls this directly.
    """
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] > 1:
        distinct = np.unique(y) if y.dtype.kind in "biuf" else None
        indicator = (
            distinct is not None
            and len(distinct) < 3
            and (y.dtype.kind in "biu" or bool(np.all(distinct == np.round(distinct))))
        )
        if not indicator:
            raise ValueError("Multioutput target data is not supported with label binarization")
        if labels is not None:
            raise ValueError("The object was not fitted with multilabel input.")
        return y, np.arange(y.shape[1]), True
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"Unknown label type: y_true has shape {y.shape}")

    if labels is None:
        classes = sorted_classes("y_true", y_true, y)
    else:
        given = np.asarray(labels)
        if given.ndim != 1:
            raise ValueError(f"labels must be a 1-D array of labels, got shape {given.shape}")
        classes = sorted_classes("labels", labels, given)
        if classes.shape != given.shape:
            raise ValueError(f"labels must not contain duplicates, got {labels}")
        if not np.all(classes == given):
            warnings.warn(
                f"Labels passed were {labels}. But this function assumes labels are ordered "
                f"lexicographically. Pass the ordered labels={classes.tolist()} and ensure "
                "that the columns of y_prob correspond to this ordering.",
                UserWarning,
                stacklevel=stacklevel,
            )
        known = np.isin(y, classes)
        if not known.all():
            undeclared = set(np.unique(y[~known]).tolist())
            raise ValueError(
                f"y_true contains values {undeclared} not belonging to the passed labels {labels}."
            )
    return np.searchsorted(classes, y), classes, False


def check_two_classes(classes: Any, labels: Any) -> None:
    """scikit-learn's error for fewer than two classes."""
    if len(classes) < 2:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({classes[0]}). Please provide the list of "
                "all expected class labels explicitly through the labels argument."
            )
        raise ValueError(f"The labels array needs to contain at least two labels, got {classes}.")


def check_class_count(n_classes: int, n_columns: int, labels: Any, classes: Any) -> None:
    """scikit-learn's error for classes that don't match the columns of ``y_proba``."""
    if n_classes != n_columns:
        if labels is None:
            raise ValueError(
                f"y_true and y_prob contain different number of classes: {n_classes} vs "
                f"{n_columns}. Please provide the true labels explicitly through the "
                f"labels argument. Classes found in y_true: {classes}"
            )
        raise ValueError(
            "The number of classes in labels is different from that in y_prob. Classes found "
            f"in labels: {classes}"
        )


def rows_sum_to_one(proba: np.ndarray, eps: float) -> bool:
    """scikit-learn's ``np.isclose(proba.sum(axis=1), 1, rtol=sqrt(eps))`` for every row,
    written as its definition ``|s − 1| ≤ atol + rtol·1`` (``atol = 1e-8``, isclose's
    default) on the largest deviation: one row-sum pass and one reduction, no temporaries of
    isclose. NaN or inf sums are not close (NaN propagates through ``max``).

    The row sums come from ``einsum`` (several times faster than NumPy's ``sum`` of short
    rows, and single-threaded, unlike a BLAS product with ones, whose spinning threads slow
    the kernel that runs next); they may differ from ``sum``'s by a few roundings, ~1e-16,
    against a tolerance of at least 2.5e-8: only a row within rounding of the tolerance
    could be judged apart.
    """
    sums = np.einsum("ij->i", proba)
    deviation = np.max(np.abs(sums - 1)) if sums.size else 0.0
    return bool(deviation <= row_sum_tolerance(eps))


def row_sum_tolerance(eps: float) -> float:
    """The largest ``|Σ_c p − 1|`` that ``np.isclose(s, 1, rtol=sqrt(eps))`` accepts."""
    return 1e-8 + math.sqrt(eps)


def warn_unless_rows_sum_to_one(proba: np.ndarray, eps: float, stacklevel: int = 3) -> None:
    """scikit-learn's warning for rows of ``y_proba`` that do not sum to 1 (within
    ``sqrt(eps)`` relative)."""
    if not rows_sum_to_one(proba, eps):
        warn_rows_do_not_sum_to_one(stacklevel)


def warn_rows_do_not_sum_to_one(stacklevel: int = 2) -> None:
    """scikit-learn's warning, for a caller that already knows a row sum is off (the native
    kernel returns the largest deviation). ``stacklevel`` is that of a ``warnings.warn`` in the
    caller (1: the caller itself)."""
    warnings.warn(
        "The y_prob values do not sum to one. Make sure to pass probabilities.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def check_proba(y_proba: Any) -> np.ndarray:
    """``y_proba`` validated as scikit-learn's ``check_array`` does for ``log_loss``.

    float64/32/16 are kept, any other real dtype becomes float64; 1-D or 2-D, at least one
    sample (and one column). The values are checked by ``check_proba_values``.
    """
    proba = np.asarray(y_proba)
    if proba.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if proba.dtype not in FLOAT_DTYPES:
        proba = proba.astype(np.float64)
    if proba.ndim == 0:
        raise TypeError(f"y_proba should have at least 1 dimension, got scalar {proba!r}")
    if proba.ndim > 2:
        raise ValueError(f"Found array with dim {proba.ndim}, while dim <= 2 is required.")
    if proba.shape[0] == 0 or (proba.ndim == 2 and proba.shape[1] == 0):
        raise ValueError(
            f"Found y_proba with shape {proba.shape}: at least one sample and one class required"
        )
    return proba


def check_inputs(
    y_true: Any,
    y_proba: Any,
    normalize: Any,
    sample_weight: Any,
    labels: Any,
    y_pred: Any,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The argument checks of ``log_loss`` before labels are encoded, in scikit-learn's
    order; returns the validated ``y_proba`` and ``sample_weight``."""
    y_proba = check_parameters(y_true, y_proba, normalize, sample_weight, labels, y_pred)
    proba = check_proba(y_proba)
    check_proba_values(proba)
    return proba, check_samples(y_true, proba, sample_weight)


def check_parameters(
    y_true: Any, y_proba: Any, normalize: Any, sample_weight: Any, labels: Any, y_pred: Any
) -> Any:
    """The kinds of the parameters (scikit-learn's ``validate_params``); returns ``y_proba``
    (``y_pred=`` is its alias)."""
    if y_pred is not None:
        if y_proba is not None:
            raise ValueError("Cannot use both y_pred and y_proba; y_pred is an alias of y_proba")
        y_proba = y_pred
    if y_proba is None:
        raise TypeError("log_loss() missing required argument: 'y_proba'")
    for name, value, optional in [
        ("y_true", y_true, False),
        ("y_proba", y_proba, False),
        ("sample_weight", sample_weight, True),
        ("labels", labels, True),
    ]:
        if not (is_array_like(value) or (optional and value is None)):
            raise InvalidParameterError(
                f"The {name!r} parameter of log_loss must be an array-like"
                f"{' or None' if optional else ''}. Got {value!r} instead."
            )
    if not isinstance(normalize, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'normalize' parameter of log_loss must be a bool. Got {normalize!r} instead."
        )
    return y_proba


def check_proba_values(proba: np.ndarray) -> None:
    """All finite, then none above 1, then none below 0, in scikit-learn's order. Two
    reductions and no temporary: NaN propagates through ``min`` and ``max``, so both are
    finite exactly when every value is."""
    if proba.size == 0:
        return
    lo, hi = proba.min(), proba.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("Input y_proba contains NaN or infinity.")
    if hi > 1:
        raise ValueError(f"y_proba contains values greater than 1: {hi}")
    if lo < 0:
        raise ValueError(f"y_proba contains values lower than 0: {lo}")


def check_samples(y_true: Any, proba: np.ndarray, sample_weight: Any) -> np.ndarray | None:
    """Consistent numbers of samples, then the sample weights (float64, or None)."""
    lengths = [n_samples(proba), n_samples(np.asarray(y_true))]
    if sample_weight is not None:
        lengths.append(n_samples(np.asarray(sample_weight)))
    if len(set(lengths)) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths}")
    weight = check_sample_weight(sample_weight, lengths[0])
    if weight is not None and not weight.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weight
