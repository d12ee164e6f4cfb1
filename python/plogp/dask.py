"""plogp on ``dask.array`` inputs (extra ``[dask]``: ``dask[array]`` and ``distributed``).

Each block pair of ``y_true`` / ``y_pred`` is scored by the native kernels into a streaming
metric of :mod:`plogp.metrics` (a few floats of state), and the block metrics are combined
with ``merge`` in a tree of ``split_every`` inputs per node. Only these small states travel
between workers, so this runs unchanged on a ``dask.distributed`` cluster.

- :func:`binary_cross_entropy`, :func:`categorical_cross_entropy`,
  :func:`sparse_categorical_cross_entropy` and the focal losses
  (:func:`binary_focal_cross_entropy`, :func:`categorical_focal_cross_entropy`,
  :func:`sparse_categorical_focal_cross_entropy`) take every option of the NumPy functions
  (``from_logits``, ``sample_weight``, ``pos_weight``, ``class_weight``, ``label_smoothing``,
  ``ignore_index``, ``axis``, ``gamma``, ``alpha``, ``eps``, ``nan_policy``, ``groups``)
  with ``reduction="mean" | "sum"``, and return what the function returns (a Python float;
  with ``groups=`` a float64 array of one value per group id), computed eagerly with the
  current dask scheduler; ``compute=False`` returns a ``dask.delayed.Delayed`` instead (call
  ``.compute()``, or pass it to ``dask.compute`` with other work so the inputs are read
  once).
- :func:`metric_from_dask` returns the merged metric (lazily, a Delayed), and
  :func:`update_metric` adds the blocks of dask arrays to an existing metric, eagerly.
- :func:`entropy` is lazy like dask's own functions: a dask array with one entropy per
  distribution (a 0-d dask array for a single 1-D distribution); call ``.compute()``.

``y_true``, ``sample_weight`` and ``groups`` are rechunked to ``y_pred``'s item chunks; the
class axis (``axis``) of categorical ``y_pred`` is made one chunk (a row's classes must be in
one block), and so are the trailing axes a ``pos_weight`` array covers. Values are validated
by the kernels when the blocks are computed, so a bad value raises at compute time and its
index in the message is the index inside its block. The result equals the one-shot NumPy
call up to the rounding of the block-wise summation (a few ulp), and does not change from
run to run for the same chunks.
"""

from __future__ import annotations

import copy
from typing import Any, List, Sequence, Tuple

