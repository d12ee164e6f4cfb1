"""`plogp score`: files scored in chunks give the one-shot result; every user mistake is one
line on stderr and exit status 2, without a traceback."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest

import plogp
from plogp import cli

ULP = np.finfo(np.float64).eps
ROWS = 10_007  # several chunks of the sizes below, the last one partial


def run_json(argv: List[str], capsys: pytest.CaptureFixture[str]) -> dict:
    status = cli.main(["score", *argv, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""  # no progress output when stderr is not a terminal
    return json.loads(captured.out)


def run_error(argv: List[str], capsys: pytest.CaptureFixture[str]) -> str:
    """In-process: the exit status is 2 (returned, or raised by the option parser)."""
    try:
        status = cli.main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def assert_ulps(got: float, want: float, ulps: int = 2) -> None:
    assert abs(got - want) <= ulps * ULP * abs(want), (got, want, (got - want) / want / ULP)


def save(tmp_path: Path, name: str, array: np.ndarray) -> str:
    path = tmp_path / f"{name}.npy"
    np.save(path, array)
    return str(path)


@pytest.fixture
def binary_files(tmp_path: Path) -> dict:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.0, 1.0, ROWS)
    y = (rng.random(ROWS) < p).astype(np.int8)
    w = rng.uniform(0.0, 3.0, ROWS)
    return {
        "y": y,
        "p": p,
        "w": w,
        "y_path": save(tmp_path, "y", y),
        "p_path": save(tmp_path, "p", p),
        "w_path": save(tmp_path, "w", w),
    }


@pytest.mark.parametrize("chunk", ["1000", "4096", "1"])
def test_binary_in_chunks_equals_one_shot(
    binary_files: dict, chunk: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = binary_files
    if chunk == "1":  # one row per chunk: slow, so fewer rows
        f = {**f, "y": f["y"][:500], "p": f["p"][:500], "w": f["w"][:500]}
        np.save(f["y_path"], f["y"])
        np.save(f["p_path"], f["p"])
        np.save(f["w_path"], f["w"])
    out = run_json(
        [
            f["y_path"],
            f["p_path"],
            "--loss",
            "binary",
            "--chunk-size",
            chunk,
            "--sample-weight",
            f["w_path"],
        ],
        capsys,
    )
    want_sum = plogp.binary_cross_entropy(f["y"], f["p"], sample_weight=f["w"], reduction="sum")
    want_mean = plogp.binary_cross_entropy(f["y"], f["p"], sample_weight=f["w"])
    result = out["result"]
    assert result["count"] == len(f["y"]) == out["rows"]
    assert_ulps(result["sum"], want_sum)
    assert_ulps(result["mean"], want_mean)
    assert result["weight"] == pytest.approx(math.fsum(f["w"]), rel=2 * ULP)
    assert result["perplexity"] == pytest.approx(math.exp(want_mean), rel=4 * ULP)
    # Normalized entropy: the loss relative to always predicting the weighted base rate.
    rate = math.fsum(f["w"] * f["y"]) / math.fsum(f["w"])
    base = -(rate * math.log(rate) + (1 - rate) * math.log1p(-rate))
    assert result["normalized_entropy"] == pytest.approx(want_mean / base, rel=1e-12)


def test_categorical_and_sparse_logits_in_chunks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    classes = 7
    labels = rng.integers(0, classes, ROWS).astype(np.int32)
    logits = rng.normal(0, 3, (ROWS, classes)).astype(np.float32)
    proba = plogp.softmax(logits.astype(np.float64))
    onehot = np.eye(classes)[labels]
    paths = {
        name: save(tmp_path, name, a)
        for name, a in [
            ("labels", labels),
            ("logits", logits),
            ("proba", proba),
            ("onehot", onehot),
        ]
    }

    out = run_json(
        [
            paths["labels"],
            paths["logits"],
            "--loss",
            "sparse",
            "--from-logits",
            "--chunk-size",
            "999",
        ],
        capsys,
    )
    want = plogp.sparse_categorical_cross_entropy(labels, logits, from_logits=True)
    assert_ulps(out["result"]["mean"], want)
    assert out["result"]["count"] == ROWS and out["from_logits"] is True

    out = run_json(
        [
            paths["onehot"],
            paths["proba"],
            "--loss",
            "categorical",
            "--eps",
            "0",
            "--chunk-size",
            "1234",
        ],
        capsys,
    )
    want = plogp.categorical_cross_entropy(onehot, proba, eps=0.0)
    assert_ulps(out["result"]["mean"], want)
    assert out["result"]["count"] == ROWS


def test_plain_text_output_shows_the_loss(
    binary_files: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    f = binary_files
    assert cli.main(["score", f["y_path"], f["p_path"], "--loss", "binary"]) == 0
    out = capsys.readouterr().out
    want = plogp.binary_cross_entropy(f["y"], f["p"])
    assert f"{want:.10g}" in out
    assert str(ROWS) in out


def test_groups_give_the_result_of_each_subset(
    binary_files: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = binary_files
    groups = np.random.default_rng(3).integers(0, 3, ROWS).astype(np.int64)
    g_path = save(tmp_path, "g", groups)
    out = run_json(
        [
            f["y_path"],
            f["p_path"],
            "--loss",
            "binary",
            "--groups",
            g_path,
            "--sample-weight",
            f["w_path"],
            "--chunk-size",
            "777",
        ],
        capsys,
    )
    by_group = {row["group"]: row for row in out["groups"]}
    assert sorted(by_group) == [0, 1, 2]
    for g, row in by_group.items():
        mask = groups == g
        want = plogp.binary_cross_entropy(f["y"][mask], f["p"][mask], sample_weight=f["w"][mask])
        assert_ulps(row["mean"], want, ulps=4)
        assert row["count"] == int(mask.sum())
    assert_ulps(
        out["result"]["mean"], plogp.binary_cross_entropy(f["y"], f["p"], sample_weight=f["w"])
    )


@pytest.mark.parametrize("kind", ["strings", "large_ints", "bools"])
def test_group_ids_keep_their_group_across_chunks(
    binary_files: dict, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ids that first occur in a later chunk, strings and ids outside [0, 2^20) keep one
    group each over all the chunks (a persistent key -> code map)."""
    f = binary_files
    codes = np.random.default_rng(5).integers(0, 4, ROWS)
    codes[:1500] = np.minimum(codes[:1500], 1)  # ids 2 and 3 first occur in chunk 2
    if kind == "strings":
        names = np.array(["delta", "alpha", "charlie", "bravo"])
    elif kind == "large_ints":
        names = np.array([-7, 10**12, 3, 2**40])
    else:
        names, codes = np.array([True, False]), codes % 2
    groups = names[codes]
    g_path = save(tmp_path, "g", groups)
    out = run_json(
        [f["y_path"], f["p_path"], "--loss", "binary", "--groups", g_path, "--chunk-size", "1000"],
        capsys,
    )
    got = [row["group"] for row in out["groups"]]
    assert got == sorted(names.tolist())
    for row in out["groups"]:
        mask = groups == row["group"]
        assert row["count"] == int(mask.sum())
        assert_ulps(row["mean"], plogp.binary_cross_entropy(f["y"][mask], f["p"][mask]), ulps=4)
    assert out["result"]["count"] == ROWS


