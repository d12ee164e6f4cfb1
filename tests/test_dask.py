"""`plogp.dask` on a `dask.distributed` cluster of worker processes: block-wise metrics
merged in a tree give the one-shot NumPy result (≤ 2 ulp)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import plogp  # noqa: E402
import plogp.dask as pd  # noqa: E402
from plogp import metrics  # noqa: E402

ULP = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
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
    got = pd.binary_cross_entropy(
        da.from_array(y, chunks=30_000),
        da.from_array(p, chunks=17_000),
        sample_weight=da.from_array(w, chunks=50_000),
    )
    assert_ulps(got, plogp.binary_cross_entropy(y, p, sample_weight=w))
    lazy = pd.binary_cross_entropy(
        da.from_array(y, chunks=30_000),
        da.from_array(p, chunks=17_000),
        reduction="sum",
        compute=False,
    )
    assert hasattr(lazy, "compute")
    assert_ulps(lazy.compute(), plogp.binary_cross_entropy(y, p, reduction="sum"))


@pytest.mark.parametrize("shape", [(), (40, 1), (6,), (1, 6)], ids=str)
def test_weights_and_labels_in_the_peers_shapes(client: object, shape: tuple[int, ...]) -> None:
    # A scalar, Keras' (N, 1) and PyTorch's (C,) weights over (N, C) blocks, NumPy or dask.
    rng = np.random.default_rng(7)
    y = (rng.random((40, 6)) < 0.3).astype(np.int8)
    p = rng.uniform(0.01, 0.99, (40, 6))
    w = rng.uniform(0.5, 2.0, shape)
    want = plogp.binary_cross_entropy(y, p, sample_weight=w)
    for weight in (w, da.from_array(np.asarray(w))):
        got = pd.binary_cross_entropy(
            da.from_array(y, chunks=(10, 3)), da.from_array(p, chunks=(10, 3)), sample_weight=weight
        )
        assert_ulps(got, want)
    # Keras' (N,) binary targets against (N, 1) predictions, squeezed (not broadcast).
    got = pd.binary_cross_entropy(
        da.from_array(y[:, 0], chunks=10), da.from_array(p[:, :1], chunks=(10, 1))
    )
    assert_ulps(got, plogp.binary_cross_entropy(y[:, :1], p[:, :1]))
    # Keras' (N, 1) integer labels, squeezed.
    labels = rng.integers(0, 6, (40, 1))
    q = p / p.sum(axis=1, keepdims=True)
    got = pd.sparse_categorical_cross_entropy(
        da.from_array(labels, chunks=(10, 1)), da.from_array(q, chunks=(10, 6))
    )
    assert_ulps(got, plogp.sparse_categorical_cross_entropy(labels[:, 0], q))


def test_categorical_and_sparse_logits_on_the_cluster(client: object) -> None:
    rng = np.random.default_rng(1)
    n, classes = 60_001, 10
    z = rng.normal(0.0, 4.0, (n, classes))
    labels = rng.integers(0, classes, n)
    onehot = np.eye(classes)[labels]
    # Class axis split into blocks too: plogp.dask makes it one block.
    z_dask = da.from_array(z, chunks=(7_000, 4))
    got = pd.sparse_categorical_cross_entropy(
        da.from_array(labels, chunks=9_000), z_dask, from_logits=True
    )
    assert_ulps(got, plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True))
    got = pd.categorical_cross_entropy(
        da.from_array(onehot, chunks=(11_000, 10)), z_dask, from_logits=True, reduction="sum"
    )
    assert_ulps(got, plogp.categorical_cross_entropy(onehot, z, from_logits=True, reduction="sum"))


def test_metric_helpers_merge_into_an_existing_metric(client: object) -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, (40_000, 3))
    y = (rng.random((40_000, 3)) < p).astype(np.int8)
    metric = metrics.BinaryCrossEntropy()
    metric.update(y[:1000], p[:1000])
    lazy = pd.metric_from_dask(
        metric, da.from_array(y[1000:], chunks=(5000, 3)), da.from_array(p[1000:], chunks=(3000, 2))
    )
    assert metric.result().count == 3000  # only read
    merged = pd.update_metric(
        metric, da.from_array(y[1000:], chunks=(5000, 3)), da.from_array(p[1000:], chunks=(3000, 2))
    )
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


# Every option of the NumPy functions, on the cluster, against the one-shot NumPy call.
N_OPT, C_OPT = 20_011, 4


def _option_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.01, 0.99, (N_OPT, 3))
    z = rng.normal(0.0, 3.0, (N_OPT, C_OPT))
    labels = rng.integers(0, C_OPT, N_OPT)
    labels[::17] = -100  # the rows ignore_index leaves out (where the case uses it)
    with_nan = rng.uniform(0.01, 0.99, (N_OPT, 3))
    with_nan[::101, 1] = np.nan
    logits_nan = z.copy()
    logits_nan[::53, 2] = np.nan
    return {
        "y": (rng.random((N_OPT, 3)) < p).astype(np.float64),
        "p": p,
        "p_nan": with_nan,
        "soft": rng.random((N_OPT, 3)),
        "z": z,
        "z3": z[:, :3].copy(),
        "z_nan": logits_nan,
        "labels": np.where(labels < 0, 0, labels),
        "labels_ignored": labels,
        "onehot": np.eye(C_OPT)[np.where(labels < 0, 0, labels)],
        "w": rng.uniform(0.0, 2.0, N_OPT),
        "groups": rng.integers(0, 6, N_OPT),
    }


OPTION_DATA = _option_data()

# (function, y_true key, y_pred key, options); "T" after a key: transposed (axis=0 cases).
OPTION_CASES = [
    ("binary_cross_entropy", "y", "p", {"pos_weight": 2.5}),
    ("binary_cross_entropy", "y", "p", {"pos_weight": np.array([0.5, 1.0, 3.0])}),
    ("binary_cross_entropy", "soft", "z3", {"from_logits": True, "label_smoothing": 0.1}),
    ("binary_cross_entropy", "y", "p_nan", {"nan_policy": "omit"}),
    ("binary_cross_entropy", "y", "p", {"groups": "groups"}),
    ("binary_cross_entropy", "y", "p", {"groups": "groups", "reduction": "sum"}),
    (
        "categorical_cross_entropy",
        "onehot",
        "z",
        {"from_logits": True, "class_weight": np.array([1.0, 2.0, 0.5, 0.0])},
    ),
    ("categorical_cross_entropy", "onehot", "z", {"from_logits": True, "label_smoothing": 0.2}),
    ("categorical_cross_entropy", "onehotT", "zT", {"from_logits": True, "axis": 0}),
    ("categorical_cross_entropy", "onehot", "z_nan", {"from_logits": True, "nan_policy": "omit"}),
    ("categorical_cross_entropy", "onehot", "z", {"from_logits": True, "groups": "groups"}),
    (
        "sparse_categorical_cross_entropy",
        "labels",
        "z",
        {"from_logits": True, "class_weight": np.array([1.0, 2.0, 0.5, 3.0])},
    ),
    (
        "sparse_categorical_cross_entropy",
        "labels_ignored",
        "z",
        {"from_logits": True, "ignore_index": -100},
    ),
    (
        "sparse_categorical_cross_entropy",
        "labels_ignored",
        "z",
        {
            "from_logits": True,
            "ignore_index": -100,
            "class_weight": np.array([1.0, 2.0, 0.5, 3.0]),
            "label_smoothing": 0.1,
        },
    ),
    ("sparse_categorical_cross_entropy", "labels", "zT", {"from_logits": True, "axis": 0}),
    (
        "sparse_categorical_cross_entropy",
        "labels",
        "z_nan",
        {"from_logits": True, "nan_policy": "omit"},
    ),
    ("sparse_categorical_cross_entropy", "labels", "z", {"from_logits": True, "groups": "groups"}),
    ("binary_focal_cross_entropy", "y", "p", {"gamma": 1.5, "alpha": 0.25}),
    (
        "binary_focal_cross_entropy",
        "y",
        "z3",
        {"from_logits": True, "gamma": 2.0, "nan_policy": "raise"},
    ),
    (
        "categorical_focal_cross_entropy",
        "onehot",
        "z",
        {"from_logits": True, "gamma": 2.0, "alpha": 0.25, "label_smoothing": 0.1},
    ),
    ("categorical_focal_cross_entropy", "onehot", "z", {"from_logits": True, "groups": "groups"}),
    (
        "sparse_categorical_focal_cross_entropy",
        "labels",
        "z",
        {"from_logits": True, "gamma": 1.0, "groups": "groups"},
    ),
    ("binary_focal_cross_entropy", "y", "p", {"gamma": 2.0, "groups": "groups"}),
    (
        "sparse_categorical_focal_cross_entropy",
        "labels_ignored",
        "z",
        {
            "from_logits": True,
            "gamma": 2.0,
            "alpha": np.array([0.5, 1.0, 2.0, 1.0]),
            "ignore_index": -100,
        },
    ),
    (
        "sparse_categorical_focal_cross_entropy",
        "labels_ignored",
        "z",
        {"from_logits": True, "ignore_index": -100, "label_smoothing": 0.1, "groups": "groups"},
    ),
    (
        "sparse_categorical_focal_cross_entropy",
        "labels",
        "zT",
        {"from_logits": True, "axis": 0, "gamma": 1.0},
    ),
]


def _case_id(case: tuple[Any, ...]) -> str:
    name, _, _, options = case
    return name + "-" + "-".join(sorted(k for k in options))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", OPTION_CASES, ids=[_case_id(c) for c in OPTION_CASES])
def test_every_option_matches_numpy_on_the_cluster(
    client: object, case: tuple[Any, ...], weighted: bool
) -> None:
    name, true_key, pred_key, options = case
    options = dict(options)

    def array(key: str) -> np.ndarray:
        return OPTION_DATA[key[:-1]].T if key.endswith("T") else OPTION_DATA[key]

    y, p = array(true_key), array(pred_key)
    if "groups" in options:
        options["groups"] = OPTION_DATA["groups"]
    weight = OPTION_DATA["w"] if weighted else None
    want = getattr(plogp, name)(y, p, sample_weight=weight, **options)
    # Chunks that split rows, and classes (made one block), unevenly; y_true chunked apart.
    pred_chunks = (3_001, 2) if p.shape[0] == N_OPT else (2, 3_001)
    dask_options = {
        k: (da.from_array(v, chunks=4_999) if k == "groups" else v) for k, v in options.items()
    }
    got = getattr(pd, name)(
        da.from_array(y, chunks=5_003 if y.ndim == 1 else 4_111),
        da.from_array(p, chunks=pred_chunks),
        sample_weight=None if weight is None else da.from_array(weight, chunks=7_000),
        **dask_options,
    )
    if "groups" in options:
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=8 * ULP, atol=0)
    else:
        assert_ulps(got, want, ulps=8)


def test_option_errors_are_the_functions(client: object) -> None:
    y = da.from_array(OPTION_DATA["y"], chunks=5_000)
    p = da.from_array(OPTION_DATA["p"], chunks=5_000)
    with pytest.raises(ValueError, match="label_smoothing"):
        pd.binary_cross_entropy(y, p, label_smoothing=2.0)
    with pytest.raises(ValueError, match="nan_policy"):
        pd.binary_cross_entropy(y, p, nan_policy="drop")
    # The focal metrics take groups= as their functions do.
    ids = np.arange(N_OPT) % 3
    (focal,) = dask.compute(
        pd.metric_from_dask(
            metrics.BinaryFocalCrossEntropy(), y, p, groups=da.from_array(ids, chunks=5_000)
        )
    )
    want = plogp.binary_focal_cross_entropy(OPTION_DATA["y"], OPTION_DATA["p"], groups=ids)
    for g in range(3):
        assert focal.result().groups[g].mean == pytest.approx(want[g], rel=1e-12)
    bad = OPTION_DATA["p_nan"]
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        pd.binary_cross_entropy(y, da.from_array(bad, chunks=5_000), nan_policy="raise")
    z = da.from_array(OPTION_DATA["z"], chunks=5_000)
    with pytest.raises(ValueError, match="axis"):
        pd.sparse_categorical_cross_entropy(
            da.from_array(OPTION_DATA["labels"], chunks=5_000), z, from_logits=True, axis=2
        )