__all__ = [
    "binary_cross_entropy",
    "binary_focal_cross_entropy",
    "categorical_cross_entropy",
    "categorical_focal_cross_entropy",
    "entropy",
    "metric_from_dask",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_focal_cross_entropy",
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


def _layout(metric: Any) -> Tuple[str, int | None]:
    """``(kind, axis)`` of a loss metric: kind ``"binary"`` (elements are items),
    ``"categorical"`` (targets of y_pred's shape) or ``"sparse"`` (labels of the row shape),
    and the class axis (None for the binary losses)."""
    from plogp import metrics

    if isinstance(metric, metrics._BinaryLoss):
        return "binary", None
    if isinstance(metric, metrics._SparseBase):
        return "sparse", metric.axis
    if isinstance(metric, metrics._DenseBase):
        return "categorical", metric.axis
    raise TypeError(
        "metric must be a plogp.metrics loss metric (BinaryCrossEntropy, "
        "BinaryFocalCrossEntropy, CategoricalCrossEntropy, CategoricalFocalCrossEntropy, "
        "SparseCategoricalCrossEntropy or SparseCategoricalFocalCrossEntropy), got "
        f"{type(metric).__name__}"
    )


def _empty_like(metric: Any) -> Any:
    """A metric with ``metric``'s options and no data (the input is not modified)."""
    clone = copy.deepcopy(metric)
    clone.reset()
    return clone


def _block_metric(template: Any, y_true: Any, y_pred: Any, sample_weight: Any, groups: Any) -> Any:
    metric = _empty_like(template)
    return metric.update(y_true, y_pred, sample_weight=sample_weight, groups=groups)


def _merge_all(metrics: Sequence[Any]) -> Any:
    merged = copy.deepcopy(metrics[0])
    for other in metrics[1:]:
        merged.merge(other)
    return merged


def _whole_trailing_axes(metric: Any) -> int:
    """How many trailing axes of y_pred a block must hold whole: those a ``pos_weight``
    array covers (it matches trailing dimensions, so it must see them all)."""
    import numpy as np

    pos_weight = getattr(metric, "pos_weight", None)
    shape = () if pos_weight is None else np.shape(pos_weight)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return len(shape)


def _aligned(
    metric: Any, y_true: Any, y_pred: Any, sample_weight: Any, groups: Any
) -> Tuple[Any, Any, Any, Any, int | None]:
    """Dask arrays whose blocks line up with ``y_pred``'s (shapes checked here), and the
    class axis in ``[0, ndim)`` (None for the binary losses)."""
    from plogp import _items

    _, da = _dask()
    kind, axis = _layout(metric)
    y_pred = da.asarray(y_pred)
    y_true = da.asarray(y_true)
    if y_pred.ndim == 0:
        raise ValueError("y_pred must have at least one dimension for plogp.dask")
    if kind == "binary":
        whole = _whole_trailing_axes(metric)
        if whole:
            y_pred = y_pred.rechunk(
                {y_pred.ndim - 1 - i: -1 for i in range(whole) if i < y_pred.ndim}
            )
        item_shape, item_chunks = y_pred.shape, y_pred.chunks
    else:
        if y_pred.ndim < 2:
            raise ValueError(
                f"y_pred must have a class axis and rows: shape {y_pred.shape} has one dimension"
            )
        if not -y_pred.ndim <= axis < y_pred.ndim:
            raise ValueError(
                f"axis {axis} is out of bounds for an array of dimension {y_pred.ndim}"
            )
        axis %= y_pred.ndim
        y_pred = y_pred.rechunk({axis: -1})
        item_shape = y_pred.shape[:axis] + y_pred.shape[axis + 1 :]
        item_chunks = y_pred.chunks[:axis] + y_pred.chunks[axis + 1 :]
    true_shape = item_shape if kind == "sparse" else y_pred.shape
    if kind == "binary":
        y_true = _items.binary_truth(y_true, item_shape)  # Keras' (N,) against (N, 1)
    if kind == "sparse" and axis is not None:
        kept_axis = y_pred.shape[:axis] + (1,) + y_pred.shape[axis + 1 :]
        if y_true.shape == kept_axis:
            y_true = y_true.reshape(item_shape)  # Keras' (N, 1) labels, squeezed
    if y_true.shape != true_shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}"
            + ("" if kind != "sparse" else f" (labels need shape {true_shape})")
        )
    y_true = y_true.rechunk(item_chunks if kind == "sparse" else y_pred.chunks)

    def per_item(array: Any, name: str) -> Any:
        if array is None:
            return None
        array = da.asarray(array)
        if _items.broadcasts_along_first_axis(name, array.shape, item_shape):
            return array.rechunk((item_chunks[0],))
        return array.rechunk(item_chunks)

    def weights(array: Any) -> Any:
        if array is None:
            return None
        array = da.asarray(array)
        shape = _items.weight_shape(array.shape, item_shape)
        if array.shape == item_shape or (
            array.ndim == 1 and len(item_shape) >= 2 and array.shape[0] == item_shape[0]
        ):
            return per_item(array, "sample_weight")
        # A scalar or a broadcast: each block gets a zero-stride view of its part.
        array = array.reshape(shape).rechunk(
            tuple(c if n != 1 else (1,) for n, c in zip(shape, item_chunks))
        )
        return da.broadcast_to(array, item_shape, chunks=item_chunks)

    return (
        y_true,
        y_pred,
        weights(sample_weight),
        per_item(groups, "groups"),
        axis,
    )


