"""A streaming metric's update against its loss function on the same batch (issue 14).

    PLOGP_NUM_THREADS=2 PYTHONPATH=python python benches/metrics_update.py [--repeat 9]

Per batch, alternates the function (``reduction="mean"``, the same options) with a fresh
metric's ``update`` in one process and prints the medians, their spread (min-max) and the
ratio of the medians. Batches: 10^7 binary float64 with 0/1 labels; 10^6 x 100 float32
logits with int64 labels (sparse) and with float32 one-hot targets (dense); 50 groups;
"omit" with a NaN every 1000th prediction.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np


def batches(rng: np.random.Generator) -> dict[str, tuple[str, str, dict[str, Any], tuple]]:
    """name -> (function, metric class, options, (y_true, y_pred) or with weights/groups)."""
    n = 10**7
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.float64)
    p_nan = p.copy()
    p_nan[::1000] = np.nan
    w, g = rng.random(n), rng.integers(0, 50, n)
    rows, c = 10**6, 100
    z = rng.standard_normal((rows, c)).astype(np.float32)
    z_nan = z.copy()
    z_nan[::1000, 3] = np.nan
    labels = rng.integers(0, c, rows)
    onehot = np.eye(c, dtype=np.float32)[labels]
    rw, rg = rng.random(rows), rng.integers(0, 50, rows)
    bce = ("binary_cross_entropy", "BinaryCrossEntropy")
    sparse = ("sparse_categorical_cross_entropy", "SparseCategoricalCrossEntropy")
    dense = ("categorical_cross_entropy", "CategoricalCrossEntropy")
    logits = {"from_logits": True}
    omit = {"nan_policy": "omit"}
    out: dict[str, tuple[str, str, dict[str, Any], tuple]] = {
        "bce": (*bce, {}, (y, p, {})),
        "bce, sample_weight": (*bce, {}, (y, p, {"sample_weight": w})),
        "bce, groups=": (*bce, {}, (y, p, {"groups": g})),
        'bce, nan_policy="omit"': (*bce, omit, (y, p_nan, {})),
    }
    for name, (fn, cls), targets in (("sparse", sparse, labels), ("dense", dense, onehot)):
        out[name] = (fn, cls, logits, (targets, z, {}))
        out[f"{name}, sample_weight"] = (fn, cls, logits, (targets, z, {"sample_weight": rw}))
        out[f"{name}, groups="] = (fn, cls, logits, (targets, z, {"groups": rg}))
        out[f"{name}, groups= and sample_weight"] = (
            fn,
            cls,
            logits,
            (targets, z, {"groups": rg, "sample_weight": rw}),
        )
        out[f'{name}, nan_policy="omit"'] = (fn, cls, {**logits, **omit}, (targets, z_nan, {}))
    return out


def timed(f: Callable[[], Any]) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--only", nargs="*", help="batch names (as printed) to run")
    args = parser.parse_args()
    import plogp
    from plogp import metrics

    print(f"plogp threads {plogp.get_num_threads()}, simd {plogp.simd_level()}")
    print(f"{'batch':40s} {'function ms':>20s} {'update ms':>20s} {'ratio':>6s}")
    for name, (fn, cls, options, (y, p, extra)) in batches(np.random.default_rng(0)).items():
        if args.only and name not in args.only:
            continue
        function = getattr(plogp, fn)
        metric = getattr(metrics, cls)

        def call() -> Any:
            return function(y, p, **options, **extra)

        def update() -> Any:
            return metric(**options).update(y, p, **extra)

        call(), update()  # warm-up
        f, u = [], []
        for _ in range(args.repeat):
            f.append(timed(call))
            u.append(timed(update))
        mf, mu = statistics.median(f) * 1e3, statistics.median(u) * 1e3
        spread = (
            f"({min(f) * 1e3:.1f}-{max(f) * 1e3:.1f})",
            f"({min(u) * 1e3:.1f}-{max(u) * 1e3:.1f})",
        )
        print(f"{name:40s} {mf:7.1f} {spread[0]:>12s} {mu:7.1f} {spread[1]:>12s} {mu / mf:6.2f}")


if __name__ == "__main__":
    main()
