"""The error matrix of SPEC §3: every public function × every bad-input class it can meet.

Each bad call must raise TypeError or ValueError (never a Rust PanicException, which is a
BaseException) whose message names the argument and carries the facts that locate the
mistake: both shapes, the first bad flat index and its value, the allowed values. Both
implementations are held to the same exception types; the wording may differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import (
    ACTIVATIONS,
    INFO_FUNCTIONS,
    INT_DTYPES,
    LOSSES,
    assert_raises_clean,
    shape_pattern,
)

P = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
Q = np.array([[0.3, 0.3, 0.4], [0.2, 0.2, 0.6]])
Z = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
ONE_HOT = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
LABELS = np.array([1, 0])
# Out of [0, 1] first at flat index 4 (value 1.25), then at 5.
OUT_OF_RANGE = np.array([[0.2, 0.3, 0.5], [0.1, 1.25, -0.5]])
BAD_INDEX, BAD_VALUE = r"\b4\b", r"1\.25"

# The positional arguments of a valid call of each function.
VALID: dict[str, dict[str, np.ndarray]] = {
    "entropy": {"p": P},
    "entropy_from_logits": {"z": Z},
    "cross_entropy": {"p": P, "q": Q},
    "kl_divergence": {"p": P, "q": Q},
    "js_divergence": {"p": P, "q": Q},
    **{name: {"z": Z} for name in ACTIVATIONS},
    "binary_cross_entropy": {"y_true": ONE_HOT, "y_pred": P},
    "categorical_cross_entropy": {"y_true": ONE_HOT, "y_pred": P},
    "sparse_categorical_cross_entropy": {"y_true": LABELS, "y_pred": P},
}
AXIS_FUNCTIONS = (
    *INFO_FUNCTIONS,
    "softmax",
    "log_softmax",
    "logsumexp",
    "categorical_cross_entropy",
    "sparse_categorical_cross_entropy",
)
# Arguments holding probabilities that must lie in [0, 1].
PROBABILITY_ARGS = {
    "entropy": ("p",),
    "cross_entropy": ("p", "q"),
    "kl_divergence": ("p", "q"),
    "js_divergence": ("p", "q"),
    "binary_cross_entropy": ("y_true", "y_pred"),
    "categorical_cross_entropy": ("y_true", "y_pred"),
    "sparse_categorical_cross_entropy": ("y_pred",),
}


@dataclass(frozen=True)
class Case:
    """One bad call: ``function(*args, **options)`` must raise ``error`` matching ``patterns``."""

    function: str
    label: str
    error: Any
    patterns: tuple[str, ...]
    replace: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.function}-{self.label}"

    def call(self, impl: ModuleType) -> Any:
        args = {**VALID[self.function], **self.replace}
        return getattr(impl, self.function)(*args.values(), **self.options)


def _bad_dtype_arrays(like: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
    """Arrays shaped like ``like`` in unsupported dtypes, with a regex naming the dtype."""
    return {
        "complex": (like.astype(np.complex128), "complex"),
        "object": (like.astype(object), "object"),
        "str": (np.full(like.shape, "a"), r"str|U\d|unicode"),
        "datetime": (np.zeros(like.shape, dtype="datetime64[s]"), "datetime"),
    }


def _dtype_cases() -> list[Case]:
    cases = []
    for function, args in VALID.items():
        for arg, value in args.items():
            for kind, (bad, dtype_pattern) in _bad_dtype_arrays(value).items():
                cases.append(
                    Case(
                        function,
                        f"{arg}-{kind}",
                        TypeError,
                        (rf"\b{arg}\b", dtype_pattern),
                        {arg: bad},
                    )
                )
    for function in LOSSES:
        for dtype in (np.int64, np.uint8, np.bool_):
            cases.append(
                Case(
                    function,
                    f"y_pred-{np.dtype(dtype).name}",
                    TypeError,
                    (r"\by_pred\b", np.dtype(dtype).name),
                    {"y_pred": (P > 0.25).astype(dtype)},
                )
            )
        weight = np.ones(2)
        for kind, (bad, dtype_pattern) in _bad_dtype_arrays(weight).items():
            cases.append(
                Case(
                    function,
                    f"sample_weight-{kind}",
                    TypeError,
                    (r"\bsample_weight\b", dtype_pattern),
                    options={"sample_weight": bad},
                )
            )
    for dtype in (np.float64, np.float32, np.float16):
        cases.append(
            Case(
                "sparse_categorical_cross_entropy",
                f"float-labels-{np.dtype(dtype).name}",
                TypeError,
                (r"\by_true\b", np.dtype(dtype).name),
                {"y_true": LABELS.astype(dtype)},
            )
        )
    return cases


def _shape_cases() -> list[Case]:
    cases = []
    for function in ("cross_entropy", "kl_divergence", "js_divergence"):
        cases.append(
            Case(
                function,
                "q-shape",
                ValueError,
                (shape_pattern((2, 3)), shape_pattern((2, 4))),
                {"q": np.full((2, 4), 0.25)},
            )
        )
        cases.append(
            Case(
                function,
                "q-transposed",
                ValueError,
                (shape_pattern((2, 3)), shape_pattern((3, 2))),
                {"q": Q.T.copy()},
            )
        )
    for function in ("binary_cross_entropy", "categorical_cross_entropy"):
        for shape in ((2, 4), (3, 2), (6,)):
            cases.append(
                Case(
                    function,
                    f"y_true-shape-{shape}",
                    ValueError,
                    (shape_pattern(shape), shape_pattern((2, 3))),
                    {"y_true": np.zeros(shape)},
                )
            )
    for shape in ((3,), (2, 3), (1,)):
        cases.append(
            Case(
                "sparse_categorical_cross_entropy",
                f"y_true-shape-{shape}",
                ValueError,
                (shape_pattern(shape), shape_pattern((2, 3)) + "|" + shape_pattern((2,))),
                {"y_true": np.zeros(shape, dtype=np.int64)},
            )
        )
    # sample_weight: the item shape, a scalar, leading axes ((N,), (N, 1)) or a NumPy broadcast
    # over one block of axes ((C,) over (N, C)); anything else is an error.
    weight_shapes = {
        "binary_cross_entropy": ((4,), (2, 2), (3, 2), (2, 1, 3), (1, 2, 3, 1, 2)),
        "categorical_cross_entropy": ((3,), (2, 3), (2, 2)),
        "sparse_categorical_cross_entropy": ((3,), (2, 3), (1, 2, 2)),
    }
    item_shapes = {"binary_cross_entropy": (2, 3)}
    for function, shapes in weight_shapes.items():
        item_shape = shape_pattern(item_shapes.get(function, (2,)))
        for shape in shapes:
            cases.append(
                Case(
                    function,
                    f"sample_weight-shape-{shape}",
                    ValueError,
                    (r"\bsample_weight\b", shape_pattern(shape), item_shape),
                    options={"sample_weight": np.ones(shape)},
                )
            )
    return cases


def _range_cases() -> list[Case]:
    cases = []
    for function, args in PROBABILITY_ARGS.items():
        for arg in args:
            cases.append(
                Case(
                    function,
                    f"{arg}-outside-0-1",
                    ValueError,
                    (rf"\b{arg}\b", BAD_INDEX, BAD_VALUE),
                    {arg: OUT_OF_RANGE},
                )
            )
            negative_first = OUT_OF_RANGE.copy()
            negative_first[0, 1] = -0.75
            cases.append(
                Case(
                    function,
                    f"{arg}-negative",
                    ValueError,
                    (rf"\b{arg}\b", r"\b1\b", r"-0\.75"),
                    {arg: negative_first},
                )
            )
    for function in ("binary_cross_entropy", "categorical_cross_entropy"):
        integer_target = np.array([[0, 1, 0], [1, 2, 0]], dtype=np.int32)
        cases.append(
            Case(
                function,
                "y_true-integer-2",
                ValueError,
                (r"\by_true\b", r"\b4\b", r"\b2\b"),
                {"y_true": integer_target},
            )
        )
    return cases


def _label_cases() -> list[Case]:
    y_pred = np.full((8, 3), 1 / 3)
    cases = []
    for dtype in INT_DTYPES:
        name = np.dtype(dtype).name
        too_big = np.array([0, 1, 2, 0, 1, 2, 7, 1], dtype=dtype)
        for from_logits in (False, True):
            cases.append(
                Case(
                    "sparse_categorical_cross_entropy",
                    f"label-too-big-{name}-logits{from_logits}",
                    ValueError,
                    (r"\by_true\b", r"\b6\b", r"\b7\b", r"\b3\b"),
                    {"y_true": too_big, "y_pred": y_pred},
                    {"from_logits": from_logits},
                )
            )
        if np.issubdtype(dtype, np.signedinteger):
            negative = np.array([0, 1, 2, 0, 1, -4, 7, 1], dtype=dtype)
            cases.append(
                Case(
                    "sparse_categorical_cross_entropy",
                    f"label-negative-{name}",
                    ValueError,
                    (r"\by_true\b", r"\b5\b", r"-4\b"),
                    {"y_true": negative, "y_pred": y_pred},
                )
            )
    # With one class, the boolean label True is out of range.
    cases.append(
        Case(
            "sparse_categorical_cross_entropy",
            "label-bool-one-class",
            ValueError,
            (r"\by_true\b", r"\b2\b"),
            {"y_true": np.array([False, False, True, True]), "y_pred": np.ones((4, 1))},
        )
    )
    return cases


def _weight_and_option_cases() -> list[Case]:
    cases = []
    row_weight = {"binary_cross_entropy": np.ones((2, 3))}
    for function in LOSSES:
        weight = row_weight.get(function, np.ones(2))
        for label, bad in (
            ("negative", -2.0),
            ("inf", math.inf),
            ("-inf", -math.inf),
            ("nan", math.nan),
        ):
            w = weight.copy()
            w.flat[1] = bad
            cases.append(
                Case(
                    function,
                    f"sample_weight-{label}",
                    ValueError,
                    (r"\bsample_weight\b", r"\b1\b"),
                    options={"sample_weight": w},
                )
            )
        for eps in (-0.1, 0.5, 0.75, math.nan, math.inf):
            cases.append(
                Case(function, f"eps-{eps}", ValueError, (r"\beps\b",), options={"eps": eps})
            )
        for eps in ("bogus", [0.1]):
            cases.append(
                Case(
                    function,
                    f"eps-{eps!r}",
                    (TypeError, ValueError),
                    (r"\beps\b",),
                    options={"eps": eps},
                )
            )
        cases.append(
            Case(
                function,
                "reduction-int",
                (TypeError, ValueError),
                (r"\breduction\b",),
                options={"reduction": 1},
            )
        )
        for reduction in ("avg", "Mean", "", "elementwise"):
            cases.append(
                Case(
                    function,
                    f"reduction-{reduction!r}",
                    ValueError,
                    (r"\breduction\b", "mean", "sum", "none"),
                    options={"reduction": reduction},
                )
            )
        cases.append(
            Case(
                function,
                "mean-zero-weight",
                ValueError,
                ("zero total weight",),
                options={"sample_weight": np.zeros(weight.shape)},
            )
        )
    empty = {
        "binary_cross_entropy": {"y_true": np.zeros(0), "y_pred": np.zeros(0)},
        "categorical_cross_entropy": {"y_true": np.zeros((0, 3)), "y_pred": np.zeros((0, 3))},
        "sparse_categorical_cross_entropy": {
            "y_true": np.zeros(0, dtype=np.int64),
            "y_pred": np.zeros((0, 3)),
        },
    }
    for function, args in empty.items():
        for from_logits in (False, True):
            cases.append(
                Case(
                    function,
                    f"mean-empty-logits{from_logits}",
                    ValueError,
                    ("zero total weight",),
                    args,
                    {"from_logits": from_logits},
                )
            )
    for function in AXIS_FUNCTIONS:
        for axis in (2, -3, 100):
            cases.append(
                Case(function, f"axis-{axis}", ValueError, (r"\baxis\b",), options={"axis": axis})
            )
        cases.append(Case(function, "axis-float", TypeError, (r"\baxis\b",), options={"axis": 1.5}))
        zero_d = {arg: np.asarray(value.flat[0]) for arg, value in VALID[function].items()}
        cases.append(
            Case(function, "zero-d", ValueError, (r"\baxis\b|dimension|0-d|scalar",), zero_d)
        )
    for function in INFO_FUNCTIONS:
        for base in (0, -2.0, 1, 1.0, math.nan):
            cases.append(
                Case(function, f"base-{base}", ValueError, (r"\bbase\b",), options={"base": base})
            )
        cases.append(Case(function, "base-str", TypeError, (r"\bbase\b",), options={"base": "2"}))
    return cases


CASES = [
    *_dtype_cases(),
    *_shape_cases(),
    *_range_cases(),
    *_label_cases(),
    *_weight_and_option_cases(),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_raises_a_clear_error(impl: ModuleType, case: Case) -> None:
    assert_raises_clean(case.error, lambda: case.call(impl), *case.patterns)


def test_every_function_has_error_cases() -> None:
    covered = {case.function for case in CASES}
    assert covered == set(VALID), set(VALID) - covered


# --------------------------------------------------------------------------------------------
# Edge inputs that are valid: no exception, and the hand-computable value


def test_zero_d_binary_inputs(impl: ModuleType) -> None:
    got = impl.binary_cross_entropy(np.float64(1.0), np.float64(0.3))
    assert math.isclose(got, -math.log(0.3), rel_tol=1e-15)
    got = impl.binary_cross_entropy(np.bool_(False), np.float32(0.25))
    assert math.isclose(got, -math.log1p(-0.25), rel_tol=1e-6)
    got = impl.binary_cross_entropy(0, 0.0, from_logits=True)
    assert math.isclose(got, math.log(2.0), rel_tol=1e-15)
    assert impl.binary_cross_entropy(1.0, 0.3, reduction="sum") == pytest.approx(
        -math.log(0.3), rel=1e-15
    )
    none = impl.binary_cross_entropy(1.0, 0.5, reduction="none")
    assert np.shape(none) == ()
    assert math.isclose(float(none), math.log(2.0), rel_tol=1e-15)


@pytest.mark.parametrize("function", LOSSES)
def test_empty_input_sum_and_none(impl: ModuleType, function: str) -> None:
    args = {
        "binary_cross_entropy": (np.zeros(0), np.zeros(0)),
        "categorical_cross_entropy": (np.zeros((0, 3)), np.zeros((0, 3))),
        "sparse_categorical_cross_entropy": (np.zeros(0, dtype=np.int8), np.zeros((0, 3))),
    }[function]
    total = getattr(impl, function)(*args, reduction="sum")
    assert isinstance(total, float)
    assert total == 0.0
    none = getattr(impl, function)(*args, reduction="none")
    assert isinstance(none, np.ndarray)
    assert none.shape == (0,)


@pytest.mark.parametrize("function", LOSSES)
def test_zero_weights_sum_is_zero(impl: ModuleType, function: str) -> None:
    args = VALID[function]
    weight = np.zeros((2, 3) if function == "binary_cross_entropy" else 2)
    total = getattr(impl, function)(*args.values(), sample_weight=weight, reduction="sum")
    assert total == 0.0


@pytest.mark.parametrize("function", LOSSES)
def test_logits_outside_0_1_are_valid(impl: ModuleType, function: str) -> None:
    args = dict(VALID[function])
    args["y_pred"] = Z * 40
    got = getattr(impl, function)(*args.values(), from_logits=True)
    assert math.isfinite(got)
    assert got > 0


def test_nan_propagates_not_an_error(impl: ModuleType) -> None:
    assert math.isnan(impl.binary_cross_entropy([1.0, 0.0], [math.nan, 0.5]))
    assert math.isnan(impl.entropy([0.5, math.nan]))
    assert math.isnan(
        impl.sparse_categorical_cross_entropy([0], [[math.nan, 0.5]], from_logits=True)
    )


def test_entropy_of_an_empty_distribution_is_zero(impl: ModuleType) -> None:
    assert impl.entropy(np.zeros(0)) == 0.0
    rows = impl.entropy(np.zeros((3, 0)))
    assert rows.shape == (3,)
    assert np.all(rows == 0)


def _available_memory() -> int:
    """Bytes of memory available (0 when unknown)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


