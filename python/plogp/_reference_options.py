"""The NumPy reference's loss formulas with their options (used by ``plogp.reference`` only).

Each loss is written once, in its general form: ``pos_weight`` (binary), ``class_weight``
(categorical, sparse), ``label_smoothing`` (all three) and ``ignore_index`` (sparse); without
options (``pos_weight=None``, ``class_weight=None``, ``label_smoothing=0``) the same lines are
the plain losses. Everything here is computed in float64.

- binary: ``y ← y(1 − ε) + ε/2``; ``l = −[pw·y·log p + (1 − y)·log(1 − p)]``, from logits
  ``l = pw·y·softplus(−z) + (1 − y)·softplus(z)``; zero-coefficient terms are 0.
- categorical / sparse: ``t_c ← (1 − ε)·t_c + ε/K`` over the K classes whose logit is not
  −inf (from probabilities: all C classes); ``l = −Σ_c w_c·t_c·log p_c`` (from logits
  ``Σ_c w_c·t_c·(lse − z_c)``); zero-coefficient terms are 0 unless the prediction is NaN.
- sparse "mean" divides by ``Σ s_i·w_{y_i}`` over rows whose label is not ``ignore_index``.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np


def check_label_smoothing(label_smoothing: Any) -> float:
    if isinstance(label_smoothing, (bool, np.bool_, str)) or not isinstance(
        label_smoothing, numbers.Real
    ):
        raise TypeError(
            f"label_smoothing must be a float in [0, 1], got {type(label_smoothing).__name__}"
        )
    value = float(label_smoothing)
    if not 0 <= value <= 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {value}")
    return value


def check_ignore_index(ignore_index: Any) -> int | None:
    if ignore_index is None:
        return None
    if isinstance(ignore_index, (bool, np.bool_)):
        raise TypeError("ignore_index must be an int or None, got bool")
    try:
        return operator.index(ignore_index)
    except TypeError:
        raise TypeError(
            f"ignore_index must be an int or None, got {type(ignore_index).__name__}"
        ) from None


def _weight_array(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array, got dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = (~np.isfinite(a) | (a < 0)).ravel()
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite and non-negative; found {name}[{i}] = {a.flat[i]}")
    return a


def as_pos_weight(pos_weight: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """``pos_weight`` broadcast to ``shape``: a scalar, or the trailing dimensions."""
    if pos_weight is None:
        return None
    a = np.asarray(pos_weight)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"pos_weight must be a real array, got dtype {a.dtype}")
    core = a.shape
    while core and core[0] == 1:
        core = core[1:]
    if len(core) > len(shape) or tuple(shape[len(shape) - len(core) :]) != core:
        raise ValueError(
            f"pos_weight has shape {a.shape} but must be a scalar or match the trailing "
            f"dimensions of y_pred.shape = {shape}"
        )
    if a.size == 0:
        return None
    return np.broadcast_to(_weight_array("pos_weight", a.reshape(core)), shape)


def as_class_weight(class_weight: Any, n_classes: int) -> np.ndarray | None:
    if class_weight is None:
        return None
    a = np.asarray(class_weight)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"class_weight must be a real array, got dtype {a.dtype}")
    if a.shape != (n_classes,):
        raise ValueError(
            f"class_weight must be 1-D with one weight per class: class_weight.shape = "
            f"{a.shape} but y_pred has {n_classes} classes"
        )
    return _weight_array("class_weight", a)


def binary(
    y: np.ndarray,
    pred: np.ndarray,
    from_logits: bool,
    eps: float,
    pos_weight: np.ndarray | None,
    smoothing: float,
) -> Any:
    """The per-element binary loss (float64): ``−[pw·y'·log p + (1 − y')·log(1 − p)]`` with
    ``p`` clipped, or ``pw·y'·softplus(−z) + (1 − y')·softplus(z)`` from logits, ``y'`` the
    smoothed label; a term whose coefficient is 0 contributes exactly 0 (so ``y = 1, p = 0,
    eps = 0`` gives inf, not NaN, and ``z = ±inf`` with a hard label gives its limit)."""
    y = y.astype(np.float64)
    pred = pred.astype(np.float64)
    if smoothing != 0:
        y = y * (1 - smoothing) + 0.5 * smoothing
    wy = y if pos_weight is None else pos_weight * y
    ny = 1 - y
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if from_logits:
            soft = np.log1p(np.exp(-np.abs(pred)))
            pos = np.where(wy != 0, wy * (soft + np.maximum(-pred, 0)), 0)
            neg = np.where(ny != 0, ny * (soft + np.maximum(pred, 0)), 0)
            return pos + neg
        p = np.clip(pred, eps, 1 - eps)
        pos = np.where(wy != 0, wy * np.log(p), 0)
        neg = np.where(ny != 0, ny * np.log1p(-p), 0)
        return 0.0 - (pos + neg)


def weighted_rows(
    t: np.ndarray,
    pred: np.ndarray,
    axis: int,
    from_logits: bool,
    eps: float,
    class_weight: np.ndarray | None,
    smoothing: float,
    logsumexp: Any,
) -> Any:
    """The per-row categorical loss ``Σ_c w_c·t'_c·(−log p_c)`` (from logits
    ``Σ_c w_c·t'_c·(lse − z_c)``) along ``axis``, ``t'`` the smoothed targets, ``p`` clipped;
    terms whose coefficient is 0 contribute 0 unless the prediction is NaN (a −inf logit
    with target 0 is a masked class). The sparse loss is this loss of one-hot targets."""
    t = t.astype(np.float64)
    pred = pred.astype(np.float64)
    shape = [1] * pred.ndim
    shape[axis] = pred.shape[axis]
    w = np.ones(shape) if class_weight is None else class_weight.reshape(shape)
    coef_t = t * (1 - smoothing)
    if smoothing != 0:
        shares = pred != -np.inf if from_logits else np.ones(pred.shape, dtype=bool)
        k = np.sum(shares, axis=axis, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = smoothing / k
        coef_t = coef_t + np.where(shares & (w != 0), share, 0)
    coef = w * coef_t
    keep = (coef != 0) | np.isnan(pred)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if from_logits:
            terms = np.where(keep, coef * (logsumexp(pred, axis) - pred), 0)
        else:
            terms = np.where(keep, -coef * np.log(np.clip(pred, eps, 1 - eps)), 0)
    return np.sum(terms, axis=axis, dtype=np.float64) + 0.0


def ignored_rows(labels: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """Mask of the labels equal to ``ignore_index`` (never true for a value the dtype lacks)."""
    if ignore_index is None:
        return np.zeros(labels.shape, dtype=bool)
    if labels.dtype == np.bool_:
        lo, hi = 0, 1
    else:
        info = np.iinfo(labels.dtype)
        lo, hi = int(info.min), int(info.max)
    if not lo <= ignore_index <= hi:
        return np.zeros(labels.shape, dtype=bool)
    return labels == np.asarray(ignore_index).astype(labels.dtype)
