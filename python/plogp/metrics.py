"""``plogp.metrics``: streaming losses that accumulate over many batches.

Each metric keeps a small state — compensated float64 sums and integer counts — that
``update`` adds one batch to, ``merge`` combines with the state of another metric (another
process, another dask block), and ``result`` turns into a :class:`MetricResult`::

    metric = BinaryCrossEntropy(from_logits=True)
    for y, z in batches:
        metric.update(y, z)
    metric.result().mean          # the loss of all batches at once

Every update of a loss metric makes one call to the native loss with the private
``reduction="_tally"``: in its one pass over the batch the kernel returns ``Σ s·l`` (the
per-item losses are exactly those of the functions), ``Σ s``, the number of items
``nan_policy="omit"`` dropped and the base-rate sums of the items kept: ``Σ s·y`` for the
binary losses, the class masses ``Σ s·t_c`` (counts of the labels for the sparse losses,
``ignore_index`` rows left out) for the categorical ones — per group with ``groups=``.
``Entropy`` does the same through the private ``_native._entropy_tally``. The
running sums are two-sum compensated (the error is carried in a second float64), so the
order and the number of updates — 10^10 single-sample updates included — change the result
by at most a rounding or two of the total, and counts are Python ints.

``groups=`` (integer ids ≥ 0 of the items: elements for the binary loss, rows otherwise)
additionally accumulates one state per group; ``result().groups`` maps each group id that
has been seen to its own :class:`MetricResult`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

import plogp
from plogp import _native

__all__ = [
    "BinaryCrossEntropy",
    "BinaryFocalCrossEntropy",
    "CategoricalCrossEntropy",
    "CategoricalFocalCrossEntropy",
    "Entropy",
    "MetricResult",
    "SparseCategoricalCrossEntropy",
    "SparseCategoricalFocalCrossEntropy",
]


@dataclass(frozen=True)
class MetricResult:
    """What a metric has accumulated.

    Attributes
    ----------
    mean : float
        ``sum / weight``: the loss (or entropy) the functions would return with
        ``reduction="mean"`` on all the updates at once. NaN when ``weight == 0`` (nothing
        seen, or every weight 0) instead of the functions' ValueError.
    sum : float
        The weighted sum of the per-item losses, ``Σ s_i·l_i``.
    weight : float
        The total weight ``Σ s_i`` (the number of items without ``sample_weight``).
    count : int
        The number of items accumulated (elements for the binary loss, rows otherwise);
        items dropped by ``nan_policy="omit"`` are not counted.
    normalized_entropy : float
        ``mean / H(base rate)``: the loss relative to that of always predicting the base
        rate (the weighted mean target for the binary loss, the weighted class frequencies
        otherwise), in nats for both. Below 1 means better than the base rate. NaN when
        undefined (zero weight, or a base rate of entropy 0) and for ``Entropy``.
    perplexity : float
        ``exp(mean)`` with ``mean`` in nats (``base ** mean`` for an ``Entropy`` metric
        with a ``base``).
    groups : dict of int to MetricResult
        One result per group id passed to ``update(..., groups=...)``; empty without groups.
    """

    mean: float
    sum: float
    weight: float
    count: int
    normalized_entropy: float
    perplexity: float
    groups: dict[int, MetricResult] = field(default_factory=dict, hash=False)


# --------------------------------------------------------------------------- compensated sums


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a + b = s + e`` exactly (Knuth's branch-free two-sum); ``e = 0`` if ``s`` is not
    finite (an inf or NaN sum has no meaningful rounding error)."""
    s = a + b
    b_virtual = s - a
    e = (a - (s - b_virtual)) + (b - b_virtual)
    return s, np.where(np.isfinite(s), e, 0.0)


