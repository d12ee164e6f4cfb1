"""Each row of the README's "Reproducing other libraries" table, checked against the peer.

Peers that are not installed are skipped (scikit-learn is a test dependency; torch, keras and
optax are optional).
"""

from __future__ import annotations

import contextlib
import math
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import plogp


@pytest.fixture
def data(rng: np.random.Generator) -> dict[str, Any]:
    n, c = 64, 5
    z = rng.normal(0, 2, (n, c))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return dict(
        n=n,
        c=c,
        z=z,
        p=p,
        y=rng.integers(0, c, n),
        soft=rng.dirichlet(np.ones(c), n),
        yb=rng.integers(0, 2, (n, c)).astype(np.float64),
        pb=rng.uniform(0.01, 0.99, (n, c)),
        s=rng.uniform(0.1, 2.0, n),
        w=rng.uniform(0.1, 2.0, c),
    )


def close(a: Any, b: Any, rtol: float = 1e-6) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=1e-12
    )


# ------------------------------------------------------------------------------- scikit-learn


def test_sklearn_log_loss(data: dict[str, Any]) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    want = metrics.log_loss(data["y"], data["p"], sample_weight=data["s"], labels=range(data["c"]))
    got = plogp.sparse_categorical_cross_entropy(data["y"], data["p"], sample_weight=data["s"])
    close(got, want, 1e-12)


# ------------------------------------------------------------------------------------ PyTorch


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_cross_entropy(data: dict[str, Any], reduction: str) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    y = data["y"].copy()
    y[::7] = -100
    want = F.cross_entropy(
        torch.tensor(data["z"]),
        torch.tensor(y),
        weight=torch.tensor(data["w"]),
        ignore_index=-100,
        label_smoothing=0.15,
        reduction=reduction,
    ).numpy()
    got = plogp.sparse_categorical_cross_entropy(
        y,
        data["z"],
        from_logits=True,
        class_weight=data["w"],
        ignore_index=-100,
        label_smoothing=0.15,
        reduction=reduction,
    )
    close(got, want, 1e-12)


