"""groups= of the three losses: per-group sums and means in one pass, native against the
reference and against the function on each group's items alone; empty and single-class
groups, weights, nan_policy, broadcasting, errors and determinism."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ABOVE_ONE_CHUNK, get_impl, reduction_rtol, requires_native, unchanged

C = 6


def _binary(
    rng: np.random.Generator, n: int, dtype: Any = np.float64
) -> tuple[str, tuple[Any, Any], dict[str, Any]]:
    y = rng.integers(0, 2, n).astype(np.float64)
    return "binary_cross_entropy", (y, rng.random(n).astype(dtype)), {}


def _logits(
    rng: np.random.Generator, n: int, dtype: Any = np.float64
) -> tuple[str, tuple[Any, Any], dict[str, Any]]:
    y = rng.random(n)  # soft targets
    z = (4 * rng.standard_normal(n)).astype(dtype)
    return "binary_cross_entropy", (y, z), {"from_logits": True}


def _categorical(
    rng: np.random.Generator, n: int, dtype: Any = np.float64
) -> tuple[str, tuple[Any, Any], dict[str, Any]]:
    t = np.eye(C, dtype=np.int8)[rng.integers(0, C, n)]
    return "categorical_cross_entropy", (t, rng.dirichlet(np.ones(C), n).astype(dtype)), {}


def _sparse(
    rng: np.random.Generator, n: int, dtype: Any = np.float64
) -> tuple[str, tuple[Any, Any], dict[str, Any]]:
    z = (3 * rng.standard_normal((n, C))).astype(dtype)
    return (
        "sparse_categorical_cross_entropy",
        (rng.integers(0, C, n).astype(np.uint8), z),
        {"from_logits": True},
    )


CASES: dict[str, Callable[..., tuple[str, tuple[Any, Any], dict[str, Any]]]] = {
    "binary": _binary,
    "logits": _logits,
    "categorical": _categorical,
    "sparse": _sparse,
}


def assert_groups_close(actual: Any, expected: Any, dtype: Any) -> None:
    assert isinstance(actual, np.ndarray) and actual.dtype == np.float64, type(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual, expected, rtol=reduction_rtol(dtype), atol=1e-300)


def _subset_loss(
    impl: ModuleType,
    name: str,
    args: tuple[Any, Any],
    kwargs: dict[str, Any],
    keep: np.ndarray,
    reduction: str,
    weight: Any,
) -> float:
    """The function on the items of one group alone (nan for a "mean" over no weight)."""
    sub = tuple(a[keep] for a in args)
    w = None if weight is None else weight[keep]
    if reduction == "mean" and (not keep.any() or (w is not None and not w.sum() > 0)):
        return float("nan")
    return float(getattr(impl, name)(*sub, **kwargs, sample_weight=w, reduction=reduction))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_each_group_is_the_function_on_its_items(
    impl: ModuleType, case: str, reduction: str, weighted: bool, rng: np.random.Generator
) -> None:
    n = 2000
    name, args, kwargs = CASES[case](rng, n)
    ids = rng.choice([0, 1, 3, 4, 7], n)  # 2, 5, 6 are empty groups
    weight = rng.random(n) if weighted else None
    with unchanged(*args, ids):
        got = getattr(impl, name)(
            *args, **kwargs, sample_weight=weight, groups=ids, reduction=reduction
        )
    expected = [
        _subset_loss(impl, name, args, kwargs, ids == g, reduction, weight) for g in range(8)
    ]
    assert_groups_close(got, expected, np.float64)
    for g in (2, 5, 6):
        assert got[g] == 0.0 if reduction == "sum" else np.isnan(got[g])


@requires_native
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_native_matches_reference(case: str, dtype: Any, data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(0, 300))
    name, args, kwargs = CASES[case](rng, n, dtype)
    n_groups = data.draw(st.integers(1, 12))
    ids = rng.integers(0, n_groups, n).astype(
        data.draw(st.sampled_from([np.int8, np.uint16, np.int32, np.int64, np.uint64]))
    )
    weight = rng.random(n) if data.draw(st.booleans()) else None
    reduction = data.draw(st.sampled_from(["sum", "mean"]))
    nan_policy = data.draw(st.sampled_from(["propagate", "omit"]))
    got = [
        getattr(get_impl(which), name)(
            *args,
            **kwargs,
            sample_weight=weight,
            groups=ids,
            reduction=reduction,
            nan_policy=nan_policy,
        )
        for which in ("native", "reference")
    ]
    assert_groups_close(got[0], got[1], dtype)


@pytest.mark.parametrize("case", ["binary", "sparse"])
def test_single_class_groups(impl: ModuleType, case: str, rng: np.random.Generator) -> None:
    """A group whose targets are all one class is an ordinary group."""
    n = 500
    name, (y, p), kwargs = CASES[case](rng, n)
    ids = np.zeros(n, dtype=np.int64)
    y = y.copy()
    y[: n // 2] = 1  # group 0: every target is class 1
    ids[n // 2 :] = 1
    got = getattr(impl, name)(y, p, **kwargs, groups=ids)
    for g in (0, 1):
        keep = ids == g
        direct = getattr(impl, name)(y[keep], p[keep], **kwargs)
        assert got[g] == pytest.approx(direct, rel=1e-12)


def test_nan_policy_with_groups(impl: ModuleType, rng: np.random.Generator) -> None:
    n = 1000
    y = rng.integers(0, 2, n).astype(np.float64)
    p = rng.random(n)
    p[[10, 11, 500]] = np.nan
    ids = np.repeat([0, 1], n // 2)
    omitted = impl.binary_cross_entropy(y, p, groups=ids, nan_policy="omit")
    keep = ~np.isnan(p)
    for g in (0, 1):
        sel = keep & (ids == g)
        assert omitted[g] == pytest.approx(impl.binary_cross_entropy(y[sel], p[sel]), rel=1e-12)
    propagated = impl.binary_cross_entropy(y, p, groups=ids, reduction="sum")
    assert np.isnan(propagated).all()
    only_first = ids.copy()
    only_first[:] = 0
    only_first[500] = 1
    p2 = p.copy()
    p2[[10, 11]] = 0.5
    assert np.isnan(impl.binary_cross_entropy(y, p2, groups=only_first))[1]
    with pytest.raises(ValueError, match="item 10"):
        impl.binary_cross_entropy(y, p, groups=ids, nan_policy="raise")


def test_groups_broadcast_along_the_first_axis(impl: ModuleType, rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, (40, 5))
    p = rng.random((40, 5))
    rows = rng.integers(0, 3, 40)
    got = impl.binary_cross_entropy(y, p, groups=rows, reduction="sum")
    full = impl.binary_cross_entropy(
        y, p, groups=np.repeat(rows[:, None], 5, axis=1), reduction="sum"
    )
    np.testing.assert_array_equal(got, full)
    # Categorical with the class axis first: the rows are the other axis.
    t = np.eye(C)[rng.integers(0, C, 40)]
    q = rng.dirichlet(np.ones(C), 40)
    by_rows = impl.categorical_cross_entropy(t, q, groups=rows)
    by_cols = impl.categorical_cross_entropy(t.T, q.T, axis=0, groups=rows)
    np.testing.assert_allclose(by_cols, by_rows, rtol=1e-14)


def test_empty_input_and_no_groups_seen(impl: ModuleType) -> None:
    got = impl.binary_cross_entropy(np.zeros(0), np.zeros(0), groups=np.zeros(0, dtype=int))
    assert isinstance(got, np.ndarray) and got.shape == (0,) and got.dtype == np.float64
    got = impl.binary_cross_entropy([1, 0], [0.5, 0.5], groups=[0, 0], sample_weight=[0, 0])
    assert np.isnan(got).all() and got.shape == (1,)


@pytest.mark.parametrize(
    ("groups", "kwargs", "error", "match"),
    [
        (np.array([0.0, 1.0, 1.0]), {}, TypeError, "groups"),
        (np.array(["a", "b", "c"]), {}, TypeError, "groups"),
        (np.array([0, -1, 1]), {}, ValueError, r"groups\[1\] = -1"),
        (np.array([0, 1 << 24, 1]), {}, ValueError, "groups"),
        (np.array([0, 1]), {}, ValueError, "groups has shape"),
        (np.array([[0, 1, 1]]), {}, ValueError, "groups has shape"),
        (np.array([0, 1, 1]), {"reduction": "none"}, ValueError, "groups"),
    ],
)
def test_bad_groups(
    impl: ModuleType, groups: Any, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.binary_cross_entropy([1, 0, 1], [0.2, 0.4, 0.9], groups=groups, **kwargs)


def test_value_errors_keep_their_global_index(impl: ModuleType) -> None:
    n = ABOVE_ONE_CHUNK
    p = np.full(n, 0.5)
    p[n - 3] = 1.5
    ids = np.arange(n) % 4
    with pytest.raises(ValueError, match=rf"y_pred\[{n - 3}\]"):
        impl.binary_cross_entropy(np.zeros(n), p, groups=ids)
    labels = np.zeros(n // 10, dtype=np.int64)
    labels[-1] = C
    with pytest.raises(ValueError, match=rf"y_true\[{n // 10 - 1}\] = {C}"):
        impl.sparse_categorical_cross_entropy(
            labels, np.full((n // 10, C), 1 / C), groups=ids[: n // 10]
        )


@requires_native
@pytest.mark.parametrize("case", sorted(CASES))
def test_bitwise_identical_for_any_thread_count(case: str, rng: np.random.Generator) -> None:
    import plogp

    n = 40 * ABOVE_ONE_CHUNK if case in ("binary", "logits") else ABOVE_ONE_CHUNK
    name, args, kwargs = CASES[case](rng, n, np.float32)
    ids = rng.integers(0, 50, n)
    weight = rng.random(n)
    before = plogp.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            plogp.set_num_threads(threads)
            results.append(
                getattr(plogp, name)(
                    *args, **kwargs, sample_weight=weight, groups=ids, reduction="sum"
                )
            )
    finally:
        plogp.set_num_threads(before)
    for r in results[1:]:
        assert r.tobytes() == results[0].tobytes()
    # One group of everything is the ungrouped sum (to the f32 rounding of each item).
    whole = getattr(plogp, name)(*args, **kwargs, sample_weight=weight, reduction="sum")
    one = getattr(plogp, name)(
        *args, **kwargs, sample_weight=weight, groups=np.zeros(n, dtype=np.int8), reduction="sum"
    )
    assert one[0] == pytest.approx(whole, rel=1e-6)
    assert one[0] == pytest.approx(results[0].sum(), rel=1e-9)


def _binary_2d(
    rng: np.random.Generator, n: int, dtype: Any = np.float64
) -> tuple[str, tuple[Any, Any], dict[str, Any]]:
    y = rng.integers(0, 2, (n, 4)).astype(np.int8)
    return "binary_cross_entropy", (y, rng.random((n, 4)).astype(dtype)), {}


def _sparse_ignored(
    rng: np.random.Generator, n: int, dtype: Any = np.float64
) -> tuple[str, tuple[Any, Any], dict[str, Any]]:
    labels = rng.integers(0, C, n)
    labels[rng.random(n) < 0.2] = -100
    z = (3 * rng.standard_normal((n, C))).astype(dtype)
    return "sparse_categorical_cross_entropy", (labels, z), {"from_logits": True}


CLASS_WEIGHT = np.linspace(0.5, 2.0, C)
# Every loss option with groups=: (maker, options).
OPTION_CASES: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "binary-pos_weight": (_binary, {"pos_weight": 2.5}),
    "binary-smoothing": (_binary, {"label_smoothing": 0.2}),
    "logits-both": (_logits, {"pos_weight": 0.5, "label_smoothing": 0.1}),
    "binary2d-pos_weight_per_column": (_binary_2d, {"pos_weight": np.array([1.0, 2.0, 0.0, 3.0])}),
    "categorical-class_weight": (_categorical, {"class_weight": CLASS_WEIGHT}),
    "categorical-smoothing": (_categorical, {"label_smoothing": 0.3}),
    "categorical-logits-both": (
        lambda rng, n, dtype=np.float64: (
            "categorical_cross_entropy",
            (np.eye(C)[rng.integers(0, C, n)], (2 * rng.standard_normal((n, C))).astype(dtype)),
            {"from_logits": True},
        ),
        {"class_weight": CLASS_WEIGHT, "label_smoothing": 0.1},
    ),
    "sparse-class_weight": (_sparse, {"class_weight": CLASS_WEIGHT}),
    "sparse-smoothing": (_sparse, {"label_smoothing": 0.2}),
    "sparse-ignore_index": (_sparse_ignored, {"ignore_index": -100}),
    "binary-focal": (_binary, {"gamma": 2.0, "alpha": 0.25}),
    "logits-focal-soft": (_logits, {"gamma": 0.5}),
    "categorical-focal-smoothing": (
        _categorical,
        {"gamma": 2.0, "alpha": CLASS_WEIGHT, "label_smoothing": 0.1},
    ),
    "sparse-focal-ignore": (
        _sparse_ignored,
        {"gamma": 1.5, "alpha": CLASS_WEIGHT, "ignore_index": -100},
    ),
    "sparse-focal-smoothing": (
        _sparse_ignored,
        {"gamma": 2.0, "alpha": CLASS_WEIGHT, "ignore_index": -100, "label_smoothing": 0.2},
    ),
    "sparse-all-three": (
        _sparse_ignored,
        {"ignore_index": -100, "class_weight": CLASS_WEIGHT, "label_smoothing": 0.1},
    ),
}


@requires_native
@pytest.mark.parametrize("case", sorted(OPTION_CASES))
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_groups_with_every_option(
    case: str, reduction: str, dtype: Any, rng: np.random.Generator
) -> None:
    maker, options = OPTION_CASES[case]
    n = 3000
    name, args, kwargs = maker(rng, n, dtype)
    kwargs = {**kwargs, **options}
    if "gamma" in options:  # the focal loss of the same family
        name = {
            "binary_cross_entropy": "binary_focal_cross_entropy",
            "categorical_cross_entropy": "categorical_focal_cross_entropy",
            "sparse_categorical_cross_entropy": "sparse_categorical_focal_cross_entropy",
        }[name]
    ids = rng.choice([0, 1, 3, 4], n)  # 2 is an empty group
    weight = rng.random(n)
    native, reference = get_impl("native"), get_impl("reference")
    with unchanged(*args, ids):
        got = getattr(native, name)(
            *args, **kwargs, sample_weight=weight, groups=ids, reduction=reduction
        )
    # Each group's value is the function on that group's items alone...
    expected = []
    for g in range(5):
        keep = ids == g
        sub = tuple(a[keep] for a in args)
        if reduction == "mean" and not keep.any():
            expected.append(float("nan"))
            continue
        try:
            expected.append(
                float(
                    getattr(native, name)(
                        *sub, **kwargs, sample_weight=weight[keep], reduction=reduction
                    )
                )
            )
        except ValueError:  # "mean" over a group whose rows are all ignored
            expected.append(float("nan"))
    assert_groups_close(got, expected, np.float64)
    # ... and the reference computes the same per-group values.
    ref = getattr(reference, name)(
        *args, **kwargs, sample_weight=weight, groups=ids, reduction=reduction
    )
    assert_groups_close(got, ref, dtype)