class _Sum:
    """A float64 array of sums (any shape, scalar included) with the rounding errors of
    every addition carried in a second array (``lo``): the value is ``hi + lo``."""

    __slots__ = ("hi", "lo")

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.hi = np.zeros(shape)
        self.lo = np.zeros(shape)

    def add(self, x: Any) -> None:
        """Add ``x`` (broadcast to the shape of the sums)."""
        with np.errstate(invalid="ignore", over="ignore"):
            self.hi, err = _two_sum(self.hi, np.asarray(x, dtype=np.float64))
            self.lo = self.lo + err

    def merge(self, other: _Sum) -> None:
        self.add(other.hi)
        self.add(other.lo)

    def grow(self, shape: tuple[int, ...]) -> None:
        """Pad with zeros to ``shape`` (each dimension at least as large as now)."""
        pad = [(0, new - old) for old, new in zip(self.hi.shape, shape)]
        self.hi = np.pad(self.hi, pad)
        self.lo = np.pad(self.lo, pad)

    @property
    def value(self) -> Any:
        with np.errstate(invalid="ignore", over="ignore"):
            total = self.hi + self.lo
        return np.where(np.isfinite(self.hi), total, self.hi)

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray]:
        return self.hi, self.lo

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray]) -> None:
        self.hi, self.lo = state


# --------------------------------------------------------------------------- helpers


def _accurate_sum(x: Any) -> float:
    """``Σ x`` in float64, faithfully rounded for any length (where ``np.sum``'s pairwise
    error grows with ``log n``), so that a sum over the parts of a batch and the sum over the
    whole batch agree to an ulp or two."""
    return float(_accurate_column_sums(np.asarray(x, dtype=np.float64).reshape(-1, 1))[0])


def _accurate_column_sums(x: np.ndarray) -> np.ndarray:
    """The sums of the columns of a 2-D float64 array, each as :func:`_accurate_sum`.

    Method (Rump, Ogita and Oishi's error-free extraction): with ``σ`` a power of two of at
    least ``(n + 2)·max|x|`` of the column, ``q = (σ + x) − σ`` keeps the leading bits of
    every term on one grid, so ``Σ q`` is exact in any order, and the remainders
    ``r = x − q`` (exact) are so small that their rounded sum adds far less than an ulp of
    the total. A column with a non-finite value falls back to ``np.sum`` (its sum is inf or
    NaN anyway), as does an all-zero one.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.max(np.abs(x), axis=0, initial=0.0)
        scale = math.ceil(math.log2(x.shape[0] + 2))
        usable = np.isfinite(m) & (m > 0)
        sigma = np.ldexp(1.0, scale + np.frexp(np.where(usable, m, 1.0))[1])
        usable &= np.isfinite(sigma)
        sigma = np.where(usable, sigma, 0.0)
        q = (sigma + x) - sigma
        exact = np.sum(q, axis=0) + np.sum(x - q, axis=0)
        return np.where(usable, exact, np.sum(x, axis=0))


class _GroupTally(NamedTuple):
    """What the native pass of a batch with ``groups=`` returns, one entry per group id."""

    loss: np.ndarray  # Σ s·l
    weight: np.ndarray  # Σ s (the "mean" denominator)
    items: np.ndarray  # items with this id, int64
    kept: np.ndarray  # items not dropped by nan_policy="omit" nor ignored, int64
    positive: np.ndarray  # Σ s·y of the items kept (binary losses; empty otherwise)
    class_mass: np.ndarray  # Σ s·t_c of the rows kept, (G, C) (categorical; C = 0 otherwise)


class _Tally(NamedTuple):
    """What the native pass of a batch (``reduction="_tally"``) returns."""

    loss: float  # Σ s·l
    weight: float  # Σ s (the "mean" denominator)
    dropped: int  # items dropped by nan_policy="omit"
    positive: float  # Σ s·y of the items kept (binary losses)
    class_mass: np.ndarray  # Σ s·t_c of the rows kept (categorical losses; empty otherwise)
    ignored: int  # rows labelled ignore_index (sparse losses)
    groups: _GroupTally | None


class _GroupBatch(NamedTuple):
    """The per-group sums of one batch, indexed by group id ``0 .. G-1``."""

    loss: np.ndarray  # Σ s·l, shape (G,)
    weight: np.ndarray  # Σ s, shape (G,)
    items: np.ndarray  # items accumulated, int64 (G,)
    base: np.ndarray  # base-rate sums, shape (G, n_base)
    seen: np.ndarray  # the id occurs in the batch, bool (G,)


def _check_axis_type(axis: Any) -> int:
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError("axis must be an int, got bool")
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an int, got {type(axis).__name__}") from None


def _entropy_nats(frequencies: np.ndarray) -> float:
    """``−Σ π·log π`` of (unnormalised) base-rate frequencies, ``0·log 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(frequencies > 0, frequencies * np.log(frequencies), 0.0)
    return float(-np.sum(terms) + 0.0)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------- metrics


