"""``log_loss`` is a drop-in for ``sklearn.metrics.log_loss`` (scikit-learn 1.9).

Same value (≤ 1e-12 relative for float64 probabilities, 1e-6 for float32, which
scikit-learn sums in float32), the same warnings (by category) and the same exception types,
for both implementations.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@dataclass
class Outcome:
    value: float | None
    error: BaseException | None
    warnings: list[type[Warning]]


def _outcome(function: Any, *args: Any, **kwargs: Any) -> Outcome:
    """Runs ``function``, recording its result, its exception and its UserWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value, error = function(*args, **kwargs), None
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a PanicException is not an Exception
            value, error = None, exc
    user = sorted(
        {w.category for w in caught if issubclass(w.category, UserWarning)},
        key=lambda c: c.__name__,
    )
    return Outcome(value, error, user)


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}({str(error)[:160]!r})"


def assert_same_as_sklearn(
    impl: ModuleType, *args: Any, rtol: float = 1e-12, **kwargs: Any
) -> Outcome:
    """``impl.log_loss`` and scikit-learn agree on value, warnings and exception type."""
    theirs = _outcome(sklearn_metrics.log_loss, *args, **kwargs)
    ours = _outcome(impl.log_loss, *args, **kwargs)
    if theirs.error is not None:
        kinds = [k for k in (ValueError, TypeError) if isinstance(theirs.error, k)]
        assert kinds, f"unexpected scikit-learn error {theirs.error!r}"
        assert isinstance(ours.error, tuple(kinds)), (
            f"scikit-learn raised {_short(theirs.error)}, plogp gave "
            f"{_short(ours.error) if ours.error else ours.value}"
        )
    else:
        assert ours.error is None, (
            f"plogp raised {_short(ours.error)}; scikit-learn gave {theirs.value!r}"
        )
        assert isinstance(ours.value, float), type(ours.value)
        assert math.isclose(ours.value, theirs.value, rel_tol=rtol, abs_tol=1e-300), (
            ours.value,
            theirs.value,
        )
    assert ours.warnings == theirs.warnings, (ours.warnings, theirs.warnings)
    return ours


@pytest.fixture
def binary(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, 1001)
    return y, rng.random(1001)


@pytest.fixture
def multiclass(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 4, 999)
    y[:4] = np.arange(4)
    proba = rng.random((999, 4)) + 1e-3
    return y, proba / proba.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Values


def test_binary_1d(impl: ModuleType, binary) -> None:
    y, p = binary
    assert_same_as_sklearn(impl, y, p)
    assert_same_as_sklearn(impl, y.astype(bool), p)
    assert_same_as_sklearn(impl, np.where(y == 1, 7, -3), p)  # the positive class is 7
    assert_same_as_sklearn(impl, y.tolist(), p.tolist())


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, bool])
def test_binary_1d_label_values(impl: ModuleType, rng, dtype) -> None:
    """1-D binary integer labels: 0/1 (taken by the kernel directly), other pairs of values
    (encoded first), one class only (an error), and 0/1 where the first thousands of labels
    are all 0 (both classes are still found)."""
    p = rng.random(6000)
    late = np.zeros(6000, dtype=dtype)
    late[5000:] = 1
    cases = [late, np.ones(6000, dtype=dtype), np.zeros(6000, dtype=dtype)]
    if dtype is not bool:
        pair = np.where(rng.random(6000) < 0.5, 2, 5).astype(dtype)
        cases += [pair, np.where(pair == 2, 0, 2).astype(dtype)]
    for y in cases:
        assert_same_as_sklearn(impl, y, p)
        assert_same_as_sklearn(impl, y, p, sample_weight=rng.random(6000), normalize=False)


def test_binary_two_columns(impl: ModuleType, binary) -> None:
    y, p = binary
    assert_same_as_sklearn(impl, y, np.column_stack([1 - p, p]))
    assert_same_as_sklearn(impl, y, p[:, None])


def test_multiclass(impl: ModuleType, multiclass) -> None:
    y, proba = multiclass
    assert_same_as_sklearn(impl, y, proba)
    assert_same_as_sklearn(impl, y.astype(np.uint8), proba)
    assert_same_as_sklearn(impl, y + 10, proba)  # classes 10..13, not 0..C-1
    assert_same_as_sklearn(impl, y.astype(np.float64) - 1.0, proba)  # integral floats