def test_torch_cross_entropy_probability_targets(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.cross_entropy(
        torch.tensor(data["z"]),
        torch.tensor(data["soft"]),
        weight=torch.tensor(data["w"]),
        label_smoothing=0.1,
    ).item()
    got = plogp.categorical_cross_entropy(
        data["soft"], data["z"], from_logits=True, class_weight=data["w"], label_smoothing=0.1
    )
    close(got, want, 1e-12)


def test_torch_nll_loss(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    logp = torch.log_softmax(torch.tensor(data["z"]), 1)
    want = torch.nn.functional.nll_loss(
        logp, torch.tensor(data["y"]), weight=torch.tensor(data["w"])
    ).item()
    got = plogp.sparse_categorical_cross_entropy(
        data["y"], logp.numpy(), from_logits=True, class_weight=data["w"]
    )
    close(got, want, 1e-12)


def test_torch_binary_cross_entropy(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    W = np.broadcast_to(data["s"][:, None], data["yb"].shape)
    want = torch.nn.functional.binary_cross_entropy(
        torch.tensor(data["pb"]), torch.tensor(data["yb"]), weight=torch.tensor(W)
    ).item()
    got = (
        plogp.binary_cross_entropy(
            data["yb"], data["pb"], eps=0.0, sample_weight=data["s"], reduction="sum"
        )
        / data["yb"].size
    )
    close(got, want, 1e-12)


def test_torch_binary_cross_entropy_with_logits(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    W = np.broadcast_to(data["s"][:, None], data["yb"].shape)
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(data["z"]),
        torch.tensor(data["yb"]),
        weight=torch.tensor(W),
        pos_weight=torch.tensor(data["w"]),
    ).item()
    got = (
        plogp.binary_cross_entropy(
            data["yb"],
            data["z"],
            from_logits=True,
            pos_weight=data["w"],
            sample_weight=data["s"],
            reduction="sum",
        )
        / data["yb"].size
    )
    close(got, want, 1e-12)


# -------------------------------------------------------------------------------------- Keras
#
# The rows are checked with Keras computing in float64 (floatx "float64"; on the JAX backend
# also jax_enable_x64), so that the comparison is tight enough to tell the formulas apart,
# on inputs that reach Keras's clipping (p = 0, p = 1) and its renormalisation of p.
# test_keras_losses_float32 checks the same calls once more at Keras's default float32.


@pytest.fixture
def keras_floatx(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ModuleType]]:
    """Keras (skipped if absent); calling the result with a floatx sets it until teardown.

    KERAS_BACKEND is only set (to "jax", when jax is installed) if it is unset and Keras is
    not imported yet, and only for the import; floatx and JAX's x64 flag are restored after
    the test.
    """
    with monkeypatch.context() as env:
        if (
            "keras" not in sys.modules
            and "KERAS_BACKEND" not in os.environ
            and importlib.util.find_spec("jax") is not None
        ):
            env.setenv("KERAS_BACKEND", "jax")
        keras = pytest.importorskip("keras")
    saved = keras.config.floatx()
    with contextlib.ExitStack() as stack:
        stack.callback(keras.config.set_floatx, saved)

        def use(floatx: str) -> ModuleType:
            if floatx == "float64" and keras.backend.backend() == "jax":
                import jax

                stack.enter_context(jax.enable_x64(True))
            keras.config.set_floatx(floatx)
            return keras

        yield use


def keras_edge_data(data: dict[str, Any]) -> dict[str, Any]:
    """The fixture's data with probabilities that Keras clips, and p not summing to 1."""
    c = data["c"]
    yb, pb = data["yb"].copy(), data["pb"].copy()
    # p = 0 and p = 1 (clipped to 1e-7 and 1 − 1e-7), and values just inside and outside.
    yb.flat[:8] = [0, 0, 0, 0, 1, 1, 1, 1]
    pb.flat[:8] = [0.0, 1.0, 1e-9, 1 - 1e-9, 0.0, 1.0, 1e-8, 1 - 1e-6]
    p = data["p"].copy()
    p[0] = [1.0] + [0.0] * (c - 1)  # clipped at 1 − 1e-7 and 1e-7
    p[1, :3] = [0.5, 0.5, 1e-9]  # a tiny probability, clipped
    p[2, :2] = 0.0
    soft = data["soft"].copy()
    soft[1, 2] += 0.5  # weight on the clipped class
    soft[1] /= soft[1].sum()
    scale = 0.2 + 0.8 * data["s"][:, None] / data["s"].max()  # row sums in (0.2, 1]
    return dict(yb=yb, pb=pb, p=p * scale, soft=soft)


def test_keras_losses(data: dict[str, Any], keras_floatx: Callable[[str], ModuleType]) -> None:
    keras = keras_floatx("float64")
    n, s = data["n"], data["s"]
    e = keras_edge_data(data)
    yb, pb, p, soft = e["yb"], e["pb"], e["p"], e["soft"]

    bce = keras.losses.BinaryCrossentropy(label_smoothing=0.1)
    want = np.asarray(bce(yb, pb, sample_weight=s))
    assert want.dtype == np.float64
    got = (
        plogp.binary_cross_entropy(
            yb, pb, eps=1e-7, label_smoothing=0.1, sample_weight=s, reduction="sum"
        )
        / yb.size
    )
    # Keras averages over the class axis with keras.ops.mean, which computes in float32 even
    # for float64 input (Keras's result_type maps float64 to float32), so each row's loss is
    # rounded to float32: measured ≤ 2e-7 relative per row. 1e-6 still catches a different
    # smoothing or clipping rule (those change this number by > 1e-3).
    close(got, want, 1e-6)

    cce = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    want = np.asarray(cce(soft, p, sample_weight=s))
    assert want.dtype == np.float64
    got = (
        plogp.categorical_cross_entropy(
            soft,
            p / p.sum(-1, keepdims=True),
            eps=1e-7,
            label_smoothing=0.1,
            sample_weight=s,
            reduction="sum",
        )
        / n
    )
    close(got, want, 1e-12)

    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    want = np.asarray(scce(data["y"], data["z"], sample_weight=s))
    assert want.dtype == np.float64
    got = (
        plogp.sparse_categorical_cross_entropy(
            data["y"], data["z"], from_logits=True, sample_weight=s, reduction="sum"
        )
        / n
    )
    close(got, want, 1e-12)


def test_keras_categorical_focal(
    data: dict[str, Any], keras_floatx: Callable[[str], ModuleType]
) -> None:
    keras = keras_floatx("float64")
    n, s, soft, z = data["n"], data["s"], data["soft"], data["z"]
    for kw in ({}, {"alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1}):
        focal = keras.losses.CategoricalFocalCrossentropy(
            from_logits=True, **({"alpha": 0.25} | kw)
        )
        want = np.asarray(focal(soft, z, sample_weight=s))
        assert want.dtype == np.float64
        got = (
            plogp.categorical_focal_cross_entropy(
                soft,
                z,
                from_logits=True,
                **({"alpha": 0.25} | kw),
                sample_weight=s,
                reduction="sum",
            )
            / n
        )
        close(got, want, 1e-12)


def test_keras_binary_targets_without_the_trailing_axis(
    data: dict[str, Any], keras_floatx: Callable[[str], ModuleType]
) -> None:
    # Keras squeezes the odd axis: (N,) targets against (N, 1) predictions are N items.
    keras = keras_floatx("float64")
    y, p = data["yb"][:, 0].astype(np.float64), data["pb"][:, :1]
    want = np.asarray(keras.losses.BinaryCrossentropy()(y, p))
    # 1e-6: Keras's mean over the class axis runs in float32 (see test_keras_losses); an
    # (N, N) broadcast would change the number by far more.
    close(plogp.binary_cross_entropy(y, p, eps=1e-7), want, 1e-6)
    assert not math.isclose(
        float(want),
        float(
            np.mean(
                plogp.binary_cross_entropy(
                    np.broadcast_to(y, (y.size, y.size)),
                    np.broadcast_to(p, (y.size, y.size)),
                    eps=1e-7,
                    reduction="none",
                )
            )
        ),
        rel_tol=1e-3,
    )


def test_keras_losses_float32(
    data: dict[str, Any], keras_floatx: Callable[[str], ModuleType]
) -> None:
    # Keras's default: inputs cast to float32, computed in float32. Compared at a float32
    # tolerance (measured ≤ 3e-7 relative; sums of 64 rows of float32 terms).
    keras = keras_floatx("float32")
    n, s = data["n"], data["s"]
    bce = keras.losses.BinaryCrossentropy(label_smoothing=0.1)
    want = float(bce(data["yb"], data["pb"], sample_weight=s))
    got = (
        plogp.binary_cross_entropy(
            data["yb"], data["pb"], eps=1e-7, label_smoothing=0.1, sample_weight=s, reduction="sum"
        )
        / data["yb"].size
    )
    close(got, want, 1e-5)
    cce = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    want = float(cce(data["soft"], data["p"], sample_weight=s))
    got = (
        plogp.categorical_cross_entropy(
            data["soft"], data["p"], eps=1e-7, label_smoothing=0.1, sample_weight=s, reduction="sum"
        )
        / n
    )
    close(got, want, 1e-5)
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    want = float(scce(data["y"], data["z"], sample_weight=s))
    got = (
        plogp.sparse_categorical_cross_entropy(
            data["y"], data["z"], from_logits=True, sample_weight=s, reduction="sum"
        )
        / n
    )
    close(got, want, 1e-5)
    # The one place float32 Keras differs (README): its upper clip bound 1 − 1e-7 is rounded
    # to the float32 1 − 2⁻²³, so y = 0, p = 1 costs 23·log 2 there, −log 1e-7 here.
    y, p = np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])
    want = float(keras.losses.BinaryCrossentropy()(y, p))
    close(want, (23 * np.log(2) - np.log1p(-(2.0**-23))) / 2, 1e-6)
    hi = 1 - 1e-7  # the float64 bound: 1 − hi is 1e-7 to 6e-10 relative
    close(plogp.binary_cross_entropy(y, p, eps=1e-7), -(np.log1p(-hi) + np.log(hi)) / 2, 1e-12)


def test_keras_reductions(data: dict[str, Any], keras_floatx: Callable[[str], ModuleType]) -> None:
    """Each Keras ``reduction`` as a plogp call (README: "Keras reductions")."""
    keras = keras_floatx("float64")
    n, s, y, z = data["n"], data["s"], data["y"], data["z"]
    yb, pb = data["yb"], data["pb"]
    per_row = plogp.sparse_categorical_cross_entropy(y, z, from_logits=True, reduction="none")
    # Keras's binary per-sample loss is the mean over the last axis.
    per_sample = plogp.binary_cross_entropy(yb, pb, eps=1e-7, reduction="none").mean(-1)
    sparse = dict(
        sum=plogp.sparse_categorical_cross_entropy(
            y, z, from_logits=True, sample_weight=s, reduction="sum"
        ),
        sum_over_batch_size=plogp.sparse_categorical_cross_entropy(
            y, z, from_logits=True, sample_weight=s, reduction="sum"
        )
        / n,
        mean=plogp.sparse_categorical_cross_entropy(
            y, z, from_logits=True, sample_weight=s, reduction="sum"
        )
        / n,
        mean_with_sample_weight=plogp.sparse_categorical_cross_entropy(
            y, z, from_logits=True, sample_weight=s
        ),
        none=s * per_row,
    )
    binary = dict(
        sum=plogp.binary_cross_entropy(yb, pb, eps=1e-7, sample_weight=s, reduction="sum")
        / yb.shape[-1],
        sum_over_batch_size=plogp.binary_cross_entropy(
            yb, pb, eps=1e-7, sample_weight=s, reduction="sum"
        )
        / yb.size,
        mean=plogp.binary_cross_entropy(yb, pb, eps=1e-7, sample_weight=s, reduction="sum")
        / yb.size,
        mean_with_sample_weight=plogp.binary_cross_entropy(yb, pb, eps=1e-7, sample_weight=s),
        none=s * per_sample,
    )
    for reduction in sparse:
        red = None if reduction == "none" else reduction
        scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=red)
        want = np.asarray(scce(y, z, sample_weight=s))
        assert want.shape == np.shape(sparse[reduction])
        np.testing.assert_allclose(sparse[reduction], want, rtol=1e-12)
        bce = keras.losses.BinaryCrossentropy(reduction=red)
        want = np.asarray(bce(yb, pb, sample_weight=s))
        assert want.shape == np.shape(binary[reduction])
        # Keras's binary mean over the last axis runs in float32 (see test_keras_losses).
        np.testing.assert_allclose(binary[reduction], want, rtol=1e-6)


# -------------------------------------------------------------------------------------- optax
#
# optax follows JAX's default float32 unless x64 is on; per-example losses near 0 then carry
# float32 cancellation (measured up to 1e-4 relative), so the rows are checked in float64.


@pytest.fixture
def optax64() -> Iterator[ModuleType]:
    optax = pytest.importorskip("optax")
    import jax

    with jax.enable_x64(True):
        yield optax


def test_optax(data: dict[str, Any], optax64: ModuleType) -> None:
    optax = optax64
    want = np.asarray(optax.softmax_cross_entropy(data["z"], data["soft"]))
    assert want.dtype == np.float64
    got = plogp.categorical_cross_entropy(
        data["soft"], data["z"], from_logits=True, reduction="none"
    )
    close(got, want, 1e-12)
    want = np.asarray(optax.softmax_cross_entropy_with_integer_labels(data["z"], data["y"]))
    assert want.dtype == np.float64
    got = plogp.sparse_categorical_cross_entropy(
        data["y"], data["z"], from_logits=True, reduction="none"
    )
    close(got, want, 1e-12)


def test_optax_class_axes(optax64: ModuleType) -> None:
    # optax's own example: logits (1, 2, 3, 4), classes on axes (2, 3), labels raveled there.
    shape = (1, 2, 3, 4)
    z = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    labels = np.ravel_multi_index((np.array([[1, 2]]), np.array([[1, 3]])), shape[2:])
    want = np.asarray(optax64.softmax_cross_entropy_with_integer_labels(z, labels, axis=(2, 3)))
    got = plogp.sparse_categorical_cross_entropy(
        labels, z, from_logits=True, axis=(2, 3), reduction="none"
    )
    close(got, want, 1e-12)
    soft = plogp.softmax(np.sin(z), axis=(2, 3))
    want = np.asarray(optax64.softmax_cross_entropy(z, soft, axis=(2, 3)))
    got = plogp.categorical_cross_entropy(soft, z, from_logits=True, axis=(2, 3), reduction="none")
    close(got, want, 1e-12)


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_optax_sigmoid_focal_loss_soft_labels(
    data: dict[str, Any], optax64: ModuleType, alpha: float | None
) -> None:
    # optax scales the whole cross-entropy by (1 − p_t)^γ, p_t = p·y + (1 − p)·(1 − y), as
    # torchvision and Keras do; soft targets tell it apart from a per-term focus.
    z, y = data["z"].ravel(), data["soft"].ravel()
    want = np.asarray(optax64.sigmoid_focal_loss(z, y, alpha=alpha, gamma=1.5))
    assert want.dtype == np.float64
    got = plogp.binary_focal_cross_entropy(
        y, z, from_logits=True, gamma=1.5, alpha=alpha, reduction="none"
    )
    close(got, want, 1e-12)
