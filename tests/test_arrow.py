"""Arrow input (the PyCapsule interface): pyarrow and polars columns give the same numbers as
the NumPy arrays they hold; list columns are rows × classes; nulls and ragged lists are
ValueErrors naming the argument."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import plogp
from conftest import requires_native

pytestmark = requires_native


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 1000)
    p = rng.uniform(0.01, 0.99, 1000)
    z = rng.standard_normal((1000, 7)).astype(np.float32)
    labels = rng.integers(0, 7, 1000)
    return y, p, z, labels


def test_pyarrow_numeric_columns(data: tuple[np.ndarray, ...]) -> None:
    y, p, _, _ = data
    want = plogp.binary_cross_entropy(y, p, sample_weight=p)
    got = plogp.binary_cross_entropy(pa.array(y), pa.array(p), sample_weight=pa.array(p))
    assert got == want
    chunked = pa.chunked_array([pa.array(p[:300]), pa.array(p[300:])])
    assert plogp.binary_cross_entropy(pa.array(y), chunked, sample_weight=chunked) == want
    bools = pa.array(y.astype(bool))
    assert plogp.binary_cross_entropy(bools, pa.array(p)) == plogp.binary_cross_entropy(y, p)


def test_list_columns_are_rows_of_classes(data: tuple[np.ndarray, ...]) -> None:
    _, _, z, labels = data
    want = plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True, reduction="none")
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(z.ravel()), 7)
    ragged_ok = pa.array(list(z), type=pa.list_(pa.float32()))
    for column in (fixed, ragged_ok, fixed.slice(0)):
        got = plogp.sparse_categorical_cross_entropy(
            pa.array(labels), column, from_logits=True, reduction="none"
        )
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    # A sliced list column starts at its offset, not at the first value of its buffer.
    np.testing.assert_array_equal(
        plogp.sparse_categorical_cross_entropy(
            labels[10:], fixed.slice(10), from_logits=True, reduction="none"
        ),
        want[10:],
    )


def test_polars_series_and_list_columns(data: tuple[np.ndarray, ...]) -> None:
    y, p, z, labels = data
    assert plogp.binary_cross_entropy(pl.Series(y), pl.Series(p)) == plogp.binary_cross_entropy(
        y, p
    )
    frame = pl.DataFrame({"logits": list(z), "label": labels})
    as_list = frame["logits"]
    as_array = frame["logits"].cast(pl.Array(pl.Float32, 7))
    want = plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True)
    for column in (as_list, as_array):
        assert plogp.sparse_categorical_cross_entropy(
            frame["label"], column, from_logits=True
        ) == pytest.approx(want, rel=1e-15)
    assert plogp.entropy(pl.Series([0.25, 0.75])) == plogp.entropy([0.25, 0.75])


def test_nulls_and_ragged_lists_are_value_errors(data: tuple[np.ndarray, ...]) -> None:
    y, p, _, _ = data
    with pytest.raises(ValueError, match=r"y_pred has 1 null value\(s\), the first at index 2"):
        plogp.binary_cross_entropy([1, 0, 1], pa.array([0.5, 0.2, None]))
    with pytest.raises(ValueError, match="sample_weight has 1 null"):
        plogp.binary_cross_entropy(y[:2], p[:2], sample_weight=pl.Series([1.0, None]))
    with pytest.raises(ValueError, match="y_pred: the lists .* different lengths"):
        plogp.categorical_cross_entropy(
            [[1, 0], [0, 1]], pa.array([[0.5, 0.5], [0.2, 0.3, 0.5]]), from_logits=True
        )
    with pytest.raises(ValueError, match="y_true has 1 null"):
        plogp.sparse_categorical_cross_entropy(pa.array([0, None]), np.zeros((2, 3)))


def test_non_numeric_arrow_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="y_pred is an Arrow array of type string"):
        plogp.binary_cross_entropy([1, 0], pa.array(["a", "b"]))