def test_label_indicator_matrix(impl: ModuleType, multiclass) -> None:
    y, proba = multiclass
    assert_same_as_sklearn(impl, np.eye(4, dtype=int)[y], proba)


def test_string_labels(impl: ModuleType, multiclass) -> None:
    y, proba = multiclass
    names = np.array(["spam", "ham", "eggs", "bacon"])
    assert_same_as_sklearn(impl, names[y], proba)
    assert_same_as_sklearn(impl, names[y].astype(object), proba)
    assert_same_as_sklearn(
        impl, ["spam", "ham", "ham", "spam"], [[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]]
    )


def test_labels_argument(impl: ModuleType, rng) -> None:
    # y_true uses 3 of the 5 declared classes.
    y = rng.choice([0, 2, 4], 500)
    proba = rng.random((500, 5))
    proba /= proba.sum(axis=1, keepdims=True)
    assert_same_as_sklearn(impl, y, proba, labels=[0, 1, 2, 3, 4])
    assert_same_as_sklearn(
        impl, np.array(["a", "c", "e"])[y // 2], proba, labels=["a", "b", "c", "d", "e"]
    )
    # A single class in y_true is fine with labels.
    assert_same_as_sklearn(impl, np.ones(20, dtype=int), rng.random(20), labels=[0, 1])


def test_sample_weight_and_normalize(impl: ModuleType, multiclass, binary, rng) -> None:
    y, proba = multiclass
    w = rng.random(len(y)) * 3
    w[::7] = 0
    assert_same_as_sklearn(impl, y, proba, sample_weight=w)
    assert_same_as_sklearn(impl, y, proba, sample_weight=w, normalize=False)
    assert_same_as_sklearn(impl, y, proba, normalize=False)
    yb, p = binary
    assert_same_as_sklearn(impl, yb, p, sample_weight=rng.integers(0, 4, len(yb)))
    assert_same_as_sklearn(impl, yb, p, sample_weight=list(rng.random(len(yb))), normalize=False)


def test_clipping_at_the_dtype_eps(impl: ModuleType, binary) -> None:
    y, p = binary
    p = p.copy()
    p[:50] = 0.0
    p[50:100] = 1.0
    p[100:150] = 1e-300
    assert_same_as_sklearn(impl, y, p)
    assert_same_as_sklearn(impl, y, np.column_stack([1 - p, p]))


def test_float32_probabilities(impl: ModuleType, multiclass, binary) -> None:
    # scikit-learn computes and sums in float32: parity is ~1e-6 (contract), clipped at the
    # float32 eps (which a float64 clip would not reproduce).
    y, proba = multiclass
    proba32 = proba.astype(np.float32)
    proba32[:10] = np.eye(4, dtype=np.float32)[(y[:10] + 1) % 4]  # certain and wrong
    assert_same_as_sklearn(impl, y, proba32, rtol=1e-6)
    yb, p = binary
    p32 = p.astype(np.float32)
    p32[:20] = 1 - yb[:20]  # certain and wrong: log(float32 eps)
    assert_same_as_sklearn(impl, yb, p32, rtol=1e-6)
    assert_same_as_sklearn(impl, yb, p32, rtol=1e-6, normalize=False)


def test_y_pred_keyword_alias(impl: ModuleType, multiclass) -> None:
    y, proba = multiclass
    expected = sklearn_metrics.log_loss(y, proba)
    assert math.isclose(impl.log_loss(y, y_pred=proba), expected, rel_tol=1e-12)
    assert math.isclose(
        impl.log_loss(y_true=y, y_pred=proba, normalize=False),
        sklearn_metrics.log_loss(y, proba, normalize=False),
        rel_tol=1e-12,
    )
    with pytest.raises(ValueError, match="y_pred"):
        impl.log_loss(y, proba, y_pred=proba)


# --------------------------------------------------------------------------------------------
# Warnings


def test_rows_not_summing_to_one_warn(impl: ModuleType, multiclass) -> None:
    y, proba = multiclass
    scaled = proba * 0.9
    outcome = assert_same_as_sklearn(impl, y, scaled)
    assert outcome.warnings == [UserWarning]
    with pytest.warns(UserWarning, match="sum to one"):
        impl.log_loss(y, scaled)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64])
