"""plogp on ``dask.array`` inputs (extra ``[dask]``: ``dask[array]`` and ``distributed``).

Each block pair of ``y_true`` / ``y_pred`` is scored by the native kernels into a streaming
metric of :mod:`plogp.metrics` (a few floats of state), and the block metrics are combined
with ``merge`` in a tree of ``split_every`` inputs per node. Only these small states travel
between workers, so this runs unchanged on a ``dask.distributed`` cluster.

- :func:`binary_cross_entropy`, :func:`categorical_cross_entropy` and
  :func:`sparse_categorical_cross_entropy` take the options of the NumPy functions
  (``from_logits``, ``sample_weight``, ``eps``, ``reduction="mean" | "sum"``) and return a
  Python float, computed eagerly with the current dask scheduler; ``compute=False`` returns
  a ``dask.delayed.Delayed`` instead (call ``.compute()``, or pass it to ``dask.compute``
  with other work so the inputs are read once).
- :func:`metric_from_dask` returns the merged metric (lazily, a Delayed), and
  :func:`update_metric` adds the blocks of dask arrays to an existing metric, eagerly.
- :func:`entropy` is lazy like dask's own functions: a dask array with one entropy per
  distribution (a 0-d dask array for a single 1-D distribution); call ``.compute()``.

``y_true`` (and ``sample_weight``) are rechunked to ``y_pred``'s row chunks; the class axis of
categorical ``y_pred`` is made one chunk (a row's classes must be in one block). Values are
validated by the kernels when the blocks are computed, so a bad value raises at compute time
and its index in the message is the index inside its block. The result equals the one-shot
NumPy call up to the rounding of the block-wise summation (a few ulp), and does not change
from run to run for the same chunks.
"""

from __future__ import annotations

import copy
from typing import Any, List, Optional, Sequence, Tuple

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "entropy",
    "metric_from_dask",
    "sparse_categorical_cross_entropy",
    "update_metric",
]

#: Block metrics merged per node of the combine tree.
SPLIT_EVERY = 8


def _dask() -> Tuple[Any, Any]:
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise ImportError("plogp.dask needs dask: pip install 'plogp[dask]'") from None
    return dask, da


def _kind(metric: Any) -> str:
    from plogp._loss_state import metrics_module

    metrics = metrics_module()

    if isinstance(metric, metrics.SparseCategoricalCrossEntropy):
        return "sparse"
    if isinstance(metric, metrics.CategoricalCrossEntropy):
        return "categorical"
    if isinstance(metric, metrics.BinaryCrossEntropy):
        return "binary"
    raise TypeError(
        "metric must be a plogp.metrics BinaryCrossEntropy, CategoricalCrossEntropy or "
        f"SparseCategoricalCrossEntropy, got {type(metric).__name__}"
    )


def _empty_like(metric: Any) -> Any:
    """A metric with ``metric``'s options and no data (the input is not modified)."""
    clone = copy.deepcopy(metric)
    clone.reset()
    return clone


def _block_metric(template: Any, y_true: Any, y_pred: Any, sample_weight: Any,
                  groups: Any) -> Any:
    metric = _empty_like(template)
    if groups is None:
        metric.update(y_true, y_pred, sample_weight=sample_weight)
    else:
        metric.update(y_true, y_pred, sample_weight=sample_weight, groups=groups)
    return metric


def _merge_all(metrics: Sequence[Any]) -> Any:
    merged = copy.deepcopy(metrics[0])
    for other in metrics[1:]:
        merged.merge(other)
    return merged