class _Metric:
    """The state machinery shared by every metric.

    State: ``_loss``, ``_weight`` (scalar ``_Sum``), ``_base`` (a ``_Sum`` of shape
    ``(n_base,)``: one entry for the binary loss, one per class otherwise, none for Entropy),
    ``_count`` (int); with groups, ``_g_loss``, ``_g_weight`` (shape ``(G,)``), ``_g_base``
    (``(G, n_base)``), ``_g_count`` (int64 ``(G,)``) and ``_g_seen`` (bool ``(G,)``).
    """

    _n_base: int | None  # the number of base-rate sums, fixed by the first update

    def __init__(self) -> None:
        self.reset()

    # ---- subclass interface

    def _options(self) -> dict[str, Any]:
        raise NotImplementedError

    def _has_base_rate(self) -> bool:
        return True

    # ---- public API

    def reset(self) -> _Metric:
        """Forget everything accumulated (the options stay); returns ``self``."""
        self._n_base = 1 if isinstance(self, _BinaryLoss) else None
        n = self._n_base or 0
        self._loss = _Sum()
        self._weight = _Sum()
        self._base = _Sum((n,))
        self._count = 0
        self._g_loss = _Sum((0,))
        self._g_weight = _Sum((0,))
        self._g_base = _Sum((0, n))
        self._g_count = np.zeros(0, dtype=np.int64)
        self._g_seen = np.zeros(0, dtype=bool)
        return self

    def merge(self, other: _Metric) -> _Metric:
        """Add the state of ``other`` (same class, same options) to this one; returns
        ``self``. ``other`` is not modified."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge a {type(other).__name__} into a {type(self).__name__}")
        if not _same_options(other._options(), self._options()):
            raise ValueError(
                f"cannot merge metrics with different options: {self._options()} and "
                f"{other._options()}"
            )
        if other is self:
            other = _copy_state(other)
        if other._n_base is not None:
            self._fix_n_base(other._n_base)
        groups = len(other._g_seen)
        self._grow_groups(groups)
        self._loss.merge(other._loss)
        self._weight.merge(other._weight)
        self._base.merge(other._base)
        self._count += other._count
        for mine, theirs in (
            (self._g_loss, other._g_loss),
            (self._g_weight, other._g_weight),
            (self._g_base, other._g_base),
        ):
            padded = _Sum(mine.hi.shape)
            padded.hi[: theirs.hi.shape[0]] = theirs.hi
            padded.lo[: theirs.lo.shape[0]] = theirs.lo
            mine.merge(padded)
        self._g_count[:groups] += other._g_count
        self._g_seen[:groups] |= other._g_seen
        return self

    def result(self) -> MetricResult:
        """The accumulated loss: a :class:`MetricResult` (``mean`` is NaN before any weight
        has been seen)."""
        groups = {
            int(g): self._make_result(
                self._g_loss.value[g],
                self._g_weight.value[g],
                int(self._g_count[g]),
                self._g_base.value[g],
            )
            for g in np.flatnonzero(self._g_seen)
        }
        overall = self._make_result(
            self._loss.value, self._weight.value, self._count, self._base.value
        )
        return MetricResult(
            overall.mean,
            overall.sum,
            overall.weight,
            overall.count,
            overall.normalized_entropy,
            overall.perplexity,
            groups,
        )

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        r = self.result()
        return (
            f"{type(self).__name__}({options}) <count={r.count}, weight={r.weight!r}, "
            f"mean={r.mean!r}, groups={len(r.groups)}>"
        )

    # ---- accumulation

    def _make_result(self, total: Any, weight: Any, count: int, base: Any) -> MetricResult:
        total, weight = float(total), float(weight)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / weight if weight > 0 else math.nan
        return MetricResult(
            mean=mean,
            sum=total,
            weight=weight,
            count=count,
            normalized_entropy=self._normalized(mean, weight, np.asarray(base)),
            perplexity=self._perplexity(mean),
        )

    def _normalized(self, mean: float, weight: float, base: np.ndarray) -> float:
        if not weight > 0:
            return math.nan
        if isinstance(self, _BinaryLoss):
            rate = float(base[0]) / weight
            h = _entropy_nats(np.array([rate, 1.0 - rate]))
        else:
            h = _entropy_nats(base / weight)
        if not h > 0:
            return math.nan
        return mean / h

    def _perplexity(self, mean: float) -> float:
        return _exp(mean)

    def _fix_n_base(self, n: int) -> None:
        """Set the number of base-rate sums (classes) on first use; a different number
        later is a ValueError."""
        if self._n_base is None:
            self._n_base = n
            self._base = _Sum((n,))
            self._g_base = _Sum((len(self._g_seen), n))
        elif self._n_base != n:
            raise ValueError(
                f"y_pred has {n} classes but this metric has accumulated {self._n_base}"
            )

    def _grow_groups(self, groups: int) -> None:
        if groups <= len(self._g_seen):
            return
        self._g_loss.grow((groups,))
        self._g_weight.grow((groups,))
        self._g_base.grow((groups, self._g_base.hi.shape[1]))
        self._g_count = np.pad(self._g_count, (0, groups - len(self._g_count)))
        self._g_seen = np.pad(self._g_seen, (0, groups - len(self._g_seen)))

    def _accumulate(
        self,
        total: float,
        weight: float,
        count: int,
        base: np.ndarray,
        groups: _GroupBatch | None = None,
    ) -> None:
        """Commit one batch (every check has passed: this cannot fail half-way)."""
        self._loss.add(total)
        self._weight.add(weight)
        self._base.add(base)
        self._count += count
        if groups is None:
            return
        n = len(groups.loss)
        self._grow_groups(n)
        size = len(self._g_seen)

        def padded(a: np.ndarray) -> np.ndarray:
            out = np.zeros((size,) + a.shape[1:])
            out[:n] = a
            return out

        self._g_loss.add(padded(groups.loss))
        self._g_weight.add(padded(groups.weight))
        self._g_base.add(padded(groups.base.reshape(n, -1)))
        self._g_count[:n] += groups.items
        self._g_seen[:n] |= groups.seen


def _copy_state(metric: _Metric) -> _Metric:
    import copy

    return copy.deepcopy(metric)


def _same_options(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Option dicts equal, array options (weights, alpha) compared by value."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None or not np.array_equal(np.asarray(x), np.asarray(y)):
                return False
        elif x != y:
            return False
    return True


def _frozen(option: Any) -> Any:
    """An array-valued option (weights, alpha) as a read-only float64 copy; others as given."""
    if option is None or isinstance(option, (str, bool, int, float)):
        return option
    array = np.array(option)
    if array.dtype.kind not in "biuf":
        return option  # the function raises its TypeError at construction
    array = array.astype(np.float64)
    array.flags.writeable = False
    return array


class _Loss(_Metric):
    """A loss metric: one native call with ``reduction="sum"`` per update.

    The options are those of the function (``_function``); every update passes them all,
    so the per-item losses are exactly the function's.
    """

    _function: str
    _option_names: tuple[str, ...] = ("from_logits", "eps", "nan_policy")
    from_logits: bool
    eps: float | str
    nan_policy: str

    def __init__(self, **options: Any) -> None:
        for name in self._option_names:
            setattr(self, name, _frozen(options[name]))
        self._validate()
        super().__init__()

    def _validate(self) -> None:
        """The options, checked by the function itself on a one-item input, so the errors
        are exactly those of the function."""
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._option_names}

    def _call(self, y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
        return getattr(plogp, self._function)(y_true, y_pred, **self._options(), **kwargs)

    def _tally(self, y_true: Any, y_pred: Any, sample_weight: Any, groups: Any) -> _Tally:
        """One native pass over a batch (the function checks every argument here)."""

        def call(**kwargs: Any) -> Any:
            return self._call(y_true, y_pred, reduction="_tally", **kwargs)

        return _tally_of(call, sample_weight, groups)


def _tally_of(call: Callable[..., Any], sample_weight: Any, groups: Any) -> _Tally:
    """The sums of one batch from ``call(sample_weight=…[, groups=…])``, the one native pass
    of an update (``reduction="_tally"``). With groups, ``dropped`` counts the rows ignored
    by ``ignore_index`` too."""
    if groups is None:
        loss, weight, dropped, positive, mass, ignored = call(sample_weight=sample_weight)
        return _Tally(loss, weight, dropped, positive, mass, ignored, None)
    per_group = _GroupTally(*call(sample_weight=sample_weight, groups=groups))
    return _Tally(
        _accurate_sum(per_group.loss),
        _accurate_sum(per_group.weight),
        int(np.sum(per_group.items) - np.sum(per_group.kept)),
        _accurate_sum(per_group.positive),
        _accurate_column_sums(per_group.class_mass),
        0,
        per_group,
    )


class _BinaryLoss(_Loss):
    """The binary losses: every element is an item; the base rate is ``Σ s·y``."""

    def _validate(self) -> None:
        # One item per position of a pos_weight array (it matches trailing dimensions).
        pos_weight = getattr(self, "pos_weight", None)
        shape = () if pos_weight is None else np.shape(pos_weight)
        while shape and shape[0] == 1:
            shape = shape[1:]
        self._call(np.ones(shape or (1,)), np.full(shape or (1,), 0.5), reduction="sum")

    def update(
        self, y_true: Any, y_pred: Any, *, sample_weight: Any = None, groups: Any = None
    ) -> _BinaryLoss:
        """Add a batch (arguments as in the function); returns ``self``. With ``groups``
        (an id per element, or per row of a 2-D batch), each group also accumulates its
        own state. On any error the state is left unchanged."""
        y_pred = np.asarray(y_pred)
        tally = self._tally(y_true, y_pred, sample_weight, groups)
        batch = None
        if (g := tally.groups) is not None:
            batch = _GroupBatch(g.loss, g.weight, g.kept, g.positive[:, None], g.items > 0)
        count = y_pred.size - tally.dropped
        self._accumulate(tally.loss, tally.weight, count, np.array([tally.positive]), batch)
        return self


class BinaryCrossEntropy(_BinaryLoss):
    """Streaming :func:`plogp.binary_cross_entropy`: every element is an item.

    Parameters
    ----------
    from_logits, pos_weight, label_smoothing, eps, nan_policy
        As in :func:`plogp.binary_cross_entropy` (checked here, with its errors). The base
        rate of ``normalized_entropy`` is that of the labels as given (not smoothed).
    """

    _function = "binary_cross_entropy"
    _option_names = ("from_logits", "pos_weight", "label_smoothing", "eps", "nan_policy")

    def __init__(
        self,
        *,
        from_logits: bool = False,
        pos_weight: Any = None,
        label_smoothing: float = 0.0,
        eps: float | str = "auto",
        nan_policy: str = "propagate",
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            pos_weight=pos_weight,
            label_smoothing=label_smoothing,
            eps=eps,
            nan_policy=nan_policy,
        )


class BinaryFocalCrossEntropy(_BinaryLoss):
    """Streaming :func:`plogp.binary_focal_cross_entropy`: every element is an item.

    Parameters
    ----------
    from_logits, gamma, alpha, eps, nan_policy
        As in :func:`plogp.binary_focal_cross_entropy`.
    """

    _function = "binary_focal_cross_entropy"
    _option_names = ("from_logits", "gamma", "alpha", "eps", "nan_policy")

    def __init__(
        self,
        *,
        from_logits: bool = False,
        gamma: float = 2.0,
        alpha: float | None = None,
        eps: float | str = "auto",
        nan_policy: str = "propagate",
    ) -> None:
        super().__init__(
            from_logits=from_logits, gamma=gamma, alpha=alpha, eps=eps, nan_policy=nan_policy
        )


# NumPy 2 arrays have at most 64 dimensions (NPY_MAXDIMS).
_MAX_DIMS = 64


def _one_row(axis: int, classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uniform probabilities, one-hot target, label 0) of one row with ``classes`` classes
    along ``axis``: the input on which a metric's options are checked by its function."""
    if not -_MAX_DIMS <= axis < _MAX_DIMS:
        raise ValueError(
            f"axis {axis} is out of bounds: arrays have at most {_MAX_DIMS} dimensions"
        )
    ndim = max(2, axis + 1 if axis >= 0 else -axis)
    shape = [1] * ndim
    shape[axis] = classes
    pred = np.full(shape, 1.0 / classes)
    target = np.moveaxis(np.eye(classes)[:1].reshape((classes,) + (1,) * (ndim - 1)), 0, axis)
    return pred, target, np.zeros(shape[: axis % ndim] + shape[axis % ndim + 1 :], dtype=np.int64)


