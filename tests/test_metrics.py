"""plogp.metrics: streaming losses against the functions on all the data at once, merging,
pickling, reset, option and input errors, and the compensated state."""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import plogp
from conftest import requires_native
from plogp import metrics

pytestmark = requires_native

N, C = 3001, 5


def within_ulps(actual: float, expected: float, ulps: int = 2) -> bool:
    return abs(actual - expected) <= ulps * float(np.spacing(abs(expected)))


def _data(kind: str, rng: np.random.Generator, n: int = N) -> tuple[Any, Any, Any]:
    """(metric, y_true, y_pred) for each loss (and p for Entropy, with y_true None)."""
    if kind == "binary":
        return (
            metrics.BinaryCrossEntropy(),
            rng.integers(0, 2, n).astype(np.float64),
            rng.random(n),
        )
    if kind == "logits":
        return (
            metrics.BinaryCrossEntropy(from_logits=True),
            rng.random(n),
            rng.standard_normal(n).astype(np.float32),
        )
    if kind == "categorical":
        return (
            metrics.CategoricalCrossEntropy(),
            np.eye(C)[rng.integers(0, C, n)],
            rng.dirichlet(np.ones(C), n),
        )
    if kind == "sparse":
        return (
            metrics.SparseCategoricalCrossEntropy(from_logits=True),
            rng.integers(0, C, n),
            rng.standard_normal((n, C)),
        )
    assert kind == "entropy"
    return metrics.Entropy(base=2), None, rng.dirichlet(np.ones(C), n)


KINDS = ("binary", "logits", "categorical", "sparse", "entropy")
FUNCTIONS = {
    "binary": "binary_cross_entropy",
    "logits": "binary_cross_entropy",
    "categorical": "categorical_cross_entropy",
    "sparse": "sparse_categorical_cross_entropy",
}


def _update(metric: Any, y: Any, p: Any, **kwargs: Any) -> Any:
    return metric.update(p, **kwargs) if y is None else metric.update(y, p, **kwargs)


def _expected(kind: str, metric: Any, y: Any, p: Any, weight: Any = None) -> tuple[float, float]:
    """(sum, mean) computed directly with the functions."""
    if kind == "entropy":
        per_row = np.asarray(plogp.entropy(p, base=2), dtype=np.float64)
        w = np.ones(len(per_row)) if weight is None else weight
        total = math.fsum(w * per_row)
        return total, total / math.fsum(w)
    fn = getattr(plogp, FUNCTIONS[kind])
    options = metric._options()
    total = fn(y, p, **options, sample_weight=weight, reduction="sum")
    mean = fn(y, p, **options, sample_weight=weight)
    return total, mean


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_result_matches_the_function(kind: str, weighted: bool, rng: np.random.Generator) -> None:
    metric, y, p = _data(kind, rng)
    weight = rng.random(N) if weighted else None
    assert _update(metric, y, p, sample_weight=weight) is metric
    r = metric.result()
    total, mean = _expected(kind, metric, y, p, weight)
    assert within_ulps(r.sum, total)
    assert within_ulps(r.mean, mean, 4)
    assert r.count == N and isinstance(r.count, int)
    assert within_ulps(r.weight, N if weight is None else math.fsum(weight))
    if kind == "entropy":
        assert math.isnan(r.normalized_entropy)
        assert r.perplexity == pytest.approx(2.0**r.mean, rel=1e-14)
    else:
        assert r.perplexity == pytest.approx(math.exp(r.mean), rel=1e-14)
    assert r.groups == {}


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_merged_parts_equal_one_shot(kind: str, data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(0, 400))
    metric, y, p = _data(kind, rng, n)
    weight = rng.random(n) if data.draw(st.booleans()) else None
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=5)))
    bounds = [0, *cuts, n]
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = copy.deepcopy(metric)
        _update(
            part,
            None if y is None else y[lo:hi],
            p[lo:hi],
            sample_weight=None if weight is None else weight[lo:hi],
        )
        parts.append(part)
    merged = copy.deepcopy(metric)
    for part in parts:
        assert merged.merge(part) is merged
    one_shot = _update(metric, y, p, sample_weight=weight).result()
    r = merged.result()
    assert r.count == one_shot.count == n
    assert within_ulps(r.sum, one_shot.sum)
    assert within_ulps(r.weight, one_shot.weight)
    if n and one_shot.weight > 0:
        assert within_ulps(r.mean, one_shot.mean, 4)
        if kind != "entropy":
            assert r.normalized_entropy == pytest.approx(
                one_shot.normalized_entropy, rel=1e-13, nan_ok=True
            )
    # Sequential updates accumulate the same state as the merge.
    sequential = copy.deepcopy(metric).reset()
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        _update(
            sequential,
            None if y is None else y[lo:hi],
            p[lo:hi],
            sample_weight=None if weight is None else weight[lo:hi],
        )
    assert within_ulps(sequential.result().sum, one_shot.sum)