def _aligned(kind: str, y_true: Any, y_pred: Any, sample_weight: Any,
             groups: Any) -> Tuple[Any, Any, Any, Any]:
    """Dask arrays whose blocks line up with ``y_pred``'s (shapes checked here)."""
    _, da = _dask()
    y_pred = da.asarray(y_pred)
    y_true = da.asarray(y_true)
    if y_pred.ndim == 0:
        raise ValueError("y_pred must have at least one dimension for plogp.dask")
    if kind != "binary":
        if y_pred.ndim < 2:
            raise ValueError(
                f"y_pred must have a class axis: shape {y_pred.shape} has one dimension"
            )
        y_pred = y_pred.rechunk({y_pred.ndim - 1: -1})
    item_shape = y_pred.shape if kind == "binary" else y_pred.shape[:-1]
    item_chunks = y_pred.chunks if kind == "binary" else y_pred.chunks[:-1]
    true_shape = y_pred.shape if kind != "sparse" else item_shape
    if y_true.shape != true_shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}"
            + ("" if kind != "sparse" else f" (labels need shape {true_shape})")
        )
    y_true = y_true.rechunk(y_pred.chunks if kind != "sparse" else item_chunks)

    def per_item(array: Any, name: str) -> Any:
        if array is None:
            return None
        array = da.asarray(array)
        if array.shape == item_shape:
            return array.rechunk(item_chunks)
        if array.ndim == 1 and len(item_shape) >= 1 and array.shape[0] == item_shape[0]:
            return array.rechunk((item_chunks[0],))
        raise ValueError(
            f"{name} has shape {array.shape}; expected {item_shape} or ({item_shape[0]},) "
            f"for y_pred of shape {y_pred.shape}"
            if item_shape else f"{name} has shape {array.shape}; expected ()"
        )

    return y_true, y_pred, per_item(sample_weight, "sample_weight"), per_item(groups, "groups")


def metric_from_dask(metric: Any, y_true: Any, y_pred: Any, *, sample_weight: Any = None,
                     groups: Any = None, split_every: int = SPLIT_EVERY) -> Any:
    """A Delayed metric: ``metric``'s options, the data of every block of the inputs.

    ``metric`` is a :mod:`plogp.metrics` loss metric; it is only read (its state is not
    included). ``dask.compute(metric_from_dask(...))`` gives a metric whose ``result()``
    covers all rows; ``merge`` it into another metric to accumulate several arrays.
    """
    dask, _ = _dask()
    kind = _kind(metric)
    if not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}")
    y_true, y_pred, weight, groups = _aligned(kind, y_true, y_pred, sample_weight, groups)
    template = _empty_like(metric)

    pred_blocks = y_pred.to_delayed()
    true_blocks = y_true.to_delayed()
    weight_blocks = None if weight is None else weight.to_delayed()
    group_blocks = None if groups is None else groups.to_delayed()
    block_metric = dask.delayed(_block_metric, pure=True)
    states: List[Any] = []
    import numpy as np

    for index in np.ndindex(*pred_blocks.shape):
        item_index = index if kind == "binary" else index[:-1]
        true_index = index if kind != "sparse" else item_index

        def pick(blocks: Any) -> Any:
            if blocks is None:
                return None
            return blocks[item_index] if blocks.ndim == len(item_index) else blocks[index[0]]

        states.append(block_metric(template, true_blocks[true_index], pred_blocks[index],
                                   pick(weight_blocks), pick(group_blocks)))
    if not states:  # an empty array has no blocks
        return dask.delayed(template)
    merge = dask.delayed(_merge_all, pure=True)
    while len(states) > 1:
        states = [merge(states[i : i + split_every]) for i in range(0, len(states), split_every)]
    return states[0]


def update_metric(metric: Any, y_true: Any, y_pred: Any, *, sample_weight: Any = None,
                  groups: Any = None, split_every: int = SPLIT_EVERY) -> Any:
    """Add every block of the dask arrays to ``metric`` (computed now); returns ``metric``."""
    merged = metric_from_dask(metric, y_true, y_pred, sample_weight=sample_weight,
                              groups=groups, split_every=split_every).compute()
    metric.merge(merged)
    return metric


def _reduce(metric: Any, reduction: str) -> float:
    result = metric.result()
    return float(result.mean if reduction == "mean" else result.sum)


