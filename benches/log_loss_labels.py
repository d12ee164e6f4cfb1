"""plogp.log_loss against sklearn.metrics.log_loss on the log_loss workloads (SPEC §6).

    PLOGP_NUM_THREADS=2 PYTHONPATH=python python benches/log_loss_labels.py [--repeat 5]

Prints, per workload, the median time of plogp.log_loss and of scikit-learn's (same data,
same process, alternating calls) and their ratio. Data: 10^7 binary labels (int64, float64
0/1, strings "neg"/"pos") with uniform probabilities; 10^6 x 10 probabilities with int64
labels 0..9.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def workloads(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    n = 10**7
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.int64)
    proba = rng.random((10**6, 10)) + 1e-3
    proba /= proba.sum(axis=1, keepdims=True)
    return {
        "log_loss_int": (y, p),
        "log_loss_float": (y.astype(np.float64), p),
        "log_loss_str": (np.array(["neg", "pos"])[y], p),
        "log_loss_multiclass": (rng.integers(0, 10, 10**6), proba),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    import sklearn
    from sklearn.metrics import log_loss as sk_log_loss

    import plogp

    print(
        f"plogp threads {plogp.get_num_threads()}, simd {plogp.simd_level()}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    )
    for name, (y, p) in workloads(np.random.default_rng(0)).items():
        if args.only and name not in args.only:
            continue
        ours, theirs = [], []
        mine = plogp.log_loss(y, p)  # warm-up, and the values compared
        want = sk_log_loss(y, p)
        for _ in range(args.repeat):
            t = time.perf_counter()
            plogp.log_loss(y, p)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            sk_log_loss(y, p)
            theirs.append(time.perf_counter() - t)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(
            f"{name:22s} plogp {a * 1e3:9.2f} ms  sklearn {b * 1e3:9.1f} ms  "
            f"x{b / a:7.1f}  rel.diff {abs(mine - want) / want:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