class _CategoricalBase(_Loss):
    """Shared by the categorical and sparse losses: ``axis`` and one base rate per class."""

    axis: int
    class_weight: Any = None

    def __init__(self, **options: Any) -> None:
        options["axis"] = _check_axis_type(options["axis"])
        super().__init__(**options)

    def _rows(self, y_pred: np.ndarray) -> tuple[tuple[int, ...], int]:
        """The row shape and the number of classes of ``y_pred`` (axis already checked)."""
        axis = self.axis % y_pred.ndim
        return y_pred.shape[:axis] + y_pred.shape[axis + 1 :], y_pred.shape[axis]

    def update(
        self, y_true: Any, y_pred: Any, *, sample_weight: Any = None, groups: Any = None
    ) -> _CategoricalBase:
        """Add a batch (arguments as in the function); returns ``self``. On any error the
        state is left unchanged. With ``groups`` (an id per row), each group also accumulates
        its own state."""
        y_pred = np.asarray(y_pred)
        # The function checks every argument (axis included) before anything is used.
        rows: tuple[int, ...] = ()
        n_classes = 0
        if y_pred.ndim:
            rows, n_classes = self._rows(y_pred)
        tally = self._tally(y_true, y_pred, sample_weight, groups)
        if self._n_base is not None and self._n_base != n_classes:
            raise ValueError(
                f"y_pred has {n_classes} classes but this metric has accumulated {self._n_base}"
            )
        # The kernel's class masses and counts leave out the rows the loss leaves out: those
        # dropped by nan_policy="omit" and those labelled ignore_index.
        count = math.prod(rows) - tally.dropped - tally.ignored
        batch = None
        if (g := tally.groups) is not None:
            batch = _GroupBatch(g.loss, g.weight, g.kept, g.class_mass, g.items > 0)
        self._fix_n_base(n_classes)
        self._accumulate(tally.loss, tally.weight, count, tally.class_mass, batch)
        return self