HUGE = 2**31 + 17  # more elements than a 32-bit index can count


@pytest.mark.skipif(
    _available_memory() < 3 * HUGE * 5, reason="needs ~3x the 11 GB of a > 2^31-element input"
)
def test_more_than_2_31_elements(native: ModuleType) -> None:
    y = np.ones(HUGE, dtype=np.uint8)
    p = np.full(HUGE, 0.5, dtype=np.float32)
    p[-1] = 0.25  # the last element must be read too
    got = native.binary_cross_entropy(y, p, reduction="sum")
    assert math.isclose(got, (HUGE - 1) * math.log(2) + math.log(4), rel_tol=1e-6)


# --------------------------------------------------------------------------------------------
# Fuzzing: whatever the input, a result or a TypeError / ValueError

FUZZ_DTYPES = st.sampled_from(
    [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint16, np.bool_, np.complex64]
)


@st.composite
def fuzz_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(FUZZ_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    return draw(hnp.arrays(dtype, shape))


FUZZ_OPTIONS = {
    "axis": st.sampled_from([-3, -2, -1, 0, 1, 2, 3]),
    "base": st.sampled_from([None, 2, 10.0, 0.5, 0, -1, 1, math.inf, math.nan]),
    "eps": st.sampled_from(["auto", 0, 1e-7, 0.49, 0.5, -1e-9, math.nan]),
    "reduction": st.sampled_from(["mean", "sum", "none", "max"]),
    "from_logits": st.booleans(),
    "keepdims": st.booleans(),
}
FUNCTION_OPTIONS = {
    "entropy": ("axis", "base", "keepdims"),
    **{name: ("axis", "base") for name in INFO_FUNCTIONS if name != "entropy"},
    "softmax": ("axis",),
    "log_softmax": ("axis",),
    "logsumexp": ("axis",),
    "sigmoid": (),
    "log_sigmoid": (),
    "binary_cross_entropy": ("from_logits", "eps", "reduction"),
    "categorical_cross_entropy": ("from_logits", "axis", "eps", "reduction"),
    "sparse_categorical_cross_entropy": ("from_logits", "axis", "eps", "reduction"),
}


@pytest.mark.parametrize("function", sorted(VALID))
@given(data=st.data())
def test_fuzzed_input_never_crashes(impl: ModuleType, function: str, data: st.DataObject) -> None:
    args = [data.draw(fuzz_arrays(), label=name) for name in VALID[function]]
    options = {
        name: data.draw(FUZZ_OPTIONS[name], label=name)
        for name in FUNCTION_OPTIONS[function]
        if data.draw(st.booleans())
    }
    if function in LOSSES and data.draw(st.booleans(), label="weighted"):
        options["sample_weight"] = data.draw(fuzz_arrays(), label="sample_weight")
    snapshot = [a.copy() for a in args]
    try:
        getattr(impl, function)(*args, **options)
    except (TypeError, ValueError):
        pass
    except BaseException as exc:  # a PanicException is not an Exception
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AssertionError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}") from exc
    for before, after in zip(snapshot, args):
        assert before.tobytes() == after.tobytes(), "an input array was modified"
