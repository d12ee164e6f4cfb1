"""`plogp bench`: option errors exit 2 with one line and no traceback; a small run produces
plogp, NumPy-reference and roof rows whose figures are consistent; every SPEC §6 workload is in
the JSON; the best peer is the fastest peer that ran; peers that are not installed have no
row (and these tests pass with or without jax, optax, numba and torch installed)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import json
import math
import sys
from typing import Any

import numpy as np
import pytest

import plogp
from plogp import _bench, cli
from plogp import get_num_threads

# SPEC §6, outside the `--llm` group.
SPEC_WORKLOADS = (
    "bce_prob_f64", "bce_logits_f32", "sparse_ce_logits_f32", "cce_prob_f64",
    "entropy_rows_f64", "latency_bce_n100",
    "log_loss_int", "log_loss_float", "log_loss_str", "log_loss_multiclass",
)  # fmt: skip
FLOAT32_WORKLOADS = ("bce_logits_f32", "sparse_ce_logits_f32")
LOG_LOSS_WORKLOADS = tuple(w for w in SPEC_WORKLOADS if w.startswith("log_loss"))
# Row label -> the module the row needs.
OPTIONAL_PEERS = {
    "torch": "torch", "jax.jit": "jax", "optax (jit)": "optax", "numba prange": "numba",
}  # fmt: skip


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _json(report: _bench.Report) -> dict[str, Any]:
    return json.loads(json.dumps(_bench.to_json(report), allow_nan=False))


def _by_workload(data: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in data["rows"]:
        out.setdefault(row["workload"], {})[row["implementation"]] = row
    return out


@pytest.fixture(scope="module")
def every_workload() -> tuple[_bench.Report, dict[str, Any]]:
    """Every workload at 1/1000 of its size (the latency one keeps its 100 elements)."""
    report = _bench.run(_bench.Settings(quick=True, repeat=2, threads=1, size_divisor=1000))
    return report, _json(report)


@pytest.mark.parametrize(
    "argv", [["bench", "--threads", "0"], ["bench", "--repeat", "x"], ["bench", "--bogus"], []]
)
def test_bad_options_exit_2_without_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_small_run_rows_are_consistent() -> None:
    threads = get_num_threads()
    report = _bench.run(
        _bench.Settings(
            quick=True, repeat=2, threads=1, workloads=("latency_bce_n100", "cce_prob_f64")
        )
    )
    assert get_num_threads() == threads  # restored after the run
    data = _json(report)
    by_workload = _by_workload(data)
    assert set(by_workload) == {"latency_bce_n100", "cce_prob_f64"}
    for name, impls in by_workload.items():
        plogp_row = next(r for k, r in impls.items() if k.startswith("plogp"))
        numpy_row = next(r for k, r in impls.items() if k.startswith("numpy"))
        assert numpy_row["x_numpy"] == pytest.approx(1.0)
        assert plogp_row["max_rel_error"] <= 4.5e-16, name
        assert plogp_row["median_s"] > 0 and math.isfinite(plogp_row["median_s"])
    assert any(k.startswith("read roof") for k in by_workload["cce_prob_f64"])


def test_json_has_every_workload(every_workload: tuple[_bench.Report, dict[str, Any]]) -> None:
    _, data = every_workload
    assert set(SPEC_WORKLOADS) <= set(_bench.WORKLOAD_NAMES)
    assert list(data["workloads"]) == list(_bench.WORKLOAD_NAMES)
    assert set(data["best_peer"]) == set(_bench.WORKLOAD_NAMES)
    by_workload = _by_workload(data)
    assert list(by_workload) == list(_bench.WORKLOAD_NAMES)
    failures = [(r["workload"], r["implementation"], r["failure"]) for r in data["rows"]
                if r["failure"] is not None]  # fmt: skip
    assert failures == []
    for name, impls in by_workload.items():
        mine = impls["plogp"]
        assert mine["runs"] >= 1 and mine["median_s"] > 0, name
        assert mine["max_rel_error"] is not None, name
        # SPEC §4: float64 reductions within 2 ulp of the exact sum, float32 inputs within
        # 2^-24; SPEC §2: log_loss agrees with scikit-learn to 1e-12.
        bound = 2.0**-24 if name in FLOAT32_WORKLOADS else 1e-12 if name in LOG_LOSS_WORKLOADS \
            else 4.5e-16  # fmt: skip
        assert mine["max_rel_error"] <= bound, (name, mine["max_rel_error"])
        for label, row in impls.items():
            if not label.startswith("read roof"):
                assert row["max_rel_error"] is not None, (name, label)  # every row has an error
    for name in LOG_LOSS_WORKLOADS:
        assert "plogp.log_loss(" in by_workload[name]["plogp"]["call"]
        if _installed("sklearn"):
            assert "sklearn log_loss" in by_workload[name]


def test_best_peer_is_the_fastest_peer_that_ran(
    every_workload: tuple[_bench.Report, dict[str, Any]],
) -> None:
    _, data = every_workload
    for name, impls in _by_workload(data).items():
        best = data["best_peer"][name]
        mine = impls["plogp"]
        ran = {label: r for label, r in impls.items()
               if label != "plogp" and not label.startswith("read roof") and r["runs"]}  # fmt: skip
        assert set(best["peers_ran"]) == set(ran), name
        assert "numpy (reference)" in ran, name
        fastest = min(ran, key=lambda label: ran[label]["median_s"])
        assert best["best_peer"] == fastest, name
        assert best["best_peer_median_s"] == ran[fastest]["median_s"]
        assert best["plogp_median_s"] == mine["median_s"]
        speedup = ran[fastest]["median_s"] / mine["median_s"]
        assert best["speedup_over_best_peer"] == pytest.approx(speedup, rel=1e-12)
        low, high = best["speedup_range"]
        assert low <= best["speedup_over_best_peer"] <= high, name
        assert best["peers_ran"] == sorted(ran, key=lambda label: ran[label]["median_s"])
        if len(ran) > 1:
            assert best["second_peer"] == best["peers_ran"][1]
        for row in ran.values():
            assert row["plogp_speedup"] == pytest.approx(row["median_s"] / mine["median_s"])
        assert mine["plogp_speedup"] is None


def _row(workload: str, label: str, times: list[float], roof: bool = False) -> _bench.Row:
    return _bench.Row(workload, label, label, times, 1, 8, 1, None, is_roof=roof)


def test_best_peer_ignores_failed_rows_and_the_roof() -> None:
    rows = [
        _row("w", "plogp", [2.0, 2.0, 2.0]),
        _row("w", "read roof (1 thr)", [0.5, 0.5], roof=True),
        _row("w", "jax.jit", []),  # failed: no times
        _row("w", "numba prange", [5.0, 6.0, 7.0]),
        _row("w", "numpy (reference)", [4.0, 3.0, 5.0]),
        _row("lonely", "plogp", [1.0]),
    ]
    summary = _bench.best_peers(rows)
    assert summary["w"]["best_peer"] == "numpy (reference)"
    assert summary["w"]["peers_ran"] == ["numpy (reference)", "numba prange"]
    assert summary["w"]["second_peer"] == "numba prange"
    assert summary["w"]["speedup_over_best_peer"] == pytest.approx(4.0 / 2.0)
    assert summary["w"]["speedup_range"] == pytest.approx([3.5 / 2.0, 4.5 / 2.0])
    assert summary["lonely"]["best_peer"] is None
    assert summary["lonely"]["speedup_over_best_peer"] is None
    assert summary["lonely"]["peers_ran"] == []


def test_peer_rows_follow_what_is_installed(
    every_workload: tuple[_bench.Report, dict[str, Any]],
) -> None:
    _, data = every_workload
    by_workload = _by_workload(data)
    for label, module in OPTIONAL_PEERS.items():
        listed = [w.name for w in _bench.WORKLOADS
                  if any(i.label == label for i in w.implementations)]  # fmt: skip
        assert listed, label  # every optional peer is offered somewhere
        for name in listed:
            row = by_workload[name].get(label)
            if _installed(module):
                assert row is not None and row["runs"] >= 1, (name, label)
                assert row["version"] is not None and row["threads"] >= 1, (name, label)
            else:
                assert row is None, (name, label)
        if not _installed(module):
            assert any(module in n for n in data["notes"] if n.startswith("not installed"))


def test_peers_that_are_not_importable_are_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    # A module set to None in sys.modules fails to import, as if it were not installed.
    for module in set(OPTIONAL_PEERS.values()):
        monkeypatch.setitem(sys.modules, module, None)
    report = _bench.run(
        _bench.Settings(
            quick=True,
            repeat=1,
            threads=1,
            size_divisor=1000,
            workloads=("bce_logits_f32", "latency_bce_n100"),
        )
    )
    data = _json(report)
    labels = {r["implementation"] for r in data["rows"]}
    assert labels.isdisjoint(OPTIONAL_PEERS), labels
    assert {"plogp", "numpy (reference)"} <= labels
    assert all(r["failure"] is None for r in data["rows"])
    (note,) = [n for n in data["notes"] if n.startswith("not installed")]
    for module in set(OPTIONAL_PEERS.values()):
        assert module in note
    for name in ("bce_logits_f32", "latency_bce_n100"):
        assert data["best_peer"][name]["best_peer"] in labels - {"plogp"}


def test_json_records_the_build(every_workload: tuple[_bench.Report, dict[str, Any]]) -> None:
    _, data = every_workload
    machine = data["machine"]
    assert machine["threads"] == 1
    assert machine["simd_level"] == plogp.simd_level()
    assert isinstance(machine["cpu_model"], str) and machine["cpu_model"]
    assert machine["versions"]["numpy"] == np.__version__
    assert "plogp" in machine["versions"]
    build = machine["plogp_build"]
    native = importlib.import_module("plogp._native").__file__
    assert native is not None and build["native"] == native
    with open(native, "rb") as f:
        assert build["native_sha256"] == hashlib.sha256(f.read()).hexdigest()
    assert build["pyo3"] == plogp.show_config(as_dict=True)["build"]["pyo3"]
    assert build["profile"] in ("release", "debug")
    for row in data["rows"]:
        if row["implementation"] == "numpy (reference)":
            assert row["version"] == np.__version__
        if row["implementation"] == "plogp":
            assert row["simd_level"] == plogp.simd_level() and row["threads"] == 1


def test_tables_show_the_best_peer(every_workload: tuple[_bench.Report, dict[str, Any]]) -> None:
    report, data = every_workload
    out = io.StringIO()
    _bench.render_plain(report, out)
    text = out.getvalue()
    summary = text[text.index("plogp against the best peer") :]
    for name, best in data["best_peer"].items():
        (line,) = [ln for ln in summary.splitlines() if ln.startswith(name + " ")]
        assert best["best_peer"] in line, line
