#!/usr/bin/env python3
"""Developer entry point of the benchmark harness: the same code as ``plogp bench``.

    python benches/run.py [--quick] [--json out.json] [--plot out.png] [--threads N] [--repeat R]

Workloads, timing, roof and exact references live in ``plogp/_bench.py``; this script only
forwards its arguments, so numbers from either entry point are comparable.
"""

import sys

from plogp.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