class _DenseBase(_CategoricalBase):
    """One-hot or soft targets: the base rates are the class masses of the targets as given."""


class CategoricalCrossEntropy(_DenseBase):
    """Streaming :func:`plogp.categorical_cross_entropy`: every row is an item.

    Parameters
    ----------
    from_logits, axis, class_weight, label_smoothing, eps, nan_policy
        As in :func:`plogp.categorical_cross_entropy`. The number of classes is fixed by
        the first update; the base rates are the class masses of the targets as given.
    """

    _function = "categorical_cross_entropy"
    _option_names = ("from_logits", "axis", "class_weight", "label_smoothing", "eps", "nan_policy")

    def __init__(
        self,
        *,
        from_logits: bool = False,
        axis: int = -1,
        class_weight: Any = None,
        label_smoothing: float = 0.0,
        eps: float | str = "auto",
        nan_policy: str = "propagate",
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            axis=axis,
            class_weight=class_weight,
            label_smoothing=label_smoothing,
            eps=eps,
            nan_policy=nan_policy,
        )

    def _validate(self) -> None:
        classes = 2 if self.class_weight is None else max(1, np.size(self.class_weight))
        pred, target, _ = _one_row(self.axis, classes)
        self._call(target, pred, reduction="sum")


class CategoricalFocalCrossEntropy(_DenseBase):
    """Streaming :func:`plogp.categorical_focal_cross_entropy`: every row is an item.

    Parameters
    ----------
    from_logits, axis, gamma, alpha, label_smoothing, eps, nan_policy
        As in :func:`plogp.categorical_focal_cross_entropy` (``alpha`` is not in the "mean"
        denominator). The number of classes is fixed by the first update; the base rates
        are the class masses of the targets as given.
    """

    _function = "categorical_focal_cross_entropy"
    alpha: Any = None
    _option_names = (
        "from_logits",
        "axis",
        "gamma",
        "alpha",
        "label_smoothing",
        "eps",
        "nan_policy",
    )

    def __init__(
        self,
        *,
        from_logits: bool = False,
        axis: int = -1,
        gamma: float = 2.0,
        alpha: Any = None,
        label_smoothing: float = 0.0,
        eps: float | str = "auto",
        nan_policy: str = "propagate",
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            axis=axis,
            gamma=gamma,
            alpha=alpha,
            label_smoothing=label_smoothing,
            eps=eps,
            nan_policy=nan_policy,
        )

    def _validate(self) -> None:
        alpha = self.alpha
        classes = 2 if alpha is None or np.ndim(alpha) == 0 else max(1, np.size(alpha))
        pred, target, _ = _one_row(self.axis, classes)
        self._call(target, pred, reduction="sum")


