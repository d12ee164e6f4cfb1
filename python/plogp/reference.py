"""``plogp.reference``: every public plogp function in plain, readable NumPy.

This module is the oracle of the parity tests and the "numpy" row of ``plogp bench``, and
the place to read each formula. It has the signatures, semantics and exception types of the
native functions (see ``contract.md``), written for clarity rather than speed: it makes
full-size temporaries where the native kernels make none.

Conventions shared by every function:

- Natural logarithms; ``base=2`` divides the result by ``log 2`` (bits).
- float16 inputs are computed in float32 and per-item results are returned as float16;
  float32 inputs are computed in float32 elementwise, and every sum (a reduction, or the
  sum along a distribution's axis) is accumulated in float64.
- Reductions return a Python float; per-row / per-element results return an ndarray.
- Inputs are never modified (clipping and masking make new arrays).
- ``0 · log 0 = 0``: terms whose weight is exactly 0 are masked with ``np.where`` (the
  masked branch may be ``0 · (−inf)``, computed under ``np.errstate`` and then discarded).
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np

from plogp import _items
from plogp import _reference_options as _opt
from plogp import _sklearn_compat as _sklearn  # shared with plogp.log_loss, NumPy only

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "cross_entropy",
    "entropy",
    "entropy_from_logits",
    "js_divergence",
    "kl_divergence",
    "log_loss",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "softmax",
    "sparse_categorical_cross_entropy",
]

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- argument checks


def _asarray(name: str, x: Any) -> np.ndarray:
    try:
        return np.asarray(x)
    except ValueError as e:  # e.g. a ragged nested list
        raise ValueError(f"{name} could not be converted to an array: {e}") from None
    except TypeError as e:
        raise TypeError(f"{name} could not be converted to an array: {e}") from None


def _as_float(name: str, x: Any) -> np.ndarray:
    """Probabilities or logits: float16, float32 or float64 only (never converted)."""
    a = _asarray(name, x)
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a floating-point array (float16, float32 or float64), "
            f"got dtype {a.dtype}"
        )
    return a


def _as_distribution(name: str, x: Any) -> np.ndarray:
    """A distribution: a float array; bool and integer arrays are read as float64 (as SciPy)."""
    a = _asarray(name, x)
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a real array (float16/32/64, or integer/bool read as float64), "
            f"got dtype {a.dtype}"
        )
    return a


def _as_target(name: str, x: Any) -> np.ndarray:
    """Targets of binary / categorical losses: float, bool or any integer dtype."""
    a = _asarray(name, x)
    if a.dtype.kind not in "biu" and a.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a real array (float16/32/64, bool or any integer dtype), "
            f"got dtype {a.dtype}"
        )
    return a


def _as_labels(name: str, x: Any) -> np.ndarray:
    """Integer class labels: any integer dtype or bool."""
    a = _asarray(name, x)
    if a.dtype.kind not in "biu":
        raise TypeError(f"{name} must be an integer array of class labels, got {a.dtype}")
    return a


def _computed_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype an input is computed in: float64 (float16/32 terms are computed in float64
    and rounded once to the input dtype, as the native kernels do)."""
    return np.dtype(np.float64)


def _computed(x: np.ndarray) -> np.ndarray:
    return x.astype(_computed_dtype(x.dtype), copy=False)


def _as_distribution_pair(p: np.ndarray, q: np.ndarray, axis: Any) -> tuple[np.ndarray, np.ndarray]:
    """``p`` and ``q`` broadcast against each other (equal along the distributions' axes),
    promoted to one float dtype."""
    shapes = f"p.shape = {p.shape} and q.shape = {q.shape}"
    try:
        shape = np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise ValueError(f"p and q must broadcast against each other, got {shapes}") from None
    folded = _Folded(np.broadcast_to(p, shape), axis)
    named = [folded.axis % len(shape)] if folded.axes is None else folded.axes
    pp, qp = ((1,) * (len(shape) - a.ndim) + a.shape for a in (p, q))
    if any(pp[k] != qp[k] for k in named):
        raise ValueError(f"p and q must have the same length along axis, got {shapes}")
    common = np.result_type(p.dtype, q.dtype)
    return (
        np.broadcast_to(p.astype(common, copy=False), shape),
        np.broadcast_to(q.astype(common, copy=False), shape),
    )


def _check_same_shape(a_name: str, a: np.ndarray, b_name: str, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{a_name} and {b_name} must have the same shape, got {a_name}.shape = {a.shape} "
            f"and {b_name}.shape = {b.shape}"
        )


def _check_axis(axis: Any, ndim: int) -> int:
    """``axis`` normalised to ``[0, ndim)``; ValueError if out of bounds (or ``ndim == 0``)."""
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError("axis must be an int, got bool")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an int, got {type(axis).__name__}") from None
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return int(axis % ndim)


def _check_distribution_values(name: str, p: np.ndarray, normalize: bool) -> None:
    """The values of ``p`` as the caller passed it (so that an error names its flat index):
    in [0, 1], or finite and non-negative under ``normalize``."""
    if not normalize:
        _check_unit_interval(name, p)
        return
    bad = ~(np.isfinite(p) & (p >= 0))
    if bad.any():
        i = int(np.argmax(bad.ravel()))
        value = p.ravel()[i]
        raise ValueError(
            f"{name} must be finite and non-negative; found {name}[{i}] = {float(value)}"
        )


def _normalized(name: str, p: np.ndarray, axis: int) -> np.ndarray:
    """``p`` divided by its sum along ``axis`` (``normalize=True``; values already checked by
    ``_check_distribution_values``): every distribution with a positive finite sum (a
    ValueError naming ``name``)."""
    with np.errstate(over="ignore"):  # an overflowing sum is reported below
        sums = np.asarray(np.sum(p, axis=axis, keepdims=True, dtype=np.float64))
    wrong = ~((sums > 0) & np.isfinite(sums))
    if wrong.any():
        row = int(np.argmax(np.moveaxis(wrong, axis, -1).ravel()))
        total = float(np.moveaxis(sums, axis, -1).ravel()[row])
        raise ValueError(
            f"normalize=True needs every distribution of {name} to have a positive finite sum; "
            f"distribution {row} of {name} sums to {total}"
        )
    return (p / sums).astype(p.dtype)


class _Folded:
    """An array read along ``axis`` of the functions that take several axes: an int, None
    (every axis) or a tuple of ints. Named axes are moved last (in array order) and merged
    into one, axis -1 of ``array``; ``rows`` reshapes one value per distribution for
    ``keepdims`` and ``unfold`` puts a per-element result back in the input's layout."""

    def __init__(self, a: np.ndarray, axis: Any) -> None:
        self.shape, self.axes, self.source = a.shape, None, a  # source: for error indices
        if axis is not None and not isinstance(axis, (tuple, list)):
            if isinstance(axis, (bool, np.bool_)) or not isinstance(
                axis, (numbers.Integral, np.integer)
            ):
                raise TypeError(
                    f"axis must be an int, None or a tuple of ints, got {type(axis).__name__}"
                )
            self.array, self.axis = a, _check_axis(axis, a.ndim)
            self.named = [self.axis]
            return
        named = range(a.ndim) if axis is None else axis
        if axis is not None and not axis:
            raise ValueError("axis must name at least one axis, got an empty tuple")
        for k in named:
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (numbers.Integral, np.integer)):
                raise TypeError(
                    f"axis must be an int, None or a tuple of ints, got {type(axis).__name__}"
                )
        axes = sorted(_check_axis(k, a.ndim) for k in named)
        if len(set(axes)) != len(axes):
            raise ValueError("repeated axis in axis argument")
        last = list(range(a.ndim - len(axes), a.ndim))
        moved = np.moveaxis(a, axes, last)
        self.moved_shape, self.axes, self.last, self.named = moved.shape, axes, last, axes
        size = math.prod(a.shape[k] for k in axes)
        folded = moved.reshape(moved.shape[: a.ndim - len(axes)] + (size,))
        self.array, self.axis = folded, folded.ndim - 1

    def rows(self, values: Any, keepdims: bool) -> Any:
        """One value per distribution (axis removed), reshaped for ``keepdims``."""
        if not keepdims:
            return values
        kept = list(self.shape)
        for k in [self.axis % len(self.shape)] if self.axes is None else self.axes:
            kept[k] = 1
        return np.reshape(values, tuple(kept))

    def unfold(self, out: np.ndarray) -> np.ndarray:
        if self.axes is None:
            return out
        back = np.moveaxis(out.reshape(self.moved_shape), self.last, self.axes)
        return np.require(back, requirements="C")  # a 0-d result stays 0-d