@pytest.mark.parametrize(
    "case", ["good", "one-row-off", "one-row-just-inside", "class-missing", "label-too-big",
             "labels-from-one", "nan-row", "float32"],
)  # fmt: skip
def test_integer_labels_many_rows(impl: ModuleType, rng, dtype, case: str) -> None:
    """Integer labels 0 .. C-1 of 2-D probabilities take one kernel pass that also finds the
    row-sum deviation and the classes present (several chunks, so both are merged across
    threads); every way off that path gives scikit-learn's result, warning or error."""
    n, c = 150_001, 7
    y = rng.integers(0, c, n).astype(dtype)
    proba = rng.random((n, c)) + 0.05
    proba /= proba.sum(axis=1, keepdims=True)
    tolerance = 1e-8 + math.sqrt(np.finfo(np.float64).eps)
    if case == "one-row-off":
        proba[n - 3, 2] += 2 * tolerance
    elif case == "one-row-just-inside":
        proba[n - 3, 2] += 0.5 * tolerance
    elif case == "class-missing":
        y[y == 4] = 5
    elif case == "label-too-big":
        y[n // 2] = c
    elif case == "labels-from-one":
        y = y + dtype(1)  # classes 1 .. C: codes are the labels minus one
    elif case == "nan-row":
        proba[n // 3, 0] = np.nan
    elif case == "float32":
        proba = proba.astype(np.float32)
    # scikit-learn sums float32 probabilities in float32.
    outcome = assert_same_as_sklearn(impl, y, proba, rtol=1e-6 if case == "float32" else 1e-12)
    assert (outcome.warnings == [UserWarning]) == (case == "one-row-off")
    assert (outcome.error is None) == (case in ("good", "one-row-off", "one-row-just-inside",
                                                "labels-from-one", "float32"))  # fmt: skip
    if case == "one-row-off":
        with pytest.warns(UserWarning, match="sum to one") as caught:
            impl.log_loss(y, proba)
        assert caught[0].filename == __file__  # the warning points at the caller


def test_unsorted_labels_warn(impl: ModuleType, rng) -> None:
    y = rng.integers(0, 3, 60)
    proba = rng.random((60, 3))
    proba /= proba.sum(axis=1, keepdims=True)
    outcome = assert_same_as_sklearn(impl, y, proba, labels=[2, 0, 1])
    assert outcome.warnings == [UserWarning]


# --------------------------------------------------------------------------------------------
# Errors: the same exception types as scikit-learn

ERROR_CASES = {
    "one-label-no-labels": (([1, 1, 1], [0.2, 0.3, 0.9]), {}),
    "labels-with-one-label": (([1, 1, 1], [0.2, 0.3, 0.9]), {"labels": [1]}),
    "classes-mismatch": (([0, 1, 2], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), {}),
    "classes-mismatch-labels": (([0, 1, 1], [[0.2, 0.3, 0.5]] * 3), {"labels": [0, 1]}),
    "y-not-in-labels": (([0, 1, 5], [[0.5, 0.5]] * 3), {"labels": [0, 1]}),
    "multiclass-1d-proba": (([0, 1, 2], [0.2, 0.3, 0.9]), {}),
    "inconsistent-lengths": (([0, 1, 1], [0.2, 0.3]), {}),
    "weight-length": (([0, 1, 1], [0.2, 0.3, 0.9]), {"sample_weight": [1.0, 2.0]}),
    "proba-above-1": (([0, 1, 1], [0.2, 1.3, 0.9]), {}),
    "proba-below-0": (([0, 1, 1], [0.2, -0.3, 0.9]), {}),
    "proba-nan": (([0, 1, 1], [0.2, math.nan, 0.9]), {}),
    "proba-inf": (([0, 1, 1], [[0.5, 0.5], [0.5, 0.5], [math.inf, 0.5]]), {}),
    "continuous-labels": (([0.5, 1.5, 0.5], [[0.5, 0.5]] * 3), {}),
    "proba-3d": (([0, 1], np.full((2, 2, 2), 0.5)), {}),
    "proba-strings": (([0, 1], ["a", "b"]), {}),
    "proba-complex": (([0, 1], np.array([0.5, 0.5], dtype=complex)), {}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_same_errors_as_sklearn(impl: ModuleType, case: str) -> None:
    args, kwargs = ERROR_CASES[case]
    theirs = _outcome(sklearn_metrics.log_loss, *args, **kwargs)
    assert theirs.error is not None, f"{case}: scikit-learn accepted it"
    assert_same_as_sklearn(impl, *args, **kwargs)


# --------------------------------------------------------------------------------------------
# The label fast paths of plogp.log_loss (no sort of the labels) against scikit-learn and,
# for errors, against the reference's message (both come from plogp._sklearn_compat, so the
# fast paths must raise the same error, found in the same order).

import plogp  # noqa: E402
from plogp import reference  # noqa: E402


def _proba(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    proba = rng.random((n, classes)) + 1e-3
    return proba / proba.sum(axis=1, keepdims=True)


def _label_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, int]]:
    """(name, labels, columns of y_proba) for every label kind the fast paths take."""
    n = 9000
    codes = rng.integers(0, 3, n)
    late = np.zeros(n, dtype=np.int64)
    late[8000:] = 2
    late[:10] = 1
    names = np.array(["ant", "bee", "cat", "dog", "eel"])
    many = np.array([f"class{i:02d}" for i in range(20)])
    return [
        ("float01", rng.integers(0, 2, n).astype(np.float64), 1),
        ("float32-late-class", late.astype(np.float32), 3),
        ("float-negative", codes.astype(np.float64) - 7.0, 3),
        ("int-gapped", np.array([0, 4, 9])[codes], 3),
        ("int-negative", codes.astype(np.int16) - 300, 3),
        ("uint64-large", codes.astype(np.uint64) + np.uint64(2**63 + 5), 3),
        ("int8-extremes", np.array([-128, 0, 127], dtype=np.int8)[codes], 3),
        ("bool-2-columns", codes.astype(bool), 2),
        ("strings", names[codes], 3),
        ("strings-late-class", names[late], 3),  # "cat" first occurs after the prefix
        ("strings-late-and-missing", names[np.where(late == 2, 4, late)], 3),
        ("strings-many-classes", many[rng.integers(0, 20, n)], 20),
        ("int-wide-range", np.array([0, 1 << 20, 1 << 40])[codes], 3),
    ]


def test_label_fast_paths_match_sklearn(rng: np.random.Generator) -> None:
    for name, y, columns in _label_cases(rng):
        proba = rng.random(len(y)) if columns == 1 else _proba(rng, len(y), columns)
        weight = rng.random(len(y))
        for kwargs in ({}, {"sample_weight": weight, "normalize": False}):
            outcome = assert_same_as_sklearn(plogp, y, proba, **kwargs)
            assert outcome.error is None, name


FAST_PATH_ERRORS = {
    # One class, and a bad y_proba: scikit-learn reports y_proba first.
    "one-class-and-nan-proba": (np.zeros(50, dtype=np.int64), np.full(50, math.nan)),
    "one-class-and-proba-above-1": (np.ones(50), np.full(50, 1.5)),
    "one-string-class-and-inf-proba": (np.full(50, "x"), np.full((50, 2), math.inf)),
    "gapped-classes-vs-columns": (np.array([0, 4, 9] * 10), np.full((30, 4), 0.25)),
    "float-nan-labels": (np.array([0.0, 1.0, math.nan] * 10), np.full((30, 3), 1 / 3)),
    "float-continuous-labels": (np.array([0.0, 1.0, 0.5] * 10), np.full(30, 0.5)),
    "continuous-labels-and-bad-proba": (np.array([0.0, 0.5] * 10), np.full(20, -0.5)),
    "one-class-float": (np.ones(40), np.full(40, 0.3)),
    "bytes-labels": (np.array([b"a", b"b"] * 10), np.full(20, 0.5)),
    "strings-vs-columns": (np.array(["a", "b", "c"] * 10), np.full((30, 2), 0.5)),
    "proba-out-of-range-rows-sum-to-one": (
        np.array([0, 1, 2] * 10),
        np.tile([1.5, -0.25, -0.25], (30, 1)),
    ),
    "nan-proba-2d": (
        np.array([0, 1, 2] * 10),
        np.vstack([np.full((29, 3), 1 / 3), [[math.nan, 0.5, 0.5]]]),
    ),
}


@pytest.mark.parametrize("case", list(FAST_PATH_ERRORS))
def test_fast_path_errors_are_the_compat_layer_errors(case: str) -> None:
    y, proba = FAST_PATH_ERRORS[case]
    theirs = _outcome(sklearn_metrics.log_loss, y, proba)
    ours = assert_same_as_sklearn(plogp, y, proba)
    oracle = _outcome(reference.log_loss, y, proba)
    assert theirs.error is not None and ours.error is not None and oracle.error is not None
    assert type(ours.error) is type(oracle.error)
    assert str(ours.error) == str(oracle.error), (ours.error, oracle.error)
    assert ours.warnings == oracle.warnings == theirs.warnings
