"""Loss options: ``pos_weight``, ``class_weight``, ``label_smoothing``, ``ignore_index``.

Native against ``plogp.reference`` over option combinations (hypothesis), each definition
against an independent NumPy formula (PyTorch's definition for the sparse loss), the defined
edge cases (masked classes, huge logits, zero total weight, all rows ignored), and the error
matrix of each new option for both implementations.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (
    assert_elementwise_close,
    assert_raises_clean,
    random_labels,
    random_probs,
    reduction_rtol,
    requires_native,
    run_python,
    unchanged,
)

DTYPES = (np.float16, np.float32, np.float64)
REDUCTIONS = ("mean", "sum", "none")


def _assert_same(native_value: Any, reference_value: Any, dtype: Any, scale: Any = 0.0) -> None:
    if isinstance(reference_value, float):
        assert isinstance(native_value, float)
        if np.isnan(reference_value) or np.isinf(reference_value):
            assert native_value == reference_value or (
                np.isnan(native_value) and np.isnan(reference_value)
            ), (native_value, reference_value)
        else:
            assert np.isclose(
                native_value, reference_value, rtol=reduction_rtol(dtype), atol=1e-300
            ), (native_value, reference_value)
    else:
        out_dtype = np.float32 if np.dtype(dtype) == np.float16 else dtype
        assert_elementwise_close(native_value, reference_value, out_dtype, scale)


def _both(
    native: ModuleType, reference: ModuleType, name: str, *args: Any, **kwargs: Any
) -> tuple[Any, Any]:
    """Call native and reference; both raise the same exception type or both return."""
    results = []
    for module in (native, reference):
        try:
            with unchanged(*args, *[v for v in kwargs.values() if isinstance(v, np.ndarray)]):
                results.append(getattr(module, name)(*args, **kwargs))
        except (ValueError, TypeError) as exc:
            results.append(exc)
    a, b = results
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b), (a, b)
        return None, None
    return a, b


# --------------------------------------------------------------------------------------------
# Parity over option combinations

option_common = dict(
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    eps=st.sampled_from(["auto", 1e-7, 0.0]),
    from_logits=st.booleans(),
    nan_policy=st.sampled_from(["propagate", "omit"]),
    smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    c=st.integers(1, 11),
    pos=st.sampled_from(["none", "scalar", "classes"]),
    soft=st.booleans(),
    **option_common,
)
def test_binary_parity(
    native: ModuleType,
    reference: ModuleType,
    n: int,
    c: int,
    pos: str,
    soft: bool,
    dtype: Any,
    reduction: str,
    eps: Any,
    from_logits: bool,
    nan_policy: str,
    smoothing: float,
    weighted: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random((n, c)) if soft else rng.integers(0, 2, (n, c)).astype(np.int8)
    pred = (rng.normal(0, 4, (n, c)) if from_logits else rng.random((n, c))).astype(dtype)
    if n and from_logits:
        pred.flat[0] = 1e30 if dtype != np.float16 else 6e4
    pw = {"none": None, "scalar": 2.5, "classes": rng.random(c) * 3}[pos]
    sw = rng.random(n) if weighted else None
    a, b = _both(
        native,
        reference,
        "binary_cross_entropy",
        y,
        pred,
        from_logits=from_logits,
        sample_weight=sw,
        pos_weight=pw,
        label_smoothing=smoothing,
        eps=eps,
        reduction=reduction,
        nan_policy=nan_policy,
    )
    if a is not None:
        scale = np.abs(pred.astype(np.float64)) * 4 + 1 if from_logits else 0.0
        _assert_same(a, b, dtype, scale)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 30),
    c=st.integers(1, 21),
    axis=st.sampled_from([-1, 0]),
    with_cw=st.booleans(),
    masked=st.booleans(),
    **option_common,
)
def test_categorical_parity(
    native: ModuleType,
    reference: ModuleType,
    n: int,
    c: int,
    axis: int,
    with_cw: bool,
    masked: bool,
    dtype: Any,
    reduction: str,
    eps: Any,
    from_logits: bool,
    nan_policy: str,
    smoothing: float,
    weighted: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    t = random_probs(rng, (n, c))
    pred = rng.normal(0, 3, (n, c)) if from_logits else random_probs(rng, (n, c))
    if masked and from_logits and c > 1:
        pred[:, -1] = -np.inf
        t[:, -1] = 0
    pred = pred.astype(dtype)
    cw = rng.random(c) * 2 if with_cw else None
    if axis == 0:
        t, pred = t.T.copy(), pred.T.copy()
    rows = pred.shape[1 - (axis % 2)] if pred.ndim == 2 else 0
    sw = rng.random(rows) if weighted else None
    a, b = _both(
        native,
        reference,
        "categorical_cross_entropy",
        t,
        pred,
        axis=axis,
        from_logits=from_logits,
        sample_weight=sw,
        class_weight=cw,
        label_smoothing=smoothing,
        eps=eps,
        reduction=reduction,
        nan_policy=nan_policy,
    )
    if a is not None:
        finite = np.where(np.isfinite(pred), np.abs(pred.astype(np.float64)), 0)
        scale = (finite.max(axis=axis, initial=0) + 1) * 4 * c if from_logits else 0.0
        _assert_same(a, b, dtype, scale)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 30),
    c=st.integers(1, 21),
    with_cw=st.booleans(),
    ignore=st.sampled_from([None, -100, 0, 2]),
    label_dtype=st.sampled_from([np.int64, np.int32, np.uint8, np.int8]),
    masked=st.booleans(),
    **option_common,
)
def test_sparse_parity(
    native: ModuleType,
    reference: ModuleType,
    n: int,
    c: int,
    with_cw: bool,
    ignore: int | None,
    label_dtype: Any,
    masked: bool,
    dtype: Any,
    reduction: str,
    eps: Any,
    from_logits: bool,
    nan_policy: str,
    smoothing: float,
    weighted: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    if ignore is not None and n:
        drop = rng.random(n) < 0.3
        labels = np.where(drop, ignore, labels)
    if np.iinfo(label_dtype).min == 0 and (labels < 0).any():
        label_dtype = np.int64
    labels = labels.astype(label_dtype)
    pred = rng.normal(0, 3, (n, c)) if from_logits else random_probs(rng, (n, c))
    if masked and from_logits and c > 1:
        pred[:, -1] = -np.inf
        labels = np.where(labels == c - 1, 0, labels).astype(label_dtype)
    pred = pred.astype(dtype)
    cw = rng.random(c) * 2 if with_cw else None
    sw = rng.random(n) if weighted else None
    a, b = _both(
        native,
        reference,
        "sparse_categorical_cross_entropy",
        labels,
        pred,
        from_logits=from_logits,
        sample_weight=sw,
        class_weight=cw,
        ignore_index=ignore,
        label_smoothing=smoothing,
        eps=eps,
        reduction=reduction,
        nan_policy=nan_policy,
    )
    if a is not None:
        finite = np.where(np.isfinite(pred), np.abs(pred.astype(np.float64)), 0)
        scale = (finite.max(axis=-1, initial=0) + 1) * 4 * c if from_logits else 0.0
        _assert_same(a, b, dtype, scale)


@pytest.mark.parametrize("name", ["binary", "categorical", "sparse"])
def test_options_off_is_the_plain_loss(
    impl: ModuleType, rng: np.random.Generator, name: str
) -> None:
    """Explicit defaults give exactly the plain loss (the same kernel runs)."""
    z = rng.normal(0, 2, (300, 7))
    if name == "binary":
        y = rng.integers(0, 2, z.shape)
        f, extra = impl.binary_cross_entropy, dict(pos_weight=None)
    elif name == "categorical":
        y = random_probs(rng, z.shape)
        f, extra = impl.categorical_cross_entropy, dict(class_weight=None)
    else:
        y = random_labels(rng, 7, (300,))
        f, extra = impl.sparse_categorical_cross_entropy, dict(class_weight=None, ignore_index=None)
    for reduction in REDUCTIONS:
        plain = f(y, z, from_logits=True, reduction=reduction)
        again = f(y, z, from_logits=True, reduction=reduction, label_smoothing=0.0, **extra)
        np.testing.assert_array_equal(plain, again)


# --------------------------------------------------------------------------------------------
# Definitions against independent formulas


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def test_sparse_is_pytorch_cross_entropy(impl: ModuleType, rng: np.random.Generator) -> None:
    """PyTorch: (1 − ε)·nll(weight, ignore) + ε/C·Σ_c w_c(−logp_c), both "mean" over
    Σ w_{y_i} of the rows not ignored (written out here from its documented definition)."""
    n, c, eps, ignore = 500, 9, 0.2, -100
    z = rng.normal(0, 2, (n, c))
    y = rng.integers(0, c, n)
    y[rng.random(n) < 0.2] = ignore
    w = rng.random(c) + 0.1
    keep = y != ignore
    logp = _log_softmax(z)[keep]
    yk = y[keep]
    nll = -w[yk] * logp[np.arange(yk.size), yk]
    smooth = -(logp * w).sum(axis=1)
    expected = ((1 - eps) * nll.sum() + eps / c * smooth.sum()) / w[yk].sum()
    got = impl.sparse_categorical_cross_entropy(
        y, z, from_logits=True, class_weight=w, ignore_index=ignore, label_smoothing=eps
    )
    assert np.isclose(got, expected, rtol=1e-12)
    total = impl.sparse_categorical_cross_entropy(
        y,
        z,
        from_logits=True,
        class_weight=w,
        ignore_index=ignore,
        label_smoothing=eps,
        reduction="sum",
    )
    assert np.isclose(total, (1 - eps) * nll.sum() + eps / c * smooth.sum(), rtol=1e-12)
    per_row = impl.sparse_categorical_cross_entropy(
        y,
        z,
        from_logits=True,
        class_weight=w,
        ignore_index=ignore,
        label_smoothing=eps,
        reduction="none",
    )
    assert np.all(per_row[~keep] == 0)
    np.testing.assert_allclose(per_row[keep], (1 - eps) * nll + eps / c * smooth, rtol=1e-12)


def test_categorical_class_weight_and_smoothing(impl: ModuleType, rng: np.random.Generator) -> None:
    n, c, eps = 200, 5, 0.3
    p = random_probs(rng, (n, c))
    t = random_probs(rng, (n, c))
    w = rng.random(c) * 2
    s = rng.random(n)
    ts = (1 - eps) * t + eps / c
    expected = -(w * ts * np.log(np.clip(p, 1e-7, 1 - 1e-7))).sum(axis=1)
    got = impl.categorical_cross_entropy(
        t, p, class_weight=w, label_smoothing=eps, eps=1e-7, sample_weight=s
    )
    assert np.isclose(got, (s * expected).sum() / s.sum(), rtol=1e-12)


def test_binary_pos_weight_and_smoothing(impl: ModuleType, rng: np.random.Generator) -> None:
    n, c, eps = 300, 4, 0.1
    z = rng.normal(0, 3, (n, c))
    y = rng.integers(0, 2, (n, c))
    pw = rng.random(c) * 4
    ys = y * (1 - eps) + eps / 2
    logsig = -np.logaddexp(0, -z)
    log1msig = -np.logaddexp(0, z)
    expected = -(pw * ys * logsig + (1 - ys) * log1msig)
    got = impl.binary_cross_entropy(
        y, z, from_logits=True, pos_weight=pw, label_smoothing=eps, reduction="none"
    )
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    # Probabilities: the same with p = sigmoid(z), eps = 0.
    p = 1 / (1 + np.exp(-z))
    got_p = impl.binary_cross_entropy(
        y, p, pos_weight=pw, label_smoothing=eps, eps=0.0, reduction="none"
    )
    np.testing.assert_allclose(got_p, expected, rtol=1e-9)
    # A scalar pos_weight and a (1, C) one broadcast like (C,).
    a = impl.binary_cross_entropy(y, z, from_logits=True, pos_weight=2.0)
    b = impl.binary_cross_entropy(y, z, from_logits=True, pos_weight=np.full((1, c), 2.0))
    assert a == b


# --------------------------------------------------------------------------------------------
# Defined edge cases


def test_masked_classes_with_smoothing(impl: ModuleType) -> None:
    z = np.array([[0.0, 1.0, -np.inf, 2.0], [3.0, -np.inf, -np.inf, 0.0]])
    y = np.array([3, 0])
    eps = 0.4
    got = impl.sparse_categorical_cross_entropy(
        y, z, from_logits=True, label_smoothing=eps, reduction="none"
    )
    assert np.all(np.isfinite(got))
    for r in range(2):
        live = np.isfinite(z[r])
        logp = _log_softmax(z[r][live][None])[0]
        t = np.eye(4)[y[r]][live] * (1 - eps) + eps / live.sum()
        assert np.isclose(got[r], -(t * logp).sum(), rtol=1e-14)
    # The true class itself masked: inf.
    bad = impl.sparse_categorical_cross_entropy(
        np.array([2]), z[:1], from_logits=True, label_smoothing=eps
    )
    assert bad == np.inf
    onehot = np.eye(4)[y]
    cat = impl.categorical_cross_entropy(
        onehot, z, from_logits=True, label_smoothing=eps, reduction="none"
    )
    np.testing.assert_allclose(cat, got, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits(impl: ModuleType, dtype: Any) -> None:
    z = np.array([[1e30, -1e30, 0.0], [-1e30, 1e30, 5.0]], dtype=dtype)
    y = np.array([0, 0])
    got = impl.sparse_categorical_cross_entropy(
        y, z, from_logits=True, label_smoothing=0.1, class_weight=[1.0, 2.0, 0.5], reduction="none"
    )
    assert np.all(np.isfinite(got))
    assert got[0] == pytest.approx(0.1 / 3 * (2.0 * 2e30 + 0.5 * 1e30), rel=1e-6)
    assert got[1] == pytest.approx((0.9 + 0.1 / 3) * 2e30 + 0.1 / 3 * 0.5 * 1e30, rel=1e-6)
    yb = np.array([[1, 0, 1], [0, 1, 1]])
    b = impl.binary_cross_entropy(
        yb, z, from_logits=True, pos_weight=3.0, label_smoothing=0.2, reduction="none"
    )
    assert np.all(np.isfinite(b))
    assert b[0, 0] == pytest.approx(0.1 * 1e30, rel=1e-6)  # (1 − y_s)·z with y_s = 0.9


def test_zero_total_weight_and_all_ignored(impl: ModuleType) -> None:
    z = np.zeros((3, 4))
    y = np.array([-100, -100, -100])
    opts = dict(from_logits=True, ignore_index=-100)
    assert_raises_clean(
        ValueError, lambda: impl.sparse_categorical_cross_entropy(y, z, **opts), "zero total weight"
    )
    assert impl.sparse_categorical_cross_entropy(y, z, reduction="sum", **opts) == 0.0
    np.testing.assert_array_equal(
        impl.sparse_categorical_cross_entropy(y, z, reduction="none", **opts), np.zeros(3)
    )
    # Class weights zero for every label present.
    y2 = np.array([1, 1, 2])
    assert_raises_clean(
        ValueError,
        lambda: impl.sparse_categorical_cross_entropy(
            y2, z, from_logits=True, class_weight=[1, 0, 0, 1]
        ),
        "zero total weight",
    )


def test_ignored_rows_are_not_range_checked(impl: ModuleType, rng: np.random.Generator) -> None:
    z = rng.normal(size=(6, 3))
    y = np.array([0, 7, 1, 7, 2, 7], dtype=np.uint8)
    got = impl.sparse_categorical_cross_entropy(y, z, from_logits=True, ignore_index=7)
    keep = y != 7
    want = impl.sparse_categorical_cross_entropy(y[keep], z[keep], from_logits=True)
    assert np.isclose(got, want, rtol=1e-14)
    assert_raises_clean(
        ValueError,
        lambda: impl.sparse_categorical_cross_entropy(y, z, from_logits=True),
        r"y_true\[1\] = 7",
    )


# --------------------------------------------------------------------------------------------
# Error matrix of the new options

ERRORS = [
    ("binary_cross_entropy", dict(label_smoothing=1.5), ValueError, "label_smoothing"),
    ("binary_cross_entropy", dict(label_smoothing=-0.1), ValueError, "label_smoothing"),
    ("binary_cross_entropy", dict(label_smoothing="x"), TypeError, "label_smoothing"),
    ("binary_cross_entropy", dict(label_smoothing=True), TypeError, "label_smoothing"),
    ("binary_cross_entropy", dict(pos_weight=-1.0), ValueError, "pos_weight"),
    ("binary_cross_entropy", dict(pos_weight=np.nan), ValueError, "pos_weight"),
    ("binary_cross_entropy", dict(pos_weight=np.ones(5)), ValueError, "pos_weight"),
    ("binary_cross_entropy", dict(pos_weight=np.ones((4, 1))), ValueError, "pos_weight"),
    ("binary_cross_entropy", dict(pos_weight="a"), TypeError, "pos_weight"),
    (
        "categorical_cross_entropy",
        dict(class_weight=np.ones(4)),
        ValueError,
        r"class_weight.*\(4,\).*3 classes",
    ),
    ("categorical_cross_entropy", dict(class_weight=[1, -1, 1]), ValueError, "class_weight"),
    ("categorical_cross_entropy", dict(class_weight=[1, np.inf, 1]), ValueError, "class_weight"),
    ("categorical_cross_entropy", dict(label_smoothing=2), ValueError, "label_smoothing"),
    (
        "sparse_categorical_cross_entropy",
        dict(class_weight=np.ones((3, 1))),
        ValueError,
        "class_weight",
    ),
    (
        "sparse_categorical_cross_entropy",
        dict(class_weight=[1, 1]),
        ValueError,
        r"class_weight.*3 classes",
    ),
    ("sparse_categorical_cross_entropy", dict(ignore_index=1.5), TypeError, "ignore_index"),
    ("sparse_categorical_cross_entropy", dict(ignore_index=True), TypeError, "ignore_index"),
    ("sparse_categorical_cross_entropy", dict(ignore_index="0"), TypeError, "ignore_index"),
    ("sparse_categorical_cross_entropy", dict(label_smoothing=None), TypeError, "label_smoothing"),
    (
        "sparse_categorical_focal_cross_entropy",
        dict(label_smoothing=1.01),
        ValueError,
        "label_smoothing",
    ),
    (
        "sparse_categorical_focal_cross_entropy",
        dict(label_smoothing=np.nan),
        ValueError,
        "label_smoothing",
    ),
    (
        "sparse_categorical_focal_cross_entropy",
        dict(label_smoothing=True),
        TypeError,
        "label_smoothing",
    ),
    (
        "sparse_categorical_focal_cross_entropy",
        dict(label_smoothing=[0.1]),
        TypeError,
        "label_smoothing",
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "error", "pattern"), ERRORS)
def test_option_errors(
    impl: ModuleType, name: str, kwargs: dict[str, Any], error: type[Exception], pattern: str
) -> None:
    z = np.full((2, 4) if name == "binary_cross_entropy" else (2, 3), 0.25)
    if name == "binary_cross_entropy":
        y: Any = np.zeros_like(z)
    elif name == "categorical_cross_entropy":
        y = np.eye(3)[[0, 2]]
    else:
        y = np.array([0, 2])
    with unchanged(y, z):
        assert_raises_clean(error, lambda: getattr(impl, name)(y, z, **kwargs), pattern)


def test_options_reject_unknown_combinations(impl: ModuleType) -> None:
    """Options belong to their loss: a wrong keyword is a TypeError, as for any function."""
    z = np.full((2, 3), 0.3)
    assert_raises_clean(
        TypeError,
        lambda: impl.binary_cross_entropy(np.zeros((2, 3)), z, class_weight=[1, 1, 1]),
        "class_weight",
    )
    assert_raises_clean(
        TypeError,
        lambda: impl.categorical_cross_entropy(np.eye(3)[[0, 1]], z, ignore_index=0),
        "ignore_index",
    )


# --------------------------------------------------------------------------------------------
# Determinism: the option kernels run on the same drivers (fixed chunks, ordered merges)

OPTIONS_WORKLOAD = r"""
import hashlib, json
import numpy as np
import plogp

