"""`plogp score` on two 2 GB .npy files: peak memory and time against the read roof.

Writes y_true (0/1 labels) and y_pred (probabilities), 2.5·10^8 float64 each, into a temporary
directory (about 4 GB; `--dir` picks where, `--rows` the size), then runs, each in its own
process, which reports its own peak resident set size (VmHWM, Linux):

- the read roof: `np.sum` of both files opened with `np.load(mmap_mode="r")`, i.e. the time
  to read every byte once (memory-mapped, page cache warm after writing; one thread);
- `plogp score Y_TRUE Y_PRED --loss binary --json`.

Prints both wall times, their ratio and both peak RSS; checks the scored mean against
`plogp.binary_cross_entropy` on the first 10^7 rows only as a sanity check of the output,
(the full one-shot call would need both files in memory). Deletes the files afterwards.

    python benches/score_large.py [--rows N] [--dir DIR] [--chunk-size N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import numpy as np

# Each child reports its own peak RSS (VmHWM of /proc/self/status: per process image, unlike
# ru_maxrss, which on Linux starts from the parent's size at fork).
PEAK = """
def _peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import atexit, sys
atexit.register(lambda: print(f"PEAK_RSS_MB {_peak_mb()}", file=sys.stderr))
"""

ROOF = (
    PEAK
    + """
import numpy as np
total = 0.0
for path in sys.argv[1:]:
    total += float(np.sum(np.load(path, mmap_mode="r")))
print(total)
"""
)

SCORE = (
    PEAK
    + """
from plogp.cli import main
status = main(sys.argv[1:])
sys.stdout.flush()
sys.exit(status)
"""
)


def write_inputs(directory: str, rows: int, seed: int = 0) -> List[str]:
    rng = np.random.default_rng(seed)
    y_path = os.path.join(directory, "y_true.npy")
    p_path = os.path.join(directory, "y_pred.npy")
    y = np.lib.format.open_memmap(y_path, mode="w+", dtype=np.float64, shape=(rows,))
    p = np.lib.format.open_memmap(p_path, mode="w+", dtype=np.float64, shape=(rows,))
    step = 1 << 24
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        probability = rng.uniform(0.001, 0.999, stop - start)
        p[start:stop] = probability
        # Labels drawn from the predictions: a calibrated model.
        y[start:stop] = rng.random(stop - start) < probability
    y.flush()
    p.flush()
    del y, p
    return [y_path, p_path]


def run_measured(argv: List[str]) -> Dict[str, Any]:
    """Run ``argv``; wall time, peak RSS (MB) of that process, its stdout."""
    started = time.perf_counter()
    child = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:1] + argv[3:])} failed ({child.returncode}):\n{child.stderr}"
        )
    peak = [line for line in child.stderr.splitlines() if line.startswith("PEAK_RSS_MB ")]
    return {"seconds": elapsed, "peak_rss_mb": float(peak[-1].split()[1]), "stdout": child.stdout}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000_000)
    parser.add_argument("--dir", default=None, help="where to write the files (default: TMPDIR)")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()

    import plogp

    directory = tempfile.mkdtemp(prefix="plogp-score-", dir=args.dir)
    try:
        need = 2 * 8 * args.rows + (1 << 20)
        free = shutil.disk_usage(directory).free
        if free < need * 1.05:
            raise SystemExit(f"needs {need / 1e9:.1f} GB in {directory}, {free / 1e9:.1f} free")
        started = time.perf_counter()
        paths = write_inputs(directory, args.rows)
        print(
            f"wrote 2 x {args.rows} float64 ({need / 1e9:.2f} GB) in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )

        roof = run_measured([sys.executable, "-c", ROOF, *paths])
        command = [sys.executable, "-c", SCORE, "score", *paths, "--loss", "binary", "--json"]
        if args.chunk_size:
            command += ["--chunk-size", str(args.chunk_size)]
        score = run_measured(command)
        result = json.loads(score["stdout"])["result"]

        head = 10_000_000
        y = np.load(paths[0], mmap_mode="r")[:head]
        p = np.load(paths[1], mmap_mode="r")[:head]
        head_mean = plogp.binary_cross_entropy(y, p)

        gigabytes = need / 1e9
        report = {
            "rows": args.rows,
            "bytes": need,
            "threads": plogp.get_num_threads(),
            "simd": plogp.simd_level(),
            "roof_seconds": roof["seconds"],
            "roof_gb_per_s": gigabytes / roof["seconds"],
            "roof_peak_rss_mb": roof["peak_rss_mb"],
            "score_seconds": score["seconds"],
            "score_gb_per_s": gigabytes / score["seconds"],
            "score_peak_rss_mb": score["peak_rss_mb"],
            "score_over_roof": score["seconds"] / roof["seconds"],
            "mean": result["mean"],
            "count": result["count"],
            "head_mean_1e7": head_mean,
        }
        for key, value in report.items():
            print(f"{key:>20}  {value:.4g}" if isinstance(value, float) else f"{key:>20}  {value}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2)
        ok = result["count"] == args.rows and abs(result["mean"] - head_mean) < 1e-3
        if not ok:
            print("unexpected result", file=sys.stderr)
        return 0 if ok else 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