def test_normalized_entropy_binary_direct_formula(rng: np.random.Generator) -> None:
    y = (rng.random(N) < 0.3).astype(np.int8)
    p = rng.random(N)
    w = rng.random(N)
    r = metrics.BinaryCrossEntropy().update(y, p, sample_weight=w).result()
    rate = np.sum(w * y) / np.sum(w)
    h = -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate))
    loss = plogp.binary_cross_entropy(y, p, sample_weight=w)
    assert r.normalized_entropy == pytest.approx(loss / h, rel=1e-13)
    # Predicting the base rate itself scores exactly 1.
    base = metrics.BinaryCrossEntropy().update(y, np.full(N, rate), sample_weight=w)
    assert base.result().normalized_entropy == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("kind", ["categorical", "sparse"])
def test_normalized_entropy_categorical_direct_formula(kind: str, rng: np.random.Generator) -> None:
    labels = rng.choice(C, N, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    p = rng.dirichlet(np.ones(C), N)
    w = rng.random(N)
    if kind == "sparse":
        metric: Any = metrics.SparseCategoricalCrossEntropy()
        metric.update(labels, p, sample_weight=w)
    else:
        metric = metrics.CategoricalCrossEntropy()
        metric.update(np.eye(C)[labels], p, sample_weight=w)
    freq = np.array([np.sum(w[labels == c]) for c in range(C)]) / np.sum(w)
    h = -np.sum(freq * np.log(freq))
    loss = plogp.sparse_categorical_cross_entropy(labels, p, sample_weight=w)
    assert metric.result().normalized_entropy == pytest.approx(loss / h, rel=1e-13)


def test_normalized_entropy_undefined_for_a_single_class() -> None:
    r = metrics.BinaryCrossEntropy().update([1, 1, 1], [0.9, 0.8, 0.7]).result()
    assert math.isnan(r.normalized_entropy)
    assert not math.isnan(r.mean)


def test_empty_metric_and_zero_weight() -> None:
    r = metrics.CategoricalCrossEntropy().result()
    assert (r.count, r.sum, r.weight) == (0, 0.0, 0.0)
    assert math.isnan(r.mean) and math.isnan(r.normalized_entropy)
    assert math.isnan(r.perplexity)
    m = metrics.BinaryCrossEntropy().update([1, 0], [0.5, 0.5], sample_weight=[0, 0])
    assert m.result().count == 2 and math.isnan(m.result().mean)


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip_then_continue(kind: str, rng: np.random.Generator) -> None:
    metric, y, p = _data(kind, rng)
    half = N // 2
    _update(metric, None if y is None else y[:half], p[:half])
    restored = pickle.loads(pickle.dumps(metric))
    assert restored.result().sum == metric.result().sum
    assert restored.result().count == metric.result().count == half
    _update(restored, None if y is None else y[half:], p[half:])
    one_shot = _update(copy.deepcopy(metric).reset(), y, p).result()
    assert restored.result().count == N
    assert within_ulps(restored.result().sum, one_shot.sum)
    assert repr(restored).startswith(type(metric).__name__ + "(")


@pytest.mark.parametrize("kind", KINDS)
def test_reset_forgets_everything(kind: str, rng: np.random.Generator) -> None:
    metric, y, p = _data(kind, rng)
    fresh = copy.deepcopy(metric)
    _update(metric, y, p)
    assert metric.reset() is metric
    assert metric.result().count == 0 and metric.result().sum == 0.0
    _update(metric, y, p)
    _update(fresh, y, p)
    assert metric.result().sum == fresh.result().sum
    assert metric.result().normalized_entropy == fresh.result().normalized_entropy or (
        kind == "entropy"
    )


def test_merge_errors() -> None:
    with pytest.raises(TypeError, match="Entropy"):
        metrics.BinaryCrossEntropy().merge(metrics.Entropy())
    with pytest.raises(ValueError, match="different options"):
        metrics.BinaryCrossEntropy().merge(metrics.BinaryCrossEntropy(from_logits=True))
    with pytest.raises(ValueError, match="different options"):
        metrics.Entropy().merge(metrics.Entropy(base=2))
    a = metrics.SparseCategoricalCrossEntropy().update([0], [[0.5, 0.5]])
    b = metrics.SparseCategoricalCrossEntropy().update([0], [[0.2, 0.3, 0.5]])
    before = a.result()
    with pytest.raises(ValueError, match="classes"):
        a.merge(b)
    assert a.result() == before


def test_merge_with_itself_doubles() -> None:
    m = metrics.BinaryCrossEntropy().update([1, 0, 1], [0.9, 0.3, 0.6])
    once = m.result()
    m.merge(m)
    assert m.result().count == 2 * once.count
    assert m.result().sum == 2 * once.sum


@pytest.mark.parametrize(
    ("factory", "kwargs", "error", "name"),
    [
        (metrics.BinaryCrossEntropy, {"eps": 0.7}, ValueError, "eps"),
        (metrics.BinaryCrossEntropy, {"eps": "big"}, ValueError, "eps"),
        (metrics.BinaryCrossEntropy, {"nan_policy": "skip"}, ValueError, "nan_policy"),
        (metrics.CategoricalCrossEntropy, {"axis": 1.5}, TypeError, "axis"),
        (metrics.SparseCategoricalCrossEntropy, {"eps": -1.0}, ValueError, "eps"),
        (metrics.Entropy, {"base": 1}, ValueError, "base"),
        (metrics.Entropy, {"base": -2.0}, ValueError, "base"),
    ],
)
def test_options_are_checked_at_construction(
    factory: Any, kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        factory(**kwargs)


@pytest.mark.parametrize(
    ("metric", "args", "kwargs", "error", "name"),
    [
        (metrics.BinaryCrossEntropy, ([1, 0], [0.5]), {}, ValueError, "y_true"),
        (metrics.BinaryCrossEntropy, ([1, 0], [0.5, 1.5]), {}, ValueError, "y_pred"),
        (metrics.BinaryCrossEntropy, ([1, 0], [1, 0]), {}, TypeError, "y_pred"),
        (
            metrics.BinaryCrossEntropy,
            ([1, 0], [0.5, 0.5]),
            {"sample_weight": [1, -1]},
            ValueError,
            "sample_weight",
        ),
        (metrics.SparseCategoricalCrossEntropy, ([3], [[0.5, 0.5]]), {}, ValueError, "y_true"),
        (
            metrics.CategoricalCrossEntropy,
            ([[1.0, 0.0]], [[0.5, 0.5]]),
            {"sample_weight": [1.0, 2.0]},
            ValueError,
            "sample_weight",
        ),
        (
            metrics.Entropy,
            ([[0.5, 0.5]],),
            {"sample_weight": [1.0, 2.0]},
            ValueError,
            "sample_weight",
        ),
        (metrics.Entropy, ([[0.5, 1.5]],), {}, ValueError, "p"),
    ],
)
def test_failed_update_leaves_the_state_unchanged(
    metric: Any, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    m = metric()
    good = (
        ([[0.2, 0.8]],)
        if metric is metrics.Entropy
        else (
            ([1], [[0.2, 0.8]])
            if metric is metrics.SparseCategoricalCrossEntropy
            else ([[0.0, 1.0]], [[0.2, 0.8]])
            if metric is metrics.CategoricalCrossEntropy
            else ([1, 0], [0.8, 0.3])
        )
    )
    m.update(*good)
    before = pickle.dumps(m)
    with pytest.raises(error, match=name):
        m.update(*args, **kwargs)
    assert pickle.dumps(m) == before


def test_class_count_is_fixed_by_the_first_update() -> None:
    m = metrics.CategoricalCrossEntropy().update([[0.0, 1.0]], [[0.2, 0.8]])
    before = pickle.dumps(m)
    with pytest.raises(ValueError, match="classes"):
        m.update([[0.0, 1.0, 0.0]], [[0.2, 0.7, 0.1]])
    assert pickle.dumps(m) == before


def test_nan_policy_omit_drops_items_from_every_sum(rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, N).astype(np.float64)
    p = rng.random(N)
    w = rng.random(N)
    p[[3, 70]] = np.nan
    y[9] = np.nan
    keep = ~(np.isnan(p) | np.isnan(y))
    r = metrics.BinaryCrossEntropy(nan_policy="omit").update(y, p, sample_weight=w).result()
    direct = metrics.BinaryCrossEntropy().update(y[keep], p[keep], sample_weight=w[keep]).result()
    assert r.count == N - 3 == direct.count
    assert within_ulps(r.sum, direct.sum)
    assert within_ulps(r.weight, direct.weight)
    assert r.normalized_entropy == pytest.approx(direct.normalized_entropy, rel=1e-13)
    propagated = metrics.BinaryCrossEntropy().update(y, p).result()
    assert math.isnan(propagated.mean) and math.isnan(propagated.normalized_entropy)
    with pytest.raises(ValueError, match="nan_policy"):
        metrics.BinaryCrossEntropy(nan_policy="raise").update(y, p)


def test_binary_targets_with_a_trailing_axis_of_length_one(rng: np.random.Generator) -> None:
    # Keras' (N,) targets against (N, 1) predictions: N items in every sum (base rate and
    # groups included), not the (N, N) of a NumPy broadcast.
    y = rng.integers(0, 2, N).astype(np.float64)
    p = rng.random((N, 1))
    w, ids = rng.random(N), rng.integers(0, 3, N)
    r = metrics.BinaryCrossEntropy().update(y, p, sample_weight=w, groups=ids)
    direct = metrics.BinaryCrossEntropy().update(y[:, None], p, sample_weight=w, groups=ids)
    assert r.result() == direct.result()
    assert r.result().count == N and len(r.result().groups) == 3


def test_sparse_omit_and_categorical_axis(rng: np.random.Generator) -> None:
    z = rng.standard_normal((N, C))
    z[5, 2] = np.nan
    labels = rng.integers(0, C, N)
    r = metrics.SparseCategoricalCrossEntropy(from_logits=True, nan_policy="omit")
    r.update(labels, z)
    keep = np.arange(N) != 5
    direct = metrics.SparseCategoricalCrossEntropy(from_logits=True)
    direct.update(labels[keep], z[keep])
    assert r.result().count == N - 1
    assert within_ulps(r.result().sum, direct.result().sum)
    assert r.result().normalized_entropy == pytest.approx(
        direct.result().normalized_entropy, rel=1e-13
    )
    # axis=0: classes along the first axis.
    t = np.eye(C)[labels]
    p = rng.dirichlet(np.ones(C), N)
    by_rows = metrics.CategoricalCrossEntropy().update(t, p).result()
    by_cols = metrics.CategoricalCrossEntropy(axis=0).update(t.T, p.T).result()
    assert by_cols.sum == by_rows.sum
    assert by_cols.normalized_entropy == pytest.approx(by_rows.normalized_entropy, rel=1e-14)


# --------------------------------------------------------------------------- the state


def test_compensated_sum_keeps_what_a_naive_sum_loses() -> None:
    # 1e16 + 1 rounds back to 1e16 in float64: a naive running sum loses every one.
    acc = metrics._Sum()
    naive = 0.0
    acc.add(1e16)
    naive += 1e16
    for _ in range(1000):
        acc.add(1.0)
        naive += 1.0
    acc.add(-1e16)
    naive -= 1e16
    assert naive == 0.0
    assert float(acc.value) == 1000.0
    # Infinity stays infinite (no inf - inf = NaN in the error term).
    acc.add(math.inf)
    assert float(acc.value) == math.inf


@given(st.lists(st.floats(0, 1e6), max_size=300), st.integers(0, 2**32 - 1))
def test_accurate_sum_is_faithful(values: list[float], seed: int) -> None:
    x = np.array(values + [1e-9] * 50) * np.random.default_rng(seed).random(len(values) + 50)
    exact = math.fsum(x)
    assert abs(metrics._accurate_sum(x) - exact) <= float(np.spacing(exact))


def test_ten_billion_single_sample_updates_lose_nothing() -> None:
    """10^10 updates of one item each, simulated: a state that has seen 2^k identical
    one-item updates merged with itself is the state after 2^(k+1) of them; a mix of
    such states adds up to 10^10 updates of 0.1 (an inexact float) exactly counted."""
    one = metrics.BinaryCrossEntropy(from_logits=True)
    loss = plogp.binary_cross_entropy([1.0], [2.0], from_logits=True, reduction="sum")
    one.update([1.0], [2.0])
    powers = [copy.deepcopy(one)]
    for _ in range(34):  # 2^34 > 10^10
        doubled = copy.deepcopy(powers[-1])
        doubled.merge(powers[-1])
        powers.append(doubled)
    n = 10**10
    total = metrics.BinaryCrossEntropy(from_logits=True)
    for k in range(35):
        if n >> k & 1:
            total.merge(powers[k])
    r = total.result()
    assert r.count == n
    assert r.weight == float(n)
    exact = n * loss  # one rounding of the exact product
    assert abs(r.sum - exact) <= 2 * np.spacing(exact)
    assert abs(r.mean - loss) <= 2 * np.spacing(loss)
    assert math.isnan(r.normalized_entropy)  # all positives: undefined
    # A float32 running sum of the same updates would have stopped growing long before.
    assert np.float32(2**24) + np.float32(1) == np.float32(2**24)


def test_many_small_updates_after_a_large_one_are_kept() -> None:
    m = metrics.BinaryCrossEntropy()
    m.update([1.0], [0.5], sample_weight=[1e17])
    for _ in range(300):
        m.update([1.0], [0.5], sample_weight=[1.0])
    assert m.result().weight == 1e17 + 300  # 1e17 + 1 == 1e17 in float64
    assert m.result().count == 301


# --------------------------------------------------------------------------------------------
# groups


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_groups_match_a_metric_per_group(
    kind: str, weighted: bool, rng: np.random.Generator
) -> None:
    metric, y, p = _data(kind, rng)
    weight = rng.random(N) if weighted else None
    ids = rng.choice([0, 2, 3], N)
    ids[: N // 3] = rng.choice([0, 1], N // 3)  # group 1 only in the first update
    cut = N // 3
    grouped = copy.deepcopy(metric)
    for lo, hi in ((0, cut), (cut, N)):
        _update(
            grouped,
            None if y is None else y[lo:hi],
            p[lo:hi],
            sample_weight=None if weight is None else weight[lo:hi],
            groups=ids[lo:hi],
        )
    r = grouped.result()
    assert sorted(r.groups) == [0, 1, 2, 3]
    ungrouped = _update(copy.deepcopy(metric), y, p, sample_weight=weight).result()
    assert within_ulps(r.sum, ungrouped.sum, 4)
    assert r.count == ungrouped.count
    for g, part in r.groups.items():
        keep = ids == g
        alone = _update(
            copy.deepcopy(metric),
            None if y is None else y[keep],
            p[keep],
            sample_weight=None if weight is None else weight[keep],
        ).result()
        assert part.count == alone.count == int(keep.sum())
        assert part.sum == pytest.approx(alone.sum, rel=1e-13)
        assert part.weight == pytest.approx(alone.weight, rel=1e-13)
        assert part.mean == pytest.approx(alone.mean, rel=1e-13)
        assert part.normalized_entropy == pytest.approx(
            alone.normalized_entropy, rel=1e-12, nan_ok=True
        )
        assert part.groups == {}
    # Merging grouped states (with different numbers of groups) and pickling keep the groups.
    first = copy.deepcopy(metric)
    _update(
        first,
        None if y is None else y[:cut],
        p[:cut],
        sample_weight=None if weight is None else weight[:cut],
        groups=ids[:cut],
    )
    second = copy.deepcopy(metric)
    _update(
        second,
        None if y is None else y[cut:],
        p[cut:],
        sample_weight=None if weight is None else weight[cut:],
        groups=ids[cut:],
    )
    merged = pickle.loads(pickle.dumps(second)).merge(first).result()
    assert sorted(merged.groups) == [0, 1, 2, 3]
    for g in merged.groups:
        assert merged.groups[g].count == r.groups[g].count
        assert merged.groups[g].sum == pytest.approx(r.groups[g].sum, rel=1e-14)


def test_single_class_group_and_omitted_items() -> None:
    m = metrics.BinaryCrossEntropy(nan_policy="omit")
    m.update([1, 1, 0, 1, 1], [0.9, 0.8, 0.3, np.nan, 0.6], groups=[0, 0, 1, 2, 1])
    r = m.result()
    assert math.isnan(r.groups[0].normalized_entropy)  # only positives: undefined
    assert r.groups[0].mean == pytest.approx(
        plogp.binary_cross_entropy([1, 1], [0.9, 0.8]), rel=1e-15
    )
    assert r.groups[2].count == 0 and math.isnan(r.groups[2].mean)  # seen, all omitted
    assert r.count == 4


def test_bad_groups_leave_the_state_unchanged() -> None:
    m = metrics.SparseCategoricalCrossEntropy().update(
        [0, 1], [[0.3, 0.7], [0.4, 0.6]], groups=[0, 1]
    )
    before = pickle.dumps(m)
    for bad, error in (([0, -1], ValueError), ([0.0, 1.0], TypeError), ([0], ValueError)):
        with pytest.raises(error, match="groups"):
            m.update([0, 1], [[0.3, 0.7], [0.4, 0.6]], groups=bad)
    with pytest.raises(ValueError, match="groups"):
        metrics.Entropy().update([[0.5, 0.5]], groups=[-3])
    assert pickle.dumps(m) == before


# --------------------------------------------------------------------------------------------
# Every option of the functions, and the focal losses


def _option_cases(rng: np.random.Generator) -> list[tuple[Any, str, Any, Any]]:
    """(metric, function name, y_true, y_pred) for each option."""
    n = 2003
    p = rng.uniform(0.01, 0.99, (n, 3))
    y = (rng.random((n, 3)) < p).astype(np.float64)
    z = rng.normal(0.0, 3.0, (n, C))
    labels = rng.integers(0, C, n)
    ignored = np.where(rng.random(n) < 0.1, -100, labels)
    cw = rng.uniform(0.5, 2.0, C)
    return [
        (metrics.BinaryCrossEntropy(pos_weight=2.0), "binary_cross_entropy", y, p),
        (
            metrics.BinaryCrossEntropy(pos_weight=[0.5, 1.0, 4.0], label_smoothing=0.1),
            "binary_cross_entropy",
            y,
            p,
        ),
        (
            metrics.CategoricalCrossEntropy(from_logits=True, class_weight=cw, label_smoothing=0.2),
            "categorical_cross_entropy",
            np.eye(C)[labels],
            z,
        ),
        (
            metrics.CategoricalCrossEntropy(from_logits=True, axis=0),
            "categorical_cross_entropy",
            np.eye(C)[labels].T,
            z.T,
        ),
        (
            metrics.SparseCategoricalCrossEntropy(from_logits=True, class_weight=cw),
            "sparse_categorical_cross_entropy",
            labels,
            z,
        ),
        (
            metrics.SparseCategoricalCrossEntropy(
                from_logits=True, ignore_index=-100, class_weight=cw, label_smoothing=0.1
            ),
            "sparse_categorical_cross_entropy",
            ignored,
            z,
        ),
        (
            metrics.SparseCategoricalCrossEntropy(from_logits=True, axis=0),
            "sparse_categorical_cross_entropy",
            labels,
            z.T,
        ),
        (
            metrics.BinaryFocalCrossEntropy(gamma=1.5, alpha=0.25),
            "binary_focal_cross_entropy",
            y,
            p,
        ),
        (
            metrics.CategoricalFocalCrossEntropy(from_logits=True, alpha=cw, label_smoothing=0.1),
            "categorical_focal_cross_entropy",
            np.eye(C)[labels],
            z,
        ),
        (
            metrics.SparseCategoricalFocalCrossEntropy(
                from_logits=True, alpha=cw, ignore_index=-100
            ),
            "sparse_categorical_focal_cross_entropy",
            ignored,
            z,
        ),
        (
            metrics.SparseCategoricalFocalCrossEntropy(
                from_logits=True, alpha=cw, ignore_index=-100, label_smoothing=0.1
            ),
            "sparse_categorical_focal_cross_entropy",
            ignored,
            z,
        ),
    ]


@pytest.mark.parametrize("index", range(11))
@pytest.mark.parametrize("weighted", [False, True])
def test_every_option_matches_the_function(
    index: int, weighted: bool, rng: np.random.Generator
) -> None:
    metric, name, y, p = _option_cases(rng)[index]
    rows = p.shape[0] if getattr(metric, "axis", -1) == -1 else p.shape[1]
    weight = rng.random(rows) if weighted else None
    options = metric._options()
    fn = getattr(plogp, name)
    half = rows // 2

    def part(a: Any, lo: int, hi: int, labels: bool = False) -> Any:
        if getattr(metric, "axis", -1) == 0 and (a.ndim == 2 and not labels):
            return a[:, lo:hi]
        return a[lo:hi]

    sparse = name.startswith("sparse")
    first, second = copy.deepcopy(metric), copy.deepcopy(metric)
    first.update(
        part(y, 0, half, sparse),
        part(p, 0, half),
        sample_weight=None if weight is None else weight[:half],
    )
    second.update(
        part(y, half, rows, sparse),
        part(p, half, rows),
        sample_weight=None if weight is None else weight[half:],
    )
    r = first.merge(second).result()
    assert within_ulps(r.sum, fn(y, p, **options, sample_weight=weight, reduction="sum"), 4)
    assert within_ulps(r.mean, fn(y, p, **options, sample_weight=weight), 8)
    if options.get("ignore_index") is not None:
        assert r.count == int(np.count_nonzero(y != -100))


def test_option_arrays_must_match_to_merge(rng: np.random.Generator) -> None:
    a = metrics.SparseCategoricalCrossEntropy(class_weight=[1.0, 2.0])
    assert a.merge(metrics.SparseCategoricalCrossEntropy(class_weight=np.array([1, 2]))) is a
    with pytest.raises(ValueError, match="different options"):
        a.merge(metrics.SparseCategoricalCrossEntropy(class_weight=[1.0, 3.0]))
    with pytest.raises(ValueError, match="different options"):
        a.merge(metrics.SparseCategoricalCrossEntropy())


def test_option_errors_are_the_functions() -> None:
    with pytest.raises(ValueError, match="label_smoothing"):
        metrics.BinaryCrossEntropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="pos_weight"):
        metrics.BinaryCrossEntropy(pos_weight=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        metrics.BinaryFocalCrossEntropy(gamma=-1.0)
    with pytest.raises(TypeError, match="ignore_index"):
        metrics.SparseCategoricalFocalCrossEntropy(ignore_index=1.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        metrics.SparseCategoricalFocalCrossEntropy(label_smoothing=2.0)
    focal = metrics.BinaryFocalCrossEntropy()
    with pytest.raises(ValueError, match=r"groups\[1\] = -1"):
        focal.update([1.0, 0.0], [0.5, 0.5], groups=[0, -1])
    assert focal.result().count == 0


@pytest.mark.parametrize("focal", ["binary", "sparse"])
def test_focal_metrics_take_groups(focal: str) -> None:
    rng = np.random.default_rng(11)
    n = 4000
    ids = rng.integers(0, 5, n)
    if focal == "binary":
        y, z = rng.integers(0, 2, n), rng.standard_normal(n)
        options: dict[str, Any] = {"from_logits": True, "gamma": 1.5, "alpha": 0.3}
        metric: Any = metrics.BinaryFocalCrossEntropy(**options)
        function = plogp.binary_focal_cross_entropy
    else:
        y, z = rng.integers(0, C, n), rng.standard_normal((n, C))
        y[::7] = -1
        options = {"from_logits": True, "gamma": 2.0, "ignore_index": -1}
        metric = metrics.SparseCategoricalFocalCrossEntropy(**options)
        function = plogp.sparse_categorical_focal_cross_entropy
    half = n // 2
    metric.update(y[:half], z[:half], groups=ids[:half])
    metric.update(y[half:], z[half:], groups=ids[half:])
    want = function(y, z, **options, groups=ids)
    got = metric.result().groups
    assert sorted(got) == list(range(5))
    for g in range(5):
        assert got[g].mean == pytest.approx(want[g], rel=1e-13)


@pytest.mark.parametrize("kind", ["binary", "logits", "categorical", "sparse"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
def test_an_update_is_one_native_call(
    kind: str,
    weighted: bool,
    grouped: bool,
    nan_policy: str,
    rng: np.random.Generator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loss, weight, counts and the binary base rate come from one pass of the kernel; the
    result is still the function's."""
    metric, y, p = _data(kind, rng)
    metric = type(metric)(**{**metric._options(), "nan_policy": nan_policy})
    w = rng.random(N) if weighted else None
    groups = rng.integers(0, 7, N) if grouped else None
    name = FUNCTIONS[kind]
    native = getattr(plogp, name)
    calls: list[Any] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("reduction"))
        return native(*args, **kwargs)

    monkeypatch.setattr(plogp, name, counted)
    metric.update(y, p, sample_weight=w, groups=groups)
    assert calls == ["_tally"]
    total, mean = _expected(kind, metric, y, p, w)
    r = metric.result()
    assert within_ulps(r.sum, total) and within_ulps(r.mean, mean)
    assert r.count == N


@pytest.mark.parametrize("grouped", [False, True])
def test_binary_tally_counts_what_it_keeps(grouped: bool, rng: np.random.Generator) -> None:
    """reduction="_tally" of a binary loss: Σ s·l, Σ s, items dropped by nan_policy="omit"
    and Σ s·y over the items kept, per group with groups=, against NumPy."""
    n = 50_003
    y = rng.random(n)
    p = rng.random(n)
    w = rng.random(n)
    g = rng.integers(0, 5, n)
    p[rng.integers(0, n, 40)] = np.nan
    y[rng.integers(0, n, 40)] = np.nan
    kept = ~(np.isnan(p) | np.isnan(y))
    per_item = plogp.binary_cross_entropy(y, p, sample_weight=w, reduction="none")
    call = {"sample_weight": w, "nan_policy": "omit", "reduction": "_tally"}
    if not grouped:
        loss, weight, dropped, positive, mass, ignored = plogp.binary_cross_entropy(y, p, **call)
        assert mass.shape == (0,) and ignored == 0
        assert dropped == np.count_nonzero(~kept)
        assert within_ulps(positive, math.fsum(w[kept] * y[kept]))
        assert within_ulps(weight, math.fsum(w[kept]))
        assert within_ulps(loss, math.fsum(per_item[kept]))
        return
    loss, weight, items, kept_g, positive, mass = plogp.binary_cross_entropy(y, p, groups=g, **call)
    assert items.dtype == kept_g.dtype == np.int64 and mass.shape == (5, 0)
    for k in range(5):
        mine, mine_kept = g == k, (g == k) & kept
        assert items[k] == np.count_nonzero(mine) and kept_g[k] == np.count_nonzero(mine_kept)
        assert within_ulps(positive[k], math.fsum(w[mine_kept] * y[mine_kept]))
        assert within_ulps(weight[k], math.fsum(w[mine_kept]))
        assert within_ulps(loss[k], math.fsum(per_item[mine_kept]))


def test_categorical_omit_with_nan_rows_is_one_pass(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows dropped by nan_policy="omit" leave the class masses in the same native call:
    the update reads the batch once."""
    labels = rng.integers(0, C, N)
    z = rng.standard_normal((N, C))
    z[[3, 100], 1] = np.nan
    calls: list[Any] = []
    native = plogp.sparse_categorical_cross_entropy

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("reduction"))
        return native(*args, **kwargs)

    m = metrics.SparseCategoricalCrossEntropy(from_logits=True, nan_policy="omit")
    monkeypatch.setattr(plogp, "sparse_categorical_cross_entropy", counted)
    r = m.update(labels, z).result()
    assert calls == ["_tally"]
    keep = np.ones(N, dtype=bool)
    keep[[3, 100]] = False
    assert r.count == N - 2
    base = np.bincount(labels[keep], minlength=C) / (N - 2)
    h = -float(np.sum(base * np.log(base)))
    assert within_ulps(r.normalized_entropy, r.mean / h, 4)


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_categorical_tally_sums_the_class_masses(
    grouped: bool, sparse: bool, rng: np.random.Generator
) -> None:
    """reduction="_tally" of a categorical loss: besides Σ s·l and Σ s, the class masses
    Σ s·t_c of the rows kept (counts of the labels, ignore_index rows left out, for the
    sparse loss) and the ignored rows, per group with groups=, against math.fsum. 20,000
    rows of 7 classes span several chunks."""
    n, c = 20_000, 7
    z = rng.standard_normal((n, c))
    z[rng.integers(0, n, 30), rng.integers(0, c, 30)] = np.nan
    w = rng.random(n)
    g = rng.integers(0, 4, n)
    if sparse:
        y = rng.integers(0, c, n)
        y[rng.integers(0, n, 50)] = -100
        t = np.where((y >= 0)[:, None], np.eye(c)[np.maximum(y, 0)], 0.0)
        loss = plogp.sparse_categorical_cross_entropy
        extra: dict[str, Any] = {"ignore_index": -100}
    else:
        t = rng.dirichlet(np.ones(c), n)
        y = t
        loss = plogp.categorical_cross_entropy
        extra = {}
    call = {"from_logits": True, "sample_weight": w, "nan_policy": "omit", **extra}
    per_row = np.asarray(loss(y, z, reduction="none", **call))
    kept = ~np.isnan(per_row)
    counted = kept & ((y != -100) if sparse else True)

    def check(mass: np.ndarray, rows: np.ndarray) -> None:
        for k in range(c):
            assert within_ulps(mass[k], math.fsum(w[rows] * t[rows, k]))

    if not grouped:
        _, weight, dropped, _, mass, ignored = loss(y, z, reduction="_tally", **call)
        assert dropped == np.count_nonzero(~kept)
        assert ignored == np.count_nonzero(kept & ~counted)
        assert mass.shape == (c,)
        check(mass, counted)
        return
    tally = loss(y, z, groups=g, reduction="_tally", **call)
    _, _, items, kept_g, _, mass = tally
    assert mass.shape == (4, c)
    for k in range(4):
        mine = g == k
        assert items[k] == np.count_nonzero(mine)
        assert kept_g[k] == np.count_nonzero(mine & counted)
        check(mass[k], mine & counted)


def test_dense_class_masses_of_the_rows_kept(rng: np.random.Generator) -> None:
    """The class masses of soft targets (3-D targets, class axis 1, zero weights, NaN rows
    dropped, ids broadcast over the second axis; 2,000 × 7 rows span several chunks) give
    the base rates of the rows kept, per group too."""
    a, b, c = 2000, 7, 5
    t = rng.dirichlet(np.ones(c), (a, b)).transpose(0, 2, 1).copy()  # (a, c, b)
    logits = rng.standard_normal((a, c, b))
    t[3, :, 2] = np.nan  # dropped by nan_policy="omit"
    w = rng.random((a, b))
    w[5] = 0.0
    ids = rng.integers(0, 3, a)  # one id per leading row, broadcast over the second axis
    m = metrics.CategoricalCrossEntropy(from_logits=True, axis=1, nan_policy="omit")
    r = m.update(t, logits, sample_weight=w, groups=ids).result()
    rows = np.moveaxis(t, 1, -1)  # (a, b, c)
    kept = np.isfinite(rows).all(axis=-1) & (w > 0)
    per_row = np.asarray(
        plogp.categorical_cross_entropy(t, logits, from_logits=True, axis=1, reduction="none")
    )

    def expected(mask: np.ndarray) -> float:
        mass = np.sum(rows[mask] * w[mask][:, None], axis=0)
        base = mass / mass.sum()
        mean = np.sum(per_row[mask] * w[mask]) / np.sum(w[mask])
        return float(mean / -np.sum(base * np.log(base)))

    assert r.normalized_entropy == pytest.approx(expected(kept), rel=1e-12)
    assert sorted(r.groups) == sorted(set(ids.tolist()))
    for g, part in r.groups.items():
        mine = kept & (ids == g)[:, None]
        assert part.normalized_entropy == pytest.approx(expected(mine), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("grouped", [False, True])
def test_entropy_update_is_one_native_pass(
    dtype: type, grouped: bool, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entropy's weighted sums (per group with groups=) come from one call of the native
    tally, never from per-row entropies summed in NumPy; they equal math.fsum of the
    function's per-row values times the weights. 3-D rows with the class axis in the middle
    and ids broadcast over the last axis; 6,000 × 5 rows of 7 classes span several chunks."""
    a, c, b = 6000, 7, 5
    p = rng.dirichlet(np.ones(c), (a, b)).transpose(0, 2, 1).astype(dtype)
    p[::97, 3] = 0.0  # 0·ln 0 terms
    w = rng.random((a, b))
    w[11] = 0.0
    ids = rng.integers(0, 4, a) if grouped else None
    # The row values of the float32 inputs widened (a float32 call rounds its per-row output
    # to float32; the tally sums the unrounded values).
    per_row = plogp.entropy(p.astype(np.float64), axis=1, base=2)
    calls: list[Any] = []
    native = plogp._native._entropy_tally

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(sorted(kwargs))
        return native(*args, **kwargs)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Entropy.update called plogp.entropy")

    metric = metrics.Entropy(axis=1, base=2)
    monkeypatch.setattr(plogp._native, "_entropy_tally", counted)
    monkeypatch.setattr(plogp, "entropy", refused)
    r = metric.update(p, sample_weight=w, groups=ids).result()
    assert len(calls) == 1

    # float64: a few ulps of the exact sum; float32: SPEC §4's 2^-24 of the exact value.
    def close(got: float, want: float) -> bool:
        return within_ulps(got, want) if dtype == np.float64 else abs(got - want) <= want * 2**-24

    assert r.count == a * b
    assert close(r.sum, math.fsum((w * per_row).ravel()))
    assert close(r.mean, math.fsum((w * per_row).ravel()) / math.fsum(w.ravel()))
    if grouped:
        assert ids is not None
        for k in range(4):
            mine = np.broadcast_to((ids == k)[:, None], (a, b))
            g = r.groups[k]
            assert g.count == np.count_nonzero(mine)
            assert close(g.sum, math.fsum((w * per_row)[mine]))
            assert close(g.mean, math.fsum((w * per_row)[mine]) / math.fsum(w[mine]))


def test_entropy_update_errors_leave_the_state_unchanged() -> None:
    """The native tally checks weights, groups and distributions with the losses' messages;
    a failed update changes nothing."""
    m = metrics.Entropy().update([[0.5, 0.5], [0.9, 0.1]], sample_weight=[1.0, 2.0])
    before = pickle.dumps(m)
    p = [[0.5, 0.5], [0.9, 0.1]]
    bad: list[tuple[dict[str, Any], type, str]] = [
        ({"sample_weight": [1.0, -1.0]}, ValueError, r"sample_weight\[1\] = -1"),
        ({"sample_weight": [1.0, np.inf]}, ValueError, "sample_weight"),
        ({"sample_weight": [1.0, 2.0, 3.0]}, ValueError, "sample_weight"),
        ({"sample_weight": ["a", "b"]}, TypeError, "sample_weight"),
        ({"groups": [0, -1]}, ValueError, "groups"),
        ({"groups": [0.0, 1.0]}, TypeError, "groups"),
        ({"groups": [0, 1, 2]}, ValueError, "groups"),
    ]
    for kwargs, error, match in bad:
        with pytest.raises(error, match=match):
            m.update(p, **kwargs)
    with pytest.raises(ValueError, match=r"p\[2\] = 1.5"):
        m.update([[0.5, 0.5], [1.5, -0.5]])
    assert pickle.dumps(m) == before
    # An axis beyond a C long is the function's TypeError, not an OverflowError.
    with pytest.raises(TypeError, match="axis"):
        metrics.Entropy(axis=2**63).update(p)
