"""``plogp.log_loss``: a drop-in for ``sklearn.metrics.log_loss`` on the native kernels.

The argument checks, label encoding, errors and warnings are those of
``plogp._sklearn_compat`` (scikit-learn 1.9's behaviour, shared with the reference); the loss
itself is one pass of the native binary, sparse or categorical kernel, clipped at
``finfo(y_proba.dtype).eps``, without a one-hot matrix.

What is cheaper here than in scikit-learn:

- Labels are never sorted when the label set is small. Integer and boolean labels use their
  min / max and, for a range of up to ``MAX_LABEL_RANGE`` values, a presence count
  (``np.bincount``); float labels are checked integral by one cast and one comparison and then
  take the same path; string labels are matched against the classes of their first
  ``STRING_PREFIX`` values with vectorised comparisons. Anything else (many classes, a
  ``labels=`` argument, object arrays, a label missing from the prefix twice) goes through
  ``_sklearn_compat.encode_labels`` (``np.unique``).
- Binary integer or boolean labels 0/1 go to the kernel as they are: the kernel checks them
  as it reads them, so they cost no pass of their own.
- Integer labels that are exactly the classes 0 .. C-1 of 2-D ``y_proba`` go to the kernel
  as they are too: ``_log_loss_rows`` checks their range and counts the classes present in
  its pass, so they are never encoded.
- Without ``labels=``, the finiteness and [0, 1] checks of ``y_proba`` are left to the
  kernel, which makes them in its own pass; for 2-D ``y_proba`` the same pass returns the
  largest deviation of a row sum from 1, for scikit-learn's warning. When anything fails (the
  kernel, or a label check that scikit-learn makes after the value checks) the values are
  checked first, so the error is scikit-learn's and comes in scikit-learn's order.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from plogp import _native
from plogp import _sklearn_compat as compat

#: The largest label range (max − min + 1) counted with ``np.bincount`` instead of sorted.
MAX_LABEL_RANGE = 1 << 16

#: How many leading string labels give the candidate classes of the string fast path.
STRING_PREFIX = 4096

# Floats of magnitude below 2^53 are integers exactly when their int64 cast equals them.
_EXACT = float(1 << 53)

#: The most candidate classes the string fast path compares every label with.
MAX_STRING_CLASSES = 16


def log_loss(
    y_true: Any,
    y_proba: Any = None,
    *,
    normalize: bool = True,
    sample_weight: Any = None,
    labels: Any = None,
    y_pred: Any = None,
) -> float:
    """Log loss (cross-entropy) of class labels and predicted probabilities.

    Same arguments, results, errors and warnings as ``sklearn.metrics.log_loss``
    (scikit-learn 1.9), with the exceptions listed in ``plogp.reference.log_loss``:
    ``y_pred=`` is accepted as the older name of ``y_proba``, and negative sample weights
    are rejected.
    """
    y_proba = compat.check_parameters(y_true, y_proba, normalize, sample_weight, labels, y_pred)
    proba = compat.check_proba(y_proba)
    # With labels=, encode_labels may warn, and scikit-learn would raise a bad y_proba
    # before that warning: check the values first. Without, the kernel checks them.
    deferred = labels is None
    if not deferred:
        compat.check_proba_values(proba)
    try:
        weight = compat.check_samples(y_true, proba, sample_weight)
        return _log_loss(y_true, proba, weight, labels, normalize)
    except (TypeError, ValueError):
        if deferred:
            compat.check_proba_values(proba)  # scikit-learn's first error, if it is one
        raise


def _log_loss(
    y_true: Any, proba: np.ndarray, weight: np.ndarray | None, labels: Any, normalize: bool
) -> float:
    y = np.asarray(y_true)
    eps = float(np.finfo(proba.dtype).eps)
    reduction: Literal["mean", "sum"] = "mean" if normalize else "sum"
    one_column = proba.ndim == 1 and y.ndim == 1
    if one_column and labels is None and y.dtype.kind in "biu" and y.size:
        loss = _binary_01_labels(y, proba, weight, eps, reduction)
        if loss is not None:
            return loss
    if labels is None and y.ndim == 1 and y.dtype.kind in "iu" and y.size and _multiclass(proba):
        loss = _labels_are_codes(y, proba, weight, eps, reduction)
        if loss is not None:
            return loss
    # A list of strings goes to encode_labels, which checks it mixes no numbers in.
    small = (
        labels is None and y.ndim == 1 and (isinstance(y_true, np.ndarray) or y.dtype.kind != "U")
    )
    binary_kernel = proba.ndim == 1 or proba.shape[1] == 1
    fast = _small_label_set(y, binary_kernel) if small else None
    if fast is None:
        codes, classes, is_indicator = compat.encode_labels(y_true, labels, stacklevel=4)
    else:
        (codes, classes), is_indicator = fast, False
    compat.check_two_classes(classes, labels)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    if proba.ndim == 1:
        compat.check_class_count(len(classes), 2, labels, classes)
        if is_indicator:
            proba = np.stack([1 - proba, proba], axis=1)
        else:
            return _finite(
                _native.binary_cross_entropy(
                    codes, proba, sample_weight=weight, eps=eps, reduction=reduction
                )
            )
    try:
        compat.check_class_count(len(classes), proba.shape[1], labels, classes)
    except ValueError:
        _warn_unless_rows_sum_to_one(proba, eps)  # scikit-learn warns before this error
        raise
    found = _native._log_loss_rows(
        codes, proba, one_hot=is_indicator, sample_weight=weight, eps=eps, reduction=reduction
    )
    return _rows_loss(found, proba, eps, stacklevel=4)


def _labels_are_codes(
    y: np.ndarray, proba: np.ndarray, weight: Any, eps: float, reduction: Literal["mean", "sum"]
) -> float | None:
    """The common multiclass case in one kernel pass: integer labels that are exactly the
    classes ``0 .. C-1`` of ``y_proba``, every one present, are their own codes. The kernel
    checks their range as it reads them and counts the classes it sees. ``None`` when the
    labels are anything else: the general path then encodes them, or raises scikit-learn's
    error."""
    try:
        found = _native._log_loss_rows(
            y, proba, one_hot=False, sample_weight=weight, eps=eps, reduction=reduction
        )
    except ValueError:
        return None
    if found[2] != proba.shape[1]:
        return None
    return _rows_loss(found, proba, eps, stacklevel=5)


def _multiclass(proba: np.ndarray) -> bool:
    """2-D ``y_proba`` with at least two columns (one column is the binary case)."""
    return proba.ndim == 2 and proba.shape[1] >= 2


def _rows_loss(
    found: tuple[float, float, int], proba: np.ndarray, eps: float, stacklevel: int
) -> float:
    """The loss of ``_log_loss_rows``, with scikit-learn's warning when a row sum is off (the
    values are checked first: a NaN or inf row is scikit-learn's error). ``stacklevel``, as for
    ``warnings.warn`` here, points the warning at the caller of ``log_loss``."""
    loss, deviation, _ = found
    loss = _finite(loss)
    if not deviation <= compat.row_sum_tolerance(eps):
        compat.check_proba_values(proba)
        compat.warn_rows_do_not_sum_to_one(stacklevel)
    return loss


def _finite(loss: Any) -> float:
    """The kernel's loss; NaN (a NaN in ``y_proba`` the kernel propagated) is raised by the
    caller's value check as scikit-learn's error."""
    value = float(loss)
    if math.isnan(value):
        raise ValueError("Input y_proba contains NaN or infinity.")
    return value


def _warn_unless_rows_sum_to_one(proba: np.ndarray, eps: float) -> None:
    """scikit-learn warns only once the values are known to be good: a row sum that is off
    (NaN and inf included) is checked against the values first."""
    if not compat.rows_sum_to_one(proba, eps):
        compat.check_proba_values(proba)
        compat.warn_unless_rows_sum_to_one(proba, eps, stacklevel=5)


def _binary_01_labels(
    y: np.ndarray, proba: np.ndarray, weight: Any, eps: float, reduction: Literal["mean", "sum"]
) -> float | None:
    """The common binary case in one kernel pass: integer or boolean labels that are all 0 or 1
    (the kernel checks that as it reads them, so there is no NumPy pass over the labels).
    ``None`` when the labels are anything else, or hold only one class: the general path then
    encodes them, or raises scikit-learn's error.
    """
    try:
        loss = _native.binary_cross_entropy(
            y, proba, sample_weight=weight, eps=eps, reduction=reduction
        )
    except ValueError:
        return None
    head = y[:4096]
    if not (head.min() == 0 and head.max() == 1) and not (y.min() == 0 and y.max() == 1):
        return None
    return _finite(loss)


def _small_label_set(
    y: np.ndarray, binary_kernel: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, classes)`` of 1-D labels without sorting them, as ``encode_labels`` would
    return them; ``None`` when this does not apply (the caller then calls it). With
    ``binary_kernel`` (the codes go to the binary kernel, which reads float labels), float
    labels 0/1 are their own codes."""
    if not y.size:
        return None
    kind = y.dtype.kind
    if kind in "biu":
        return _integer_codes(y, y.dtype)
    if kind == "f":
        lo, hi = float(y.min()), float(y.max())  # NaN propagates: an error, raised there
        if not (-_EXACT < lo and hi < _EXACT) or hi - lo >= MAX_LABEL_RANGE:
            return None
        if binary_kernel and lo == 0 and hi == 1:
            # All in [0, 1]: integral exactly when every non-zero label is a 1.
            if np.count_nonzero(y) != np.count_nonzero(y == 1):
                return None
            return y, np.array([0, 1], dtype=y.dtype)
        ints = y.astype(np.min_scalar_type(int(hi)) if lo >= 0 else np.int64)
        if not np.array_equal(ints, y):  # continuous values: an error, raised there
            return None
        return _integer_codes(ints, y.dtype)
    if kind == "U":  # bytes labels are scikit-learn's TypeError, raised by encode_labels
        return _string_codes(y)
    return None