def _pair_rows(
    p: Any, q: Any, axis: Any, normalize: bool
) -> tuple[_Folded, np.dtype, np.ndarray, np.ndarray]:
    """The two distributions of a pair function read along ``axis``: the fold of ``p``, the
    output dtype and both computed arrays (divided by their sums under ``normalize``),
    checked to lie in [0, 1]."""
    p, q = _as_distribution("p", p), _as_distribution("q", q)
    broadcast = _as_distribution_pair(p, q, axis)
    for name, values in (("p", p), ("q", q)):  # each in its own layout
        _check_distribution_values(name, values, normalize)
    folded = _Folded(broadcast[0], axis)
    p, q = folded.array, _Folded(broadcast[1], axis).array
    out_dtype, p, q = p.dtype, _computed(p), _computed(q)
    if normalize:
        p, q = _normalized("p", p, folded.axis), _normalized("q", q, folded.axis)
    return folded, out_dtype, p, q


def _check_reduction(reduction: Any) -> str:
    if not (isinstance(reduction, str) and reduction in _REDUCTIONS):
        raise ValueError(f"reduction must be one of 'mean', 'sum', 'none'; got {reduction!r}")
    return reduction


def _log_base(base: Any) -> float:
    """``log(base)`` (1 for ``base=None``, i.e. nats); ``base`` must be positive and not 1."""
    if base is None:
        return 1.0
    if not isinstance(base, numbers.Real):
        raise TypeError(f"base must be None or a positive number other than 1, got {base!r}")
    b = float(base)
    if not (math.isfinite(b) and b > 0 and b != 1):
        raise ValueError(f"base must be a positive number other than 1, got {base!r}")
    return math.log(b)


def _check_eps(eps: Any) -> float | None:
    """The clipping bound: a float in [0, 0.5), or None for ``"auto"`` (see ``_resolve_eps``)."""
    if isinstance(eps, str):
        if eps == "auto":
            return None
        raise ValueError(f"eps must be 'auto' or a float in [0, 0.5); got {eps!r}")
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be 'auto' or a float in [0, 0.5); got {type(eps).__name__}")
    value = float(eps)
    if not 0 <= value < 0.5:
        raise ValueError(f"eps must be 'auto' or a float in [0, 0.5); got {eps!r}")
    return value


def _resolve_eps(eps: float | None, dtype: np.dtype) -> float:
    """``"auto"`` is the machine epsilon of the input's dtype (float32's for float16)."""
    auto_dtype = np.float32 if dtype == np.float16 else dtype
    return float(np.finfo(auto_dtype).eps) if eps is None else eps


def _check_unit_interval(name: str, x: np.ndarray) -> None:
    """ValueError naming the first value outside [0, 1] (flat C-order index); NaN passes."""
    bad = ((x < 0) | (x > 1)).ravel()
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name} must be within [0, 1]; found {name}[{i}] = {x.flat[i]} (flat index)"
        )


def _check_labels(labels: np.ndarray, n_classes: int) -> None:
    bad = ((labels < 0) | (labels >= n_classes)).ravel()
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"y_true[{i}] = {int(labels.flat[i])} is out of range for {n_classes} classes "
            f"(labels must be in [0, {n_classes}))"
        )


def _as_weight(sample_weight: Any, items: tuple[int, ...]) -> np.ndarray | None:
    """Sample weights as float64 of the per-item shape ``items``.

    Accepted: the shapes of ``_items.weight_shape`` (``items`` itself; a scalar, ``(N,)`` or
    ``(N, 1)`` along the leading axes; a NumPy broadcast over one block of consecutive axes).
    Weights must be finite and >= 0.
    """
    if sample_weight is None:
        return None
    w = _asarray("sample_weight", sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be a real array, got dtype {w.dtype}")
    w = w.astype(np.float64)
    broadcast = _items.weights_per_item(w, items)
    bad = (~np.isfinite(w) | (w < 0)).ravel()
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"sample_weight must be finite and non-negative; found sample_weight[{i}] = {w.flat[i]}"
        )
    return broadcast


def _labels_for_rows(y_true: Any, folded: _Folded) -> tuple[np.ndarray, tuple[int, ...]]:
    """Integer labels, which must have ``y_pred``'s shape without its class axes (or with
    them of length 1, squeezed: Keras' ``(N, 1)`` labels), and that shape (the rows)."""
    labels = _as_labels("y_true", y_true)
    pred_shape = folded.shape
    rows = tuple(n for k, n in enumerate(pred_shape) if k not in folded.named)
    kept_axis = tuple(1 if k in folded.named else n for k, n in enumerate(pred_shape))
    if labels.shape == kept_axis:
        labels = labels.reshape(rows)
    if labels.shape != rows:
        raise ValueError(
            "y_true must have the shape of y_pred without its class axis: "
            f"y_true.shape = {labels.shape} but y_pred.shape = {pred_shape} "
            f"(expected y_true.shape = {rows} or {kept_axis})"
        )
    return labels, rows


def _without_axis(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1 :]


# --------------------------------------------------------------------------- shared math


def _per_row(values: Any, out_dtype: np.dtype) -> Any:
    """One value per row: a Python float for a single row, else an array in ``out_dtype``."""
    return float(values) if values.ndim == 0 else values.astype(out_dtype)


def _per_distribution(
    terms: np.ndarray, folded: _Folded, ln_base: float, out_dtype: np.dtype, keepdims: bool
) -> Any:
    """Sum ``terms`` along the distribution axis of ``folded`` in float64, in units of
    ``base``.

    ``+ 0.0`` makes a sum of zero terms +0, never −0 (``−0·log 1`` is −0).
    """
    total = np.sum(terms, axis=folded.axis, dtype=np.float64) / ln_base + 0.0
    return _per_row(np.asarray(folded.rows(total, keepdims)), out_dtype)


def _check_nan_policy(nan_policy: Any) -> str:
    if nan_policy not in ("propagate", "raise", "omit"):
        raise ValueError(
            f"nan_policy must be one of 'propagate', 'raise', 'omit'; got {nan_policy!r}"
        )
    return str(nan_policy)


