"""Each row of the README's "Reproducing other libraries" table, checked against the peer.

Peers that are not installed are skipped (scikit-learn is a test dependency; torch, keras and
optax are optional).
"""

from __future__ import annotations

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
        n=n, c=c, z=z, p=p,
        y=rng.integers(0, c, n),
        soft=rng.dirichlet(np.ones(c), n),
        yb=rng.integers(0, 2, (n, c)).astype(np.float64),
        pb=rng.uniform(0.01, 0.99, (n, c)),
        s=rng.uniform(0.1, 2.0, n),
        w=rng.uniform(0.1, 2.0, c),
    )


def close(a: Any, b: Any, rtol: float = 1e-6) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64),
                               np.asarray(b, dtype=np.float64), rtol=rtol, atol=1e-12)


# ------------------------------------------------------------------------------- scikit-learn


def test_sklearn_log_loss(data: dict[str, Any]) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    want = metrics.log_loss(data["y"], data["p"], sample_weight=data["s"],
                            labels=range(data["c"]))
    got = plogp.sparse_categorical_cross_entropy(data["y"], data["p"], sample_weight=data["s"])
    close(got, want, 1e-12)


# ------------------------------------------------------------------------------------ PyTorch


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_cross_entropy(data: dict[str, Any], reduction: str) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    y = data["y"].copy()
    y[::7] = -100
    want = F.cross_entropy(torch.tensor(data["z"]), torch.tensor(y),
                           weight=torch.tensor(data["w"]), ignore_index=-100,
                           label_smoothing=0.15, reduction=reduction).numpy()
    got = plogp.sparse_categorical_cross_entropy(
        y, data["z"], from_logits=True, class_weight=data["w"], ignore_index=-100,
        label_smoothing=0.15, reduction=reduction)
    close(got, want, 1e-12)


def test_torch_cross_entropy_probability_targets(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.cross_entropy(
        torch.tensor(data["z"]), torch.tensor(data["soft"]), weight=torch.tensor(data["w"]),
        label_smoothing=0.1).item()
    got = plogp.categorical_cross_entropy(data["soft"], data["z"], from_logits=True,
                                          class_weight=data["w"], label_smoothing=0.1)
    close(got, want, 1e-12)


def test_torch_nll_loss(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    logp = torch.log_softmax(torch.tensor(data["z"]), 1)
    want = torch.nn.functional.nll_loss(logp, torch.tensor(data["y"]),
                                        weight=torch.tensor(data["w"])).item()
    got = plogp.sparse_categorical_cross_entropy(data["y"], logp.numpy(), from_logits=True,
                                                 class_weight=data["w"])
    close(got, want, 1e-12)


def test_torch_binary_cross_entropy(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    W = np.broadcast_to(data["s"][:, None], data["yb"].shape)
    want = torch.nn.functional.binary_cross_entropy(
        torch.tensor(data["pb"]), torch.tensor(data["yb"]), weight=torch.tensor(W)).item()
    got = plogp.binary_cross_entropy(data["yb"], data["pb"], eps=0.0, sample_weight=data["s"],
                                     reduction="sum") / data["yb"].size
    close(got, want, 1e-12)


def test_torch_binary_cross_entropy_with_logits(data: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    W = np.broadcast_to(data["s"][:, None], data["yb"].shape)
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(data["z"]), torch.tensor(data["yb"]), weight=torch.tensor(W),
        pos_weight=torch.tensor(data["w"])).item()
    got = plogp.binary_cross_entropy(data["yb"], data["z"], from_logits=True,
                                     pos_weight=data["w"], sample_weight=data["s"],
                                     reduction="sum") / data["yb"].size
    close(got, want, 1e-12)


# -------------------------------------------------------------------------------------- Keras


def test_keras_losses(data: dict[str, Any]) -> None:
    keras = pytest.importorskip("keras")
    n, s = data["n"], data["s"]
    bce = keras.losses.BinaryCrossentropy(label_smoothing=0.1)
    want = float(bce(data["yb"], data["pb"], sample_weight=s))
    got = plogp.binary_cross_entropy(data["yb"], data["pb"], eps=1e-7, label_smoothing=0.1,
                                     sample_weight=s, reduction="sum") / data["yb"].size
    close(got, want, 1e-5)
    cce = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    want = float(cce(data["soft"], data["p"], sample_weight=s))
    got = plogp.categorical_cross_entropy(data["soft"], data["p"], eps=1e-7, label_smoothing=0.1,
                                          sample_weight=s, reduction="sum") / n
    close(got, want, 1e-5)
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    want = float(scce(data["y"], data["z"], sample_weight=s))
    got = plogp.sparse_categorical_cross_entropy(data["y"], data["z"], from_logits=True,
                                                 sample_weight=s, reduction="sum") / n
    close(got, want, 1e-5)


# -------------------------------------------------------------------------------------- optax


def test_optax(data: dict[str, Any]) -> None:
    optax = pytest.importorskip("optax")
    want = np.asarray(optax.softmax_cross_entropy(data["z"], data["soft"]))
    got = plogp.categorical_cross_entropy(data["soft"], data["z"], from_logits=True,
                                          reduction="none")
    close(got, want, 1e-5)
    want = np.asarray(optax.softmax_cross_entropy_with_integer_labels(data["z"], data["y"]))
    got = plogp.sparse_categorical_cross_entropy(data["y"], data["z"], from_logits=True,
                                                 reduction="none")
    close(got, want, 1e-5)