class _SparseBase(_CategoricalBase):
    """Integer labels: the class masses are counts, ``ignore_index`` rows are left out."""

    ignore_index: int | None
    alpha: Any = None


class SparseCategoricalCrossEntropy(_SparseBase):
    """Streaming :func:`plogp.sparse_categorical_cross_entropy`: every row is an item.

    Parameters
    ----------
    from_logits, axis, class_weight, ignore_index, label_smoothing, eps, nan_policy
        As in :func:`plogp.sparse_categorical_cross_entropy`. The number of classes is
        fixed by the first update. Rows labelled ``ignore_index`` are not counted; with
        ``class_weight`` the weight (the "mean" denominator) is ``Σ s_i·w_{y_i}``, as in
        the function.
    """

    _function = "sparse_categorical_cross_entropy"
    _option_names = (
        "from_logits",
        "axis",
        "class_weight",
        "ignore_index",
        "label_smoothing",
        "eps",
        "nan_policy",
    )

    def __init__(
        self,
        *,
        from_logits: bool = False,
        axis: int = -1,
        class_weight: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        eps: float | str = "auto",
        nan_policy: str = "propagate",
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            axis=axis,
            class_weight=class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            eps=eps,
            nan_policy=nan_policy,
        )

    def _validate(self) -> None:
        classes = 2 if self.class_weight is None else max(1, np.size(self.class_weight))
        pred, _, labels = _one_row(self.axis, classes)
        self._call(labels, pred, reduction="sum")