def _apply_nan_policy(
    per_item: np.ndarray, weight: np.ndarray | None, nan_policy: str
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``nan_policy`` on the items whose loss is NaN, for both reducers.

    ``"propagate"``: nothing changes. ``"raise"``: ValueError naming the first such item
    (flat index). ``"omit"``: those items get loss 0 and weight 0, so they leave both the
    numerator and the denominator. Returns ``(per_item, weight, omitted)``, ``omitted`` the
    mask of the omitted items (None when none is).
    """
    if nan_policy == "propagate":
        return per_item, weight, None
    bad = np.isnan(per_item)
    if not bad.any():
        return per_item, weight, None
    if nan_policy == "raise":
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"nan_policy='raise': the loss of item {first} is NaN (a NaN in y_true or "
            "y_pred at that item, or an undefined value such as inf - inf)"
        )
    kept = np.where(bad, 0.0, 1.0 if weight is None else weight)
    return np.where(bad, 0.0, per_item), kept, bad


def _reduce(
    per_item: Any,
    weight: np.ndarray | None,
    reduction: str,
    out_dtype: np.dtype,
    nan_policy: str = "propagate",
    factor: np.ndarray | None = None,
) -> Any:
    """Apply the reduction to per-item losses ``l_i`` with sample weights ``s_i``.

    ``"none"``: ``s_i·l_i`` in ``out_dtype``; ``"sum"``: ``Σ s_i·l_i``;
    ``"mean"``: ``Σ s_i·l_i / Σ s_i`` (``s_i = 1`` without weights), accumulated in float64;
    with ``factor`` (the loss options' ``w_{y_i}``, 0 for ignored rows) the denominator is
    ``Σ s_i·factor_i``, PyTorch's rule. ``nan_policy``: see ``_apply_nan_policy`` (the
    ``"none"`` output of an omitted item stays NaN).
    """
    per_item, weight, omitted = _apply_nan_policy(
        np.asarray(per_item, dtype=np.float64), weight, nan_policy
    )
    with np.errstate(invalid="ignore", over="ignore"):  # 0·inf = NaN, as in the kernels
        weighted = per_item if weight is None else per_item * weight
    if reduction == "none":
        if omitted is not None:
            weighted = np.where(omitted, np.nan, weighted)
        return np.asarray(weighted, dtype=out_dtype)
    total = np.sum(weighted, dtype=np.float64)
    if reduction == "sum":
        return float(total)
    if factor is None:
        total_weight = per_item.size if weight is None else np.sum(weight, dtype=np.float64)
        causes = "(empty input, or every sample_weight is 0)"
    else:
        scaled = factor if weight is None else weight * factor
        total_weight = np.sum(scaled, dtype=np.float64)
        causes = (
            "(empty input, every sample_weight is 0, every label is ignore_index, "
            "or the class weights of the labels are 0)"
        )
    if not total_weight > 0:
        raise ValueError(f"reduction='mean' is undefined over zero total weight {causes}")
    return float(total / total_weight)


# The largest number of groups (``max(groups) + 1``) a call accepts, as the native kernels.
_MAX_GROUPS = 1 << 24


def _as_groups(groups: Any, items: tuple[int, ...]) -> np.ndarray:
    """Integer group ids of the per-item shape ``items`` (or 1-D of length ``items[0]``,
    broadcast along the first axis), each in ``[0, 2^24)``."""
    g = _asarray("groups", groups)
    if g.dtype.kind not in "biu":
        raise TypeError(f"groups must be an integer array of group ids, got dtype {g.dtype}")
    ids = _items.per_item("groups", g, items)
    bad = ((g < 0) | (g >= _MAX_GROUPS)).ravel()
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"groups[{i}] = {int(g.flat[i])} is not a valid group id "
            f"(group ids must be integers in [0, {_MAX_GROUPS}))"
        )
    return ids


def _reduce_by_group(
    per_item: Any,
    weight: np.ndarray | None,
    groups: Any,
    items: tuple[int, ...],
    reduction: str,
    nan_policy: str,
    factor: np.ndarray | None = None,
) -> np.ndarray:
    """``groups=``: one value per group id ``0 .. max(groups)``, as a float64 array.

    ``"sum"``: ``Σ s_i·l_i`` over the items of each group; ``"mean"``: ``Σ s_i·l_i / Σ s_i``
    (``Σ s_i·factor_i`` with a ``factor``, as in ``_reduce``), NaN for a group of zero total
    weight (an id that never occurs, or all weights 0). ``nan_policy`` acts on items as in
    ``_reduce``.
    """
    if reduction == "none":
        raise ValueError(
            "groups= needs reduction='mean' or 'sum' (reduction='none' already returns "
            "one loss per item)"
        )
    ids = _as_groups(groups, items)
    per_item, weight, _ = _apply_nan_policy(
        np.asarray(per_item, dtype=np.float64), weight, nan_policy
    )
    w = np.ones(per_item.shape) if weight is None else weight
    with np.errstate(invalid="ignore", over="ignore"):  # 0·inf = NaN, as in the kernels
        weighted = per_item if weight is None else per_item * w
    flat = ids.ravel().astype(np.intp)
    n_groups = int(flat.max()) + 1 if flat.size else 0
    sums = np.bincount(flat, weights=np.ravel(weighted), minlength=n_groups)
    if factor is not None:
        w = w * factor
    totals = np.bincount(flat, weights=np.ravel(w), minlength=n_groups)
    sums, totals = sums.astype(np.float64), totals.astype(np.float64)
    if reduction == "sum":
        return sums
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, sums / np.where(totals > 0, totals, 1.0), np.nan)


def _max_shift(z: np.ndarray, axis: int) -> tuple[Any, Any, Any, Any]:
    """The pieces of a max-shifted softmax along ``axis`` (kept as length 1).

    Returns ``m = max z`` (−inf for an empty row, NaN if the row has a NaN), ``d = z − m``,
    ``e = exp(d) ≤ 1`` and ``S = Σ e`` (accumulated in float64). Rows whose ``m`` is not
    finite (all −inf, +inf or NaN) give meaningless ``d, e, S``: callers replace them.
    """
    m = np.max(z, axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(invalid="ignore", over="ignore"):
        d = z - np.where(np.isfinite(m), m, 0)
        e = np.exp(d)
    s = np.sum(e, axis=axis, keepdims=True, dtype=np.float64)
    return m, d, e, s


def _log_sum(d: np.ndarray, e: np.ndarray, axis: int) -> Any:
    """``log S`` for ``S = Σ e`` of ``_max_shift``, accurate when one logit dominates.

    ``S = n + R`` with ``n`` the number of logits at the maximum (``d = 0``) and ``R`` the sum
    of the others, so ``log S = log1p((n − 1) + R)``: a tiny ``log S`` keeps its relative
    accuracy, which ``log(1 + R)`` would round away.
    """
    at_max = d == 0
    rest = np.sum(np.where(at_max, 0, e), axis=axis, keepdims=True, dtype=np.float64)
    n = np.sum(at_max, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p((n - 1) + rest)


def _logsumexp(z: np.ndarray, axis: int) -> Any:
    """``log Σ exp z = m + log Σ exp(z − m)`` along ``axis`` (kept as length 1), in float64.

    A row without a finite maximum gives that maximum: −inf (all −inf or empty), +inf, NaN.
    """
    m, d, e, _ = _max_shift(z, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(m), m + _log_sum(d, e, axis), m)


def _rel_entr(p: np.ndarray, q: np.ndarray) -> Any:
    """SciPy's ``rel_entr(p, q) = p·log(p/q)``: 0 where p = 0, inf where p > 0 = q.

    Where ``q/2 ≤ p ≤ 2q``, ``p − q`` is exact (Sterbenz's lemma), so
    ``p·log1p((p − q)/q)`` keeps full relative accuracy as p → q, where ``log(p/q)``
    would lose it.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = p / q
        near = (p <= 2 * q) & (q <= 2 * p)
        terms = np.where(near, p * np.log1p((p - q) / q), p * np.log(ratio))
        # p/q overflowed or underflowed although p and q are positive: subtract the logs.
        lost = (p > 0) & (q > 0) & ((ratio == np.inf) | (ratio < np.finfo(ratio.dtype).tiny))
        terms = np.where(lost, p * (np.log(p) - np.log(q)), terms)
    # p = 0 contributes 0, unless q is NaN (NaN propagates, as in SciPy).
    return np.where((p != 0) | np.isnan(q), terms, 0)


# --------------------------------------------------------------------------- information theory


def entropy(
    p: Any,
    *,
    axis: Any = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> Any:
    """Shannon entropy of each distribution along ``axis``.

    ``H(p) = −Σ_c p_c·log p_c``, with ``0·log 0 = 0``. ``p`` must lie in [0, 1] (NaN
    propagates); it is not normalised. An empty distribution has entropy 0.

    Returns a Python float for a 1-D ``p`` (without ``keepdims``), else one value per
    distribution.
    """
    ln_base = _log_base(base)
    folded = _Folded(_as_distribution("p", p), axis)
    _check_distribution_values("p", folded.source, bool(normalize))
    p = folded.array
    out_dtype, p = p.dtype, _computed(p)
    if normalize:
        p = _normalized("p", p, folded.axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p != 0, -p * np.log(p), 0)
    return _per_distribution(terms, folded, ln_base, out_dtype, bool(keepdims))


def entropy_from_logits(
    z: Any, *, axis: Any = -1, base: float | None = None, keepdims: bool = False
) -> Any:
    """Entropy of ``softmax(z)`` along ``axis``, without forming the probabilities.

    ``H(softmax z) = logsumexp(z) − Σ_c softmax(z)_c·z_c = log S − Σ_c e_c·d_c / S`` with
    ``m = max z``, ``d = z − m``, ``e = exp d``, ``S = Σ e``. Classes with ``e_c = 0``
    (e.g. ``z_c = −inf``) contribute 0; rows that are all −inf, or hold +inf or NaN, give
    NaN. An empty distribution axis gives 0 (as ``entropy``).
    """
    ln_base = _log_base(base)
    folded = _Folded(_as_float("z", z), axis)
    z, axis = folded.array, folded.axis
    out_dtype, z = z.dtype, _computed(z)
    m, d, e, s = _max_shift(z, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_times_d = np.where(e != 0, e * d, 0)
        weighted = np.sum(e_times_d, axis=axis, keepdims=True, dtype=np.float64)
        undefined = np.nan if z.shape[axis] else 0.0
        h = np.where(np.isfinite(m), _log_sum(d, e, axis) - weighted / s, undefined)
    return _per_row(folded.rows(np.squeeze(h, axis=axis) / ln_base, bool(keepdims)), out_dtype)


def cross_entropy(
    p: Any,
    q: Any,
    *,
    axis: Any = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> Any:
    """Cross-entropy of each pair of distributions along ``axis``.

    ``H(p, q) = −Σ_c p_c·log q_c``; terms with ``p_c = 0`` are 0 (even where ``q_c = 0``),
    ``p_c > 0 = q_c`` gives inf. ``p`` and ``q`` must have the same shape and lie in [0, 1].
    No clipping.
    """
    ln_base = _log_base(base)
    folded, out_dtype, p, q = _pair_rows(p, q, axis, bool(normalize))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((p != 0) | np.isnan(q), -p * np.log(q), 0)
    return _per_distribution(terms, folded, ln_base, out_dtype, bool(keepdims))


def kl_divergence(
    p: Any,
    q: Any,
    *,
    axis: Any = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> Any:
    """Kullback–Leibler divergence of each pair of distributions along ``axis``.

    ``KL(p‖q) = Σ_c p_c·log(p_c / q_c)``, summing SciPy's ``rel_entr``: 0 where
    ``p_c = 0``, inf where ``p_c > 0 = q_c``; computed as ``p·log1p((p − q)/q)`` where
    ``q/2 ≤ p ≤ 2q`` (stable near p = q).
    """
    ln_base = _log_base(base)
    folded, out_dtype, p, q = _pair_rows(p, q, axis, bool(normalize))
    return _per_distribution(_rel_entr(p, q), folded, ln_base, out_dtype, bool(keepdims))


def js_divergence(
    p: Any,
    q: Any,
    *,
    axis: Any = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> Any:
    """Jensen–Shannon divergence of each pair of distributions along ``axis``.

    ``JS(p, q) = ½·KL(p‖m) + ½·KL(q‖m)`` with ``m = (p + q)/2``: the divergence, not
    SciPy's ``jensenshannon`` distance (its square root).
    """
    ln_base = _log_base(base)
    folded, out_dtype, p, q = _pair_rows(p, q, axis, bool(normalize))
    m = 0.5 * p + 0.5 * q
    terms = 0.5 * (_rel_entr(p, m) + _rel_entr(q, m))
    return _per_distribution(terms, folded, ln_base, out_dtype, bool(keepdims))


# --------------------------------------------------------------------------- activations


def softmax(z: Any, *, axis: Any = -1) -> np.ndarray:
    """Softmax along ``axis``: ``softmax(z)_c = exp(z_c − m) / Σ_k exp(z_k − m)``, m = max z.

    Same shape and dtype as ``z``. Rows that are all −inf, or hold +inf or NaN, give NaN.
    """
    folded = _Folded(_as_float("z", z), axis)
    z, axis = folded.array, folded.axis
    out_dtype, z = z.dtype, _computed(z)
    m, _, e, s = _max_shift(z, axis)
    with np.errstate(invalid="ignore"):
        return folded.unfold(np.where(np.isfinite(m), e / s, np.nan).astype(out_dtype))


def log_softmax(z: Any, *, axis: Any = -1) -> np.ndarray:
    """Log-softmax along ``axis``: ``z_c − logsumexp(z) = (z_c − m) − log Σ_k exp(z_k − m)``.

    Same shape and dtype as ``z``. Rows that are all −inf, or hold +inf or NaN, give NaN.
    """
    folded = _Folded(_as_float("z", z), axis)
    z, axis = folded.array, folded.axis
    out_dtype, z = z.dtype, _computed(z)
    m, d, e, _ = _max_shift(z, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(np.isfinite(m), d - _log_sum(d, e, axis), np.nan)
    return folded.unfold(log_p.astype(out_dtype))


def logsumexp(z: Any, *, axis: Any = -1, keepdims: bool = False) -> Any:
    """``log Σ_c exp z_c`` along ``axis``, max-shifted: ``m + log Σ_c exp(z_c − m)``.

    One value per row (a Python float for 1-D ``z``). Rows that are all −inf (or empty) give
    −inf, rows with +inf give +inf, rows with NaN give NaN.
    """
    folded = _Folded(_as_float("z", z), axis)
    z, axis = folded.array, folded.axis
    out_dtype, z = z.dtype, _computed(z)
    lse = np.squeeze(_logsumexp(z, axis), axis=axis)
    return _per_row(np.asarray(folded.rows(lse, bool(keepdims))), out_dtype)


def sigmoid(z: Any) -> np.ndarray:
    """Logistic sigmoid, elementwise: ``σ(z) = 1 / (1 + exp(−z))``.

    Computed from ``e = exp(−|z|) ≤ 1`` (never overflows): ``1/(1 + e)`` for z ≥ 0 and
    ``e/(1 + e)`` for z < 0.
    """
    z = _as_float("z", z)
    out_dtype, z = z.dtype, _computed(z)
    e = np.exp(-np.abs(z))
    return np.asarray(np.where(z >= 0, 1 / (1 + e), e / (1 + e)), dtype=out_dtype)


def log_sigmoid(z: Any) -> np.ndarray:
    """Log of the sigmoid, elementwise: ``log σ(z) = −softplus(−z)``.

    Computed as ``min(z, 0) − log1p(exp(−|z|))``: exact for every finite z (no exp of a
    positive argument).
    """
    z = _as_float("z", z)
    out_dtype, z = z.dtype, _computed(z)
    return np.asarray(np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z))), dtype=out_dtype)


# --------------------------------------------------------------------------- losses


def binary_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    sample_weight: Any = None,
    pos_weight: Any = None,
    label_smoothing: float = 0.0,
    eps: float | str = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
) -> Any:
    """Binary cross-entropy (log loss), elementwise over any shape.

    From probabilities, with ``p`` clipped to ``[eps, 1 − eps]``:
    ``l = −[y·log p + (1 − y)·log(1 − p)]``, where a term whose weight (``y`` or ``1 − y``)
    is 0 contributes exactly 0 (so ``y = 1, p = 0, eps = 0`` gives inf, not NaN).

    From logits ``z`` (never clipped), the softplus form
    ``l = max(z, 0) − z·y + log1p(exp(−|z|)) = y·softplus(−z) + (1 − y)·softplus(z)``.

    ``y_true`` (float, bool or integer) and ``y_pred`` have the same shape, both in [0, 1]
    (``y_pred`` unrestricted with ``from_logits``); NaN propagates. ``sample_weight``: the
    shape of ``y_pred``, or length ``y_pred.shape[0]`` broadcast along the first axis.
    ``reduction``: ``"mean"`` (``Σ s·l / Σ s`` over elements), ``"sum"`` or ``"none"``.
    ``pos_weight`` / ``label_smoothing``: see ``plogp._reference_options``.
    """
    smoothing = _opt.check_label_smoothing(label_smoothing)
    reduction = _check_reduction(reduction)
    eps_bound = _check_eps(eps)  # options first, as the native binding parses them
    nan_policy = _check_nan_policy(nan_policy)
    y_pred = _as_float("y_pred", y_pred)
    y_true = _items.binary_truth(_as_target("y_true", y_true), y_pred.shape)
    _check_same_shape("y_true", y_true, "y_pred", y_pred)
    weight = _as_weight(sample_weight, y_pred.shape)
    pw = _opt.as_pos_weight(pos_weight, y_pred.shape)
    _check_unit_interval("y_true", y_true)
    if not from_logits:
        _check_unit_interval("y_pred", y_pred)
    out_dtype, pred = y_pred.dtype, _computed(y_pred)
    loss = _opt.binary(
        y_true, pred, from_logits, _resolve_eps(eps_bound, y_pred.dtype), pw, smoothing
    )
    if groups is not None:
        return _reduce_by_group(loss, weight, groups, y_pred.shape, reduction, nan_policy)
    return _reduce(loss, weight, reduction, out_dtype, nan_policy)


def categorical_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: Any = -1,
    sample_weight: Any = None,
    class_weight: Any = None,
    label_smoothing: float = 0.0,
    eps: float | str = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
) -> Any:
    """Categorical cross-entropy of one-hot or soft targets, one loss per row.

    From probabilities (clipped to ``[eps, 1 − eps]``): ``l = −Σ_c t_c·log p_c``.
    From logits: ``l = Σ_c t_c·(logsumexp(z) − z_c)``. Terms with ``t_c = 0`` are 0 (a
    −inf logit with target 0 is a masked class).

    ``y_true`` has the shape of ``y_pred``, in [0, 1]. ``sample_weight``: the row shape
    (``y_pred.shape`` without ``axis``), or length N broadcast along the first axis.
    ``reduction``: ``"mean"`` (``Σ s·l / Σ s`` over rows), ``"sum"`` or ``"none"``.
    ``class_weight`` / ``label_smoothing``: see ``plogp._reference_options``.
    """
    smoothing = _opt.check_label_smoothing(label_smoothing)
    reduction = _check_reduction(reduction)
    eps_bound = _check_eps(eps)  # options first, as the native binding parses them
    nan_policy = _check_nan_policy(nan_policy)
    y_pred = _as_float("y_pred", y_pred)
    y_true = _as_target("y_true", y_true)
    _check_same_shape("y_true", y_true, "y_pred", y_pred)
    original = y_true, y_pred  # range errors name their flat index
    folded = _Folded(y_pred, axis)  # several class axes: read as one, in C order
    y_pred, y_true, axis = folded.array, _Folded(y_true, axis).array, folded.axis
    weight = _as_weight(sample_weight, _without_axis(y_pred.shape, axis))
    cw = _opt.as_class_weight(class_weight, y_pred.shape[axis])
    _check_unit_interval("y_true", original[0])
    if not from_logits:
        _check_unit_interval("y_pred", original[1])
    out_dtype, pred = y_pred.dtype, _computed(y_pred)
    loss = _opt.weighted_rows(
        y_true,
        pred,
        axis,
        from_logits,
        _resolve_eps(eps_bound, y_pred.dtype),
        cw,
        smoothing,
        _logsumexp,
    )
    if groups is not None:
        rows = _without_axis(y_pred.shape, axis)
        return _reduce_by_group(loss, weight, groups, rows, reduction, nan_policy)
    return _reduce(loss, weight, reduction, out_dtype, nan_policy)


def sparse_categorical_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: Any = -1,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    eps: float | str = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
) -> Any:
    """Categorical cross-entropy of integer class labels, one loss per row.

    From probabilities (clipped to ``[eps, 1 − eps]``): ``l = −log p_y``.
    From logits: ``l = logsumexp(z) − z_y``.

    ``y_true``: integer (or bool) labels in ``[0, C)`` of shape ``y_pred.shape`` without
    ``axis`` (C = ``y_pred.shape[axis]``). With probabilities, every value of ``y_pred`` must
    lie in [0, 1]. ``sample_weight`` and ``reduction`` as in ``categorical_cross_entropy``.
    ``class_weight`` / ``ignore_index`` / ``label_smoothing``: see
    ``plogp._reference_options``; "mean" then divides by ``Σ s_i·w_{y_i}`` (rows not ignored).
    """
    smoothing = _opt.check_label_smoothing(label_smoothing)
    ignore = _opt.check_ignore_index(ignore_index)
    reduction = _check_reduction(reduction)
    eps_bound = _check_eps(eps)  # options first, as the native binding parses them
    nan_policy = _check_nan_policy(nan_policy)
    y_pred = _as_float("y_pred", y_pred)
    folded = _Folded(y_pred, axis)  # several class axes: a label indexes them in C order
    y_pred, axis = folded.array, folded.axis
    labels, rows = _labels_for_rows(y_true, folded)
    weight = _as_weight(sample_weight, rows)
    cw = _opt.as_class_weight(class_weight, y_pred.shape[axis])
    ignored = _opt.ignored_rows(labels, ignore)
    if ignored.any():
        labels = np.where(ignored, 0, labels)
    _check_labels(labels, y_pred.shape[axis])
    if not from_logits:
        _check_unit_interval("y_pred", folded.source)
    out_dtype, pred = y_pred.dtype, _computed(y_pred)
    n_classes = y_pred.shape[axis]
    # The categorical loss of the one-hot targets of the labels: one statement of the loss.
    classes = np.arange(n_classes).reshape((-1,) + (1,) * (pred.ndim - 1 - axis))
    onehot = classes == np.expand_dims(labels.astype(np.intp), axis)
    loss = _opt.weighted_rows(
        onehot,
        pred,
        axis,
        from_logits,
        _resolve_eps(eps_bound, y_pred.dtype),
        cw,
        smoothing,
        _logsumexp,
    )
    loss = np.where(ignored, 0.0, loss)
    factor = None  # the denominator's w_{y_i}: 1 without class weights, 0 for ignored rows
    if cw is not None or ignore is not None:
        factor = np.where(ignored, 0.0, 1.0 if cw is None else cw[labels.astype(np.intp)])
    if groups is not None:
        return _reduce_by_group(loss, weight, groups, rows, reduction, nan_policy, factor)
    return _reduce(loss, weight, reduction, out_dtype, nan_policy, factor)


# --------------------------------------------------------------------------- log_loss


def log_loss(
    y_true: Any,
    y_proba: Any = None,
    *,
    normalize: bool = True,
    sample_weight: Any = None,
    labels: Any = None,
    y_pred: Any = None,
) -> float:
    """Log loss of class labels and predicted probabilities (``sklearn.metrics.log_loss``).

    ``L = −(1/Σ s_i)·Σ_i s_i·Σ_c t_ic·log p_ic`` with ``t`` the one-hot encoding of
    ``y_true`` over the sorted classes (of ``labels`` if given) and ``p`` clipped to
    ``[eps, 1 − eps]``, ``eps = finfo(y_proba.dtype).eps``; ``normalize=False`` gives the
    weighted sum. A 1-D ``y_proba`` is the probability of the positive (greater) class.

    Same results, errors and warnings as scikit-learn 1.9, except: ``y_pred=`` is an alias
    of ``y_proba`` (no FutureWarning; both given -> ValueError), negative sample weights
    are a ValueError, and float16 is computed in float32 (clipped at float16's eps).
    """
    proba, weight = _sklearn.check_inputs(y_true, y_proba, normalize, sample_weight, labels, y_pred)
    codes, classes, is_indicator = _sklearn.encode_labels(y_true, labels)
    _sklearn.check_two_classes(classes, labels)
    eps = float(np.finfo(proba.dtype).eps)
    proba = _computed(proba)
    if proba.ndim == 1:
        proba = proba[:, None]
    if proba.shape[1] == 1:
        proba = np.concatenate([1 - proba, proba], axis=1)
    _sklearn.warn_unless_rows_sum_to_one(proba, eps)
    _sklearn.check_class_count(len(classes), proba.shape[1], labels, classes)
    target = codes if is_indicator else codes[:, None] == np.arange(len(classes))

    p = np.clip(proba, eps, 1 - eps)
    loss = -np.sum(target.astype(p.dtype) * np.log(p), axis=1, dtype=np.float64)
    return float(_reduce(loss, weight, "mean" if normalize else "sum", np.dtype(np.float64)))


# --------------------------------------------------------------------------- focal losses


def _check_gamma(gamma: Any) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a finite number >= 0, got {type(gamma).__name__}")
    g = float(gamma)
    if not (math.isfinite(g) and g >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {g}")
    return g


def _focal_power(gamma: float, log_x: Any) -> Any:
    """``x^γ = exp(γ·log x)``, exactly 1 for γ = 0 (also where ``log x = −inf``)."""
    if gamma == 0:
        return np.ones_like(log_x)
    return np.exp(gamma * log_x)


def binary_focal_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    gamma: float = 2.0,
    alpha: float | None = None,
    sample_weight: Any = None,
    eps: float | str = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
) -> Any:
    """Binary focal cross-entropy, elementwise over any shape.

    ``l = α_t·(1 − p_t)^γ·BCE(y, p)`` with ``p_t = p·y + (1 − p)·(1 − y)``,
    ``α_t = α·y + (1 − α)·(1 − y)`` (1 for ``alpha=None``) and
    ``BCE = −[y·log p + (1 − y)·log(1 − p)]``: torchvision's, Keras' and optax's form, also
    for soft targets. ``log(1 − p_t) = logaddexp(log y + log(1 − p), log(1 − y) + log p)``.
    From probabilities ``p`` is clipped to ``[eps, 1 − eps]``; from logits
    ``log p = −softplus(−z)``, ``log(1 − p) = −softplus(z)``. A cross-entropy term of zero
    weight and an element with ``α_t = 0`` contribute 0. ``gamma=0, alpha=None`` is
    ``binary_cross_entropy``. Everything else (shapes, dtypes, weights, reduction, nan_policy)
    as there.
    """
    gamma = _check_gamma(gamma)
    if alpha is not None:
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"alpha must be None or a number in [0, 1], got {type(alpha).__name__}")
        if not 0 <= float(alpha) <= 1:
            raise ValueError(f"alpha must be None or a number in [0, 1], got {float(alpha)}")
    if gamma == 0 and alpha is None:
        return binary_cross_entropy(
            y_true,
            y_pred,
            from_logits=from_logits,
            sample_weight=sample_weight,
            eps=eps,
            reduction=reduction,
            nan_policy=nan_policy,
            groups=groups,
        )
    reduction = _check_reduction(reduction)
    eps_bound = _check_eps(eps)
    nan_policy = _check_nan_policy(nan_policy)
    y_pred = _as_float("y_pred", y_pred)
    y_true = _items.binary_truth(_as_target("y_true", y_true), y_pred.shape)
    _check_same_shape("y_true", y_true, "y_pred", y_pred)
    weight = _as_weight(sample_weight, y_pred.shape)
    _check_unit_interval("y_true", y_true)
    if not from_logits:
        _check_unit_interval("y_pred", y_pred)
    out_dtype, pred = y_pred.dtype, _computed(y_pred)
    y = y_true.astype(pred.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if from_logits:
            softplus_tail = np.log1p(np.exp(-np.abs(pred)))
            log_p = 0.0 - (softplus_tail + np.maximum(-pred, 0))
            log_q = 0.0 - (softplus_tail + np.maximum(pred, 0))
        else:
            eps_value = _resolve_eps(eps_bound, y_pred.dtype)
            p = np.clip(pred, eps_value, 1 - eps_value)
            log_p, log_q = np.log(p), np.log1p(-p)
        ny = 1 - y
        ce = np.where(y != 0, y * log_p, 0) + np.where(ny != 0, ny * log_q, 0)
        log_m = np.where(
            y == 1,
            log_q,
            np.where(y == 0, log_p, np.logaddexp(np.log(y) + log_q, np.log1p(-y) + log_p)),
        )
        balance = 1.0 if alpha is None else float(alpha) * y + (1 - float(alpha)) * ny
        loss = np.where(balance != 0, 0.0 - balance * _focal_power(gamma, log_m) * ce, 0.0)
    if groups is not None:
        return _reduce_by_group(loss, weight, groups, y_pred.shape, reduction, nan_policy)
    return _reduce(loss, weight, reduction, out_dtype, nan_policy)


def _class_alpha(alpha: Any, n_classes: int) -> np.ndarray | float | None:
    if alpha is None:
        return None
    a = _asarray("alpha", alpha)
    if a.dtype.kind not in "biuf" or a.dtype.kind == "b" and a.ndim == 0:
        raise TypeError(f"alpha must be None, a number or a 1-D array, got {type(alpha).__name__}")
    a = a.astype(np.float64)
    if a.ndim != 0 and a.shape != (n_classes,):
        raise ValueError(
            f"alpha must have one value per class: alpha.shape = {a.shape} but there are "
            f"{n_classes} classes"
        )
    bad = (~np.isfinite(a) | (a < 0)).ravel()
    if bad.any():
        raise ValueError(f"alpha must be finite and >= 0, got {a.flat[int(np.argmax(bad))]}")
    return float(a) if a.ndim == 0 else a


def _categorical_focal_rows(
    t: np.ndarray,
    pred: np.ndarray,
    axis: int,
    focus: tuple[float, Any, float],
    eps_value: float | None,
) -> np.ndarray:
    """The float64 losses ``−Σ_c α_c·t'_c·(1 − p_c)^γ·log p_c`` of the rows of ``pred`` along
    ``axis`` (float64 probabilities, or logits when ``eps_value`` is None) and targets ``t``,
    with ``focus = (γ, α, label smoothing)``."""
    gamma, alpha_c, smoothing = focus
    from_logits = eps_value is None
    n_classes = pred.shape[axis]
    t = t * (1 - smoothing)
    if smoothing != 0:
        shares = pred != -np.inf if from_logits else np.ones(pred.shape, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = t + np.where(shares, smoothing / np.sum(shares, axis=axis, keepdims=True), 0)
    along = [1] * pred.ndim
    along[axis] = n_classes
    a = 1.0 if alpha_c is None else np.broadcast_to(alpha_c, n_classes).reshape(along)
    coef = a * t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if eps_value is None:
            m, d, e, _ = _max_shift(pred, axis)
            log_s = _log_sum(d, e, axis)
            # Σ_{k≠c} e_k: the other classes' mass, summed for each class c.
            others = np.stack(
                [
                    np.sum(np.delete(e, c, axis=axis), axis=axis, dtype=np.float64)
                    for c in range(n_classes)
                ],
                axis=axis,
            )
            log_p, log_q = d - log_s, np.log(others) - log_s
        else:
            p = np.clip(pred, eps_value, 1 - eps_value)
            log_p, log_q = np.log(p), np.log1p(-p)
        keep = (coef != 0) | np.isnan(pred)
        terms = np.where(keep, -coef * _focal_power(gamma, log_q) * log_p, 0)
        loss = np.sum(terms, axis=axis, dtype=np.float64) + 0.0
        if from_logits:
            loss = np.where(np.isfinite(np.squeeze(m, axis=axis)), loss, np.nan)
    return np.asarray(loss)


def categorical_focal_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: Any = -1,
    gamma: float = 2.0,
    alpha: Any = None,
    sample_weight: Any = None,
    label_smoothing: float = 0.0,
    eps: float | str = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
) -> Any:
    """Categorical focal cross-entropy, one loss per row (Keras' CategoricalFocalCrossentropy):
    ``−Σ_c α_c·t'_c·(1 − p_c)^γ·log p_c`` with the smoothed targets ``t'`` of
    ``categorical_cross_entropy``.

    From probabilities ``p`` is clipped to ``[eps, 1 − eps]``. From logits
    ``log p_c = (z_c − m) − log S`` and ``log(1 − p_c) = log(Σ_{k≠c} e_k) − log S`` (the sum
    without class c, formed directly). A row whose max logit is not finite gives NaN. With
    γ = 0 and no α: ``categorical_cross_entropy``.
    """
    gamma = _check_gamma(gamma)
    if gamma == 0 and alpha is None:
        return categorical_cross_entropy(
            y_true,
            y_pred,
            from_logits=from_logits,
            axis=axis,
            sample_weight=sample_weight,
            label_smoothing=label_smoothing,
            eps=eps,
            reduction=reduction,
            nan_policy=nan_policy,
            groups=groups,
        )
    smoothing = _opt.check_label_smoothing(label_smoothing)
    reduction = _check_reduction(reduction)
    eps_bound = _check_eps(eps)
    nan_policy = _check_nan_policy(nan_policy)
    y_pred = _as_float("y_pred", y_pred)
    y_true = _as_target("y_true", y_true)
    _check_same_shape("y_true", y_true, "y_pred", y_pred)
    original = y_true, y_pred  # range errors name their flat index
    folded = _Folded(y_pred, axis)
    y_pred, y_true, axis = folded.array, _Folded(y_true, axis).array, folded.axis
    n_classes = y_pred.shape[axis]
    alpha_c = _class_alpha(alpha, n_classes)
    rows = _without_axis(y_pred.shape, axis)
    weight = _as_weight(sample_weight, rows)
    _check_unit_interval("y_true", original[0])
    if not from_logits:
        _check_unit_interval("y_pred", original[1])
    out_dtype, pred = y_pred.dtype, _computed(y_pred).astype(np.float64)
    eps_value = None if from_logits else _resolve_eps(eps_bound, y_pred.dtype)
    focus = gamma, alpha_c, smoothing
    loss = _categorical_focal_rows(y_true.astype(np.float64), pred, axis, focus, eps_value)
    if groups is not None:
        return _reduce_by_group(loss, weight, groups, rows, reduction, nan_policy)
    return _reduce(loss, weight, reduction, out_dtype, nan_policy)


def sparse_categorical_focal_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: Any = -1,
    gamma: float = 2.0,
    alpha: Any = None,
    sample_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    eps: float | str = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
) -> Any:
    """Sparse categorical focal cross-entropy, one loss per row: ``−α_y·(1 − p_y)^γ·log p_y``;
    with ``label_smoothing`` ε ≠ 0, ``categorical_focal_cross_entropy`` of the targets
    ``(1 − ε)·onehot(y) + ε/K``.

    ``alpha``: None (1), one number for every class, or one per class (length C), all >= 0.
    From logits ``log p_y = (z_y − m) − log S`` and ``log(1 − p_y) = log S_y' − log S`` with
    ``S = Σ_c exp(z_c − m)`` and ``S_y'`` the same sum without class y (no cancellation).
    Rows whose label equals ``ignore_index`` get weight 0 (loss 0, not range-checked);
    ``"mean"`` is ``Σ s_i·l_i / Σ s_i`` over the other rows: α is not in the denominator
    (the torchvision / Keras convention).
    """
    gamma = _check_gamma(gamma)
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral)
    ):
        raise TypeError(f"ignore_index must be None or an int, got {type(ignore_index).__name__}")
    smoothing = _opt.check_label_smoothing(label_smoothing)
    reduction = _check_reduction(reduction)
    eps_bound = _check_eps(eps)
    nan_policy = _check_nan_policy(nan_policy)
    y_pred = _as_float("y_pred", y_pred)
    folded = _Folded(y_pred, axis)  # several class axes: a label indexes them in C order
    y_pred, axis = folded.array, folded.axis
    labels, rows = _labels_for_rows(y_true, folded)
    n_classes = y_pred.shape[axis]
    alpha_c = _class_alpha(alpha, n_classes)
    weight = _as_weight(sample_weight, rows)
    ignored = (
        np.zeros(rows, dtype=bool)
        if ignore_index is None
        else labels.astype(object if labels.dtype.kind == "u" else np.int64) == int(ignore_index)
    )
    ignored = np.asarray(ignored, dtype=bool)
    _check_labels(np.where(ignored, 0, labels), n_classes)
    if not from_logits:
        _check_unit_interval("y_pred", folded.source)
    out_dtype, pred = y_pred.dtype, _computed(y_pred)
    safe = np.where(ignored, 0, labels).astype(np.intp)
    at_label = np.expand_dims(safe, axis)
    eps_value = None if from_logits else _resolve_eps(eps_bound, y_pred.dtype)
    if smoothing != 0:
        classes = np.arange(n_classes).reshape((-1,) + (1,) * (pred.ndim - 1 - axis))
        one_hot = (classes == at_label).astype(np.float64)
        focus = gamma, alpha_c, smoothing
        loss = _categorical_focal_rows(one_hot, pred.astype(np.float64), axis, focus, eps_value)
    else:
        loss = _sparse_focal_rows(pred, axis, at_label, (gamma, alpha_c), eps_value)
    loss = np.where(ignored, 0.0, loss)
    if ignore_index is not None:
        weight = np.where(ignored, 0.0, 1.0 if weight is None else weight)
    if groups is not None:
        return _reduce_by_group(loss, weight, groups, rows, reduction, nan_policy)
    return _reduce(loss, weight, reduction, out_dtype, nan_policy)


