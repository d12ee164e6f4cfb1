"""What each loss option costs over the plain loss, on the two workloads issue 5 names.

For `bce_logits_f32` (10^7 labels and logits, float32) and `sparse_ce_logits_f32`
(10^6 × 100 float32 logits, int64 labels), times the plain call and the same call with each
option, alternating plain and optioned calls so that both see the same machine, and prints the
median time of each and the median of the per-pair ratios (optioned / plain).

    python benches/options.py [--reps N] [--threads N] [--scale F] [--json FILE]

`--scale 0.1` runs a tenth of the sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import plogp

Call = Callable[[], float]


def _workloads(scale: float) -> List[Tuple[str, Call, List[Tuple[str, Call]]]]:
    rng = np.random.default_rng(0)
    n = int(10**7 * scale)
    y = (rng.random(n) < 0.3).astype(np.float32)
    z = rng.normal(0.0, 3.0, n).astype(np.float32)
    bce = plogp.binary_cross_entropy
    pos_weight = np.float32(2.5)

    rows, c = int(10**6 * scale), 100
    logits = rng.normal(0.0, 3.0, (rows, c)).astype(np.float32)
    labels = rng.integers(0, c, rows).astype(np.int64)
    labels[::50] = -100  # 2 % ignored rows where ignore_index is set
    plain_labels = np.where(labels < 0, 0, labels)
    class_weight = rng.uniform(0.5, 2.0, c)
    scce = plogp.sparse_categorical_cross_entropy

    def sparse(**opts: Any) -> Call:
        ys = labels if "ignore_index" in opts else plain_labels
        return lambda: scce(ys, logits, from_logits=True, **opts)

    return [
        (
            "bce_logits_f32",
            lambda: bce(y, z, from_logits=True),
            [
                ("pos_weight", lambda: bce(y, z, from_logits=True, pos_weight=pos_weight)),
                ("label_smoothing", lambda: bce(y, z, from_logits=True, label_smoothing=0.1)),
                (
                    "both",
                    lambda: bce(y, z, from_logits=True, pos_weight=pos_weight, label_smoothing=0.1),
                ),
            ],
        ),
        (
            "sparse_ce_logits_f32",
            sparse(),
            [
                ("class_weight", sparse(class_weight=class_weight)),
                ("ignore_index", sparse(ignore_index=-100)),
                ("label_smoothing", sparse(label_smoothing=0.1)),
                (
                    "all three",
                    sparse(class_weight=class_weight, ignore_index=-100, label_smoothing=0.1),
                ),
            ],
        ),
    ]


def _timed(f: Call) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=15, help="timed pairs per option (default 15)")
    ap.add_argument("--threads", type=int, default=None, help="plogp threads (default: all)")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args()
    if args.threads:
        plogp.set_num_threads(args.threads)
    print(
        f"plogp threads {plogp.get_num_threads()}, tier {plogp.simd_level()}, "
        f"medians of {args.reps} alternating pairs"
    )
    results: Dict[str, Any] = {
        "threads": plogp.get_num_threads(),
        "tier": plogp.simd_level(),
        "reps": args.reps,
        "workloads": {},
    }
    for name, plain, options in _workloads(args.scale):
        plain()  # warm up: pages, thread pool
        rows = {}
        for opt, call in options:
            call()
            pairs = [(_timed(plain), _timed(call)) for _ in range(args.reps)]
            ratios = [b / a for a, b in pairs]
            row = {
                "plain_ms": 1e3 * statistics.median(a for a, _ in pairs),
                "option_ms": 1e3 * statistics.median(b for _, b in pairs),
                "ratio": statistics.median(ratios),
                "ratio_iqr": [float(q) for q in np.percentile(ratios, [25, 75])],
            }
            rows[opt] = row
            print(
                f"{name:<22} +{opt:<16} {row['option_ms']:8.2f} ms vs plain "
                f"{row['plain_ms']:8.2f} ms: × {row['ratio']:.3f} "
                f"(IQR {row['ratio_iqr'][0]:.3f}–{row['ratio_iqr'][1]:.3f})"
            )
        results["workloads"][name] = rows
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