class SparseCategoricalFocalCrossEntropy(_SparseBase):
    """Streaming :func:`plogp.sparse_categorical_focal_cross_entropy`: every row is an item.

    Parameters
    ----------
    from_logits, axis, gamma, alpha, ignore_index, label_smoothing, eps, nan_policy
        As in :func:`plogp.sparse_categorical_focal_cross_entropy` (``alpha`` is not in the
        "mean" denominator).
    """

    _function = "sparse_categorical_focal_cross_entropy"
    _option_names = (
        "from_logits",
        "axis",
        "gamma",
        "alpha",
        "ignore_index",
        "label_smoothing",
        "eps",
        "nan_policy",
    )

    def __init__(
        self,
        *,
        from_logits: bool = False,
        axis: int = -1,
        gamma: float = 2.0,
        alpha: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        eps: float | str = "auto",
        nan_policy: str = "propagate",
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            axis=axis,
            gamma=gamma,
            alpha=alpha,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            eps=eps,
            nan_policy=nan_policy,
        )

    def _validate(self) -> None:
        alpha = self.alpha
        classes = 2 if alpha is None or np.ndim(alpha) == 0 else max(1, np.size(alpha))
        pred, _, labels = _one_row(self.axis, classes)
        self._call(labels, pred, reduction="sum")