def _sparse_focal_rows(
    pred: np.ndarray,
    axis: int,
    at_label: np.ndarray,
    focus: tuple[float, Any],
    eps_value: float | None,
) -> np.ndarray:
    """The float64 losses ``−α_y·(1 − p_y)^γ·log p_y`` of the rows of ``pred`` along ``axis``
    (probabilities, or logits when ``eps_value`` is None) at the labels ``at_label``
    (``pred``'s shape with ``axis`` of length 1), with ``focus = (γ, α)``."""
    gamma, alpha_c = focus
    from_logits = eps_value is None
    n_classes = pred.shape[axis]
    pred_of_label = np.take_along_axis(pred, at_label, axis=axis).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if eps_value is None:
            m, d, e, s = _max_shift(pred, axis)
            log_s = _log_sum(d, e, axis)
            others = np.sum(
                np.where(
                    np.arange(n_classes).reshape((-1,) + (1,) * (pred.ndim - 1 - axis)) == at_label,
                    0,
                    e,
                ),
                axis=axis,
                keepdims=True,
                dtype=np.float64,
            )
            log_p = (pred_of_label - m) - log_s
            log_q = np.log(others) - log_s
            plain = m - pred_of_label  # rows without a finite maximum
        else:
            p = np.clip(pred_of_label, eps_value, 1 - eps_value)
            log_p, log_q = np.log(p), np.log1p(-p)
        a = 1.0 if alpha_c is None else alpha_c if isinstance(alpha_c, float) else alpha_c[at_label]
        loss = 0.0 - a * _focal_power(gamma, log_q) * log_p
        loss = np.where(np.asarray(a) == 0, 0.0, loss)
        if from_logits:
            loss = np.where(np.isfinite(m), loss, np.where(np.isnan(plain), np.nan, a * plain))
        else:
            loss = np.where(np.isnan(pred).any(axis=axis, keepdims=True), np.nan, loss)
    return np.squeeze(loss, axis=axis)


