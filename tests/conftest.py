"""Shared fixtures and helpers of the plogp test suite.

``impl`` runs a test once per implementation: ``plogp.reference`` (plain NumPy) always, and
the native package ``plogp`` when ``plogp._native`` is built. ``native`` / ``reference`` give
one of them directly (``native`` skips when the extension is absent). The helpers here are the
only place that knows about array layouts, exact sums and tolerances, so every test file
checks the same contract the same way.

Only a missing extension is a skip, and ``PLOGP_REQUIRE_NATIVE=1`` (set in CI) makes it an
error: a package that fails to import for any other reason (a broken module, a missing
dependency, an extension that does not load) stops the run instead of skipping its tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import math
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]

# Modest example counts and no deadline keep the suite in well under 3 minutes on 2 cores;
# no example database: a failure prints its example, to be kept as an explicit regression.
# Under CI the examples are derandomized, so that a red CI run reproduces exactly.
settings.register_profile(
    "plogp",
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("plogp")

# Hypothesis imports its patch writer (libcst, which trips a mypy_extensions
# DeprecationWarning) only when a test fails, inside pytest's `filterwarnings = error`:
# the report would become an INTERNALERROR instead of the failing example. Import it now.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        importlib.import_module("hypothesis.extra._patching")

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
INT_DTYPES = (
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
)
LABEL_DTYPES = (*INT_DTYPES, np.bool_)

# Public functions of the contract (the math: runtime controls are native-only).
INFO_FUNCTIONS = (
    "entropy",
    "entropy_from_logits",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
)
ACTIVATIONS = ("softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid")
LOSSES = ("binary_cross_entropy", "categorical_cross_entropy", "sparse_categorical_cross_entropy")
PUBLIC_FUNCTIONS = (*INFO_FUNCTIONS, *ACTIVATIONS, *LOSSES, "log_loss")

# One chunk of the native kernels is 32768 elements: this length spans several chunks and
# ends in a partial one (odd, not a multiple of any lane count).
ABOVE_ONE_CHUNK = 100_003


def _load_reference() -> ModuleType:
    try:
        return importlib.import_module("plogp.reference")
    except ModuleNotFoundError as exc:
        if exc.name not in ("plogp", "plogp._native"):
            raise
    # The package does not import without its extension: import plogp.reference (plain NumPy,
    # and the private modules it uses) from this checkout under a bare package that does not
    # run plogp/__init__.py; then drop those entries, so `import plogp` still fails as it must.
    before = set(sys.modules)
    package = ModuleType("plogp")
    package.__path__ = [str(REPO / "python" / "plogp")]
    sys.modules["plogp"] = package
    try:
        return importlib.import_module("plogp.reference")
    finally:
        for name in set(sys.modules) - before:
            if name == "plogp" or name.startswith("plogp."):
                del sys.modules[name]


NATIVE_MISSING = "plogp._native is not built"
# CI sets PLOGP_REQUIRE_NATIVE=1: there the extension is always built, and a run that skipped
# the native tests would pass without testing the product.
REQUIRE_NATIVE = os.environ.get("PLOGP_REQUIRE_NATIVE", "").strip() not in ("", "0")


def _load_native() -> ModuleType | None:
    """The package ``plogp``; None only when its extension module does not exist."""
    try:
        importlib.import_module("plogp._native")
    except ModuleNotFoundError as exc:
        # Anything but the extension (or the package) itself being absent is a real failure.
        if exc.name not in ("plogp", "plogp._native"):
            raise
        if REQUIRE_NATIVE:
            raise RuntimeError(
                f"PLOGP_REQUIRE_NATIVE is set but {NATIVE_MISSING}: {exc} "
                f"(build it with `pip install .` or `maturin develop`)"
            ) from exc
        return None
    return importlib.import_module("plogp")


REFERENCE = _load_reference()
NATIVE = _load_native()
HAS_NATIVE = NATIVE is not None
requires_native = pytest.mark.skipif(not HAS_NATIVE, reason=NATIVE_MISSING)

IMPL_PARAMS = [
    pytest.param("reference", id="reference"),
    pytest.param("native", id="native", marks=requires_native),
]


def get_impl(name: str) -> ModuleType:
    """The implementation called ``name`` ("reference" or "native")."""
    if name == "reference":
        return REFERENCE
    if NATIVE is None:
        pytest.skip(NATIVE_MISSING)
    return NATIVE


@pytest.fixture(scope="session", params=IMPL_PARAMS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """Each implementation of the public functions in turn."""
    return get_impl(request.param)


@pytest.fixture(scope="session")
def native() -> ModuleType:
    """The native package ``plogp`` (skips the test when the extension is not built)."""
    return get_impl("native")


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """``plogp.reference``, the plain-NumPy oracle."""
    return REFERENCE


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's id: reproducible, different for every test."""
    digest = hashlib.sha256(request.node.nodeid.encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


# --------------------------------------------------------------------------------------------
# Random inputs


def random_probs(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float64, *, axis: int = -1
) -> np.ndarray:
    """Distributions along ``axis`` (Dirichlet rows; entries in (0, 1], rows sum to ~1)."""
    x = rng.gamma(0.7, size=shape) + 1e-12
    if x.ndim and x.shape[axis]:
        x = x / x.sum(axis=axis, keepdims=True)
    return np.clip(x, 0.0, 1.0).astype(dtype)


def random_labels(
    rng: np.random.Generator, n_classes: int, shape: tuple[int, ...], dtype: Any = np.int64
) -> np.ndarray:
    """Class labels in [0, n_classes)."""
    return rng.integers(0, n_classes, size=shape).astype(dtype)


# --------------------------------------------------------------------------------------------
# Layouts: the same values in every memory layout the contract accepts

LAYOUTS = ("contiguous", "fortran", "strided", "reversed", "readonly", "memmap")


def as_layout(a: Any, layout: str, directory: Path | None) -> np.ndarray:
    """``a``'s values in the given layout (``directory`` holds the memmap files)."""
    a = np.asarray(a)
    if layout == "contiguous" or (a.ndim == 0 and layout != "memmap"):
        return np.array(a, order="C", copy=True)
    if layout == "fortran":
        return np.asfortranarray(a).copy(order="F")
    if layout == "strided":
        big = np.zeros(tuple(2 * n + 1 for n in a.shape), dtype=a.dtype)
        view = big[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
        assert a.size <= 1 or not view.flags.c_contiguous
        return view
    if layout == "reversed":
        flipped = np.flip(a).copy()
        return np.flip(flipped)
    if layout == "readonly":
        out = a.copy()
        out.flags.writeable = False
        return out
    if layout == "memmap":
        assert directory is not None, "a memmap needs a directory"
        path = directory / f"memmap-{len(list(directory.iterdir()))}.npy"
        writer = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=a.shape)
        writer[...] = a
        writer.flush()
        del writer
        return np.load(path, mmap_mode="r")
    raise AssertionError(f"unknown layout {layout!r}")


@pytest.fixture
def layout_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("layouts")


# --------------------------------------------------------------------------------------------
# Inputs are never modified


@contextmanager
def unchanged(*arrays: Any) -> Iterator[None]:
    """Asserts that every ndarray among ``arrays`` is byte-for-byte the same after the block."""
    watched = [a for a in arrays if isinstance(a, np.ndarray)]
    before = [(a.dtype, a.shape, a.tobytes()) for a in watched]
    yield
    for i, (a, (dtype, shape, data)) in enumerate(zip(watched, before)):
        assert a.dtype == dtype, f"input {i} changed dtype"
        assert a.shape == shape, f"input {i} changed shape"
        assert a.tobytes() == data, f"input {i} was modified in place"


# --------------------------------------------------------------------------------------------
# Tolerances


def compute_dtype(*arrays: Any) -> np.dtype:
    """The float dtype a call computes in: the promoted input dtype, float16 as float32."""
    dtype = np.result_type(*[np.asarray(a).dtype for a in arrays])
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def assert_elementwise_close(actual: Any, expected: Any, dtype: Any, scale: Any = 0.0) -> None:
    """Per-element / per-row results agree to a few ulp of ``dtype``.

    ``scale`` is the magnitude of the terms behind each value (it may be an array
    broadcasting against the result): values that are small because large terms cancel get
    an absolute tolerance of a few ulp of that magnitude.
    """
    dtype = np.dtype(dtype)
    eps = float(np.finfo(dtype).eps)
    assert np.shape(actual) == np.shape(expected), (np.shape(actual), np.shape(expected))
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"expected an ndarray, got {type(actual)}"
        assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    atol = 4 * eps * np.asarray(scale, dtype=np.float64) + float(np.finfo(dtype).tiny)
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    bound = atol + 4 * eps * np.abs(e)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities pass through a == e
        same = (a == e) | (np.isnan(a) & np.isnan(e)) | (np.abs(a - e) <= bound)
    if not np.all(same):
        bad = np.flatnonzero(~np.asarray(same))
        i = int(bad[0])
        raise AssertionError(
            f"{bad.size} of {a.size} values differ beyond 4 ulp of {dtype}; first at flat "
            f"index {i}: actual {a.ravel()[i]!r}, expected {e.ravel()[i]!r}"
        )


def reduction_rtol(dtype: Any) -> float:
    """Tolerance of a full reduction: f64 sums agree to 1e-12, f32 (and f16) ones to 1e-6."""
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-6


def assert_reduction_close(actual: Any, expected: Any, dtype: Any) -> None:
    """A full reduction is a Python float agreeing with ``expected`` (inf / nan included)."""
    assert isinstance(actual, float), f"a reduction returns a Python float, got {type(actual)}"
    assert isinstance(expected, float), f"a reduction returns a Python float, got {type(expected)}"
    if math.isnan(expected) or math.isinf(expected):
        assert actual == expected or (math.isnan(actual) and math.isnan(expected)), (
            actual,
            expected,
        )
        return
    assert math.isclose(actual, expected, rel_tol=reduction_rtol(dtype), abs_tol=1e-300), (
        actual,
        expected,
    )


# --------------------------------------------------------------------------------------------
# Exact sums for the accuracy tests

EXTENDED = np.longdouble
HAS_EXTENDED = np.finfo(np.longdouble).nmant >= 63


def extended(a: Any) -> np.ndarray:
    """``a`` as an extended-precision (x87 80-bit) array, for computing exact-enough terms."""
    if not HAS_EXTENDED:
        pytest.skip("np.longdouble is not an extended-precision type on this platform")
    return np.asarray(a).astype(EXTENDED)


def exact_fraction(terms: Any) -> Fraction:
    """The exact sum of extended-precision ``terms`` as a Fraction.

    Each term is split into two doubles (hi + lo, exactly); math.fsum gives the correctly
    rounded sum of the pieces and, with that sum subtracted, the residual.
    """
    t = np.asarray(terms, dtype=EXTENDED).ravel()
    hi = t.astype(np.float64)
    lo = (t - hi.astype(EXTENDED)).astype(np.float64)
    parts = hi.tolist() + lo.tolist()
    total = math.fsum(parts)
    if not math.isfinite(total):
        raise AssertionError(f"the exact sum is not finite: {total}")
    residual = math.fsum([*parts, -total])
    return Fraction(total) + Fraction(residual)


def exact_sum(terms: Any, divisor: Any = 1) -> float:
    """``sum(terms) / divisor`` rounded once to the nearest double (divisor: a number or
    extended-precision terms whose exact sum is the divisor)."""
    denominator = Fraction(divisor) if np.ndim(divisor) == 0 else exact_fraction(divisor)
    return float(exact_fraction(terms) / denominator)


def relative_error(value: float, exact: float) -> float:
    return abs(value - exact) / abs(exact)


# --------------------------------------------------------------------------------------------
# Subprocesses (thread-count and SIMD-tier invariance, stub check)


def run_python(
    code: str,
    env: dict[str, str] | None = None,
    *,
    argv: Sequence[str] = (),
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` (with ``sys.argv[1:] == argv``) in a fresh interpreter, with this
    process's environment minus any ``PLOGP_*`` variable, plus ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PLOGP_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# Errors: a built-in exception with a helpful message, never a Rust panic


def assert_raises_clean(
    expected: type[BaseException] | tuple[type[BaseException], ...], call: Any, *patterns: str
) -> BaseException:
    """Calls ``call()`` and asserts it raises ``expected`` whose message matches every regex
    in ``patterns``. Anything else — no exception, another type, or a
    ``pyo3_runtime.PanicException`` (a BaseException, so ``pytest.raises(Exception)`` would let
    it through) — fails the test."""
    try:
        call()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a PanicException is not an Exception
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        if not isinstance(exc, expected):
            raise AssertionError(f"expected {expected}, got {kind}: {exc}") from exc
        # The notes (PEP 678) are part of what the user reads under the message.
        message = "\n".join([str(exc), *getattr(exc, "__notes__", ())])
        for pattern in patterns:
            assert re.search(pattern, message), (
                f"{kind} message {message!r} does not match {pattern!r}"
            )
        return exc
    raise AssertionError(f"no exception raised, expected {expected}")


def shape_pattern(shape: tuple[int, ...]) -> str:
    """A regex matching ``shape`` written as a Python tuple or as a list."""
    as_tuple = re.escape(str(tuple(shape)))
    as_list = re.escape(str(list(shape)))
    return f"{as_tuple}|{as_list}"