class Entropy(_Metric):
    """Streaming mean of :func:`plogp.entropy` over distributions (rows along ``axis``).

    ``update(p, sample_weight=None)`` adds ``Σ s·H(p_row)``; ``result().mean`` is the
    weighted mean entropy per distribution, in units of ``base`` (nats by default), and
    ``perplexity`` is ``base ** mean`` (``exp(mean)`` in nats). ``normalized_entropy`` is
    NaN (there is no base rate).
    """

    def __init__(self, *, axis: int = -1, base: float | None = None) -> None:
        self.axis = _check_axis_type(axis)
        self.base = base
        plogp.entropy(np.array([0.5, 0.5]), base=base)  # the function's errors for `base`
        super().__init__()

    def _options(self) -> dict[str, Any]:
        return {"axis": self.axis, "base": self.base}

    def _normalized(self, mean: float, weight: float, base: np.ndarray) -> float:
        return math.nan

    def _perplexity(self, mean: float) -> float:
        return _exp(mean * (1.0 if self.base is None else math.log(self.base)))

    def update(self, p: Any, *, sample_weight: Any = None, groups: Any = None) -> Entropy:
        """Add a batch of distributions; returns ``self``. On any error the state is left
        unchanged. With ``groups`` (an id per distribution), each group also accumulates its
        own state. ``sample_weight`` and ``groups`` have one value per distribution, shaped
        as the losses' per-item arrays."""
        p = np.asarray(p)

        def call(**kwargs: Any) -> Any:
            return _native._entropy_tally(p, axis=self.axis, base=self.base, **kwargs)

        tally = _tally_of(call, sample_weight, groups)
        batch = None
        if (g := tally.groups) is not None:
            batch = _GroupBatch(g.loss, g.weight, g.items, np.zeros((len(g.loss), 0)), g.items > 0)
        axis = self.axis % p.ndim  # the call has checked it
        rows = math.prod(n for d, n in enumerate(p.shape) if d != axis)
        self._accumulate(tally.loss, tally.weight, rows, np.zeros(0), batch)
        return self
