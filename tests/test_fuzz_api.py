"""Fuzz every public function of plogp (and plogp.reference) with arbitrary arguments.

The functions are discovered from ``__all__`` of ``plogp`` and of its submodules ``grad`` and
``metrics`` (and of ``plogp.reference``), so functions added later are covered without editing
this file. A submodule that fails to import fails the test run: it is never silently skipped.
Arguments: arrays of every dtype kind (floats incl. float16, all ints, bool, complex, object,
str, datetime), shapes incl. 0-d and empty, layouts (C, Fortran, reversed, strided, unaligned,
byte-swapped, read-only), plus lists, scalars, None and strings; options of wrong types and
out-of-range values. Contract (SPEC §3): only TypeError or ValueError escapes (never a
PanicException, SystemError or crash), warnings are UserWarnings (plus NumPy's RuntimeWarnings
in the reference), and the caller's arrays are unchanged: same bytes, flags, shape and strides.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import NATIVE, get_impl, requires_native

# Submodules of the native package; plogp.reference has all its functions at the top level.
SUBMODULES = ("grad", "metrics")

DTYPES: tuple[Any, ...] = (
    np.float64,
    np.float32,
    np.float16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
    np.complex128,
    object,
    np.str_,
    "datetime64[s]",
)
SPECIALS = (
    0.0,
    -0.0,
    1.0,
    0.5,
    1e-310,
    1 - 2**-53,
    2.0,
    -1.0,
    3.0,
    1e300,
    math.inf,
    -math.inf,
    math.nan,
)
FLAGS = ("C_CONTIGUOUS", "F_CONTIGUOUS", "OWNDATA", "WRITEABLE", "ALIGNED", "WRITEBACKIFCOPY")
LAYOUTS = ("C", "F", "reversed", "strided", "unaligned", "byteswapped", "readonly")
OPTION_VALUES = (
    None,
    True,
    False,
    0,
    1,
    2,
    -1,
    -3,
    7,
    2**63,
    -(2**70),
    0.0,
    0.5,
    0.499,
    -0.1,
    1e-7,
    math.nan,
    math.inf,
    "mean",
    "sum",
    "none",
    "auto",
    "raise",
    "omit",
    "propagate",
    "",
    "bogus",
    b"mean",
    (0, 1),
    [0],
    {},
    np.float32(0.25),
    np.int64(-1),
    np.array([1.0, 2.0]),
    np.array(2),
)


def _public(module: ModuleType) -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        if callable(obj) and not isinstance(obj, type):
            found.append((f"{module.__name__}.{name}", obj))
    return found


def _functions(impl_name: str) -> list[tuple[str, Callable[..., Any]]]:
    root = get_impl(impl_name)
    funcs = _public(root)
    if impl_name == "native":
        for sub in SUBMODULES:
            funcs.extend(_public(importlib.import_module(f"{root.__name__}.{sub}")))
    return funcs


def _cases() -> list[Any]:
    cases = []
    for impl_name in ("native", "reference"):
        try:
            funcs = _functions(impl_name)
        except pytest.skip.Exception:
            continue
        cases += [pytest.param(impl_name, name, id=f"{impl_name}-{name}") for name, _ in funcs]
    return cases


def _layout(a: np.ndarray, layout: str) -> np.ndarray:
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "reversed" and a.ndim:
        return a[::-1]
    if layout == "strided" and a.ndim:
        return np.repeat(a, 2, axis=0)[::2]
    if layout == "unaligned" and a.dtype != object and a.itemsize > 1:
        buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
        out = np.ndarray(a.shape, dtype=a.dtype, buffer=buf, offset=1)
        out[...] = a
        return out
    if layout == "byteswapped" and a.dtype != object and a.itemsize > 1:
        return a.byteswap().view(a.dtype.newbyteorder())
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
    return a


@st.composite
def _array(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    size = math.prod(shape)
    values = draw(
        st.lists(
            st.one_of(st.sampled_from(SPECIALS), st.floats(0, 1), st.integers(-3, 5).map(float)),
            min_size=size,
            max_size=size,
        )
    )
    base = np.array(values, dtype=np.float64).reshape(shape)
    dtype = draw(st.sampled_from(DTYPES))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # casting NaN/inf to ints warns
        if dtype == "datetime64[s]":
            arr = np.nan_to_num(base).astype(np.int64).astype(dtype)
        elif dtype is np.str_:
            arr = base.astype(np.str_)
        else:
            arr = base.astype(dtype)
    # np.nan_to_num of a 0-d array returns a scalar: make it an array again.
    return _layout(np.asarray(arr), draw(st.sampled_from(LAYOUTS)))


SHAPES = st.one_of(
    st.just(()),
    st.just((0,)),
    st.just((0, 3)),
    st.just((2, 0)),
    st.just((2, 3, 2)),
    st.tuples(st.integers(1, 9)),
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
)


@st.composite
def _argument(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, "abc", 1, 0.5, True, b"\x00", [], [[]], {}]))
    if kind == 1:
        return draw(_array(shape)).tolist()
    if kind == 2:
        return draw(_array(draw(SHAPES)))  # an unrelated shape
    return draw(_array(shape))


def _snapshot(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return (
            "array",
            x.dtype.str,
            x.shape,
            x.strides,
            tuple(x.flags[f] for f in FLAGS),
            x.tobytes() if x.dtype != object else repr(x.tolist()),
        )
    return ("value", repr(x))


def _options(draw: st.DrawFn, params: list[inspect.Parameter]) -> dict[str, Any]:
    options = {}
    for p in params:
        if draw(st.booleans()):
            options[p.name] = draw(st.sampled_from(OPTION_VALUES))
    return options


def _call_checked(
    name: str, func: Callable[..., Any], impl_name: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    """``func(*args, **kwargs)``'s result, or None if it raised TypeError / ValueError."""
    before = [_snapshot(a) for a in args] + [_snapshot(v) for v in kwargs.values()]
    keep = copy.copy(args)
    result = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(*args, **kwargs)
        except (TypeError, ValueError):
            pass
    allowed: tuple[type[Warning], ...] = (UserWarning,)
    if impl_name == "reference":
        allowed += (RuntimeWarning,)
    for w in caught:
        assert issubclass(w.category, allowed), f"{name} warned {w.category.__name__}: {w.message}"
    after = [_snapshot(a) for a in keep] + [_snapshot(v) for v in kwargs.values()]
    assert after == before, f"{name} changed an input"
    return result