def metric_from_dask(
    metric: Any,
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    groups: Any = None,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """A Delayed metric: ``metric``'s options, the data of every block of the inputs.

    ``metric`` is a :mod:`plogp.metrics` loss metric; it is only read (its state is not
    included). ``dask.compute(metric_from_dask(...))`` gives a metric whose ``result()``
    covers all rows; ``merge`` it into another metric to accumulate several arrays.
    """
    import numpy as np

    dask, _ = _dask()
    kind, _ = _layout(metric)
    if not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}")
    y_true, y_pred, weight, groups, axis = _aligned(metric, y_true, y_pred, sample_weight, groups)
    template = _empty_like(metric)

    pred_blocks = y_pred.to_delayed()
    true_blocks = y_true.to_delayed()
    weight_blocks = None if weight is None else weight.to_delayed()
    group_blocks = None if groups is None else groups.to_delayed()
    block_metric = dask.delayed(_block_metric, pure=True)
    states: List[Any] = []
    for index in np.ndindex(*pred_blocks.shape):
        item_index = index if axis is None else index[:axis] + index[axis + 1 :]
        true_index = item_index if kind == "sparse" else index

        def pick(blocks: Any) -> Any:
            if blocks is None:
                return None
            return blocks[item_index] if blocks.ndim == len(item_index) else blocks[index[0]]

        states.append(
            block_metric(
                template,
                true_blocks[true_index],
                pred_blocks[index],
                pick(weight_blocks),
                pick(group_blocks),
            )
        )
    if not states:  # an empty array has no blocks
        return dask.delayed(template)
    merge = dask.delayed(_merge_all, pure=True)
    while len(states) > 1:
        states = [merge(states[i : i + split_every]) for i in range(0, len(states), split_every)]
    return states[0]


