"""Memory: no growth over many calls, and no large temporaries in a big reduction.

Each measurement runs in a fresh subprocess (reading ``VmRSS`` / ``VmHWM`` from
``/proc/self/status``), so the test suite's own allocations cannot disturb it. Linux only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import requires_native

pytestmark = [
    requires_native,
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)"),
]

STATUS = """
def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
"""


def _run(body: str) -> dict[str, float]:
    code = STATUS + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_rss_growth_over_many_calls() -> None:
    # 10^5 small calls and 10^3 large ones (several chunks, the thread pool) after a warm-up of
    # the same calls; a leak of even 20 bytes per small call would show as 2 MB.
    got = _run("""
        import json
        import numpy as np
        import plogp

        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, 16).astype(np.int8)
        p = rng.random(16)
        big_y = rng.integers(0, 2, 300_000).astype(np.int8)
        big_p = rng.random(300_000)
        labels = rng.integers(0, 10, 30_000)
        probs = plogp.softmax(rng.standard_normal((30_000, 10)))

        def small():
            plogp.binary_cross_entropy(y, p)
            plogp.entropy(p)
            try:
                plogp.binary_cross_entropy(y, p + 2.0)  # the error path too
            except ValueError:
                pass

        def large():
            plogp.binary_cross_entropy(big_y, big_p, reduction="none")
            plogp.sparse_categorical_cross_entropy(labels, probs)

        for _ in range(10_000):
            small()
        for _ in range(100):
            large()
        before = status("VmRSS")
        for _ in range(100_000):
            small()
        mid = status("VmRSS")
        for _ in range(1_000):
            large()
        after = status("VmRSS")
        print(json.dumps({"small": mid - before, "large": after - mid}))
    """)
    assert got["small"] < 2 * 2**20, got
    assert got["large"] < 2 * 2**20, got


def test_big_reduction_allocates_no_temporaries() -> None:
    # 10^8 bool labels and f32 probabilities (500 MB of input): the peak RSS during the call
    # may exceed the level before it only by a few MB (thread stacks, per-chunk partial sums).
    got = _run("""
        import json
        import numpy as np
        import plogp

        n = 100_000_000
        y = np.zeros(n, dtype=np.bool_)
        y[::3] = True
        p = np.full(n, 0.25, dtype=np.float32)
        plogp.binary_cross_entropy(y[:1_000_000], p[:1_000_000])  # start the pool
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        before = status("VmHWM")
        plogp.binary_cross_entropy(y, p)
        after = status("VmHWM")
        print(json.dumps({"extra": after - before}))
    """)
    assert got["extra"] < 8 * 2**20, got
