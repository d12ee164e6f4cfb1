"""Native ``plogp`` against ``plogp.reference``: every public function and option.

Per-element and per-row results agree to 4 ulp of the result dtype; values that are small
because large terms cancel (KL, JS, logits) also get 4 ulp of the size of those terms.
Full reductions (a Python float) agree to 1e-12 relative for float64 inputs and 1e-6 for
float32 / float16 ones. Every call also checks that its inputs are left byte-for-byte intact.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from plogp import _items

from conftest import (
    ABOVE_ONE_CHUNK,
    FLOAT_DTYPES,
    INT_DTYPES,
    LABEL_DTYPES,
    LAYOUTS,
    LOSSES,
    PUBLIC_FUNCTIONS,
    as_layout,
    assert_elementwise_close,
    assert_raises_clean,
    compute_dtype,
    random_labels,
    random_probs,
    reduction_rtol,
    unchanged,
)

BASES = (None, 2, 10.0, 0.5, math.e)
EPS_VALUES = ("auto", 1e-7, 0.0, 0.25)
REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------------------------
# Magnitude of the terms behind each result (for values that are small through cancellation)


def _ln_base(options: dict[str, Any]) -> float:
    base = options.get("base")
    return 1.0 if base is None else math.log(base)


def _finite_abs_max(z: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    a = np.abs(np.asarray(z, dtype=np.float64))
    a = np.where(np.isfinite(a), a, 0.0)
    return np.max(a, axis=axis, keepdims=keepdims, initial=0.0)


def _rel_entr_magnitude(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """|p·log(p/q)| elementwise in float64 (0 where p = 0; non-finite entries give 0)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.abs(p * (np.log(p) - np.log(q)))
    return np.where((p > 0) & np.isfinite(terms), terms, 0.0)


def _per_item_scale(function: str, args: tuple, options: dict[str, Any]) -> Any:
    """Per result item, the size of the terms whose cancellation can make the result small."""
    axis = options.get("axis", -1)
    if function == "kl_divergence":
        p, q = args
        return _rel_entr_magnitude(p, q).sum(axis=axis) / abs(_ln_base(options))
    if function == "js_divergence":
        p, q = (np.asarray(a, dtype=np.float64) for a in args)
        m = (p + q) / 2
        both = _rel_entr_magnitude(p, m) + _rel_entr_magnitude(q, m)
        return both.sum(axis=axis) / 2 / abs(_ln_base(options))
    if function == "entropy_from_logits":
        return (_finite_abs_max(args[0], axis) + 1) / abs(_ln_base(options))
    if function == "logsumexp":
        return _finite_abs_max(args[0], axis) + 1
    if function == "log_softmax":
        return 2 * _finite_abs_max(args[0], axis, keepdims=True) + 1
    if function == "softmax":
        return 1.0
    if function in LOSSES and options.get("from_logits"):
        return _logit_loss_scale(function, args, axis)
    return 0.0


def _logit_loss_scale(function: str, args: tuple, axis: int) -> np.ndarray:
    y_true, z = args
    if function == "binary_cross_entropy":
        y = np.asarray(y_true, dtype=np.float64)
        # max(z, 0) − z·y cancels only for soft targets.
        return np.where((y == 0) | (y == 1), 0.0, np.abs(np.asarray(z, dtype=np.float64)))
    row = _finite_abs_max(z, axis) + 1
    if function == "categorical_cross_entropy":
        return row * np.sum(np.asarray(y_true, dtype=np.float64), axis=axis)
    return row


def _weighted_scale(scale: Any, args: tuple, function: str, options: dict[str, Any]) -> Any:
    """The per-item scale after the sample weights and the reduction."""
    weight = options.get("sample_weight")
    reduction = options.get("reduction", "mean")
    if function not in LOSSES:
        return scale
    shape = np.shape(args[1])
    if function != "binary_cross_entropy":
        axis = options.get("axis", -1) % len(shape)
        shape = shape[:axis] + shape[axis + 1 :]
    s = np.ones(shape) if weight is None else np.asarray(weight, dtype=np.float64)
    s = np.broadcast_to(s.reshape(_items.weight_shape(s.shape, shape)), shape)
    weighted = np.broadcast_to(np.asarray(scale, dtype=np.float64), shape) * s
    if reduction == "none":
        return weighted
    total = float(np.sum(weighted))
    if reduction == "sum":
        return total
    return total / float(np.sum(np.broadcast_to(s, shape)))


# --------------------------------------------------------------------------------------------
# One parity check


def _call(module: ModuleType, function: str, args: tuple, options: dict[str, Any]) -> Any:
    with unchanged(*args, *[v for v in options.values() if isinstance(v, np.ndarray)]):
        return getattr(module, function)(*args, **options)


