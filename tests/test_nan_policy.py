"""nan_policy on every loss: "propagate", "raise" (first NaN item) and "omit" (dropped from
the numerator and the denominator), native against the reference and against a direct
computation on the rows without NaN."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

from conftest import assert_elementwise_close, assert_reduction_close, unchanged

N, C = 40_003, 7  # more than one chunk of elements for the binary loss


def _binary(rng: np.random.Generator) -> tuple[tuple[Any, ...], dict[str, Any], np.ndarray]:
    y = rng.integers(0, 2, (N // C, C)).astype(np.float64)
    p = rng.random((N // C, C))
    p[3, 2] = np.nan
    y[100, 5] = np.nan
    bad = np.isnan(p) | np.isnan(y)
    return (y, p), {}, bad


def _sparse(rng: np.random.Generator) -> tuple[tuple[Any, ...], dict[str, Any], np.ndarray]:
    z = rng.standard_normal((N // C, C)).astype(np.float32)
    z[7, 1] = np.nan
    z[9] = [np.inf, -np.inf, 0, 0, 0, 0, 0]  # inf - inf: an undefined loss, also omitted
    labels = rng.integers(0, C, N // C)
    labels[9] = 0  # lse(z) - z[0] = inf - inf
    bad = np.zeros(N // C, dtype=bool)
    bad[[7, 9]] = True
    return (labels, z), {"from_logits": True}, bad


def _categorical(rng: np.random.Generator) -> tuple[tuple[Any, ...], dict[str, Any], np.ndarray]:
    t = np.eye(C)[rng.integers(0, C, N // C)]
    p = rng.dirichlet(np.ones(C), N // C)
    p[11, 0] = np.nan
    bad = np.zeros(N // C, dtype=bool)
    bad[11] = True
    return (t, p), {}, bad


CASES: dict[str, tuple[str, Callable[..., Any]]] = {
    "binary": ("binary_cross_entropy", _binary),
    "sparse": ("sparse_categorical_cross_entropy", _sparse),
    "categorical": ("categorical_cross_entropy", _categorical),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_omit_drops_items_from_both_sums(
    impl: ModuleType, case: str, weighted: bool, rng: np.random.Generator
) -> None:
    name, make = CASES[case]
    args, kwargs, bad = make(rng)
    fn = getattr(impl, name)
    if weighted:
        kwargs["sample_weight"] = rng.random(bad.shape)
    with unchanged(*args):
        per_item = fn(*args, **kwargs, reduction="none", nan_policy="omit")
        mean = fn(*args, **kwargs, nan_policy="omit")
        total = fn(*args, **kwargs, reduction="sum", nan_policy="omit")
    assert np.array_equal(np.isnan(per_item), bad)
    propagated = fn(*args, **kwargs, reduction="none")
    assert_elementwise_close(per_item[~bad], propagated[~bad], propagated.dtype)
    weights = kwargs.get("sample_weight", np.ones(bad.shape))
    expect_sum = float(np.sum(propagated[~bad], dtype=np.float64))
    assert_reduction_close(total, expect_sum, propagated.dtype)
    assert_reduction_close(mean, expect_sum / float(np.sum(weights[~bad])), propagated.dtype)
    assert np.isnan(fn(*args, **kwargs))  # the default propagates


@pytest.mark.parametrize("case", sorted(CASES))
def test_raise_names_the_first_nan_item(
    impl: ModuleType, case: str, rng: np.random.Generator
) -> None:
    name, make = CASES[case]
    args, kwargs, bad = make(rng)
    first = int(np.flatnonzero(bad)[0])
    with pytest.raises(ValueError, match=rf"nan_policy='raise'.* item {first} is NaN"):
        getattr(impl, name)(*args, **kwargs, nan_policy="raise")


@pytest.mark.parametrize("case", sorted(CASES))
def test_omit_matches_reference(
    native: ModuleType, reference: ModuleType, case: str, rng: np.random.Generator
) -> None:
    name, make = CASES[case]
    args, kwargs, _ = make(rng)
    for reduction in ("mean", "sum"):
        got = getattr(native, name)(*args, **kwargs, reduction=reduction, nan_policy="omit")
        want = getattr(reference, name)(*args, **kwargs, reduction=reduction, nan_policy="omit")
        assert_reduction_close(got, want, np.asarray(args[1]).dtype)


@pytest.mark.parametrize("bad", ["ignore", None, 1, "OMIT"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_unknown_policy(impl: ModuleType, case: str, bad: Any, rng: np.random.Generator) -> None:
    name, make = CASES[case]
    args, kwargs, _ = make(rng)
    with pytest.raises(ValueError, match="nan_policy"):
        getattr(impl, name)(*args, **kwargs, nan_policy=bad)


def test_all_omitted_mean_is_zero_weight(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="zero total weight"):
        impl.binary_cross_entropy([1.0, 0.0], [np.nan, np.nan], nan_policy="omit")
    assert impl.binary_cross_entropy([1.0], [np.nan], nan_policy="omit", reduction="sum") == 0