def _loss(kind: str, y_true: Any, y_pred: Any, from_logits: bool, sample_weight: Any,
          eps: Any, reduction: str, compute: bool, split_every: int) -> Any:
    from plogp._loss_state import metrics_module

    metrics = metrics_module()

    if reduction not in ("mean", "sum"):
        raise ValueError(
            f"reduction must be 'mean' or 'sum' for dask inputs, got {reduction!r}"
        )
    factory = {
        "binary": metrics.BinaryCrossEntropy,
        "categorical": metrics.CategoricalCrossEntropy,
        "sparse": metrics.SparseCategoricalCrossEntropy,
    }[kind]
    dask, _ = _dask()
    merged = metric_from_dask(factory(from_logits=from_logits, eps=eps), y_true, y_pred,
                              sample_weight=sample_weight, split_every=split_every)
    value = dask.delayed(_reduce, pure=True)(merged, reduction)
    return value.compute() if compute else value


def binary_cross_entropy(y_true: Any, y_pred: Any, *, from_logits: bool = False,
                         sample_weight: Any = None, eps: Any = "auto", reduction: str = "mean",
                         compute: bool = True, split_every: int = SPLIT_EVERY) -> Any:
    """:func:`plogp.binary_cross_entropy` of dask arrays (a float, or a Delayed if
    ``compute=False``). Options as in plogp; ``reduction`` is ``"mean"`` or ``"sum"``."""
    return _loss("binary", y_true, y_pred, from_logits, sample_weight, eps, reduction,
                 compute, split_every)


def categorical_cross_entropy(y_true: Any, y_pred: Any, *, from_logits: bool = False,
                              sample_weight: Any = None, eps: Any = "auto",
                              reduction: str = "mean", compute: bool = True,
                              split_every: int = SPLIT_EVERY) -> Any:
    """:func:`plogp.categorical_cross_entropy` of dask arrays, classes on the last axis."""
    return _loss("categorical", y_true, y_pred, from_logits, sample_weight, eps, reduction,
                 compute, split_every)


def sparse_categorical_cross_entropy(y_true: Any, y_pred: Any, *, from_logits: bool = False,
                                     sample_weight: Any = None, eps: Any = "auto",
                                     reduction: str = "mean", compute: bool = True,
                                     split_every: int = SPLIT_EVERY) -> Any:
    """:func:`plogp.sparse_categorical_cross_entropy` of dask arrays (labels ``y_true``,
    classes on the last axis of ``y_pred``)."""
    return _loss("sparse", y_true, y_pred, from_logits, sample_weight, eps, reduction,
                 compute, split_every)


def _block_entropy(block: Any, axis: int, base: Any, keep: bool) -> Any:
    import numpy as np

    import plogp

    value = plogp.entropy(block, axis=axis, base=base)
    return np.reshape(value, (1,)) if keep else value


def entropy(p: Any, *, axis: int = -1, base: Any = None) -> Any:
    """:func:`plogp.entropy` of a dask array, lazily: one value per distribution along
    ``axis`` (that axis is made one block); a 1-D ``p`` is one distribution split into blocks,
    whose partial entropies are summed (a 0-d dask array)."""
    _, da = _dask()
    import numpy as np

    p = da.asarray(p)
    if p.ndim == 0:
        raise ValueError("p must have at least one dimension (the distribution axis)")
    if not isinstance(axis, (int, np.integer)) or not -p.ndim <= axis < p.ndim:
        raise ValueError(f"axis {axis!r} is out of bounds for p of dimension {p.ndim}")
    axis = int(axis) % p.ndim
    if p.ndim == 1:
        # -sum p log p splits over blocks: one partial sum per block, then their sum.
        parts = p.map_blocks(_block_entropy, 0, base, True, chunks=((1,) * p.numblocks[0],),
                             dtype=np.float64)
        return parts.sum()
    p = p.rechunk({axis: -1})
    return p.map_blocks(_block_entropy, axis, base, False, drop_axis=axis,
                        dtype=p.dtype if p.dtype.kind == "f" else np.dtype(np.float64))