rng = np.random.default_rng(7)
n, c = 100_003, 13
y = (rng.random((n, c)) < 0.3).astype(np.int8)
z = rng.normal(0, 4, (n, c)).astype(np.float32)
p = rng.random((n, c))
labels = rng.integers(0, c, n)
labels[::9] = -100
pr = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
z[::5, 3] = -np.inf
cw = rng.random(c) + 0.1
s = rng.random(n)

def out(v):
    if isinstance(v, float):
        return v.hex()
    return hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()

sparse = dict(class_weight=cw, ignore_index=-100, label_smoothing=0.1, sample_weight=s)
results = {
    "bce_pw": plogp.binary_cross_entropy(y, z, from_logits=True, pos_weight=cw),
    "bce_pw_ls_prob": plogp.binary_cross_entropy(y, p, pos_weight=2.0, label_smoothing=0.2),
    "bce_none": plogp.binary_cross_entropy(y, z, from_logits=True, pos_weight=cw,
                                           reduction="none"),
    "cce": plogp.categorical_cross_entropy(np.eye(c)[np.abs(labels) % c], z, from_logits=True,
                                           class_weight=cw, label_smoothing=0.1),
    "sparse_logits": plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True,
                                                            **sparse),
    "sparse_prob": plogp.sparse_categorical_cross_entropy(labels, pr, **sparse),
    "sparse_none": plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True,
                                                          reduction="none", **sparse),
}
print(json.dumps({k: out(v) for k, v in results.items()}))
"""


def _options_workload(**env: str) -> dict[str, str]:
    import json

    done = run_python(OPTIONS_WORKLOAD, env, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, str] = json.loads(done.stdout)
    return result


@requires_native
def test_options_identical_for_threads_and_tiers() -> None:
    single = _options_workload(PLOGP_NUM_THREADS="1", PLOGP_SIMD="scalar")
    assert _options_workload(PLOGP_NUM_THREADS="3", PLOGP_SIMD="scalar") == single
    assert _options_workload(PLOGP_NUM_THREADS="2") == single