def check_parity(
    native: ModuleType,
    reference: ModuleType,
    function: str,
    args: tuple,
    options: dict[str, Any] | None = None,
    *,
    error: type[Exception] | None = None,
    layout: str | None = None,
) -> Any:
    """Calls ``function`` in both implementations and compares; returns the native result.

    With ``error``, both must raise it instead (the input was generated to be invalid).
    With ``layout``, every array argument (sample weights included) is first given that
    in-memory layout (see ``conftest.as_layout``).
    """
    options = dict(options or {})
    if layout is not None:
        args = tuple(as_layout(a, layout, None) for a in args)
        options = {
            k: as_layout(v, layout, None) if isinstance(v, np.ndarray) else v
            for k, v in options.items()
        }
    if error is not None:
        for module in (reference, native):
            with pytest.raises(error):
                _call(module, function, args, options)
        return None
    expected = _call(reference, function, args, options)
    actual = _call(native, function, args, options)
    scale = _weighted_scale(_per_item_scale(function, args, options), args, function, options)
    if isinstance(expected, float):
        assert isinstance(actual, float), f"native returned {type(actual)}, expected float"
        dtype = compute_dtype(*(args[1:] if function in LOSSES else args))
        _assert_reduction(actual, expected, dtype, float(np.max(scale, initial=0.0)))
    else:
        assert isinstance(expected, np.ndarray), type(expected)
        assert_elementwise_close(actual, expected, expected.dtype, scale)
    return actual


def _assert_reduction(actual: float, expected: float, dtype: np.dtype, scale: float) -> None:
    if math.isnan(expected) or math.isinf(expected):
        assert actual == expected or (math.isnan(actual) and math.isnan(expected)), (
            actual,
            expected,
        )
        return
    rtol = reduction_rtol(dtype)
    assert math.isclose(actual, expected, rel_tol=rtol, abs_tol=rtol * scale + 1e-300), (
        actual,
        expected,
        f"rtol={rtol}",
        f"scale={scale}",
    )


# --------------------------------------------------------------------------------------------
# Hypothesis strategies

dtypes = st.sampled_from(FLOAT_DTYPES)
layouts = st.sampled_from([name for name in LAYOUTS if name != "memmap"])


def _width(dtype: Any) -> int:
    return np.dtype(dtype).itemsize * 8


def probability_arrays(dtype: Any, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=_width(dtype)))