def _integer_codes(ints: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes ``0..C-1`` of integer labels spanning at most ``MAX_LABEL_RANGE`` values: the
    classes are the values present, found by one bounded count (``bincount`` of
    ``ints − min``), with ``dtype`` the dtype of the labels."""
    lo, hi = int(ints.min()), int(ints.max())
    span = hi - lo + 1
    if span > MAX_LABEL_RANGE:
        return None
    if span <= 2:  # both values present (or one: a single class)
        shifted = ints if lo == 0 else (ints - lo).astype(np.uint8)
        return shifted, _class_values(lo, np.arange(span), dtype)
    if ints.dtype == np.uint64:  # may not fit intp; the offsets do
        offset = (ints - np.uint64(lo)).astype(np.intp)
    else:
        offset = ints.astype(np.intp, copy=False)
        offset = offset if lo == 0 else offset - lo
    present = np.bincount(offset, minlength=span) > 0
    classes = _class_values(lo, np.flatnonzero(present), dtype)
    if present.all():
        return offset, classes
    return (np.cumsum(present) - 1)[offset], classes


def _class_values(lo: int, offsets: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The labels ``lo + offsets`` in the labels' dtype (``lo`` may not fit int64: uint64)."""
    if dtype.kind in "bf":
        return (offsets + lo).astype(dtype)
    # Integer arithmetic in the labels' own dtype wraps modulo 2^bits, and the true values
    # are labels that occur, so they fit: the result is exact.
    return offsets.astype(dtype) + np.array(lo, dtype=dtype)


def _string_codes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes of string labels whose classes all occur among the first ``STRING_PREFIX``
    labels (or among those plus the classes of the labels they missed): one exact
    comparison of every label with each candidate class, no sort of the N labels."""
    candidates = np.unique(y[:STRING_PREFIX])
    for _ in range(2):
        if len(candidates) > MAX_STRING_CLASSES:
            return None
        codes = np.zeros(y.shape, dtype=np.uint8)
        matched = np.zeros(y.shape, dtype=bool)
        present = np.zeros(len(candidates), dtype=bool)
        for code, value in enumerate(candidates):
            equal = _equal(y, value)
            present[code] = equal.any()
            if code:  # the candidates are distinct, so at most one matches a label
                codes += equal.view(np.uint8) * np.uint8(code)
            matched |= equal
        if matched.all():
            if present.all():
                return codes, candidates
            return (np.cumsum(present) - 1)[codes], candidates[present]
        candidates = np.union1d(candidates, np.unique(y[~matched]))
    return None


def _equal(y: np.ndarray, value: Any) -> np.ndarray:
    """``y == value`` for a 1-D string array. Short strings (up to ``_CODE_POINTS`` code
    points) are compared as their UCS-4 code points, one integer comparison per position,
    which is several times cheaper than NumPy's string comparison; the result is the same
    (a NumPy string is its code points, padded with zeros)."""
    width = y.dtype.itemsize // 4
    if not 0 < width <= _CODE_POINTS or not y.flags.c_contiguous:
        return np.asarray(y == value)
    points = y.view(np.uint32).reshape(len(y), width)
    target = np.array([value], dtype=y.dtype).view(np.uint32)
    equal = points[:, 0] == target[0]
    for j in range(1, width):
        equal &= points[:, j] == target[j]
    return equal


# Strings up to this many code points are compared position by position (see ``_equal``).
_CODE_POINTS = 4