# --------------------------------------------------------------------------- gradients
# The reference of ``plogp.grad``: ``grad_binary_cross_entropy`` is ``plogp.grad.
# binary_cross_entropy`` and ``grad_softmax_cross_entropy`` is ``plogp.grad.softmax_cross_entropy``.


def _grad_dtype(logits: np.ndarray) -> np.dtype:
    """float64 for float64 logits, float32 for float32 and float16 ones."""
    return np.dtype(np.float64) if logits.dtype == np.float64 else np.dtype(np.float32)


def _grad_result(
    g: Any,
    h: Any,
    hessian: bool,
    out: Any,
    shape: tuple[int, ...],
    dtype: np.dtype,
    inputs: tuple[Any, ...],
) -> Any:
    def check(o: Any, what: str) -> np.ndarray:
        if not isinstance(o, np.ndarray):
            raise TypeError(
                f"{what} must be a numpy.ndarray of dtype {dtype}, got {type(o).__name__}"
            )
        if o.dtype != dtype:
            raise TypeError(f"{what} must have dtype {dtype}, got {o.dtype}")
        if o.shape != shape:
            raise ValueError(f"{what} must have the shape of logits {shape}, got {o.shape}")
        if not o.flags.c_contiguous:
            raise ValueError(f"{what} must be C-contiguous")
        if not o.flags.writeable:
            raise ValueError(f"{what} must be writeable")
        for x in inputs:
            if x is not None and isinstance(x, np.ndarray) and np.may_share_memory(o, x):
                raise ValueError(f"{what} must not share memory with an input array")
        return o

    if out is None:
        g = np.asarray(g, dtype=dtype)
        return (g, np.asarray(h, dtype=dtype)) if hessian else g
    if not hessian:
        o = check(out, "out")
        o[...] = g
        return o
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError("out must be a (gradient, hessian) tuple of two arrays when hessian=True")
    og, oh = check(out[0], "out[0]"), check(out[1], "out[1]")
    if np.may_share_memory(og, oh):
        raise ValueError("out[0] and out[1] must not share memory")
    og[...] = g
    oh[...] = h
    return og, oh