def update_metric(
    metric: Any,
    y_true: Any,
    y_pred: Any,
    *,
    sample_weight: Any = None,
    groups: Any = None,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """Add every block of the dask arrays to ``metric`` (computed now); returns ``metric``."""
    merged = metric_from_dask(
        metric, y_true, y_pred, sample_weight=sample_weight, groups=groups, split_every=split_every
    ).compute()
    metric.merge(merged)
    return metric


def _reduce(metric: Any, reduction: str, grouped: bool) -> Any:
    """What the function returns: the mean or the sum (a float), or with groups one value
    per group id ``0 .. max(groups)`` (float64; "mean" is NaN for an id without weight,
    "sum" is 0 for an id that never occurs)."""
    import numpy as np

    result = metric.result()
    if not grouped:
        if reduction == "mean" and not result.weight > 0:
            raise ValueError(
                "reduction='mean' is undefined over zero total weight (empty input, or "
                "every sample_weight is 0)"
            )
        return float(result.mean if reduction == "mean" else result.sum)
    size = max(result.groups, default=-1) + 1
    out = np.full(size, np.nan if reduction == "mean" else 0.0)
    for group, r in result.groups.items():
        out[group] = r.mean if reduction == "mean" else r.sum
    return out


def _loss(
    metric: Any,
    y_true: Any,
    y_pred: Any,
    sample_weight: Any,
    groups: Any,
    reduction: str,
    compute: bool,
    split_every: int,
) -> Any:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum' for dask inputs, got {reduction!r}")
    dask, _ = _dask()
    merged = metric_from_dask(
        metric, y_true, y_pred, sample_weight=sample_weight, groups=groups, split_every=split_every
    )
    value = dask.delayed(_reduce, pure=True)(merged, reduction, groups is not None)
    return value.compute() if compute else value


def binary_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    sample_weight: Any = None,
    pos_weight: Any = None,
    label_smoothing: float = 0.0,
    eps: Any = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
    compute: bool = True,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """:func:`plogp.binary_cross_entropy` of dask arrays (a float, an array with
    ``groups=``, or a Delayed if ``compute=False``); ``reduction`` is ``"mean"`` or
    ``"sum"``."""
    from plogp import metrics

    metric = metrics.BinaryCrossEntropy(
        from_logits=from_logits,
        pos_weight=pos_weight,
        label_smoothing=label_smoothing,
        eps=eps,
        nan_policy=nan_policy,
    )
    return _loss(metric, y_true, y_pred, sample_weight, groups, reduction, compute, split_every)


def categorical_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    sample_weight: Any = None,
    class_weight: Any = None,
    label_smoothing: float = 0.0,
    eps: Any = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
    compute: bool = True,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """:func:`plogp.categorical_cross_entropy` of dask arrays, classes along ``axis``."""
    from plogp import metrics

    metric = metrics.CategoricalCrossEntropy(
        from_logits=from_logits,
        axis=axis,
        class_weight=class_weight,
        label_smoothing=label_smoothing,
        eps=eps,
        nan_policy=nan_policy,
    )
    return _loss(metric, y_true, y_pred, sample_weight, groups, reduction, compute, split_every)


def sparse_categorical_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    sample_weight: Any = None,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    eps: Any = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
    compute: bool = True,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """:func:`plogp.sparse_categorical_cross_entropy` of dask arrays (labels ``y_true``,
    classes along ``axis`` of ``y_pred``)."""
    from plogp import metrics

    metric = metrics.SparseCategoricalCrossEntropy(
        from_logits=from_logits,
        axis=axis,
        class_weight=class_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        eps=eps,
        nan_policy=nan_policy,
    )
    return _loss(metric, y_true, y_pred, sample_weight, groups, reduction, compute, split_every)


def binary_focal_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    gamma: float = 2.0,
    alpha: float | None = None,
    sample_weight: Any = None,
    eps: Any = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
    compute: bool = True,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """:func:`plogp.binary_focal_cross_entropy` of dask arrays."""
    from plogp import metrics

    metric = metrics.BinaryFocalCrossEntropy(
        from_logits=from_logits, gamma=gamma, alpha=alpha, eps=eps, nan_policy=nan_policy
    )
    return _loss(metric, y_true, y_pred, sample_weight, groups, reduction, compute, split_every)


def categorical_focal_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    gamma: float = 2.0,
    alpha: Any = None,
    sample_weight: Any = None,
    label_smoothing: float = 0.0,
    eps: Any = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
    compute: bool = True,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """:func:`plogp.categorical_focal_cross_entropy` of dask arrays, classes along ``axis``."""
    from plogp import metrics

    metric = metrics.CategoricalFocalCrossEntropy(
        from_logits=from_logits,
        axis=axis,
        gamma=gamma,
        alpha=alpha,
        label_smoothing=label_smoothing,
        eps=eps,
        nan_policy=nan_policy,
    )
    return _loss(metric, y_true, y_pred, sample_weight, groups, reduction, compute, split_every)


def sparse_categorical_focal_cross_entropy(
    y_true: Any,
    y_pred: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    gamma: float = 2.0,
    alpha: Any = None,
    sample_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    eps: Any = "auto",
    reduction: str = "mean",
    nan_policy: str = "propagate",
    groups: Any = None,
    compute: bool = True,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """:func:`plogp.sparse_categorical_focal_cross_entropy` of dask arrays."""
    from plogp import metrics

    metric = metrics.SparseCategoricalFocalCrossEntropy(
        from_logits=from_logits,
        axis=axis,
        gamma=gamma,
        alpha=alpha,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        eps=eps,
        nan_policy=nan_policy,
    )
    return _loss(metric, y_true, y_pred, sample_weight, groups, reduction, compute, split_every)


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
        parts = p.map_blocks(
            _block_entropy, 0, base, True, chunks=((1,) * p.numblocks[0],), dtype=np.float64
        )
        return parts.sum()
    p = p.rechunk({axis: -1})
    return p.map_blocks(
        _block_entropy,
        axis,
        base,
        False,
        drop_axis=axis,
        dtype=p.dtype if p.dtype.kind == "f" else np.dtype(np.float64),
    )
