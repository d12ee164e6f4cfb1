"""`plogp bench`: option errors exit 2 with one line and no traceback; a small run produces
plogp, NumPy-reference and roof rows whose figures are consistent."""

from __future__ import annotations

import json
import math

import pytest

from plogp import _bench, cli
from plogp import get_num_threads


@pytest.mark.parametrize(
    "argv", [["bench", "--threads", "0"], ["bench", "--repeat", "x"], ["bench", "--bogus"], []]
)
def test_bad_options_exit_2_without_traceback(argv: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_small_run_rows_are_consistent() -> None:
    threads = get_num_threads()
    report = _bench.run(
        _bench.Settings(quick=True, repeat=2, threads=1,
                        workloads=("latency_bce_n100", "cce_prob_f64"))
    )
    assert get_num_threads() == threads  # restored after the run
    data = json.loads(json.dumps(_bench.to_json(report), allow_nan=False))
    rows = data["rows"] if "rows" in data else data["results"]
    by_workload: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_workload.setdefault(row["workload"], {})[row["implementation"]] = row
    assert set(by_workload) == {"latency_bce_n100", "cce_prob_f64"}
    for name, impls in by_workload.items():
        plogp_row = next(r for k, r in impls.items() if k.startswith("plogp"))
        numpy_row = next(r for k, r in impls.items() if k.startswith("numpy"))
        assert numpy_row["x_numpy"] == pytest.approx(1.0)
        assert plogp_row["max_rel_error"] <= 4.5e-16, name
        assert plogp_row["median_s"] > 0 and math.isfinite(plogp_row["median_s"])
    assert any(k.startswith("read roof") for k in by_workload["cce_prob_f64"])