def grad_binary_cross_entropy(
    y_true: Any,
    logits: Any,
    *,
    sample_weight: Any = None,
    hessian: bool = False,
    out: Any = None,
) -> Any:
    """Gradient ``s·(σ(z) − y)`` (and Hessian ``s·σ(z)·σ(−z)``) of binary cross-entropy
    with respect to the logits, elementwise. See ``plogp.grad.binary_cross_entropy``."""
    z = _as_float("logits", logits)
    y = _as_target("y_true", y_true)
    _check_same_shape("y_true", y, "logits", z)
    weight = _as_weight(sample_weight, z.shape)
    _check_unit_interval("y_true", y)
    dtype = _grad_dtype(z)
    zf, yf = z.astype(np.float64), y.astype(np.float64)
    e = np.exp(-np.abs(zf))
    big = 1.0 / (1.0 + e)
    small = e * big
    sig = np.where(zf >= 0, big, small)
    sig_neg = np.where(zf >= 0, small, big)
    with np.errstate(invalid="ignore"):
        g = (1 - yf) * sig - yf * sig_neg
        h = small * big
    g, h = np.where(np.isnan(zf), np.nan, g), np.where(np.isnan(zf), np.nan, h)
    if weight is not None:
        g, h = weight * g, weight * h
    return _grad_result(g, h, hessian, out, z.shape, dtype, (y_true, logits, sample_weight))