@pytest.mark.parametrize(("impl_name", "name"), _cases())
@settings(max_examples=30)
@given(data=st.data())
def test_bad_input_raises_type_or_value_error(
    impl_name: str,
    name: str,
    data: st.DataObject,
) -> None:
    func = dict(_functions(impl_name))[name]
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # a builtin without a text signature
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword = [p for p in params if p.kind == p.KEYWORD_ONLY]
    if name.endswith("set_num_threads"):
        # Any thread count that fits is valid and would really start that many threads:
        # fuzz the types and small values only, then restore the setting.
        module = get_impl(impl_name)
        saved = module.get_num_threads()
        n = data.draw(st.sampled_from([0, -1, 1, 3, 2.5, "2", None, [2], np.int64(2), 2**70]))
        try:
            _call_checked(name, func, impl_name, [n], {})
        finally:
            module.set_num_threads(saved)
        return
    shape = data.draw(SHAPES)
    args = [data.draw(_argument(shape)) for _ in positional]
    if args and data.draw(st.integers(0, 9)) == 0:
        args = args[:-1]  # a missing argument
    kwargs = _options(data.draw, keyword)
    _call_checked(name, func, impl_name, args, kwargs)


def _split_params(func: Callable[..., Any]) -> tuple[list[Any], list[Any]]:
    params = list(inspect.signature(func).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional, [p for p in params if p.kind == p.KEYWORD_ONLY]


# The streaming metrics (classes, so not among the functions above): constructor options,
# update() arguments, merge() partners and result(), under the same contract.
METRICS = (
    sorted(
        name
        for name in NATIVE.metrics.__all__
        if isinstance(getattr(NATIVE.metrics, name), type)
        and hasattr(getattr(NATIVE.metrics, name), "update")
    )
    if NATIVE is not None
    else []
)


@requires_native
@pytest.mark.parametrize("name", METRICS)
@settings(max_examples=30)
@given(data=st.data())
def test_metric_bad_input_raises_type_or_value_error(name: str, data: st.DataObject) -> None:
    assert NATIVE is not None
    metrics = NATIVE.metrics
    cls = getattr(metrics, name)
    _, options = _split_params(cls)
    label = f"plogp.metrics.{name}"
    metric = _call_checked(label, cls, "native", [], _options(data.draw, options))
    if metric is None:
        return
    positional, keyword = _split_params(metric.update)
    for _ in range(data.draw(st.integers(1, 3))):
        shape = data.draw(SHAPES)
        args = [data.draw(_argument(shape)) for _ in positional]
        kwargs = _options(data.draw, keyword)
        _call_checked(f"{label}.update", metric.update, "native", args, kwargs)
    others = [getattr(metrics, other)() for other in METRICS]
    # A copy of the metric itself: same class and options, and merge() must leave it alone
    # (merging the metric into itself adds its state to itself, which is no input change).
    partner = data.draw(st.sampled_from([*others, None, 1, "x", copy.deepcopy(metric)]))
    _call_checked(f"{label}.merge", metric.merge, "native", [partner], {})
    _call_checked(f"{label}.result", metric.result, "native", [], {})


def test_every_public_function_is_fuzzed() -> None:
    names = {name.rsplit(".", 1)[-1] for name, _ in _functions("reference")}
    assert {"entropy", "binary_cross_entropy", "log_loss", "softmax"} <= names
    assert {"grad_binary_cross_entropy", "sparse_categorical_focal_cross_entropy"} <= names
    if NATIVE is not None:
        assert {"BinaryCrossEntropy", "SparseCategoricalCrossEntropy", "Entropy"} <= set(METRICS)


@requires_native
def test_every_native_function_and_submodule_is_fuzzed() -> None:
    names = {name for name, _ in _functions("native")}
    assert {
        "plogp.entropy",
        "plogp.log_loss",
        "plogp.binary_focal_cross_entropy",
        "plogp.grad.binary_cross_entropy",
        "plogp.grad.softmax_cross_entropy",
    } <= names
    # Every function of the reference has its native counterpart among the fuzzed ones.
    native_leaves = {name.replace("plogp.grad.", "plogp.grad_") for name in names}
    prefix = get_impl("reference").__name__ + "."
    missing = {
        name
        for name, _ in _functions("reference")
        if "plogp." + name.removeprefix(prefix) not in native_leaves
    }
    assert not missing, f"fuzzed in the reference only: {sorted(missing)}"