def test_parquet_columns_in_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(4)
    classes = 3
    proba = rng.dirichlet(np.ones(classes), ROWS)
    labels = rng.integers(0, classes, ROWS)
    table = pa.table(
        {
            "label": labels,
            "p0": proba[:, 0],
            "p1": proba[:, 1],
            "p2": proba[:, 2],
            "proba": pa.FixedSizeListArray.from_arrays(pa.array(proba.ravel()), classes),
            "weight": rng.uniform(0.5, 2.0, ROWS),
            "model": np.where(rng.random(ROWS) < 0.3, "small", "large"),
        }
    )
    path = tmp_path / "scores.parquet"
    pq.write_table(table, path, row_group_size=700)  # batches do not line up with chunks
    want = plogp.sparse_categorical_cross_entropy(labels, proba)

    out = run_json(
        [f"{path}:label", f"{path}:p0,p1,p2", "--loss", "sparse", "--chunk-size", "1000"], capsys
    )
    assert_ulps(out["result"]["mean"], want)
    out = run_json(
        [
            str(path),
            str(path),
            "--true-column",
            "label",
            "--column",
            "proba",
            "--loss",
            "sparse",
            "--chunk-size",
            "1500",
        ],
        capsys,
    )
    assert_ulps(out["result"]["mean"], want)
    out = run_json(
        [
            f"{path}:label",
            str(path),
            "--column",
            "p0",
            "p1",
            "p2",
            "--loss",
            "sparse",
            "--sample-weight",
            f"{path}:weight",
        ],
        capsys,
    )
    weight = table.column("weight").to_numpy()
    assert_ulps(
        out["result"]["mean"],
        plogp.sparse_categorical_cross_entropy(labels, proba, sample_weight=weight),
    )

    out = run_json(
        [
            f"{path}:label",
            f"{path}:proba",
            "--loss",
            "sparse",
            "--groups",
            f"{path}:model",
            "--chunk-size",
            "2000",
        ],
        capsys,
    )
    models = table.column("model").to_numpy(zero_copy_only=False)
    assert [g["group"] for g in out["groups"]] == ["large", "small"]
    for row in out["groups"]:
        mask = models == row["group"]
        assert_ulps(
            row["mean"], plogp.sparse_categorical_cross_entropy(labels[mask], proba[mask]), ulps=4
        )

    message = run_error(["score", str(path), f"{path}:p0", "--loss", "binary"], capsys)
    assert "columns" in message and "Y_TRUE" in message
    message = run_error(["score", f"{path}:label", f"{path}:nope", "--loss", "binary"], capsys)
    assert "'nope'" in message


