"""``plogp.log_loss``: a drop-in for ``sklearn.metrics.log_loss`` on the native kernels.

The label handling mirrors scikit-learn 1.9 (``LabelBinarizer`` semantics: classes are the
sorted unique labels, a 1-D ``y_proba`` is the probability of the greater class, clipping at
``finfo(y_proba.dtype).eps``, the same errors and warnings); the loss itself is one pass of
the native sparse (or binary / categorical) kernel, without a one-hot matrix.
Integer and boolean labels whose classes are already ``0..C-1`` are passed to the kernel as
they are, so the common case makes no N-sized temporary.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np

from plogp import _native


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
    (scikit-learn 1.9); ``y_pred=`` is accepted as the older name of ``y_proba``.
    Negative sample weights are rejected (ValueError), and a zero total weight with
    ``normalize=True`` raises ValueError instead of ZeroDivisionError.
    """
    y_proba = _pick_proba(y_proba, y_pred)
    proba = np.asarray(y_proba)
    if proba.dtype.kind in "biu":
        proba = proba.astype(np.float64)
    elif proba.dtype.kind != "f":
        raise TypeError(f"y_proba must be an array of probabilities, got dtype {proba.dtype}")
    if proba.ndim not in (1, 2):
        raise ValueError(f"y_proba must be 1-D or 2-D, got an array of dimension {proba.ndim}")
    eps = float(np.finfo(proba.dtype).eps)
    if proba.size and (proba.max() > 1 or proba.min() < 0):
        bad = "greater than 1" if proba.max() > 1 else "lower than 0"
        value = proba.max() if proba.max() > 1 else proba.min()
        raise ValueError(f"y_proba contains values {bad}: {value}")

    y = np.asarray(y_true)
    weights = None if sample_weight is None else np.asarray(sample_weight)
    _check_lengths(proba, y, weights)
    if weights is not None and weights.size and not np.any(weights):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    reduction: Literal["mean", "sum"] = "mean" if normalize else "sum"

    if y.ndim == 2 and y.shape[1] > 1:
        return _indicator_loss(y, proba, eps, weights, reduction, labels)

    codes, n_classes, classes = _encode(y.reshape(-1) if y.ndim == 2 else y, labels)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    if proba.ndim == 1:
        _check_class_count(n_classes, 2, labels, classes)
        loss = _native.binary_cross_entropy(
            codes, proba, sample_weight=weights, eps=eps, reduction=reduction
        )
        if math.isnan(loss):
            raise ValueError("Input y_proba contains NaN.")
        return float(loss)
    _check_rows_sum_to_one(proba, eps)
    _check_class_count(n_classes, proba.shape[1], labels, classes)
    return float(
        _native.sparse_categorical_cross_entropy(
            codes, proba, sample_weight=weights, eps=eps, reduction=reduction
        )
    )


def _pick_proba(y_proba: Any, y_pred: Any) -> Any:
    if y_pred is not None and y_proba is not None:
        raise ValueError("Cannot use both y_pred and y_proba; y_pred is the older name of y_proba")
    if y_pred is None and y_proba is None:
        raise TypeError("log_loss missing required argument: 'y_proba'")
    return y_proba if y_pred is None else y_pred


def _check_lengths(proba: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> None:
    lengths = [len(proba), len(y)] if y.ndim else [len(proba), 1]
    if weights is not None:
        lengths.append(len(weights) if weights.ndim else 1)
    if len(set(lengths)) > 1:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: {lengths}"
        )


def _encode(y: np.ndarray, labels: Any) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Class codes ``0..C-1`` of ``y`` in sorted-label order, the class count, and the classes
    (None when the codes are ``y`` itself)."""
    if labels is None and y.dtype.kind in "biu" and y.size:
        lo, hi = int(y.min()), int(y.max())
        small = hi < 1 << 16 and y.dtype != np.uint64
        if lo == 0 and (hi == 1 or (small and np.all(np.bincount(y, minlength=hi + 1) > 0))):
            # Classes are exactly 0..hi: the labels are their own codes (no copy).
            return y, hi + 1, None
    if labels is None:
        classes, codes = np.unique(y, return_inverse=True)
        return codes, len(classes), classes
    given = np.asarray(labels)
    classes = np.unique(given)
    if classes.shape != given.shape or not np.all(classes == given):
        warnings.warn(
            f"Labels passed were {labels}. But this function assumes labels are ordered "
            f"lexicographically. Pass the ordered labels={classes.tolist()} and ensure that "
            "the columns of y_prob correspond to this ordering.",
            UserWarning,
            stacklevel=3,
        )
    known = np.isin(y, classes)
    if not np.all(known):
        undeclared = set(np.unique(y[~known]).tolist())
        raise ValueError(
            f"y_true contains values {undeclared} not belonging to the passed labels {labels}."
        )
    return np.searchsorted(classes, y), len(classes), classes


def _check_class_count(n_classes: int, n_columns: int, labels: Any, classes: Any) -> None:
    shown = np.arange(n_classes) if classes is None else classes
    if n_classes == 1:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({shown[0]}). Please provide the list of all "
                "expected class labels explicitly through the labels argument."
            )
        raise ValueError(f"The labels array needs to contain at least two labels, got {shown}.")
    if n_classes != n_columns:
        if labels is None:
            raise ValueError(
                f"y_true and y_prob contain different number of classes: {n_classes} vs "
                f"{n_columns}. Please provide the true labels explicitly through the labels "
                f"argument. Classes found in y_true: {shown}"
            )
        raise ValueError(
            "The number of classes in labels is different from that in y_prob. Classes found "
            f"in labels: {shown}"
        )


def _check_rows_sum_to_one(proba: np.ndarray, eps: float) -> None:
    sums = proba.sum(axis=1)
    if np.isnan(sums).any():
        raise ValueError("Input y_proba contains NaN.")
    if not np.all(np.isclose(sums, 1, rtol=math.sqrt(eps))):
        warnings.warn(
            "The y_prob values do not sum to one. Make sure to pass probabilities.",
            UserWarning,
            stacklevel=3,
        )


def _indicator_loss(
    y: np.ndarray,
    proba: np.ndarray,
    eps: float,
    weights: Any,
    reduction: Literal["mean", "sum"],
    labels: Any,
) -> float:
    """``y_true`` given as a label-indicator matrix (one column per class)."""
    if proba.ndim == 1:
        proba = proba[:, None]
    if proba.shape[1] == 1:
        proba = np.concatenate([1 - proba, proba], axis=1)
    _check_rows_sum_to_one(proba, eps)
    _check_class_count(y.shape[1], proba.shape[1], labels, np.arange(y.shape[1]))
    return float(
        _native.categorical_cross_entropy(
            y, proba, sample_weight=weights, eps=eps, reduction=reduction
        )
    )