def grad_softmax_cross_entropy(
    labels: Any,
    logits: Any,
    *,
    sample_weight: Any = None,
    hessian: bool = False,
    out: Any = None,
) -> Any:
    """Gradient ``s·(softmax(z) − onehot(y))`` (and diagonal Hessian ``s·p·(1 − p)``) of
    softmax cross-entropy, logits (N, C), labels (N,). See ``plogp.grad.softmax_cross_entropy``."""
    z = _as_float("logits", logits)
    if z.ndim != 2:
        raise ValueError(f"logits must be a 2-D array (n_samples, n_classes), got shape {z.shape}")
    y = _as_labels("labels", labels)
    n, c = z.shape
    if y.shape != (n,):
        raise ValueError(
            f"labels must have shape ({n},) for logits of shape {z.shape}, got {y.shape}"
        )
    weight = _as_weight(sample_weight, (n,))
    _check_labels(y, c)
    dtype = _grad_dtype(z)
    zf = z.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m, d, e, s = _max_shift(zf, 1)
        at_max = d == 0
        n_max = np.sum(at_max, axis=1, keepdims=True)
        rest = np.sum(np.where(at_max, 0, e), axis=1, keepdims=True)
        p = e * (1.0 / s)
        q = np.where(at_max, ((n_max - 1) + rest) / s, 1 - p)
        is_y = np.arange(c) == y.astype(np.intp)[:, None]
        g = np.where(is_y, -q, p)
        h = p * q
        bad = ~np.isfinite(m)
        g, h = np.where(bad, np.nan, g), np.where(bad, np.nan, h)
    if weight is not None:
        g, h = weight[:, None] * g, weight[:, None] * h
    return _grad_result(g, h, hessian, out, z.shape, dtype, (labels, logits, sample_weight))


__all__ += [
    "binary_focal_cross_entropy",
    "grad_binary_cross_entropy",
    "grad_softmax_cross_entropy",
    "categorical_focal_cross_entropy",
    "sparse_categorical_focal_cross_entropy",
]