@pytest.fixture
def bad_files(tmp_path: Path) -> dict:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, 5000)
    p_out = p.copy()
    p_out[2500] = 1.5
    text = tmp_path / "text.npy"
    text.write_text("not an array\n")
    return {
        "y": save(tmp_path, "y", (p > 0.5).astype(np.float64)),
        "p": save(tmp_path, "p", p),
        "short": save(tmp_path, "short", p[:4999]),
        "p_out": save(tmp_path, "p_out", p_out),
        "p_int": save(tmp_path, "p_int", (p > 0.5).astype(np.int64)),
        "labels_float": save(tmp_path, "labels_float", np.zeros(5000)),
        "proba2": save(tmp_path, "proba2", np.stack([p, 1 - p], axis=1)),
        "neg_w": save(tmp_path, "neg_w", -np.ones(5000)),
        "labels": save(tmp_path, "labels", (p > 0.5).astype(np.uint8)),
        "proba2_out": save(
            tmp_path,
            "proba2_out",
            np.stack([p, np.where(np.arange(5000) == 2600, -0.25, 1 - p)], 1),
        ),
        "text": str(text),
        "empty": save(tmp_path, "empty", np.zeros(0)),
        "csv": str(tmp_path / "data.csv"),
        "missing": str(tmp_path / "missing.npy"),
    }


@pytest.mark.parametrize(
    "case, words",
    [
        (lambda f: [f["y"], f["missing"], "--loss", "binary"], ["no such file", "Y_PRED"]),
        (lambda f: [f["text"], f["p"], "--loss", "binary"], ["Y_TRUE", "cannot read"]),
        (lambda f: [f["y"], f["csv"], "--loss", "binary"], ["no such file"]),
        (lambda f: [f["y"], f["short"], "--loss", "binary"], ["4999 rows", "5000"]),
        (lambda f: [f["y"], f["p_int"], "--loss", "binary"], ["y_pred", "int64"]),
        (lambda f: [f["labels_float"], f["proba2"], "--loss", "sparse"], ["y_true", "float64"]),
        (
            lambda f: [f["y"], f["p_out"], "--loss", "binary", "--chunk-size", "1000"],
            ["y_pred[2500]", "1.5"],
        ),
        (
            lambda f: [f["labels"], f["proba2_out"], "--loss", "sparse", "--chunk-size", "1000"],
            ["y_pred[5201]", "-0.25"],
        ),  # row 2600, class 1 of a (5000, 2) array
        (
            lambda f: [f["y"], f["p"], "--loss", "binary", "--sample-weight", f["neg_w"]],
            ["sample_weight"],
        ),
        (lambda f: [f["y"], f["p"], "--loss", "binary", "--chunk-size", "0"], ["--chunk-size"]),
        (lambda f: [f["y"], f["p"], "--loss", "multiclass"], ["--loss"]),
        (lambda f: [f["y"], f["p"], "--loss", "binary", "--eps", "0.5"], ["--eps"]),
        (lambda f: [f["y"], f["p"], "--loss", "binary", "--column", "x"], ["column"]),
        (lambda f: [f["y"], f["p"]], ["--loss"]),
        (lambda f: [f["empty"], f["empty"], "--loss", "binary"], ["zero total weight"]),
    ],
    ids=[
        "missing",
        "not-npy",
        "unsupported-ext",
        "lengths",
        "int-y_pred",
        "float-labels",
        "out-of-range",
        "out-of-range-2d",
        "negative-weight",
        "chunk-size",
        "loss",
        "eps",
        "column",
        "no-loss",
        "empty",
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    bad_files: dict, case: Any, words: List[str], capsys: pytest.CaptureFixture[str]
) -> None:
    message = run_error(["score", *case(bad_files)], capsys)
    assert message.startswith("plogp score: error: ")
    for word in words:
        assert word in message


def test_exit_status_of_the_installed_command(bad_files: dict, tmp_path: Path) -> None:
    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "plogp.cli", "score", *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )

    bad = run(bad_files["y"], bad_files["missing"], "--loss", "binary")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    bad = run(bad_files["y"], bad_files["p_out"], "--loss", "binary")
    assert bad.returncode == 2 and "y_pred[2500] = 1.5" in bad.stderr
    good = run(bad_files["y"], bad_files["p"], "--loss", "binary", "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["result"]["count"] == 5000
