"""Focal losses: formulas, stability from logits, parity with the reference, options, errors."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from conftest import (
    ABOVE_ONE_CHUNK,
    assert_elementwise_close,
    assert_raises_clean,
    assert_reduction_close,
    random_labels,
    random_probs,
    unchanged,
)


def _focal_by_definition(
    y: np.ndarray, p: np.ndarray, gamma: float, alpha: float | None = None
) -> np.ndarray:
    """torchvision's / Keras' / optax's formula with plain powers and logs (fine for p away
    from 0 and 1): ``α_t·(1 − p_t)^γ·BCE`` with ``p_t = p·y + (1 − p)·(1 − y)``."""
    p_t = p * y + (1 - p) * (1 - y)
    a_t = 1.0 if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return a_t * (1 - p_t) ** gamma * bce


def _per_term(y: np.ndarray, p: np.ndarray, gamma: float, alpha: float | None) -> np.ndarray:
    """The per-term form ``−[α·y·(1 − p)^γ·log p + (1 − α)·(1 − y)·p^γ·log(1 − p)]``: the same
    loss for 0/1 targets only."""
    a, na = (1.0, 1.0) if alpha is None else (alpha, 1.0 - alpha)
    return -(a * y * (1 - p) ** gamma * np.log(p) + na * (1 - y) * p**gamma * np.log(1 - p))


def _assert_focal_close(actual: np.ndarray, expected: np.ndarray, dtype: type) -> None:
    """Per-item focal losses of two implementations agree.

    The focal factor ``exp(γ·log q)`` turns an ulp of ``log q`` into ``γ·|log q|`` ulps of the
    result (conditioning, not a bug), and the reference computes float32 input in float32
    while the kernels compute in float64 lanes: hence a relative tolerance rather than
    4 ulp.
    """
    assert actual.dtype == expected.dtype
    rtol = {np.float64: 1e-12, np.float32: 5e-5, np.float16: 2e-3}[dtype]
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-300)


@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.7])
@pytest.mark.parametrize("alpha", [None, 0.25, 1.0])
def test_binary_matches_definition(
    impl: ModuleType, rng: np.random.Generator, gamma: float, alpha: float | None
) -> None:
    y = rng.uniform(0, 1, 500)
    y[:100] = np.round(y[:100])
    p = rng.uniform(0.01, 0.99, 500)
    want = _focal_by_definition(y, p, gamma, alpha)
    got = impl.binary_focal_cross_entropy(y, p, gamma=gamma, alpha=alpha, reduction="none", eps=0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    z = np.log(p) - np.log1p(-p)
    got = impl.binary_focal_cross_entropy(
        y, z, from_logits=True, gamma=gamma, alpha=alpha, reduction="none"
    )
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert_reduction_close(
        impl.binary_focal_cross_entropy(y, p, gamma=gamma, alpha=alpha, eps=0.0),
        math.fsum(want) / want.size,
        np.float64,
    )


def test_soft_label_focuses_the_whole_cross_entropy(impl: ModuleType) -> None:
    # optax's own sigmoid_focal_loss test: logit 100, label 0.9, γ = 0.5. p ≈ 1, so
    # 1 − p_t ≈ 0.1 and BCE ≈ 0.1·100: the loss is √0.1·10 (a per-term focus would give 10).
    got = impl.binary_focal_cross_entropy([0.9], [100.0], from_logits=True, gamma=0.5)
    assert math.isclose(got, math.sqrt(0.1) * 10.0, rel_tol=1e-14), got
    # The same from the probability, and with class balance α_t = 0.25·0.9 + 0.75·0.1.
    p = 1 / (1 + math.exp(-3.0))
    want = (0.9 * (1 - p) + 0.1 * p) ** 2 * -(0.9 * math.log(p) + 0.1 * math.log1p(-p))
    got = impl.binary_focal_cross_entropy([0.9], [p], eps=0.0)
    assert math.isclose(got, want, rel_tol=1e-14), (got, want)
    got = impl.binary_focal_cross_entropy([0.9], [3.0], from_logits=True, alpha=0.25)
    assert math.isclose(got, 0.3 * want, rel_tol=1e-13), (got, want)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_hard_labels_equal_the_per_term_form(
    impl: ModuleType, rng: np.random.Generator, gamma: float, alpha: float | None
) -> None:
    y = (rng.uniform(0, 1, 300) < 0.4).astype(np.float64)
    p = rng.uniform(0.01, 0.99, 300)
    got = impl.binary_focal_cross_entropy(y, p, gamma=gamma, alpha=alpha, reduction="none", eps=0.0)
    np.testing.assert_allclose(got, _per_term(y, p, gamma, alpha), rtol=1e-12)
    # ... bit for bit whether a vector of targets is all 0/1 or mixed with soft ones.
    mixed = y.copy()
    mixed[1::4] = 0.5
    both = impl.binary_focal_cross_entropy(
        mixed, p, gamma=gamma, alpha=alpha, reduction="none", eps=0.0
    )
    hard = mixed != 0.5
    assert np.array_equal(both[hard], got[hard])


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gamma_zero_is_binary_cross_entropy_bitwise(
    impl: ModuleType, rng: np.random.Generator, from_logits: bool, dtype: type
) -> None:
    y = rng.uniform(0, 1, 1000)
    y[::3] = 1.0
    p = (rng.normal(0, 5, 1000) if from_logits else rng.uniform(0, 1, 1000)).astype(dtype)
    for reduction in ("none", "sum", "mean"):
        a = impl.binary_focal_cross_entropy(
            y, p, from_logits=from_logits, gamma=0.0, reduction=reduction
        )
        b = impl.binary_cross_entropy(y, p, from_logits=from_logits, reduction=reduction)
        assert np.array_equal(np.asarray(a), np.asarray(b)), reduction


def test_binary_logits_stable_for_huge_logits(impl: ModuleType) -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.0])
    z = np.array([1e30, -1e30, -1e30, 1e30, 1e30, -800.0, 800.0])
    got = impl.binary_focal_cross_entropy(y, z, from_logits=True, alpha=0.25, reduction="none")
    # Confident and right: exactly 0. Confident and wrong: the factor is 1, loss = α·|z|.
    assert got[0] == 0.0 and got[1] == 0.0
    assert got[2] == 0.25 * 1e30 and got[3] == 0.75 * 1e30
    # y = 0.5: α_t = 0.5, 1 − p_t = 0.5, BCE = 0.5·|z|.
    assert math.isclose(got[4], 0.5 * 0.5**2 * 0.5e30, rel_tol=1e-15)
    assert got[5] == 0.25 * 800.0 and got[6] == 0.75 * 800.0
    assert np.all(np.isfinite(got))


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_parity(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    dtype: type,
    from_logits: bool,
    soft: bool,
) -> None:
    n = ABOVE_ONE_CHUNK
    y: np.ndarray = (rng.uniform(0, 1, n) < 0.3).astype(np.int8)
    if soft:  # soft targets, with runs of 0/1 ones and 0/1 ones mixed in
        y = np.where(rng.uniform(0, 1, n) < 0.5, rng.uniform(0, 1, n), y)
        y[: n // 8] = np.round(y[: n // 8])
    p = (rng.normal(0, 8, n) if from_logits else rng.uniform(0, 1, n)).astype(dtype)
    w = rng.uniform(0, 2, n)
    kw = dict(from_logits=from_logits, gamma=1.5, alpha=0.3, sample_weight=w)
    with unchanged(y, p, w):
        a = native.binary_focal_cross_entropy(y, p, reduction="none", **kw)
    b = reference.binary_focal_cross_entropy(y, p, reduction="none", **kw)
    assert a.dtype == b.dtype == p.dtype
    _assert_focal_close(a, b, dtype)
    for reduction in ("sum", "mean"):
        assert_reduction_close(
            native.binary_focal_cross_entropy(y, p, reduction=reduction, **kw),
            reference.binary_focal_cross_entropy(y, p, reduction=reduction, **kw),
            np.float64 if dtype == np.float64 else np.float32,
        )


def test_binary_edges_without_clipping(impl: ModuleType) -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.5])
    p = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    got = impl.binary_focal_cross_entropy(y, p, eps=0.0, reduction="none")
    assert list(got) == [math.inf, math.inf, 0.0, 0.0, math.inf]
    got = impl.binary_focal_cross_entropy(y, p, eps=0.0, alpha=0.0, gamma=0.0, reduction="none")
    assert list(got) == [0.0, math.inf, 0.0, 0.0, math.inf]


def test_focal_is_deterministic_across_threads(
    native: ModuleType, rng: np.random.Generator
) -> None:
    y = rng.integers(0, 2, 300_001)
    z = rng.normal(0, 3, 300_001)
    labels = random_labels(rng, 7, (100_001,))
    zz = rng.normal(0, 3, (100_001, 7))
    before = native.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            native.set_num_threads(threads)
            results.append(
                (
                    native.binary_focal_cross_entropy(y, z, from_logits=True),
                    native.sparse_categorical_focal_cross_entropy(labels, zz, from_logits=True),
                )
            )
    finally:
        native.set_num_threads(before)
    assert results[0] == results[1] == results[2]


# --------------------------------------------------------------------------- sparse categorical


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_sparse_matches_definition(
    impl: ModuleType, rng: np.random.Generator, gamma: float
) -> None:
    p = random_probs(rng, (300, 5))
    labels = random_labels(rng, 5, (300,))
    alpha = np.array([0.1, 0.5, 1.0, 2.0, 0.0])
    py = np.clip(p[np.arange(300), labels], 1e-300, 1.0)
    want = -alpha[labels] * (1 - py) ** gamma * np.log(py)
    got = impl.sparse_categorical_focal_cross_entropy(
        labels, p, gamma=gamma, alpha=alpha, eps=0.0, reduction="none"
    )
    np.testing.assert_allclose(got, want, rtol=1e-12)
    z = np.log(p) + 3.0
    got = impl.sparse_categorical_focal_cross_entropy(
        labels, z, from_logits=True, gamma=gamma, alpha=alpha, reduction="none"
    )
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_sparse_gamma_zero_is_sparse_cross_entropy(
    impl: ModuleType, rng: np.random.Generator
) -> None:
    z = rng.normal(0, 4, (400, 6))
    labels = random_labels(rng, 6, (400,))
    a = impl.sparse_categorical_focal_cross_entropy(
        labels, z, from_logits=True, gamma=0.0, reduction="none"
    )
    b = impl.sparse_categorical_cross_entropy(labels, z, from_logits=True, reduction="none")
    assert_elementwise_close(a, b, np.float64, scale=np.abs(z).max(axis=1))


def test_sparse_confident_logits_keep_relative_accuracy(impl: ModuleType) -> None:
    # p_y ≈ 1 − 2e−40: ln p_y ≈ −2e−40 and (1 − p_y)^2 ≈ 4e−80; a 1 − p_y rounding to 0
    # would give exactly 0.
    z = np.array([[100.0, 10.0, 10.0]])
    got = impl.sparse_categorical_focal_cross_entropy([0], z, from_logits=True, reduction="none")
    q = 2 * math.exp(-90.0)
    want = q * q * q  # (1 − p)^2 · (−ln p) with −ln p ≈ q
    assert got[0] > 0
    assert math.isclose(float(got[0]), want, rel_tol=1e-13)


def test_sparse_masked_classes_and_axis(impl: ModuleType, rng: np.random.Generator) -> None:
    z = rng.normal(0, 2, (50, 4))
    z[:, 3] = -np.inf
    labels = random_labels(rng, 3, (50,))
    a = impl.sparse_categorical_focal_cross_entropy(labels, z, from_logits=True, reduction="none")
    b = impl.sparse_categorical_focal_cross_entropy(
        labels, z[:, :3], from_logits=True, reduction="none"
    )
    assert np.all(np.isfinite(a))
    assert_elementwise_close(a, b, np.float64)
    c = impl.sparse_categorical_focal_cross_entropy(
        labels, np.ascontiguousarray(z.T), axis=0, from_logits=True, reduction="none"
    )
    assert np.array_equal(a, c)


def test_sparse_ignore_index_mean(impl: ModuleType, rng: np.random.Generator) -> None:
    p = random_probs(rng, (200, 4))
    labels = random_labels(rng, 4, (200,))
    labels[::3] = -100
    w = rng.uniform(0.5, 2, 200)
    alpha = [0.2, 0.4, 0.6, 0.8]
    kept = labels != -100
    per_row = impl.sparse_categorical_focal_cross_entropy(
        labels, p, ignore_index=-100, alpha=alpha, sample_weight=w, reduction="none"
    )
    assert np.all(per_row[~kept] == 0)
    only = impl.sparse_categorical_focal_cross_entropy(
        labels[kept], p[kept], alpha=alpha, sample_weight=w[kept], reduction="none"
    )
    assert np.array_equal(per_row[kept], only)
    mean = impl.sparse_categorical_focal_cross_entropy(
        labels, p, ignore_index=-100, alpha=alpha, sample_weight=w
    )
    # α is not in the denominator: Σ s·l / Σ s over the rows kept.
    assert_reduction_close(mean, math.fsum(only) / math.fsum(w[kept]), np.float64)
    assert_raises_clean(
        ValueError,
        lambda: impl.sparse_categorical_focal_cross_entropy(
            np.full(3, -100), p[:3], ignore_index=-100
        ),
        "zero total weight",
    )
    assert (
        impl.sparse_categorical_focal_cross_entropy(
            np.full(3, -100), p[:3], ignore_index=-100, reduction="sum"
        )
        == 0.0
    )
    bad_w = w.copy()
    bad_w[0] = -1.0  # row 0 is ignored, but a negative weight is still an error
    assert_raises_clean(
        ValueError,
        lambda: impl.sparse_categorical_focal_cross_entropy(
            labels, p, ignore_index=-100, sample_weight=bad_w
        ),
        "sample_weight",
    )


@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25, "per-class"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_label_smoothing_is_categorical_on_one_hot(
    impl: ModuleType, rng: np.random.Generator, gamma: float, alpha: Any, from_logits: bool
) -> None:
    n, c = 301, 6
    labels = random_labels(rng, c, (n,))
    labels[::10] = -100
    z = rng.normal(0, 3, (n, c))
    if from_logits:
        z[::3, 4] = -np.inf  # a masked class does not share the smoothing mass
        labels[::3] = np.where(labels[::3] == 4, 0, labels[::3])
    x = z if from_logits else impl.softmax(z)
    a = {None: None, 0.25: 0.25, "per-class": np.array([0.1, 0.5, 1.0, 2.0, 0.0, 1.5])}[alpha]
    w = rng.uniform(0, 2, n)
    kw = dict(from_logits=from_logits, gamma=gamma, alpha=a, label_smoothing=0.15)
    with unchanged(labels, x, w):
        got = impl.sparse_categorical_focal_cross_entropy(
            labels, x, ignore_index=-100, reduction="none", **kw
        )
    one_hot = np.eye(c)[np.where(labels == -100, 0, labels)]
    want = impl.categorical_focal_cross_entropy(one_hot, x, reduction="none", **kw)
    want[labels == -100] = 0.0
    assert np.all(np.isfinite(got)) and np.all(got >= 0)
    if gamma != 0 or a is not None:
        assert np.array_equal(got, want)  # one row kernel (native) or one row function
    else:
        assert_elementwise_close(got, want, np.float64)  # cross-entropy's own kernel there
    kept = labels != -100
    mean = impl.sparse_categorical_focal_cross_entropy(
        labels, x, ignore_index=-100, sample_weight=w, **kw
    )
    assert_reduction_close(mean, math.fsum(w[kept] * got[kept]) / math.fsum(w[kept]), np.float64)
    # Smoothing changes the loss: the target is no longer the label alone.
    plain = impl.sparse_categorical_focal_cross_entropy(
        labels, x, ignore_index=-100, reduction="none", **(kw | {"label_smoothing": 0.0})
    )
    assert not np.allclose(got[kept], plain[kept])


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_parity(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    dtype: type,
    from_logits: bool,
    smoothing: float,
) -> None:
    n, c = 20_011, 9
    labels = random_labels(rng, c, (n,), np.uint8)
    p = (rng.normal(0, 6, (n, c)) if from_logits else random_probs(rng, (n, c))).astype(dtype)
    w = rng.uniform(0, 2, n)
    alpha = rng.uniform(0, 1, c)
    kw = dict(from_logits=from_logits, gamma=2.5, alpha=alpha, sample_weight=w, ignore_index=3)
    kw |= dict(label_smoothing=smoothing)
    with unchanged(labels, p, w, alpha):
        a = native.sparse_categorical_focal_cross_entropy(labels, p, reduction="none", **kw)
    b = reference.sparse_categorical_focal_cross_entropy(labels, p, reduction="none", **kw)
    assert a.dtype == b.dtype == p.dtype
    _assert_focal_close(a, b, dtype)
    assert_reduction_close(
        native.sparse_categorical_focal_cross_entropy(labels, p, **kw),
        reference.sparse_categorical_focal_cross_entropy(labels, p, **kw),
        np.float64 if dtype == np.float64 else np.float32,
    )
    groups = rng.integers(0, 5, n)
    np.testing.assert_allclose(
        native.sparse_categorical_focal_cross_entropy(labels, p, groups=groups, **kw),
        reference.sparse_categorical_focal_cross_entropy(labels, p, groups=groups, **kw),
        rtol=1e-12 if dtype == np.float64 else 1e-5,
    )


# --------------------------------------------------------------------------- categorical


def _categorical_by_definition(
    t: np.ndarray, p: np.ndarray, gamma: float, alpha: Any, smoothing: float
) -> np.ndarray:
    """Keras' CategoricalFocalCrossentropy on unclipped probabilities away from 0 and 1:
    ``−Σ_c α_c·t'_c·(1 − p_c)^γ·log p_c`` with ``t' = (1 − ε)·t + ε/C``."""
    c = t.shape[-1]
    ts = (1 - smoothing) * t + smoothing / c
    return -np.sum(alpha * ts * (1 - p) ** gamma * np.log(p), axis=-1)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25, "per-class"])
def test_categorical_matches_definition(
    impl: ModuleType, rng: np.random.Generator, gamma: float, alpha: Any, smoothing: float
) -> None:
    p = random_probs(rng, (300, 5))
    t = rng.dirichlet(np.ones(5), 300)
    t[:100] = np.eye(5)[random_labels(rng, 5, (100,))]
    a = {None: None, 0.25: 0.25, "per-class": np.array([0.1, 0.5, 1.0, 2.0, 0.0])}[alpha]
    want = _categorical_by_definition(t, p, gamma, 1.0 if a is None else a, smoothing)
    kw = dict(gamma=gamma, alpha=a, label_smoothing=smoothing, reduction="none")
    got = impl.categorical_focal_cross_entropy(t, p, eps=0.0, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    z = np.log(p) + 3.0
    got = impl.categorical_focal_cross_entropy(t, z, from_logits=True, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert_reduction_close(
        impl.categorical_focal_cross_entropy(t, p, eps=0.0, **(kw | {"reduction": "mean"})),
        math.fsum(want) / want.size,
        np.float64,
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_categorical_gamma_zero_is_categorical_cross_entropy_bitwise(
    impl: ModuleType, rng: np.random.Generator, smoothing: float
) -> None:
    z = rng.normal(0, 4, (400, 6))
    t = rng.dirichlet(np.ones(6), 400)
    for x, from_logits in ((z, True), (impl.softmax(z), False)):
        kw = dict(from_logits=from_logits, label_smoothing=smoothing, reduction="none")
        a = impl.categorical_focal_cross_entropy(t, x, gamma=0.0, **kw)
        b = impl.categorical_cross_entropy(t, x, **kw)
        assert np.array_equal(a, b)


def test_categorical_confident_logits_keep_relative_accuracy(impl: ModuleType) -> None:
    # p_top ≈ 1 − 2e−40 on the target class, plus a soft target on a class with p ≈ 1e-40.
    z = np.array([[100.0, 10.0, 10.0]])
    got = impl.categorical_focal_cross_entropy([[1, 0, 0]], z, from_logits=True, reduction="none")
    q = 2 * math.exp(-90.0)
    assert got[0] > 0 and math.isclose(float(got[0]), q * q * q, rel_tol=1e-13)
    got = impl.categorical_focal_cross_entropy(
        [[0.5, 0.5, 0]], z, from_logits=True, reduction="none"
    )
    # 0.5·q³ + 0.5·(1 − e^-90)²·90 (the second class: p ≈ e^-90, −log p ≈ 90)
    want = 0.5 * q**3 + 0.5 * (1 - math.exp(-90.0)) ** 2 * (90.0 + math.log1p(2 * math.exp(-90)))
    assert math.isclose(float(got[0]), want, rel_tol=1e-14)


def test_categorical_masked_classes_and_edges(impl: ModuleType, rng: np.random.Generator) -> None:
    z = rng.normal(0, 2, (50, 4))
    z[:, 3] = -np.inf
    t = np.zeros((50, 4))
    t[:, :3] = rng.dirichlet(np.ones(3), 50)
    kw = dict(from_logits=True, label_smoothing=0.1, alpha=0.5, reduction="none")
    a = impl.categorical_focal_cross_entropy(t, z, **kw)
    b = impl.categorical_focal_cross_entropy(t[:, :3], z[:, :3], **kw)
    assert np.all(np.isfinite(a))
    assert_elementwise_close(a, b, np.float64)
    c = impl.categorical_focal_cross_entropy(
        np.ascontiguousarray(t.T), np.ascontiguousarray(z.T), axis=0, **kw
    )
    assert np.array_equal(a, c)
    # Mass on a masked class: inf; a NaN, a +inf or an all −inf row: NaN.
    edge = np.array([[0.0, -np.inf], [np.nan, 0.0], [np.inf, 0.0], [-np.inf, -np.inf]])
    got = impl.categorical_focal_cross_entropy(
        [[0, 1]] * 4, edge, from_logits=True, reduction="none"
    )
    assert got[0] == math.inf and np.all(np.isnan(got[1:]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_parity(
    native: ModuleType,
    reference: ModuleType,
    rng: np.random.Generator,
    dtype: type,
    from_logits: bool,
) -> None:
    n, c = 20_011, 9
    t = rng.dirichlet(np.ones(c), n)
    t[::2] = np.eye(c)[random_labels(rng, c, (n // 2 + 1,))]
    p = (rng.normal(0, 6, (n, c)) if from_logits else random_probs(rng, (n, c))).astype(dtype)
    w = rng.uniform(0, 2, n)
    alpha = rng.uniform(0, 1, c)
    kw = dict(from_logits=from_logits, gamma=2.5, alpha=alpha, sample_weight=w)
    kw |= dict(label_smoothing=0.05)
    with unchanged(t, p, w, alpha):
        a = native.categorical_focal_cross_entropy(t, p, reduction="none", **kw)
    b = reference.categorical_focal_cross_entropy(t, p, reduction="none", **kw)
    assert a.dtype == b.dtype == p.dtype
    _assert_focal_close(a, b, dtype)
    assert_reduction_close(
        native.categorical_focal_cross_entropy(t, p, **kw),
        reference.categorical_focal_cross_entropy(t, p, **kw),
        np.float64 if dtype == np.float64 else np.float32,
    )
    groups = rng.integers(0, 5, n)
    np.testing.assert_allclose(
        native.categorical_focal_cross_entropy(t, p, groups=groups, **kw),
        reference.categorical_focal_cross_entropy(t, p, groups=groups, **kw),
        rtol=1e-12 if dtype == np.float64 else 1e-5,
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "fn",
    [
        "binary_focal_cross_entropy",
        "categorical_focal_cross_entropy",
        "sparse_categorical_focal_cross_entropy",
    ],
)
def test_option_errors(impl: ModuleType, fn: str) -> None:
    f = getattr(impl, fn)
    y, p = {
        "binary_focal_cross_entropy": ([1, 0], [0.3, 0.6]),
        "categorical_focal_cross_entropy": ([[0, 1], [1, 0]], [[0.3, 0.7]] * 2),
        "sparse_categorical_focal_cross_entropy": ([1, 0], [[0.3, 0.7]] * 2),
    }[fn]
    for gamma in (-1.0, math.nan, math.inf):
        assert_raises_clean(ValueError, lambda: f(y, p, gamma=gamma), "gamma")
    for gamma in (True, "2", None):
        assert_raises_clean(TypeError, lambda: f(y, p, gamma=gamma), "gamma")
    assert_raises_clean(ValueError, lambda: f(y, p, alpha=-0.1), "alpha")
    assert_raises_clean(ValueError, lambda: f(y, p, alpha=math.nan), "alpha")
    assert_raises_clean(ValueError, lambda: f(y, p, reduction="avg"), "reduction")
    assert_raises_clean(ValueError, lambda: f(y, p, eps=0.5), "eps")
    assert_raises_clean(ValueError, lambda: f(y, p, nan_policy="skip"), "nan_policy")


def test_binary_errors(impl: ModuleType) -> None:
    f = impl.binary_focal_cross_entropy
    assert_raises_clean(ValueError, lambda: f([1, 0], [0.3, 0.6], alpha=1.5), "alpha")
    assert_raises_clean(ValueError, lambda: f([1, 0], [0.3]), "y_true", "y_pred")
    assert_raises_clean(ValueError, lambda: f([1, 2], [0.3, 0.6]), r"y_true\[1\]")
    assert_raises_clean(ValueError, lambda: f([1, 0], [0.3, 1.6]), r"y_pred\[1\]")
    assert_raises_clean(TypeError, lambda: f([1, 0], [1, 0]), "y_pred")
    assert_raises_clean(ValueError, lambda: f([1, 0], [0.3, np.nan], nan_policy="raise"), "1")
    assert f([1, 0], [0.3, np.nan], nan_policy="omit") == f([1], [0.3])


def test_sparse_errors(impl: ModuleType) -> None:
    f = impl.sparse_categorical_focal_cross_entropy
    p = [[0.3, 0.7], [0.5, 0.5]]
    assert_raises_clean(ValueError, lambda: f([0, 2], p), r"y_true\[1\] = 2", "2 classes")
    assert_raises_clean(ValueError, lambda: f([0, 1], p, alpha=[1.0, 1.0, 1.0]), "alpha")
    assert_raises_clean(ValueError, lambda: f([0, 1], p, alpha=[1.0, -1.0]), "alpha")
    assert_raises_clean(TypeError, lambda: f([0, 1], p, ignore_index=1.5), "ignore_index")
    assert_raises_clean(ValueError, lambda: f([0, 1], p, label_smoothing=1.5), "label_smoothing")
    assert_raises_clean(ValueError, lambda: f([0, 1], p, label_smoothing=-0.1), "label_smoothing")
    assert_raises_clean(TypeError, lambda: f([0, 1], p, label_smoothing="0.1"), "label_smoothing")
    assert_raises_clean(TypeError, lambda: f([0.0, 1.0], p), "y_true")
    assert_raises_clean(ValueError, lambda: f([0, 1, 1], p), "y_true", "shape")


def test_categorical_errors(impl: ModuleType) -> None:
    f = impl.categorical_focal_cross_entropy
    t, p = [[0, 1], [1, 0]], [[0.3, 0.7], [0.5, 0.5]]
    assert_raises_clean(ValueError, lambda: f(t, p, alpha=[1.0, 1.0, 1.0]), "alpha")
    assert_raises_clean(ValueError, lambda: f(t, p, alpha=[1.0, -1.0]), "alpha")
    assert_raises_clean(ValueError, lambda: f(t, p, label_smoothing=1.5), "label_smoothing")
    assert_raises_clean(ValueError, lambda: f([[0, 2], [1, 0]], p), r"y_true\[1\] = 2")
    assert_raises_clean(ValueError, lambda: f(t, [[0.3, 1.7], [0.5, 0.5]]), r"y_pred\[1\]")
    assert_raises_clean(ValueError, lambda: f([[0, 1]], p), "y_true", "same shape")
    assert_raises_clean(TypeError, lambda: f(t, [[1, 0], [0, 1]]), "y_pred")
    nan_p = [[0.3, 0.7], [np.nan, 0.5]]
    assert_raises_clean(ValueError, lambda: f(t, nan_p, nan_policy="raise"), "1")
    assert f(t, nan_p, nan_policy="omit") == f(t[:1], p[:1])
