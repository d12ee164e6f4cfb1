"""SciPy's axis conventions (issue 16): ``axis=None`` (the whole array is one distribution),
tuples of axes and ``keepdims`` for the information functions, the softmax family and
``logsumexp``; natively, in the reference, and against SciPy where it has the function."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats

from conftest import assert_raises_clean

AXES = [None, (1, 2), (0, 2), (2, 0), (0,), (0, 1, 2), -1, 1, [0, 1]]
REDUCING = ["entropy", "entropy_from_logits", "cross_entropy", "kl_divergence", "js_divergence"]


def _data(rng: np.random.Generator, dtype: type = np.float64) -> dict[str, np.ndarray]:
    p = rng.random((3, 4, 5))
    q = rng.random((3, 4, 5)) + 0.01
    p[0, 1, :] = 0.0  # zero terms
    return {
        "p": (p / p.sum()).astype(dtype),
        "q": (q / q.sum()).astype(dtype),
        "z": rng.normal(0, 3, (3, 4, 5)).astype(dtype),
    }


def _args(function: str, d: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    if function in ("entropy_from_logits", "logsumexp", "softmax", "log_softmax"):
        return (d["z"],)
    return (d["p"],) if function == "entropy" else (d["p"], d["q"])


def _normalised_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        return (axis % ndim,)
    return tuple(sorted(a % ndim for a in axis))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("function", [*REDUCING, "logsumexp"])
def test_reductions_over_any_axes(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    function: str,
    axis: Any,
    dtype: type,
) -> None:
    args = _args(function, _data(rng, dtype))
    axes = _normalised_axes(axis, 3)
    # The same as folding the axes by hand into one last axis.
    moved = [np.moveaxis(a, axes, range(3 - len(axes), 3)) for a in args]
    by_hand = [m.reshape(m.shape[: 3 - len(axes)] + (-1,)) for m in moved]
    want = getattr(native, function)(*by_hand, axis=-1)
    for keepdims in (False, True):
        got = getattr(native, function)(*args, axis=axis, keepdims=keepdims)
        ref = getattr(reference, function)(*args, axis=axis, keepdims=keepdims)
        kept = tuple(1 if k in axes else n for k, n in enumerate(args[0].shape))
        if keepdims:
            assert isinstance(got, np.ndarray) and got.shape == kept
            # A single distribution is a Python float computed in float64; kept as an array
            # it is in the input's float dtype.
            assert np.array_equal(got.reshape(np.shape(want)), np.asarray(want, dtype=got.dtype))
        else:
            assert np.shape(got) == np.shape(want)
            assert np.array_equal(got, want)
            if len(axes) == 3:
                assert isinstance(got, float)
        rtol = 1e-5 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-300)
        assert np.shape(got) == np.shape(ref)


@pytest.mark.parametrize("axis", AXES, ids=str)
def test_scipy_calls(native: ModuleType, rng: np.random.Generator, axis: Any) -> None:
    d = _data(rng)
    axis = tuple(axis) if isinstance(axis, list) else axis  # SciPy takes tuples only
    for keepdims in (False, True):
        np.testing.assert_allclose(
            native.logsumexp(d["z"], axis=axis, keepdims=keepdims),
            scipy.special.logsumexp(d["z"], axis=axis, keepdims=keepdims),
            rtol=1e-14,
        )
    np.testing.assert_allclose(
        native.softmax(d["z"], axis=axis), scipy.special.softmax(d["z"], axis=axis), rtol=1e-14
    )
    np.testing.assert_allclose(
        native.log_softmax(d["z"], axis=axis),
        scipy.special.log_softmax(d["z"], axis=axis),
        rtol=1e-13,
    )
    if axis is None:  # scipy.stats.entropy takes one axis; None flattens as here
        flat_p, flat_q = d["p"].ravel(), d["q"].ravel()
        np.testing.assert_allclose(native.entropy(d["p"], axis=None), scipy.stats.entropy(flat_p))
        np.testing.assert_allclose(
            native.kl_divergence(d["p"], d["q"], axis=None), scipy.stats.entropy(flat_p, flat_q)
        )


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
def test_softmax_family_over_any_axes(
    native: ModuleType, reference: ModuleType, rng: np.random.Generator, function: str, axis: Any
) -> None:
    z = _data(rng, np.float32)["z"]
    got = getattr(native, function)(z, axis=axis)
    ref = getattr(reference, function)(z, axis=axis)
    assert got.shape == z.shape and got.dtype == z.dtype and got.flags.c_contiguous
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-30)
    if function == "softmax":
        axes = _normalised_axes(axis, 3)
        np.testing.assert_allclose(got.sum(axis=axes), 1.0, rtol=1e-5)


def test_zero_dimensional_input_with_axis_none(native: ModuleType, reference: ModuleType) -> None:
    for impl in (native, reference):
        assert impl.entropy(np.array(1.0), axis=None) == 0.0
        assert impl.logsumexp(np.array(2.5), axis=None) == 2.5
        assert impl.softmax(np.array(2.5), axis=None).shape == ()


@pytest.mark.parametrize(
    ("axis", "error", "pattern"),
    [
        ((0, 0), ValueError, "repeated axis"),
        ((0, -3), ValueError, "repeated axis"),
        ((3,), ValueError, "axis 3 is out of bounds for an array of dimension 3"),
        ((), ValueError, "at least one axis"),
        ("x", TypeError, "axis must be an int, None or a tuple of ints, got str"),
        (1.5, TypeError, "got float"),
        ((1, True), TypeError, "got tuple"),
        (True, TypeError, "got bool"),
    ],
    ids=str,
)
@pytest.mark.parametrize("function", [*REDUCING, "logsumexp", "softmax", "log_softmax"])
def test_bad_axes(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    function: str,
    axis: Any,
    error: type,
    pattern: str,
) -> None:
    args = _args(function, _data(rng))
    for impl in (native, reference):
        assert_raises_clean(
            error, lambda impl=impl: getattr(impl, function)(*args, axis=axis), pattern
        )


def test_pairs_must_match_before_folding(
    native: ModuleType, reference: ModuleType, rng: np.random.Generator
) -> None:
    d = _data(rng)
    for impl in (native, reference):
        assert_raises_clean(
            ValueError,
            lambda impl=impl: impl.kl_divergence(d["p"], d["q"].reshape(3, 20), axis=None),
            r"p and q must broadcast against each other, got p.shape = \(3, 4, 5\) and "
            r"q.shape = \(3, 20\)",
        )


# ----------------------------------------------------------------------------- broadcasting
# SciPy broadcasts pk against qk (scipy.stats.entropy, jensenshannon): many rows against one
# reference distribution, an outer product of two sets of rows, ... Read in place (the
# peak-memory cases of test_memory.py), with the bits of the repeated rows.

PAIRS = ["cross_entropy", "kl_divergence", "js_divergence"]
BROADCASTS = [
    # (p shape, q shape, axis)
    ((6, 5), (5,), -1),
    ((5,), (6, 5), -1),
    ((4, 1, 5), (1, 3, 5), -1),
    ((4, 3, 5), (4, 1, 5), -1),
    ((2, 1, 3, 5), (2, 4, 1, 5), -1),  # two broadcast axes, split around each other
    ((5, 6), (5, 1), 0),
    ((3, 5, 4), (5, 1), 1),
    ((2, 3, 4, 5), (3, 1, 5), (1, 3)),
    ((2, 3, 4, 5), (2, 1, 4, 1), (0, 2)),
    ((), (), None),
]


def _positive(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return (rng.random(shape) + 0.05).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("p_shape", "q_shape", "axis"), BROADCASTS, ids=str)
@pytest.mark.parametrize("function", PAIRS)
def test_broadcast_pairs_equal_the_repeated_rows(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    function: str,
    p_shape: tuple[int, ...],
    q_shape: tuple[int, ...],
    axis: Any,
    dtype: type,
) -> None:
    p, q = _positive(rng, p_shape, dtype), _positive(rng, q_shape, dtype)
    shape = np.broadcast_shapes(p_shape, q_shape)
    repeated = [np.require(np.broadcast_to(a, shape), requirements="C") for a in (p, q)]
    for normalize in (True, False):
        if not normalize:  # values in [0, 1]
            p, q = p / (2 * p.max()), q / (2 * q.max())
            repeated = [np.require(np.broadcast_to(a, shape), requirements="C") for a in (p, q)]
        for keepdims in (False, True):
            kw = {"axis": axis, "keepdims": keepdims, "normalize": normalize}
            got = getattr(native, function)(p, q, **kw)
            want = getattr(native, function)(*repeated, **kw)
            assert type(got) is type(want) and np.shape(got) == np.shape(want)
            assert np.array_equal(got, want), (normalize, keepdims)
            ref = getattr(reference, function)(p, q, **kw)
            assert np.shape(ref) == np.shape(got)
            rtol = 1e-5 if dtype == np.float32 else 1e-13
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-300)


@pytest.mark.parametrize(("p_shape", "q_shape", "axis"), BROADCASTS[:-1], ids=str)
def test_broadcast_pairs_match_scipy(
    native: ModuleType,
    rng: np.random.Generator,
    p_shape: tuple[int, ...],
    q_shape: tuple[int, ...],
    axis: Any,
) -> None:
    counts_p = rng.integers(1, 40, p_shape).astype(np.float64)
    counts_q = rng.integers(1, 40, q_shape).astype(np.float64)
    kl = native.kl_divergence(counts_p, counts_q, axis=axis, normalize=True)
    np.testing.assert_allclose(kl, scipy.stats.entropy(counts_p, counts_q, axis=axis), rtol=1e-13)
    if not isinstance(axis, tuple) and axis is not None:  # jensenshannon takes one int axis
        js = native.js_divergence(counts_p, counts_q, axis=axis, normalize=True)
        # jensenshannon normalises each input along `axis` before broadcasting them, so a q
        # of length 1 there becomes all ones: give it the broadcast arrays.
        p, q = np.broadcast_arrays(counts_p, counts_q)
        np.testing.assert_allclose(
            js, scipy.spatial.distance.jensenshannon(p, q, axis=axis) ** 2, rtol=1e-12
        )


@pytest.mark.parametrize(
    ("p_shape", "q_shape", "axis", "pattern"),
    [
        (
            (3, 4),
            (2, 4),
            -1,
            r"p and q must broadcast against each other, got p.shape = "
            r"\(3, 4\) and q.shape = \(2, 4\)",
        ),
        # A distribution is never repeated along its own axis.
        (
            (3, 4),
            (3, 1),
            -1,
            r"p and q must have the same length along axis, got p.shape = "
            r"\(3, 4\) and q.shape = \(3, 1\)",
        ),
        ((3, 4), (4,), 0, r"p and q must have the same length along axis"),
        ((3, 4), (4,), 2, r"axis 2 is out of bounds for an array of dimension 2"),
    ],
    ids=str,
)
@pytest.mark.parametrize("function", PAIRS)
def test_broadcast_errors(
    native: ModuleType,
    reference: ModuleType,
    function: str,
    p_shape: tuple[int, ...],
    q_shape: tuple[int, ...],
    axis: int,
    pattern: str,
) -> None:
    p, q = np.full(p_shape, 0.25), np.full(q_shape, 0.25)
    for impl in (native, reference):
        assert_raises_clean(
            ValueError, lambda impl=impl: getattr(impl, function)(p, q, axis=axis), pattern
        )


def test_broadcast_operand_errors_name_its_own_index(
    native: ModuleType, reference: ModuleType
) -> None:
    p, q = np.full((6, 4), 0.25), np.array([0.5, 0.5, 0.5, 2.0])
    for impl in (native, reference):
        assert_raises_clean(ValueError, lambda impl=impl: impl.kl_divergence(p, q), r"q\[3\] = 2")
        assert_raises_clean(
            ValueError,
            lambda impl=impl: impl.kl_divergence(p, np.zeros(4), normalize=True),
            r"distribution 0 of q sums to 0",
        )
    # Inputs are read, never written.
    assert np.array_equal(q, [0.5, 0.5, 0.5, 2.0])


# ------------------------------------------------------------------------------ normalize=
# SciPy normalises: scipy.stats.entropy(pk, qk, base, axis) and jensenshannon(p, q) ** 2 equal
# plogp's functions with normalize=True (issue 16), counts included.


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_normalize_matches_scipy(
    native: ModuleType, reference: ModuleType, rng: np.random.Generator, dtype: type, axis: int
) -> None:
    counts = rng.integers(0, 50, (6, 7)).astype(dtype)
    other = (rng.integers(1, 50, (6, 7))).astype(dtype)
    counts[2, 3] = 0
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    for impl in (native, reference):
        for base in (None, 2):
            np.testing.assert_allclose(
                impl.entropy(counts, axis=axis, base=base, normalize=True),
                scipy.stats.entropy(counts, base=base, axis=axis),
                rtol=rtol,
            )
            np.testing.assert_allclose(
                impl.kl_divergence(counts, other, axis=axis, base=base, normalize=True),
                scipy.stats.entropy(counts, other, base=base, axis=axis),
                rtol=rtol,
            )
        np.testing.assert_allclose(
            impl.js_divergence(counts, other, axis=axis, normalize=True),
            scipy.spatial.distance.jensenshannon(counts, other, axis=axis) ** 2,
            rtol=1e-5 if dtype == np.float32 else 1e-12,
        )
        pn = counts / counts.sum(axis=axis, keepdims=True)
        qn = other / other.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(
            impl.cross_entropy(counts, other, axis=axis, normalize=True),
            -(pn * np.log(qn)).sum(axis=axis),
            rtol=rtol,
        )


def test_normalize_equals_dividing_first(native: ModuleType, rng: np.random.Generator) -> None:
    # The kernel's quotients are p / sum(p) correctly rounded: the same as dividing first.
    p = rng.random((50, 33)) * 7.0
    q = rng.random((50, 33)) * 3.0
    pn = p / p.sum(axis=1, keepdims=True)
    qn = q / q.sum(axis=1, keepdims=True)
    got = native.entropy(p, normalize=True)
    np.testing.assert_allclose(got, native.entropy(pn), rtol=1e-14)
    for f in ("cross_entropy", "kl_divergence", "js_divergence"):
        np.testing.assert_allclose(
            getattr(native, f)(p, q, normalize=True), getattr(native, f)(pn, qn), rtol=1e-13
        )
    # Already normalised rows and False leave the numbers as they were.
    assert np.array_equal(native.entropy(pn, normalize=False), native.entropy(pn))
    assert native.entropy(np.ones(16), base=2, normalize=True) == pytest.approx(4.0, rel=1e-15)


@pytest.mark.parametrize("function", REDUCING[:1] + REDUCING[2:])
def test_normalize_errors(native: ModuleType, reference: ModuleType, function: str) -> None:
    good = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    cases = [
        (np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), r"distribution 1 of p sums to 0"),
        (
            np.array([[1.0, -2.0, 3.0], [1.0, 1.0, 1.0]]),
            r"p must be finite and non-negative; found p\[1\] = -2",
        ),
        (np.array([[1.0, 2.0, 3.0], [1.0, np.inf, 1.0]]), r"found p\[4\] = inf"),
        (np.array([[1.0, 2.0, 3.0], [1.0, np.nan, 1.0]]), r"found p\[4\] = (nan|NaN)"),
        (np.array([[1e308, 1e308, 1.0], [1.0, 1.0, 1.0]]), r"distribution 0 of p sums to inf"),
    ]
    for bad, pattern in cases:
        args = (bad,) if function == "entropy" else (bad, good)
        for impl in (native, reference):
            assert_raises_clean(
                ValueError,
                lambda impl=impl, args=args: getattr(impl, function)(*args, normalize=True),
                pattern,
            )
    if function != "entropy":
        for impl in (native, reference):
            assert_raises_clean(
                ValueError,
                lambda impl=impl: getattr(impl, function)(
                    good, good * [[1.0], [0.0]], normalize=True
                ),
                "distribution 1 of q sums to 0",
            )
    # The flat index is the caller's, also with a class axis that is not last.
    col = np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    args = (col,) if function == "entropy" else (col, np.ones((3, 2)))
    for impl in (native, reference):
        assert_raises_clean(
            ValueError,
            lambda impl=impl: getattr(impl, function)(*args, axis=0, normalize=True),
            r"found p\[3\] = -1",
        )


# ------------------------------------------------------------------ class axes of the losses
# optax's axis=(1, 3): several class axes read as one, in C order (a sparse label indexes them
# as numpy.ravel_multi_index does), with every option; errors name the caller's flat index.

LOSS_AXES = [(1, 3), (3, 1), [1, 3], (0, 2), None]
CATEGORICAL = [
    "categorical_cross_entropy",
    "categorical_focal_cross_entropy",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_focal_cross_entropy",
]


def _loss_data(
    rng: np.random.Generator, function: str, axes: tuple[int, ...], dtype: type
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], dict[str, Any]]:
    """(y_true, logits), the same folded by hand into one last class axis, and options whose
    arrays fit the rows and classes."""
    shape = (2, 3, 4, 5)
    z = rng.normal(0, 2, shape).astype(dtype)
    rest = [k for k in range(4) if k not in axes]
    moved = np.moveaxis(z, axes, range(len(rest), 4))
    rows, classes = moved.shape[: len(rest)], int(np.prod([shape[k] for k in axes]))
    z_hand = moved.reshape(rows + (classes,))
    options: dict[str, Any] = {"sample_weight": rng.uniform(0.5, 2.0, rows)}
    if function.startswith("categorical"):
        t = np.asarray(
            np.moveaxis(rng.dirichlet(np.ones(classes), rows), -1, -1), dtype=np.float64
        ).reshape(rows + tuple(shape[k] for k in axes))
        t = np.moveaxis(t, range(len(rest), 4), axes)
        options["label_smoothing"] = 0.1
        if function == "categorical_cross_entropy":
            options["class_weight"] = rng.uniform(0.5, 2.0, classes)
        else:
            options |= {"alpha": rng.uniform(0.1, 1.0, classes), "gamma": 1.5}
        t_hand = np.moveaxis(t, axes, range(len(rest), 4)).reshape(z_hand.shape)
        return (t, z), (t_hand, z_hand), options
    labels = rng.integers(0, classes, rows)
    labels.flat[0] = 1
    if function == "sparse_categorical_cross_entropy":
        options |= {"class_weight": rng.uniform(0.5, 2.0, classes), "ignore_index": 1}
    else:
        options |= {"alpha": rng.uniform(0.1, 1.0, classes), "gamma": 1.5, "ignore_index": 1}
    return (labels, z), (labels, z_hand), options


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", LOSS_AXES, ids=str)
@pytest.mark.parametrize("function", CATEGORICAL)
def test_losses_over_several_class_axes(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    function: str,
    axis: Any,
    dtype: type,
) -> None:
    axes = _normalised_axes(axis, 4)
    args, by_hand, options = _loss_data(rng, function, axes, dtype)
    groups = rng.integers(0, 3, by_hand[1].shape[:-1])
    for extra in ({"reduction": "none"}, {"reduction": "sum"}, {"groups": groups}):
        kw = {"from_logits": True, **options, **extra}
        if axis is None:
            # One row: no per-row arrays, and its label (1) is not the ignored one.
            for key in ("sample_weight", "groups", "ignore_index"):
                kw.pop(key, None)
        got = getattr(native, function)(*args, axis=axis, **kw)
        want = getattr(native, function)(*by_hand, axis=-1, **kw)
        assert np.array_equal(got, want, equal_nan=True), extra  # an empty group: NaN
        ref = getattr(reference, function)(*args, axis=axis, **kw)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-300)


def test_sparse_labels_keep_the_class_axes_as_length_one(
    native: ModuleType, reference: ModuleType, rng: np.random.Generator
) -> None:
    z = rng.normal(0, 2, (2, 3, 4, 5))
    labels = rng.integers(0, 15, (2, 4))
    want = native.sparse_categorical_cross_entropy(labels, z, from_logits=True, axis=(1, 3))
    for impl in (native, reference):
        got = impl.sparse_categorical_cross_entropy(
            labels.reshape(2, 1, 4, 1), z, from_logits=True, axis=(1, 3)
        )
        assert got == pytest.approx(want, rel=1e-14)
        assert_raises_clean(
            ValueError,
            lambda impl=impl: impl.sparse_categorical_cross_entropy(labels.ravel(), z, axis=(1, 3)),
            r"y_true.shape = \(8,\) but y_pred.shape = \(2, 3, 4, 5\) \(expected y_true.shape = "
            r"\(2, 4\) or \(2, 1, 4, 1\)\)",
        )


@pytest.mark.parametrize(
    ("function", "axis"),
    [
        ("categorical_cross_entropy", (1, 3)),
        ("sparse_categorical_cross_entropy", (3, 1)),
        ("entropy", (1, 3)),
        ("kl_divergence", (0, 2)),
    ],
)
def test_errors_over_several_axes_name_the_flat_index(
    native: ModuleType, reference: ModuleType, rng: np.random.Generator, function: str, axis: Any
) -> None:
    p = rng.dirichlet(np.ones(60)).reshape(2, 3, 2, 5)
    p[1, 2, 0, 4] = 1.5  # flat index 1·30 + 2·10 + 0·5 + 4 = 54
    args = {
        "categorical_cross_entropy": (np.zeros_like(p), p),
        "sparse_categorical_cross_entropy": (np.zeros((2, 2), dtype=np.int64), p),
        "entropy": (p,),
        "kl_divergence": (p, np.full_like(p, 0.5)),
    }[function]
    name = "y_pred" if "categorical" in function else "p"
    for impl in (native, reference):
        assert_raises_clean(
            ValueError,
            lambda impl=impl: getattr(impl, function)(*args, axis=axis),
            rf"{name}\[54\] = 1.5",
        )