def logit_arrays(dtype: Any, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(dtype, shape, elements=st.floats(-60, 60, width=_width(dtype)))


def target_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Targets in [0, 1]: soft floats, or hard 0/1 in a float, bool or integer dtype."""
    hard = st.sampled_from([*FLOAT_DTYPES, np.bool_, *INT_DTYPES]).flatmap(
        lambda dt: hnp.arrays(dt, shape, elements=st.sampled_from([0, 1]).map(dt))
    )
    soft = dtypes.flatmap(lambda dt: probability_arrays(dt, shape))
    return st.one_of(hard, soft)


def shapes(min_dims: int = 1) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=0, max_side=9)


@st.composite
def axis_for(draw: st.DrawFn, shape: tuple[int, ...]) -> int:
    return draw(st.integers(-len(shape), len(shape) - 1))


@st.composite
def loss_options(draw: st.DrawFn, items: tuple[int, ...]) -> dict[str, Any]:
    """eps, reduction and sample_weight (per item, or 1-D along the first axis) for a loss."""
    options: dict[str, Any] = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if draw(st.booleans()):
        options["eps"] = draw(st.sampled_from(EPS_VALUES))
    weight_shapes = [items]
    if len(items) >= 2:
        weight_shapes.append(items[:1])
    choice = draw(st.sampled_from([None, *weight_shapes]))
    if choice is not None:
        weight_dtype = draw(st.sampled_from([np.float64, np.float32, np.int32, np.uint8]))
        elements = (
            st.floats(0, 8, width=_width(weight_dtype))
            if weight_dtype in FLOAT_DTYPES
            else st.integers(0, 5)
        )
        options["sample_weight"] = draw(hnp.arrays(weight_dtype, choice, elements=elements))
    return options


def _zero_total_weight(options: dict[str, Any], items: tuple[int, ...]) -> bool:
    """Whether ``reduction="mean"`` must raise: no items, or every weight is 0."""
    if options.get("reduction") != "mean":
        return False
    if math.prod(items) == 0:
        return True
    weight = options.get("sample_weight")
    return weight is not None and not np.any(np.asarray(weight) != 0)


# --------------------------------------------------------------------------------------------
# Information theory and activations under hypothesis


@given(
    data=st.data(),
    dtype=dtypes,
    shape=shapes(),
    base=st.sampled_from(BASES),
    keepdims=st.booleans(),
)
def test_entropy(native, reference, data, dtype, shape, base, keepdims) -> None:
    p = data.draw(probability_arrays(dtype, shape))
    options = {"axis": data.draw(axis_for(shape)), "base": base, "keepdims": keepdims}
    check_parity(native, reference, "entropy", (p,), options, layout=data.draw(layouts))


@given(data=st.data(), dtype=dtypes, shape=shapes(), base=st.sampled_from(BASES))
def test_entropy_from_logits(native, reference, data, dtype, shape, base) -> None:
    z = data.draw(logit_arrays(dtype, shape))
    options = {"axis": data.draw(axis_for(shape)), "base": base}
    check_parity(native, reference, "entropy_from_logits", (z,), options, layout=data.draw(layouts))


@pytest.mark.parametrize("function", ["cross_entropy", "kl_divergence", "js_divergence"])
@given(data=st.data(), p_dtype=dtypes, q_dtype=dtypes, shape=shapes(), base=st.sampled_from(BASES))
def test_two_distribution_functions(
    native, reference, function, data, p_dtype, q_dtype, shape, base
) -> None:
    p = data.draw(probability_arrays(p_dtype, shape))
    # Half the time q is a small perturbation of p: KL and JS near p ≈ q.
    if data.draw(st.booleans()):
        factor = data.draw(st.floats(0.5, 2.0))
        q = np.clip(p.astype(q_dtype) * q_dtype(factor), 0, 1).astype(q_dtype)
    else:
        q = data.draw(probability_arrays(q_dtype, shape))
    options = {"axis": data.draw(axis_for(shape)), "base": base}
    result = check_parity(native, reference, function, (p, q), options, layout=data.draw(layouts))
    if isinstance(result, np.ndarray):
        assert result.dtype == np.result_type(p_dtype, q_dtype)


@pytest.mark.parametrize("function", ["softmax", "log_softmax", "logsumexp"])
@given(data=st.data(), dtype=dtypes, shape=shapes())
def test_softmax_family(native, reference, function, data, dtype, shape) -> None:
    z = data.draw(logit_arrays(dtype, shape))
    check_parity(
        native,
        reference,
        function,
        (z,),
        {"axis": data.draw(axis_for(shape))},
        layout=data.draw(layouts),
    )


@pytest.mark.parametrize("function", ["sigmoid", "log_sigmoid"])
@given(data=st.data(), dtype=dtypes, shape=shapes(min_dims=0))
def test_sigmoid_family(native, reference, function, data, dtype, shape) -> None:
    z = data.draw(
        hnp.arrays(
            dtype,
            shape,
            elements=st.floats(
                -700 if dtype == np.float64 else -80,
                700 if dtype == np.float64 else 80,
                width=_width(dtype),
            ),
        )
    )
    check_parity(native, reference, function, (z,), layout=data.draw(layouts))


# --------------------------------------------------------------------------------------------
# Losses under hypothesis


@given(data=st.data(), dtype=dtypes, shape=shapes(min_dims=0), from_logits=st.booleans())
def test_binary_cross_entropy(native, reference, data, dtype, shape, from_logits) -> None:
    y_true = data.draw(target_arrays(shape))
    y_pred = data.draw((logit_arrays if from_logits else probability_arrays)(dtype, shape))
    options = {"from_logits": from_logits, **data.draw(loss_options(shape))}
    error = ValueError if _zero_total_weight(options, shape) else None
    check_parity(
        native,
        reference,
        "binary_cross_entropy",
        (y_true, y_pred),
        options,
        error=error,
        layout=data.draw(layouts),
    )


@given(data=st.data(), dtype=dtypes, shape=shapes(), from_logits=st.booleans())
def test_categorical_cross_entropy(native, reference, data, dtype, shape, from_logits) -> None:
    axis = data.draw(axis_for(shape))
    items = shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
    if shape[axis] and data.draw(st.booleans()):
        classes = data.draw(
            hnp.arrays(np.int64, items, elements=st.integers(0, max(shape[axis] - 1, 0)))
        )
        y_true = np.moveaxis(np.eye(shape[axis])[classes], -1, axis).astype(
            data.draw(st.sampled_from([np.float64, np.float32, np.int8, np.bool_]))
        )
    else:
        y_true = data.draw(probability_arrays(data.draw(dtypes), shape))
    y_pred = data.draw((logit_arrays if from_logits else probability_arrays)(dtype, shape))
    options = {"from_logits": from_logits, "axis": axis, **data.draw(loss_options(items))}
    error = ValueError if _zero_total_weight(options, items) else None
    check_parity(
        native,
        reference,
        "categorical_cross_entropy",
        (y_true, y_pred),
        options,
        error=error,
        layout=data.draw(layouts),
    )


@given(
    data=st.data(),
    dtype=dtypes,
    shape=shapes(),
    from_logits=st.booleans(),
    label_dtype=st.sampled_from(LABEL_DTYPES),
)
def test_sparse_categorical_cross_entropy(
    native, reference, data, dtype, shape, from_logits, label_dtype
) -> None:
    axis = data.draw(axis_for(shape))
    n_classes = shape[axis]
    items = shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
    top = min(n_classes, 2 if label_dtype == np.bool_ else 128) - 1
    labels = data.draw(
        hnp.arrays(label_dtype, items, elements=st.integers(0, max(top, 0)).map(label_dtype))
    )
    y_pred = data.draw((logit_arrays if from_logits else probability_arrays)(dtype, shape))
    options = {"from_logits": from_logits, "axis": axis, **data.draw(loss_options(items))}
    # Without classes, any label is out of range.
    no_class = n_classes == 0 and math.prod(items) > 0
    error = ValueError if no_class or _zero_total_weight(options, items) else None
    check_parity(
        native,
        reference,
        "sparse_categorical_cross_entropy",
        (labels, y_pred),
        options,
        error=error,
        layout=data.draw(layouts),
    )


# --------------------------------------------------------------------------------------------
# Explicit sizes and memory layouts

SIZES = {
    "empty": (0, 3),
    "one": (1, 1),
    "odd": (7, 5),
    "odd_1d": (1_001,),
    "long_1d": (ABOVE_ONE_CHUNK,),
    "rows": (20_011, 5),
}
# (function, options): every function, losses from probabilities and from logits, weighted.
CALLS = [
    ("entropy", {}),
    ("entropy", {"base": 2, "keepdims": True}),
    ("entropy_from_logits", {}),
    ("cross_entropy", {}),
    ("kl_divergence", {}),
    ("js_divergence", {"base": 2}),
    ("softmax", {}),
    ("log_softmax", {}),
    ("logsumexp", {}),
    ("sigmoid", {}),
    ("log_sigmoid", {}),
    ("binary_cross_entropy", {}),
    ("binary_cross_entropy", {"from_logits": True}),
    ("categorical_cross_entropy", {}),
    ("categorical_cross_entropy", {"from_logits": True}),
    ("sparse_categorical_cross_entropy", {}),
    ("sparse_categorical_cross_entropy", {"from_logits": True}),
]
WEIGHTED = {"binary_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy"}
LOGIT_INPUTS = {
    "entropy_from_logits",
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "log_sigmoid",
}


def _inputs(
    function: str, options: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator
) -> tuple[tuple, dict[str, Any]]:
    """Random valid arguments of ``function`` for a ``y_pred`` / ``p`` / ``z`` of ``shape``."""
    options = dict(options)
    if function in LOGIT_INPUTS or options.get("from_logits"):
        main = rng.normal(0, 6, shape)
    else:
        main = random_probs(rng, shape)
    if function in ("cross_entropy", "kl_divergence", "js_divergence"):
        return (main, random_probs(rng, shape)), options
    if function not in WEIGHTED:
        return (main,), options
    items = shape if function == "binary_cross_entropy" else shape[:-1]
    if function == "sparse_categorical_cross_entropy":
        y_true = random_labels(rng, shape[-1], items, np.int32)
    elif function == "categorical_cross_entropy":
        y_true = random_probs(rng, shape)
    else:
        y_true = (rng.random(shape) < 0.4).astype(np.int8)
    options["sample_weight"] = rng.random(items) * 2
    options["reduction"] = "sum" if math.prod(items) == 0 else "mean"
    return (y_true, main), options


def _call_id(call: tuple[str, dict[str, Any]]) -> str:
    function, options = call
    return function + "".join(f"-{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("call", CALLS, ids=[_call_id(c) for c in CALLS])
def test_sizes_and_layouts(native, reference, call, size, layout, layout_dir: Path, rng) -> None:
    function, options = call
    args, options = _inputs(function, options, SIZES[size], rng)
    args = tuple(as_layout(a, layout, layout_dir) for a in args)
    if "sample_weight" in options:
        options["sample_weight"] = as_layout(options["sample_weight"], layout, layout_dir)
    check_parity(native, reference, function, args, options)


@pytest.mark.parametrize("layout", ["fortran", "strided", "reversed"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize(
    "function", ["entropy", "logsumexp", "log_softmax", "sparse_categorical_cross_entropy"]
)
def test_axis_over_layouts(native, reference, function, axis, layout, layout_dir, rng) -> None:
    shape = (9, 13)
    if function == "sparse_categorical_cross_entropy":
        items = shape[: axis % 2] + shape[axis % 2 + 1 :]
        args = (random_labels(rng, shape[axis], items), random_probs(rng, shape, axis=axis))
        options = {"axis": axis, "reduction": "none"}
    elif function == "entropy":
        args, options = (random_probs(rng, shape, axis=axis),), {"axis": axis}
    else:
        args, options = (rng.normal(0, 4, shape),), {"axis": axis}
    args = tuple(as_layout(a, layout, layout_dir) for a in args)
    check_parity(native, reference, function, args, options)


# --------------------------------------------------------------------------------------------
# Dtypes of targets, labels and inputs


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_label_dtypes(native, reference, label_dtype, from_logits, rng) -> None:
    n_classes = 2 if label_dtype == np.bool_ else 7
    labels = random_labels(rng, n_classes, (301,), label_dtype)
    y_pred = (
        rng.normal(0, 3, (301, n_classes)) if from_logits else random_probs(rng, (301, n_classes))
    )
    for reduction in REDUCTIONS:
        check_parity(
            native,
            reference,
            "sparse_categorical_cross_entropy",
            (labels, y_pred),
            {"from_logits": from_logits, "reduction": reduction},
        )
    same = check_parity(
        native,
        reference,
        "sparse_categorical_cross_entropy",
        (labels.astype(np.int64), y_pred),
        {"from_logits": from_logits},
    )
    assert native.sparse_categorical_cross_entropy(labels, y_pred, from_logits=from_logits) == same


@pytest.mark.parametrize(
    "target_dtype", [*INT_DTYPES, np.bool_, *FLOAT_DTYPES], ids=lambda d: np.dtype(d).name
)
@pytest.mark.parametrize("function", ["binary_cross_entropy", "categorical_cross_entropy"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_target_dtypes(native, reference, function, target_dtype, from_logits, rng) -> None:
    shape = (257, 3)
    if function == "binary_cross_entropy":
        y_true = (rng.random(shape) < 0.5).astype(target_dtype)
    else:
        y_true = np.eye(3)[rng.integers(0, 3, shape[0])].astype(target_dtype)
    y_pred = rng.normal(0, 3, shape) if from_logits else random_probs(rng, shape)
    for reduction in REDUCTIONS:
        check_parity(
            native,
            reference,
            function,
            (y_true, y_pred),
            {"from_logits": from_logits, "reduction": reduction},
        )


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("eps", EPS_VALUES)
@pytest.mark.parametrize("function", LOSSES)
def test_eps_and_reductions(native, reference, function, dtype, eps, rng) -> None:
    shape = (203, 4)
    # Probabilities at and next to 0 and 1, where eps decides the result.
    edges = np.array([0.0, 1.0, 1e-9, 1 - 1e-9, 1e-30, 0.5], dtype=np.float64)
    y_pred = random_probs(rng, shape)
    y_pred.flat[: edges.size * 20] = np.resize(edges, edges.size * 20)
    y_pred = y_pred.astype(dtype)
    if function == "sparse_categorical_cross_entropy":
        y_true = random_labels(rng, shape[1], shape[:1], np.uint16)
    else:
        y_true = (rng.random(shape) < 0.5).astype(np.float64)
    for reduction in REDUCTIONS:
        result = check_parity(
            native, reference, function, (y_true, y_pred), {"eps": eps, "reduction": reduction}
        )
        if reduction == "none":
            assert result.dtype == dtype


@pytest.mark.parametrize("function", ["entropy", "cross_entropy", "kl_divergence", "js_divergence"])
@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int64, np.uint32])
def test_integer_distributions_read_as_float64(native, reference, function, dtype) -> None:
    p = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=dtype)
    q = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=dtype)
    args = (p,) if function == "entropy" else (p, q)
    result = check_parity(native, reference, function, args)
    assert result.dtype == np.float64


@pytest.mark.parametrize("function", ["cross_entropy", "kl_divergence", "js_divergence"])
def test_mixed_float_dtypes_promote(native, reference, function, rng) -> None:
    p = random_probs(rng, (11, 6), np.float16)
    q = random_probs(rng, (11, 6), np.float32)
    result = check_parity(native, reference, function, (p, q))
    assert result.dtype == np.float32


# Weights that broadcast: a 1-D weight of length N along the first axis; the peers' shapes
# (issue 16): Keras' scalar and (N, 1) weights, PyTorch's (C,) over (N, C), NumPy broadcasts
# over one block of consecutive axes. Each equals the weights written out in full, bit for
# bit, natively and in the reference.
PEER_WEIGHT_SHAPES = [
    (6,),
    (),
    (1,),
    (6, 1),
    (6, 1, 1),
    (5,),
    (1, 5),
    (5, 1),
    (1, 5, 1),
    (6, 5, 1),
]


@pytest.mark.parametrize("shape", PEER_WEIGHT_SHAPES, ids=str)
@pytest.mark.parametrize("function", LOSSES)
def test_weights_in_the_peers_shapes(native, reference, function, shape, rng) -> None:
    pred_shape = (6, 5, 4)
    y_pred = random_probs(rng, pred_shape)
    if function == "sparse_categorical_cross_entropy":
        y_true = random_labels(rng, 4, pred_shape[:-1])
    else:
        y_true = (rng.random(pred_shape) < 0.5).astype(np.float32)
    items = pred_shape if function == "binary_cross_entropy" else pred_shape[:-1]
    weight = rng.random(shape) + 0.5
    try:
        full = np.broadcast_to(weight.reshape(_items.weight_shape(shape, items)), items).copy()
    except ValueError:
        # Shapes for the other kind of items: both sides refuse them alike.
        for impl in (native, reference):
            assert_raises_clean(
                ValueError,
                lambda impl=impl: getattr(impl, function)(y_true, y_pred, sample_weight=weight),
                "^sample_weight has shape",
            )
        return
    try:
        numpy_rule = np.broadcast_to(weight, items)
    except ValueError:
        numpy_rule = None  # the leading-axes rule only: (6, 1) over (6, 5, 4)
    if numpy_rule is not None and not (len(shape) == 1 and len(items) >= 2):
        # Where NumPy broadcasts the weights, it is the same reading (a 1-D weight of length
        # items[0] goes along the first axis, as before, which NumPy would read otherwise).
        np.testing.assert_array_equal(full, numpy_rule)
    for reduction in REDUCTIONS:
        got = check_parity(
            native,
            reference,
            function,
            (y_true, y_pred),
            {"sample_weight": weight, "reduction": reduction},
        )
        explicit = getattr(native, function)(
            y_true, y_pred, sample_weight=full, reduction=reduction
        )
        np.testing.assert_array_equal(got, explicit)


def test_a_scalar_weight_scales_the_sum_and_cancels_in_the_mean(native, rng) -> None:
    y, p = (rng.random(1000) < 0.5).astype(np.int8), random_probs(rng, (1000,))
    plain = native.binary_cross_entropy(y, p, reduction="none")
    assert native.binary_cross_entropy(y, p, sample_weight=2.0, reduction="sum") == (
        native.binary_cross_entropy(y, p, sample_weight=np.full(1000, 2.0), reduction="sum")
    )
    assert math.isclose(
        native.binary_cross_entropy(y, p, sample_weight=0.25), np.mean(plain), rel_tol=1e-15
    )


@pytest.mark.parametrize(
    ("shape", "items"),
    [
        ((3,), (6, 5)),
        ((5, 6), (6, 5)),
        ((6, 1, 4), (6, 5, 4)),
        ((2, 5), (6, 5)),
        ((1, 3, 1), (7, 3)),
    ],
)
def test_other_weight_shapes_are_refused(native, reference, shape, items, rng) -> None:
    y = (rng.random(items) < 0.5).astype(np.int8)
    p = random_probs(rng, items)
    w = rng.random(shape)
    with pytest.raises(ValueError, match=r"^sample_weight has shape") as a:
        native.binary_cross_entropy(y, p, sample_weight=w)
    with pytest.raises(ValueError, match=r"^sample_weight has shape") as b:
        reference.binary_cross_entropy(y, p, sample_weight=w)
    assert str(a.value) == str(b.value)


def test_a_bad_broadcast_weight_names_its_own_index(native, reference, rng) -> None:
    y = (rng.random((6, 5)) < 0.5).astype(np.int8)
    p = random_probs(rng, (6, 5))
    w = np.ones(5)
    w[3] = -2.0
    for impl in (native, reference):
        with pytest.raises(ValueError, match=r"sample_weight\[3\] = -2"):
            impl.binary_cross_entropy(y, p, sample_weight=w)


@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize(
    "function", ["sparse_categorical_cross_entropy", "sparse_categorical_focal_cross_entropy"]
)
def test_labels_with_a_class_axis_of_length_one(native, reference, function, axis, rng) -> None:
    # Keras' (N, 1) integer labels with (N, C) predictions, squeezed; and the same with the
    # class axis elsewhere.
    pred_shape = (7, 4, 3) if axis == 1 else (7, 3, 4)
    y_pred = (
        random_probs(rng, pred_shape).swapaxes(1, 2) if axis == 1 else random_probs(rng, pred_shape)
    )
    n_classes = y_pred.shape[axis]
    rows = np.delete(np.array(y_pred.shape), axis % 3)
    labels = random_labels(rng, n_classes, tuple(rows))
    kept = np.expand_dims(labels, axis % 3)
    for reduction in REDUCTIONS:
        got = check_parity(
            native, reference, function, (kept, y_pred), {"axis": axis, "reduction": reduction}
        )
        want = getattr(native, function)(labels, y_pred, axis=axis, reduction=reduction)
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="without its class axis"):
        getattr(native, function)(np.expand_dims(kept, 0), y_pred, axis=axis)


@pytest.mark.parametrize("function", ["binary_cross_entropy", "binary_focal_cross_entropy"])
@pytest.mark.parametrize(
    ("true_shape", "pred_shape"), [((9,), (9, 1)), ((9, 1), (9,)), ((3, 4), (3, 4, 1))], ids=str
)
def test_binary_targets_with_a_trailing_axis_of_length_one(
    native, reference, function, true_shape, pred_shape, rng
) -> None:
    # Keras squeezes the odd trailing axis of length 1: (N,) targets against (N, 1)
    # predictions score N items, where NumPy would broadcast them to (N, N).
    y = (rng.random(true_shape) < 0.4).astype(np.int8)
    p = random_probs(rng, pred_shape)
    w = rng.uniform(0.5, 2.0, pred_shape[0])
    for options in ({"reduction": "none"}, {"reduction": "sum", "sample_weight": w}):
        got = check_parity(native, reference, function, (y, p), options)
        want = getattr(native, function)(y.reshape(pred_shape), p, **options)
        np.testing.assert_array_equal(got, want)
        assert np.shape(got) == np.shape(want)
    # Two trailing axes of length 1 more than y_pred, or a leading one, are not squeezed.
    for bad in (y.reshape(pred_shape + (1, 1)), y.reshape((1,) + pred_shape)):
        for impl in (native, reference):
            with pytest.raises(ValueError, match="must have the same shape"):
                getattr(impl, function)(bad, p)


# --------------------------------------------------------------------------------------------
# Special values

SPECIAL_LOGITS = np.array(
    [
        [-np.inf, 0.0, 1.0],
        [-np.inf, -np.inf, -np.inf],
        [np.inf, 0.0, 1.0],
        [np.nan, 0.0, 1.0],
        [0.0, 0.0, 0.0],
        [700.0, -700.0, 0.0],
        [-745.0, -746.0, -750.0],
        [1e300, -1e300, 0.0],
    ]
)


@pytest.mark.parametrize(
    "function",
    ["entropy_from_logits", "softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid"],
)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_special_logits(native, reference, function, dtype) -> None:
    with np.errstate(over="ignore"):
        z = SPECIAL_LOGITS.astype(dtype)
    check_parity(native, reference, function, (z,))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_special_probabilities(native, reference, dtype) -> None:
    p = np.array([[0.0, 1.0], [0.5, 0.5], [np.nan, 0.5], [1e-300, 1.0], [5e-324, 0.0]])
    q = np.array([[0.0, 1.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1e-300], [0.0, 1.0]])
    with np.errstate(under="ignore"):
        p, q = p.astype(dtype), q.astype(dtype)
    for function in ("entropy", "cross_entropy", "kl_divergence", "js_divergence"):
        args = (p,) if function == "entropy" else (p, q)
        check_parity(native, reference, function, args)


@pytest.mark.parametrize("from_logits", [False, True])
def test_special_binary_values(native, reference, from_logits) -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.0, np.nan])
    if from_logits:
        z = np.array([np.inf, -np.inf, -np.inf, np.inf, 0.0, 800.0, -800.0, 1.0])
    else:
        z = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1e-300, 1 - 2**-53, 0.5])
    for eps in (0.0, "auto"):
        check_parity(
            native,
            reference,
            "binary_cross_entropy",
            (y, z),
            {"from_logits": from_logits, "eps": eps, "reduction": "none"},
        )


def test_masked_class_logits(native, reference) -> None:
    z = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -np.inf], [0.0, 0.0, -np.inf]])
    labels = np.array([2, 0, 1])
    one_hot = np.eye(3)[labels]
    for reduction in REDUCTIONS:
        options = {"from_logits": True, "reduction": reduction}
        check_parity(native, reference, "sparse_categorical_cross_entropy", (labels, z), options)
        check_parity(native, reference, "categorical_cross_entropy", (one_hot, z), options)


# --------------------------------------------------------------------------------------------
# Hand-computable values (both implementations)


def test_public_functions_exist(native, reference) -> None:
    for name in PUBLIC_FUNCTIONS:
        assert callable(getattr(reference, name, None)), f"plogp.reference.{name} is missing"
        assert callable(getattr(native, name, None)), f"plogp.{name} is missing"
        assert name in native.__all__, f"plogp.__all__ lacks {name}"


def test_hand_computed_values(impl: ModuleType) -> None:
    assert impl.entropy([0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert impl.entropy([0.5, 0.5], base=2) == pytest.approx(1.0, rel=1e-15)
    assert impl.entropy([0.25] * 4, base=2) == pytest.approx(2.0, rel=1e-15)
    assert impl.entropy([1.0, 0.0]) == 0.0
    assert impl.cross_entropy([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert impl.kl_divergence([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert impl.kl_divergence([1.0, 0.0], [0.5, 0.5], base=2) == pytest.approx(1.0, rel=1e-15)
    assert impl.kl_divergence([1.0], [0.0]) == math.inf
    assert impl.js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.log(2), rel=1e-15)
    assert impl.entropy_from_logits([3.0, 3.0]) == pytest.approx(math.log(2), rel=1e-15)
    assert impl.logsumexp([0.0, 0.0]) == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_allclose(impl.softmax(np.array([0.0, 0.0])), [0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(impl.sigmoid(np.array([0.0])), [0.5], rtol=1e-15)
    np.testing.assert_allclose(impl.log_sigmoid(np.array([0.0])), [-math.log(2)], rtol=1e-15)
    assert impl.binary_cross_entropy([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert impl.binary_cross_entropy([1.0], [0.0], eps=0) == math.inf
    assert impl.sparse_categorical_cross_entropy([1], [[0.75, 0.25]]) == pytest.approx(
        math.log(4), rel=1e-15
    )
    assert impl.categorical_cross_entropy([[0.0, 1.0]], [[0.0, 1.0]], eps=0) == 0.0
    weighted = impl.binary_cross_entropy([1, 1], [0.5, 0.25], sample_weight=[3, 1])
    assert weighted == pytest.approx((3 * math.log(2) + math.log(4)) / 4, rel=1e-15)


def test_cross_entropy_is_at_least_entropy(impl: ModuleType, rng) -> None:
    p = random_probs(rng, (50, 8))
    q = random_probs(rng, (50, 8))
    h, hpq = impl.entropy(p), impl.cross_entropy(p, q)
    assert np.all(hpq >= h)
    np.testing.assert_allclose(hpq - h, impl.kl_divergence(p, q), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(impl.cross_entropy(p, p), h, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Cases hypothesis found, kept as fixed regression inputs


def test_entropy_from_logits_of_an_empty_distribution(native, reference) -> None:
    # softmax of no logits is the empty distribution, whose entropy is 0 (as for entropy).
    for z in (np.zeros(0), np.zeros((3, 0)), np.zeros((0, 1), dtype=np.float16)):
        check_parity(native, reference, "entropy_from_logits", (z,))
        check_parity(native, reference, "entropy", (np.exp(z),))


def test_js_divergence_float32_near_equal(native, reference) -> None:
    # q = p·1.094 in float32: p − m is exact, the divergence is small next to its terms.
    p = np.array([[0.5, 0.0], [0.6875, 0.0]], dtype=np.float16)
    q = np.array([[0.5470714, 0.0], [0.71838164, 0.0]], dtype=np.float32)
    check_parity(native, reference, "js_divergence", (p, q))
    check_parity(native, reference, "kl_divergence", (p, q))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_zero_weight_on_an_infinite_loss(native, reference, reduction) -> None:
    # eps=0 makes the first item's loss inf; its weight 0 gives 0·inf (NaN), and no warning.
    weight = np.array([0.0, 1.0])
    check_parity(
        native,
        reference,
        "sparse_categorical_cross_entropy",
        (np.array([0, 1]), np.array([[0.0, 1.0], [0.5, 0.5]])),
        {"eps": 0, "sample_weight": weight, "reduction": reduction},
    )
    check_parity(
        native,
        reference,
        "binary_cross_entropy",
        (np.array([1.0, 1.0]), np.array([0.0, 0.5])),
        {"eps": 0, "sample_weight": weight, "reduction": reduction},
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=lambda d: np.dtype(d).name)
def test_keras_eps_in_low_precision(native, reference, dtype) -> None:
    # eps=1e-7 (Keras) on float32 input: the clip bound 1 − eps is not a float32 number.
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 0.0, 1.0, 1.0], dtype=dtype)
    check_parity(
        native, reference, "binary_cross_entropy", (y, p), {"eps": 1e-7, "reduction": "none"}
    )
