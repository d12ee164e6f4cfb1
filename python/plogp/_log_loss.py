"""``plogp.log_loss``: a drop-in for ``sklearn.metrics.log_loss`` on the native kernels.

Argument checks, label encoding, errors and warnings are those of ``plogp.reference.log_loss``
(scikit-learn 1.9's behaviour, written once); the loss itself is one pass of the native
binary, sparse or categorical kernel, clipped at ``finfo(y_proba.dtype).eps``, without a
one-hot matrix. Integer and boolean labels whose classes are already ``0..C-1`` go to the
kernel as they are, so the common case makes no N-sized temporary and no sort.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from plogp import _native
from plogp import reference as _ref


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
    # A 1-D y_proba goes to the binary kernel, which range-checks every value in its own pass
    # (ValueError) and propagates NaN, turned into scikit-learn's ValueError below: no extra
    # NumPy passes. 2-D input is checked here, before the row-sum warning can see a NaN.
    one_column = np.ndim(y_proba if y_pred is None else y_pred) == 1 and np.ndim(y_true) == 1
    proba, weight = _ref._log_loss_inputs(
        y_true, y_proba, normalize, sample_weight, labels, y_pred, check_values=not one_column
    )
    y = np.asarray(y_true)
    eps = float(np.finfo(proba.dtype).eps)
    reduction: Literal["mean", "sum"] = "mean" if normalize else "sum"
    if one_column and labels is None and y.dtype.kind in "biu" and y.size:
        loss = _binary_01_labels(y, proba, weight, eps, reduction)
        if loss is not None:
            return loss
    codes, classes, is_indicator = _label_codes(y, labels)
    _ref._check_two_classes(classes, labels)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    if proba.ndim == 1:
        _ref._check_class_count(len(classes), 2, labels, classes)
        if is_indicator:
            proba = np.stack([1 - proba, proba], axis=1)
        else:
            loss = float(
                _native.binary_cross_entropy(
                    codes, proba, sample_weight=weight, eps=eps, reduction=reduction
                )
            )
            if math.isnan(loss):
                raise ValueError("Input y_proba contains NaN or infinity.")
            return loss
    _ref._warn_unless_rows_sum_to_one(proba, eps)
    _ref._check_class_count(len(classes), proba.shape[1], labels, classes)
    kernel = (
        _native.categorical_cross_entropy
        if is_indicator
        else _native.sparse_categorical_cross_entropy
    )
    return float(kernel(codes, proba, sample_weight=weight, eps=eps, reduction=reduction))


def _binary_01_labels(
    y: np.ndarray, proba: np.ndarray, weight: Any, eps: float, reduction: Literal["mean", "sum"]
) -> float | None:
    """The common binary case in one kernel pass: integer or boolean labels that are all 0 or 1
    (the kernel checks that as it reads them, so there is no NumPy pass over the labels).
    ``None`` when the labels are anything else, or hold only one class: the general path then
    encodes them, or raises scikit-learn's error.
    """
    try:
        loss = float(
            _native.binary_cross_entropy(y, proba, sample_weight=weight, eps=eps, reduction=reduction)
        )
    except ValueError:
        return None
    head = y[:4096]
    if not (head.min() == 0 and head.max() == 1) and not (y.min() == 0 and y.max() == 1):
        return None
    if math.isnan(loss):
        raise ValueError("Input y_proba contains NaN or infinity.")
    return loss


def _label_codes(y: np.ndarray, labels: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """``reference._log_loss_labels``, with a fast path for integer labels ``0..C-1``."""
    if labels is None and y.ndim == 1 and y.dtype.kind in "biu" and y.size:
        lo, hi = int(y.min()), int(y.max())
        countable = hi < 1 << 16 and y.dtype != np.uint64
        if lo == 0 and hi >= 1:
            if hi == 1 or (countable and np.all(np.bincount(y, minlength=hi + 1) > 0)):
                return y, np.arange(hi + 1), False
    return _ref._log_loss_labels(y, labels)
