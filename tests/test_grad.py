"""plogp.grad: gradients and Hessians against finite differences, parity, out=, errors."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest

from conftest import REFERENCE as reference_module
from conftest import assert_raises_clean, random_labels, unchanged
from plogp import grad


class _Grad:
    """One implementation of the gradient API under the names of ``plogp.grad``."""

    def __init__(self, name: str, binary: object, softmax: object) -> None:
        self.name, self.binary_cross_entropy, self.softmax_cross_entropy = name, binary, softmax

    def __repr__(self) -> str:
        return self.name


def _native_grad() -> _Grad:
    return _Grad("native", grad.binary_cross_entropy, grad.softmax_cross_entropy)


REFERENCE = _Grad(
    "reference",
    reference_module.grad_binary_cross_entropy,
    reference_module.grad_softmax_cross_entropy,
)


@pytest.fixture(params=["native", "reference"])
def g(request: pytest.FixtureRequest) -> _Grad:
    return _native_grad() if request.param == "native" else REFERENCE


def _central(f: object, x: np.ndarray, h: float) -> np.ndarray:
    """Central differences of ``f`` at every element of ``x`` (one element moved at a time)."""
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        out[i] = (f(up) - f(down)) / (2 * h)
    return out


def test_binary_gradient_and_hessian_by_finite_differences(
    g: _Grad, impl: ModuleType, rng: np.random.Generator
) -> None:
    z = rng.normal(0, 2, 40)
    y = rng.uniform(0, 1, 40)
    y[:15] = np.round(y[:15])
    w = rng.uniform(0.5, 2, 40)
    grad, hess = g.binary_cross_entropy(y, z, sample_weight=w, hessian=True)

    def loss(zz: np.ndarray) -> float:
        return impl.binary_cross_entropy(y, zz, from_logits=True, sample_weight=w, reduction="sum")

    np.testing.assert_allclose(grad, _central(loss, z, 1e-5), rtol=1e-6, atol=1e-9)
    fd_hess = np.array(
        [
            (
                g.binary_cross_entropy(y, z + e, sample_weight=w)[i]
                - g.binary_cross_entropy(y, z - e, sample_weight=w)[i]
            )
            / 2e-6
            for i, e in ((i, np.eye(40)[i] * 1e-6) for i in range(40))
        ]
    )
    np.testing.assert_allclose(hess, fd_hess, rtol=1e-6, atol=1e-9)


def test_softmax_gradient_and_hessian_by_finite_differences(
    g: _Grad, impl: ModuleType, rng: np.random.Generator
) -> None:
    z = rng.normal(0, 2, (12, 5))
    labels = random_labels(rng, 5, (12,))
    w = rng.uniform(0.5, 2, 12)
    grad, hess = g.softmax_cross_entropy(labels, z, sample_weight=w, hessian=True)

    def loss(zz: np.ndarray) -> float:
        return impl.sparse_categorical_cross_entropy(
            labels, zz, from_logits=True, sample_weight=w, reduction="sum"
        )

    np.testing.assert_allclose(grad, _central(loss, z, 1e-5), rtol=1e-6, atol=1e-9)
    fd_hess = np.empty_like(z)
    for i in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        fd_hess[i] = (
            g.softmax_cross_entropy(labels, up, sample_weight=w)[i]
            - g.softmax_cross_entropy(labels, down, sample_weight=w)[i]
        ) / 2e-6
    np.testing.assert_allclose(hess, fd_hess, rtol=1e-6, atol=1e-9)


def test_binary_is_stable_for_extreme_logits(g: _Grad) -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.5])
    z = np.array([1e30, -1e30, -1e30, 1e30, 40.0, -np.inf])
    grad, hess = g.binary_cross_entropy(y, z, hessian=True)
    assert list(grad[:4]) == [0.0, 0.0, -1.0, 1.0]
    assert list(hess[:4]) == [0.0, 0.0, 0.0, 0.0]
    e = math.exp(-40.0)
    # σ(40) − 1 and σ(40)σ(−40) are ≈ e^−40, far from the cancellation to 0 of 1 − σ(40).
    assert math.isclose(grad[4], -e / (1 + e), rel_tol=1e-15)
    assert hess[4] > 0 and math.isclose(hess[4], e / (1 + e) ** 2, rel_tol=1e-15)
    assert grad[5] == -0.5 and hess[5] == 0.0
    z = np.array([-700.0, 700.0])
    hess = g.binary_cross_entropy([0, 1], z, hessian=True)[1]
    assert np.all(hess > 0)  # representable: never flushed to 0 by 1 − σ


def test_softmax_is_stable(g: _Grad) -> None:
    z = np.array([[0.0, 0.0, 60.0], [1e300, 0.0, -np.inf]])
    grad, hess = g.softmax_cross_entropy([2, 0], z, hessian=True)
    e = 2 * math.exp(-60.0)
    assert math.isclose(grad[0, 2], -e / (1 + e), rel_tol=1e-14)
    assert hess[0, 2] > 0 and math.isclose(hess[0, 2], e / (1 + e) ** 2, rel_tol=1e-14)
    assert list(grad[1]) == [0.0, 0.0, 0.0] and list(hess[1]) == [0.0, 0.0, 0.0]
    grad = g.softmax_cross_entropy([0], [[np.nan, 1.0]])
    assert np.all(np.isnan(grad))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_parity_and_dtypes(rng: np.random.Generator, dtype: type) -> None:
    native = _native_grad()
    n, c = 50_001, 7
    z = rng.normal(0, 5, (n, c)).astype(dtype)
    y = (rng.uniform(0, 1, (n, c)) < 0.2).astype(np.uint8)
    labels = random_labels(rng, c, (n,), np.int32)
    w = rng.uniform(0, 3, n)
    out_dtype = np.float64 if dtype == np.float64 else np.float32
    rtol = 1e-15 * 4 if dtype == np.float64 else 1e-6
    for fn, target in (("binary_cross_entropy", y), ("softmax_cross_entropy", labels)):
        with unchanged(z, target, w):
            a = getattr(native, fn)(target, z, sample_weight=w, hessian=True)
        b = getattr(REFERENCE, fn)(target, z, sample_weight=w, hessian=True)
        for x, r in zip(a, b):
            assert x.dtype == r.dtype == out_dtype and x.shape == z.shape
            np.testing.assert_allclose(x, r, rtol=rtol, atol=1e-300)


def test_deterministic_across_threads(rng: np.random.Generator) -> None:
    import plogp

    native = _native_grad()
    z = rng.normal(0, 3, (100_003, 5))
    labels = random_labels(rng, 5, (100_003,))
    before = plogp.get_num_threads()
    try:
        runs = []
        for threads in (1, 2, 3):
            plogp.set_num_threads(threads)
            runs.append(
                native.softmax_cross_entropy(labels, z, hessian=True)
                + native.binary_cross_entropy(z > 0, z, hessian=True)
            )
    finally:
        plogp.set_num_threads(before)
    for run in runs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(runs[0], run))


def test_out_arrays(g: _Grad, rng: np.random.Generator) -> None:
    z = rng.normal(0, 1, (30, 4))
    labels = random_labels(rng, 4, (30,))
    y = (z > 0).astype(np.float64)
    for fn, target in ((g.binary_cross_entropy, y), (g.softmax_cross_entropy, labels)):
        want_g, want_h = fn(target, z, hessian=True)
        og = np.full_like(z, np.nan)
        assert fn(target, z, out=og) is og
        assert np.array_equal(og, want_g)
        og, oh = np.full_like(z, np.nan), np.full_like(z, np.nan)
        res = fn(target, z, hessian=True, out=(og, oh))
        assert res[0] is og and res[1] is oh
        assert np.array_equal(og, want_g) and np.array_equal(oh, want_h)
        f32 = np.empty(z.shape, np.float32)
        assert_raises_clean(TypeError, lambda: fn(target, z, out=f32), "out", "float64")
        assert_raises_clean(TypeError, lambda: fn(target, z, out=[0.0] * z.size), "out")
        assert_raises_clean(
            ValueError, lambda: fn(target, z, out=np.empty((4, 30))), "out", "shape"
        )
        assert_raises_clean(
            ValueError, lambda: fn(target, z, out=np.empty((4, 30)).T), "out", "contiguous"
        )
        ro = np.empty_like(z)
        ro.flags.writeable = False
        assert_raises_clean(ValueError, lambda: fn(target, z, out=ro), "out", "writeable")
        zc = z.copy()
        with unchanged(zc):
            assert_raises_clean(ValueError, lambda: fn(target, zc, out=zc), "out", "share")
        assert_raises_clean(TypeError, lambda: fn(target, z, hessian=True, out=og), "out")
        assert_raises_clean(ValueError, lambda: fn(target, z, hessian=True, out=(og, og)), "out")
        assert_raises_clean(
            ValueError, lambda: fn(target, z, hessian=True, out=(og, z)), r"out\[1\]"
        )
    out32 = np.empty((30, 4), np.float32)
    assert g.binary_cross_entropy(y, z.astype(np.float32), out=out32) is out32


def test_errors(g: _Grad) -> None:
    z = np.zeros((3, 2))
    assert_raises_clean(
        ValueError, lambda: g.softmax_cross_entropy([0, 2, 1], z), r"\[1\] = 2", "2 classes"
    )
    assert_raises_clean(ValueError, lambda: g.softmax_cross_entropy([0, -1, 1], z), "-1")
    assert_raises_clean(TypeError, lambda: g.softmax_cross_entropy([0.0, 1.0, 1.0], z), "labels")
    assert_raises_clean(ValueError, lambda: g.softmax_cross_entropy([0, 1], z), "labels")
    assert_raises_clean(ValueError, lambda: g.softmax_cross_entropy([0, 1, 0], z[0]), "logits")
    assert_raises_clean(
        ValueError,
        lambda: g.softmax_cross_entropy([0, 1, 0], z, sample_weight=[1.0, -1.0, 1.0]),
        "sample_weight",
    )
    assert_raises_clean(
        ValueError, lambda: g.binary_cross_entropy([0.0, 1.5], [0.0, 1.0]), "y_true"
    )
    assert_raises_clean(
        ValueError, lambda: g.binary_cross_entropy([0.0, 1.0], [0.0]), "y_true", "logits"
    )
    assert_raises_clean(TypeError, lambda: g.binary_cross_entropy([0, 1], [0, 1]), "logits")
    assert_raises_clean(
        ValueError,
        lambda: g.binary_cross_entropy([0, 1], [0.0, 1.0], sample_weight=[1.0, np.inf]),
        "sample_weight",
    )
