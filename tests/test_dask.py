"""`plogp.dask` on a `dask.distributed` cluster of worker processes: block-wise metrics
merged in a tree give the one-shot NumPy result (≤ 2 ulp)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import plogp  # noqa: E402
import plogp.dask as pd  # noqa: E402
from plogp._loss_state import metrics_module  # noqa: E402

metrics = metrics_module()

ULP = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
        worker_dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def assert_ulps(got: float, want: float, ulps: int = 2) -> None:
    assert isinstance(got, float)
    assert abs(got - want) <= ulps * ULP * abs(want), (got, want, (got - want) / want / ULP)


def test_binary_on_the_cluster(client: object) -> None:
    rng = np.random.default_rng(0)
    n = 200_003
    p = rng.uniform(0.0, 1.0, n)
    y = (rng.random(n) < p).astype(np.float32)
    w = rng.uniform(0.0, 2.0, n)
    # y_true chunked differently from y_pred: rechunked to match.
    got = pd.binary_cross_entropy(da.from_array(y, chunks=30_000),
                                  da.from_array(p, chunks=17_000),
                                  sample_weight=da.from_array(w, chunks=50_000))
    assert_ulps(got, plogp.binary_cross_entropy(y, p, sample_weight=w))
    lazy = pd.binary_cross_entropy(da.from_array(y, chunks=30_000),
                                   da.from_array(p, chunks=17_000), reduction="sum",
                                   compute=False)
    assert hasattr(lazy, "compute")
    assert_ulps(lazy.compute(), plogp.binary_cross_entropy(y, p, reduction="sum"))


def test_categorical_and_sparse_logits_on_the_cluster(client: object) -> None:
    rng = np.random.default_rng(1)
    n, classes = 60_001, 10
    z = rng.normal(0.0, 4.0, (n, classes))
    labels = rng.integers(0, classes, n)
    onehot = np.eye(classes)[labels]
    # Class axis split into blocks too: plogp.dask makes it one block.
    z_dask = da.from_array(z, chunks=(7_000, 4))
    got = pd.sparse_categorical_cross_entropy(da.from_array(labels, chunks=9_000), z_dask,
                                              from_logits=True)
    assert_ulps(got, plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True))
    got = pd.categorical_cross_entropy(da.from_array(onehot, chunks=(11_000, 10)), z_dask,
                                       from_logits=True, reduction="sum")
    assert_ulps(got, plogp.categorical_cross_entropy(onehot, z, from_logits=True,
                                                     reduction="sum"))


def test_metric_helpers_merge_into_an_existing_metric(client: object) -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, (40_000, 3))
    y = (rng.random((40_000, 3)) < p).astype(np.int8)
    metric = metrics.BinaryCrossEntropy()
    metric.update(y[:1000], p[:1000])
    lazy = pd.metric_from_dask(metric, da.from_array(y[1000:], chunks=(5000, 3)),
                               da.from_array(p[1000:], chunks=(3000, 2)))
    assert metric.result().count == 3000  # only read
    merged = pd.update_metric(metric, da.from_array(y[1000:], chunks=(5000, 3)),
                              da.from_array(p[1000:], chunks=(3000, 2)))
    assert merged is metric
    result = metric.result()
    assert result.count == y.size
    assert_ulps(float(result.mean), plogp.binary_cross_entropy(y, p))
    assert lazy.compute().result().count == y.size - 3000


def test_bad_input_raises_like_numpy(client: object) -> None:
    p = da.from_array(np.full(100, 0.5), chunks=30)
    with pytest.raises(ValueError, match="y_true"):
        pd.binary_cross_entropy(da.zeros(99, chunks=30), p)
    with pytest.raises(ValueError, match="reduction"):
        pd.binary_cross_entropy(da.zeros(100, chunks=30), p, reduction="none")
    bad = np.full(100, 0.5)
    bad[75] = 2.0
    with pytest.raises(ValueError, match="y_pred"):
        pd.binary_cross_entropy(da.zeros(100, chunks=30), da.from_array(bad, chunks=30))
    with pytest.raises(TypeError, match="metric"):
        pd.metric_from_dask(object(), da.zeros(100, chunks=30), p)


def test_entropy_per_row_and_of_one_distribution(client: object) -> None:
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(50), 3001)
    got = pd.entropy(da.from_array(p, chunks=(500, 20)), base=2).compute()
    np.testing.assert_array_equal(got, plogp.entropy(p, base=2))
    flat = p[0] / 2
    total = pd.entropy(da.from_array(np.concatenate([flat, flat]), chunks=13)).compute()
    assert_ulps(float(total), plogp.entropy(np.concatenate([flat, flat])), ulps=4)
    columns = pd.entropy(da.from_array(p.T, chunks=(20, 700)), axis=0).compute()
    np.testing.assert_array_equal(columns, plogp.entropy(p.T, axis=0))
