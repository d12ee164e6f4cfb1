"""Minimal streaming loss metrics, used by ``plogp score`` and ``plogp.dask`` only while
:mod:`plogp.metrics` is not available in this build.

Same interface as the metrics of :mod:`plogp.metrics` (``update`` / ``merge`` / ``reset`` /
``result``): each ``update`` calls the native loss with ``reduction="sum"`` and adds the block's
loss sum, total weight, count and weighted class mass to the state; block sums are added
with Neumaier's compensated summation, so the merged sum is the correctly rounded sum of the
block sums (each within the kernels' bound), whatever the number of blocks.

normalized entropy = mean loss / H(weighted class frequencies) (the cross-entropy of the
model relative to always predicting the observed base rates; NaN when that entropy is 0);
perplexity = exp(mean loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np


@dataclass(frozen=True)
class MetricResult:
    mean: float
    sum: float
    weight: float
    count: int
    normalized_entropy: float
    perplexity: float


class _Sum:
    """Neumaier's compensated sum of Python floats."""

    __slots__ = ("hi", "lo")

    def __init__(self) -> None:
        self.hi = 0.0
        self.lo = 0.0

    def add(self, x: float) -> None:
        t = self.hi + x
        if abs(self.hi) >= abs(x):
            self.lo += (self.hi - t) + x
        else:
            self.lo += (x - t) + self.hi
        self.hi = t

    def merge(self, other: "_Sum") -> None:
        self.add(other.hi)
        self.add(other.lo)

    @property
    def value(self) -> float:
        return self.hi + self.lo


class _LossMetric:
    _kind = ""

    def __init__(self, *, from_logits: bool = False, eps: Any = "auto") -> None:
        self.from_logits = from_logits
        self.eps = eps
        self.reset()

    def reset(self) -> "_LossMetric":
        self._loss = _Sum()
        self._weight = _Sum()
        self._count = 0
        self._mass: Optional[np.ndarray] = None  # weighted target mass per class
        return self

    def _function(self) -> Callable[..., Any]:
        import plogp

        return {
            "binary": plogp.binary_cross_entropy,
            "categorical": plogp.categorical_cross_entropy,
            "sparse": plogp.sparse_categorical_cross_entropy,
        }[self._kind]

    def update(self, y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> "_LossMetric":
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true)
        # Validates everything (dtypes, shapes, ranges, weights) before the state changes.
        loss = self._function()(y_true, y_pred, from_logits=self.from_logits, eps=self.eps,
                                sample_weight=sample_weight, reduction="sum")
        items = y_pred.shape if self._kind == "binary" else y_pred.shape[:-1]
        if sample_weight is None:
            weight = None
        else:
            weight = np.asarray(sample_weight, dtype=np.float64)
            if weight.shape != items:  # 1-D, broadcast along the first axis
                weight = weight.reshape((-1,) + (1,) * (len(items) - 1))
            weight = np.broadcast_to(weight, items)
        mass = self._class_mass(y_true, y_pred, weight)
        self._loss.add(float(loss))
        self._weight.add(float(np.sum(weight)) if weight is not None else float(math.prod(items)))
        self._count += math.prod(items)
        self._mass = mass if self._mass is None else self._mass + mass
        return self

    def _class_mass(self, y_true: np.ndarray, y_pred: np.ndarray,
                    weight: Optional[np.ndarray]) -> np.ndarray:
        if self._kind == "binary":
            positive = float(np.sum(y_true, dtype=np.float64) if weight is None
                             else np.sum(weight * y_true))
            total = float(y_true.size if weight is None else np.sum(weight))
            return np.array([total - positive, positive])
        classes = y_pred.shape[-1]
        if self._kind == "sparse":
            labels = y_true.astype(np.int64).ravel()
            w = None if weight is None else weight.ravel()
            return np.bincount(labels, weights=w, minlength=classes).astype(np.float64)
        rows = y_true.reshape(-1, classes).astype(np.float64)
        if weight is None:
            return rows.sum(axis=0)
        return weight.ravel() @ rows

    def merge(self, other: "_LossMetric") -> "_LossMetric":
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        self._loss.merge(other._loss)
        self._weight.merge(other._weight)
        self._count += other._count
        if other._mass is not None:
            self._mass = other._mass.copy() if self._mass is None else self._mass + other._mass
        return self

    def result(self) -> MetricResult:
        weight = self._weight.value
        if weight == 0:
            raise ValueError("cannot compute the mean: zero total weight (no rows, or all "
                             "sample_weight are 0)")
        total = self._loss.value
        mean = total / weight
        mass = self._mass if self._mass is not None else np.zeros(1)
        frequencies = mass[mass > 0] / mass.sum() if mass.sum() > 0 else mass[:0]
        base = float(-np.sum(frequencies * np.log(frequencies)))
        normalized = mean / base if base > 0 else math.nan
        perplexity = math.exp(mean) if mean < 709.78 else math.inf
        return MetricResult(mean, total, weight, self._count, normalized, perplexity)


class BinaryCrossEntropy(_LossMetric):
    _kind = "binary"


class CategoricalCrossEntropy(_LossMetric):
    _kind = "categorical"


class SparseCategoricalCrossEntropy(_LossMetric):
    _kind = "sparse"


def metrics_module() -> Any:
    """:mod:`plogp.metrics` when it exists, else this module (same class names)."""
    try:
        from plogp import metrics  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        import sys

        return sys.modules[__name__]
    return metrics
