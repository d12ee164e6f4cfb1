"""Reductions against an exact sum (SPEC §4): relative error ≤ 2 ulp of the result.

The exact value is ``math.fsum`` over terms computed in extended precision (x87 80-bit
``np.longdouble``, 11 more bits than float64), so its own error is far below one ulp of the
float64 result. Every workload has non-negative terms. plogp must also be at least as
accurate as what a NumPy user writes (float64 terms, ``np.sum`` / ``np.mean``).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from types import ModuleType

import numpy as np
import pytest

from conftest import IMPL_PARAMS, exact_fraction, exact_sum, extended, get_impl, relative_error

TWO_ULP = 2 * 2.0**-52
# float32 terms are within 1 ulp of float32 (≤ 2^-23 relative) and accumulate in float64, so
# a sum of non-negative float32 terms is within 2^-23 of the exact sum of exact terms.
F32_BOUND = 2.0**-23
SIZES = (100_000, 1_000_000)


class Workload:
    """A plogp call, its exact value and NumPy's value (float64 or float32 formula)."""

    def __init__(
        self,
        call: Callable[[ModuleType], float],
        exact: float,
        numpy_value: float,
        dtype: type = np.float64,
    ) -> None:
        self.call, self.exact, self.numpy_value = call, exact, numpy_value
        self.bound = TWO_ULP if dtype == np.float64 else F32_BOUND


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) in the array's precision, without overflow."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _bce_terms(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def bce_prob(
    rng: np.random.Generator,
    n: int,
    *,
    soft: bool = False,
    weighted: bool = False,
    dtype: type = np.float64,
    spread: bool = False,
) -> Workload:
    """Binary log loss; ``spread``: losses log-uniform over [1e-16, 36] in ascending order
    (data sorted by score), where a running sum loses the small terms."""
    y = rng.random(n) if soft else (rng.random(n) < 0.3).astype(np.int8)
    if spread:
        y = (rng.random(n) < 0.5).astype(np.int8)
        wrong = np.exp(-rng.uniform(0, 36, n))
        p = np.where(y == 1, wrong, 1 - wrong)
    else:
        p = rng.random(n)
    eps = np.finfo(dtype).eps
    p = np.clip(p.astype(dtype), eps, 1 - eps)  # already inside the clip range
    if spread:
        order = np.argsort(_bce_terms(y, p.astype(np.float64)))
        y, p = y[order], p[order]
    w = rng.random(n) * 4 if weighted else None
    terms = _bce_terms(extended(y), extended(p))
    if w is None:
        exact = exact_sum(terms, n)
        naive = float(np.mean(_bce_terms(y.astype(dtype), p)))
    else:
        exact = exact_sum(terms * extended(w), extended(w))
        naive = float(np.sum(w * _bce_terms(y, p)) / np.sum(w))
    return Workload(lambda m: m.binary_cross_entropy(y, p, sample_weight=w), exact, naive, dtype)


def bce_logits(rng: np.random.Generator, n: int) -> Workload:
    y = (rng.random(n) < 0.5).astype(np.uint8)
    z = rng.normal(0, 4, n)
    sign = 1 - 2 * extended(y)  # softplus(z) for y = 0, softplus(−z) for y = 1
    exact = exact_sum(_softplus(sign * extended(z)), n)
    naive = float(np.mean(_softplus((1 - 2.0 * y) * z)))
    return Workload(lambda m: m.binary_cross_entropy(y, z, from_logits=True), exact, naive)


def _logsumexp_rows(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1)
    return top + np.log(np.exp(z - top[:, None]).sum(axis=1))


def sparse_ce_logits(rng: np.random.Generator, n: int, dtype: type = np.float64) -> Workload:
    classes = 10
    rows = n // classes
    z = rng.normal(0, 3, (rows, classes)).astype(dtype)
    labels = rng.integers(0, classes, rows).astype(np.int32)
    ze = extended(z)
    exact = exact_sum(_logsumexp_rows(ze) - ze[np.arange(rows), labels], rows)
    naive = float(np.mean(_logsumexp_rows(z) - z[np.arange(rows), labels]))
    return Workload(
        lambda m: m.sparse_categorical_cross_entropy(labels, z, from_logits=True),
        exact,
        naive,
        dtype,
    )


def cce_prob(rng: np.random.Generator, n: int) -> Workload:
    classes = 10
    rows = n // classes
    p = rng.random((rows, classes)) + 1e-3
    p /= p.sum(axis=1, keepdims=True)
    labels = rng.integers(0, classes, rows)
    one_hot = np.eye(classes)[labels]
    exact = exact_sum(-np.log(extended(p[np.arange(rows), labels])), rows)
    naive = float(np.mean(-np.sum(one_hot * np.log(p), axis=1)))
    return Workload(lambda m: m.categorical_cross_entropy(one_hot, p), exact, naive)


def entropy_1d(rng: np.random.Generator, n: int, dtype: type = np.float64) -> Workload:
    p = rng.random(n)
    p = (p / p.sum()).astype(dtype)
    pe = extended(p)
    exact = exact_sum(-pe * np.log(pe))
    naive = float(-np.sum(p * np.log(p)))
    return Workload(lambda m: m.entropy(p), exact, naive, dtype)


def cross_entropy_1d(rng: np.random.Generator, n: int) -> Workload:
    p = rng.random(n)
    p /= p.sum()
    q = rng.random(n) + 1e-3
    q /= q.sum()
    exact = exact_sum(-extended(p) * np.log(extended(q)))
    naive = float(-np.sum(p * np.log(q)))
    return Workload(lambda m: m.cross_entropy(p, q), exact, naive)


WORKLOADS: dict[str, Callable[[np.random.Generator, int], Workload]] = {
    "bce_prob": bce_prob,
    "bce_prob_soft": lambda rng, n: bce_prob(rng, n, soft=True),
    "bce_prob_weighted": lambda rng, n: bce_prob(rng, n, weighted=True),
    "bce_prob_sorted_spread": lambda rng, n: bce_prob(rng, n, spread=True),
    "bce_prob_f32": lambda rng, n: bce_prob(rng, n, spread=True, dtype=np.float32),
    "bce_logits": bce_logits,
    "sparse_ce_logits": sparse_ce_logits,
    "sparse_ce_logits_f32": lambda rng, n: sparse_ce_logits(rng, n, np.float32),
    "cce_prob": cce_prob,
    "entropy_1d": entropy_1d,
    "entropy_1d_f32": lambda rng, n: entropy_1d(rng, n, np.float32),
    "cross_entropy_1d": cross_entropy_1d,
}


@pytest.fixture(
    scope="module",
    params=[(name, n) for n in SIZES for name in WORKLOADS],
    ids=[f"{name}-{n}" for n in SIZES for name in WORKLOADS],
)
def workload(request: pytest.FixtureRequest) -> Workload:
    name, n = request.param
    seed = sum(map(ord, name)) * 1_000_003 + n
    return WORKLOADS[name](np.random.default_rng(seed), n)


# The implementation is a per-test parameter (not the session-scoped `impl` fixture) so that
# pytest runs both on one workload before building the next: each is built once.
@pytest.mark.parametrize("impl_name", IMPL_PARAMS)
def test_reduction_error_within_bound(impl_name: str, workload: Workload) -> None:
    got = workload.call(get_impl(impl_name))
    assert isinstance(got, float)
    error = relative_error(got, workload.exact)
    assert error <= workload.bound, (
        f"relative error {error:.3g} = {error / 2.0**-52:.2f} ulp (got {got!r}, "
        f"exact {workload.exact!r})"
    )


@pytest.mark.parametrize("impl_name", IMPL_PARAMS)
def test_at_least_as_accurate_as_numpy(impl_name: str, workload: Workload) -> None:
    got = workload.call(get_impl(impl_name))
    ours = relative_error(got, workload.exact)
    numpy_error = relative_error(workload.numpy_value, workload.exact)
    assert ours <= numpy_error, (
        f"plogp {ours / 2.0**-52:.2f} ulp vs NumPy {numpy_error / 2.0**-52:.2f} ulp"
    )


def test_exact_sum_is_exact() -> None:
    # The helper itself: huge cancellation and terms below one ulp of the total.
    terms = extended(np.array([1e16, 1.0, -1e16, 2.0**-60, 3.0]))
    assert exact_fraction(terms) == 4 + Fraction(1, 2**60)
    assert exact_sum(terms) == 4.0
    third = np.longdouble(1) / np.longdouble(3)
    assert exact_sum(np.full(3, third)) == 1.0
    assert exact_sum(np.ones(10), 4) == 2.5


# A single distribution gives a Python float. For float32 input it must not go through a
# float32 first: that would keep only a few bits of a subnormal result (H([1e-45]) ≈ 1.45e-43
# has 7 significant bits as a float32) and 24 of any other. float32 inputs are computed at
# float32 grade (primitives within 2^-32 relative, SPEC §4 asks 2^-24), so the bound is 2^-30.
F32_GRADE = 2.0**-30
TINY = np.float32(1e-45)  # the smallest subnormal, 2^-149


@pytest.mark.parametrize("impl_name", IMPL_PARAMS)
@pytest.mark.parametrize("case", ["entropy", "cross_entropy", "kl_divergence", "logsumexp"])
def test_single_float32_distribution_keeps_float64_precision(impl_name: str, case: str) -> None:
    impl = get_impl(impl_name)
    p = np.array([TINY, 3 * TINY], dtype=np.float32)
    q = np.array([0.25, 0.75], dtype=np.float32)
    a, b, c, d = (extended(v) for v in (p[0], p[1], q[0], q[1]))
    exact, got = {
        "entropy": (-(a * np.log(a) + b * np.log(b)), lambda: impl.entropy(p)),
        "cross_entropy": (-(a * np.log(c) + b * np.log(d)), lambda: impl.cross_entropy(p, q)),
        "kl_divergence": (a * np.log(a / c) + b * np.log(b / d), lambda: impl.kl_divergence(p, q)),
        "logsumexp": (np.log(np.exp(c) + np.exp(d)), lambda: impl.logsumexp(q)),
    }[case]
    value = got()
    assert isinstance(value, float)
    assert relative_error(value, float(exact)) <= F32_GRADE
