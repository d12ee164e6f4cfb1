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


# Peak RSS of every public entry point family on large inputs (issue 15, SPEC §5: peak extra
# memory O(threads × chunk)). Each case builds its inputs, makes a small warm-up call of the
# same kind (the pool, first-use caches), resets VmHWM and measures the big call. Extra memory
# beyond the inputs may be the output the caller asked for (`out_bytes`) plus `BUDGET`.
BUDGET = 32 * 2**20
ROWS, CLASSES, N = 1_000_000, 100, 100_000_000

PEAK_PRELUDE = f"""
import json
import numpy as np
import plogp
import plogp.metrics

rng = np.random.default_rng(14)
ROWS, CLASSES, N = {ROWS}, {CLASSES}, {N}
# Large inputs repeated from a random block (cheap to build; the values do not matter here).
def tile(block, n):
    return np.resize(block, n)
logits = tile(rng.normal(0, 3, 2**20).astype(np.float32), ROWS * CLASSES).reshape(ROWS, CLASSES)
labels = tile(rng.integers(0, CLASSES, 2**16), ROWS)
row_groups = tile(rng.integers(0, 50, 2**16).astype(np.int32), ROWS)
row_w = tile(rng.random(2**16), ROWS)
y = tile(rng.random(2**16) < 0.3, N)
z = tile(rng.normal(0, 3, 2**20).astype(np.float32), N)
item_groups = tile(rng.integers(0, 50, 2**16).astype(np.int32), N)
class_w = rng.random(CLASSES) + 0.5
pos_w = rng.random(CLASSES) * 3
"""

PEAK_CASES = {
    # The loss options (pos_weight over the trailing axis, label smoothing, class weights,
    # ignore_index), from logits and from probabilities.
    "bce_logits_options": (
        "lambda s: plogp.binary_cross_entropy(y[:s].reshape(-1, CLASSES), "
        "z[:s].reshape(-1, CLASSES), from_logits=True, pos_weight=pos_w, label_smoothing=0.1)",
        "0",
    ),
    "sparse_ce_logits_options": (
        "lambda s: plogp.sparse_categorical_cross_entropy(labels[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, class_weight=class_w, label_smoothing=0.1, "
        "ignore_index=3)",
        "0",
    ),
    "cce_logits_smoothed": (
        "lambda s: plogp.categorical_cross_entropy(onehot[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, label_smoothing=0.2, class_weight=class_w)",
        "0",
    ),
    # The focal losses, ignore_index included.
    "sparse_focal_ignore": (
        "lambda s: plogp.sparse_categorical_focal_cross_entropy(labels[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, gamma=2.0, alpha=0.25, ignore_index=3)",
        "0",
    ),
    "sparse_focal_smoothed": (
        "lambda s: plogp.sparse_categorical_focal_cross_entropy(labels[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, gamma=2.0, alpha=class_w, "
        "label_smoothing=0.1)",
        "0",
    ),
    "categorical_focal_logits_smoothed": (
        "lambda s: plogp.categorical_focal_cross_entropy(onehot[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, gamma=2.0, alpha=class_w, "
        "label_smoothing=0.1)",
        "0",
    ),
    "binary_focal_logits": (
        "lambda s: plogp.binary_focal_cross_entropy(y[:s], z[:s], from_logits=True, "
        "gamma=2.0, alpha=0.25)",
        "0",
    ),
    # groups= on float32 input (the per-window buffer is the only temporary).
    "bce_groups_f32": (
        "lambda s: plogp.binary_cross_entropy(y[:s], z[:s], from_logits=True, "
        "groups=item_groups[:s])",
        "0",
    ),
    "sparse_groups_f32": (
        "lambda s: plogp.sparse_categorical_cross_entropy(labels[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, groups=row_groups[:s // CLASSES], "
        "ignore_index=1)",
        "0",
    ),
    "sparse_focal_groups_f32": (
        "lambda s: plogp.sparse_categorical_focal_cross_entropy(labels[:s // CLASSES], "
        "logits[:s // CLASSES], from_logits=True, groups=row_groups[:s // CLASSES])",
        "0",
    ),
    # The gradients: into preallocated arrays (no output at all), and allocated (the output
    # arrays only).
    "grad_softmax_out": (
        "lambda s: plogp.grad.softmax_cross_entropy(labels[:s // CLASSES], logits[:s // CLASSES], "
        "hessian=True, out=(g_out[:s // CLASSES], h_out[:s // CLASSES]))",
        "0",
    ),
    "grad_bce_hessian": (
        "lambda s: plogp.grad.binary_cross_entropy(y[:s], z[:s], hessian=True)",
        "2 * N * 4",
    ),
    # The streaming metrics: one update of a large batch.
    "metrics_sparse_update": (
        "lambda s: plogp.metrics.SparseCategoricalCrossEntropy(from_logits=True, "
        "ignore_index=2).update(labels[:s // CLASSES], logits[:s // CLASSES])",
        "0",
    ),
    # Dense targets: the class masses Σ s·t_c are summed in blocks (no rows × classes
    # product), per group too.
    "metrics_cce_update_weighted": (
        "lambda s: plogp.metrics.CategoricalCrossEntropy(from_logits=True).update("
        "onehot[:s // CLASSES], logits[:s // CLASSES], sample_weight=row_w[:s // CLASSES])",
        "0",
    ),
    "metrics_cce_update_groups": (
        "lambda s: plogp.metrics.CategoricalCrossEntropy(from_logits=True).update("
        "onehot[:s // CLASSES], logits[:s // CLASSES], sample_weight=row_w[:s // CLASSES], "
        "groups=row_groups[:s // CLASSES])",
        "0",
    ),
    "metrics_bce_update_groups": (
        "lambda s: plogp.metrics.BinaryCrossEntropy(from_logits=True).update(y[:s], z[:s], "
        "groups=item_groups[:s])",
        "0",
    ),
    # Entropy: the weighted sums (per group too) in the kernel's pass, no per-row array.
    "metrics_entropy_update_groups": (
        "lambda s: plogp.metrics.Entropy().update(probs[:s // CLASSES], "
        "sample_weight=row_w[:s // CLASSES], groups=row_groups[:s // CLASSES])",
        "0",
    ),
    # log_loss with a 2-D probability array (float32 rows summing to 1), with and without
    # labels=.
    "log_loss_2d": (
        "lambda s: plogp.log_loss(labels[:s // CLASSES], probs[:s // CLASSES])",
        "0",
    ),
    "log_loss_2d_labels": (
        "lambda s: plogp.log_loss(labels[:s // CLASSES], probs[:s // CLASSES], "
        "labels=np.arange(CLASSES))",
        "0",
    ),
    # The entropy family on float32 rows of probabilities (one float32 output per row), and
    # one 10^8-value distribution (a single long row: a float result).
    "entropy_rows": ("lambda s: plogp.entropy(probs[:s // CLASSES], base=2)", "ROWS * 4"),
    "entropy_one_distribution": ("lambda s: plogp.entropy(probs.reshape(-1)[:s])", "0"),
    "entropy_from_logits_rows": (
        "lambda s: plogp.entropy_from_logits(logits[:s // CLASSES])",
        "ROWS * 4",
    ),
    "cross_entropy_rows": (
        "lambda s: plogp.cross_entropy(probs[:s // CLASSES], probs_q[:s // CLASSES])",
        "ROWS * 4",
    ),
    "kl_divergence_rows": (
        "lambda s: plogp.kl_divergence(probs[:s // CLASSES], probs_q[:s // CLASSES])",
        "ROWS * 4",
    ),
    "js_divergence_rows": (
        "lambda s: plogp.js_divergence(probs[:s // CLASSES], probs_q[:s // CLASSES])",
        "ROWS * 4",
    ),
    # Broadcast pairs (issue 16): many rows against one distribution, and (K, 1, C) against
    # (1, M, C); the smaller operand is read in place, never repeated in memory.
    "kl_divergence_one_q": (
        "lambda s: plogp.kl_divergence(probs[:s // CLASSES], probs[0])",
        "ROWS * 4",
    ),
    "js_divergence_outer": (
        "lambda s: plogp.js_divergence(probs[: s // CLASSES // 1000].reshape(-1, 1, CLASSES), "
        "probs_q[None, :1000])",
        "ROWS * 4",
    ),
    # The activations: the output array is the only allocation (N float32 values for the
    # elementwise and row-shaped outputs, one per row for logsumexp).
    "softmax_rows": ("lambda s: plogp.softmax(logits[:s // CLASSES])", "N * 4"),
    "log_softmax_rows": ("lambda s: plogp.log_softmax(logits[:s // CLASSES])", "N * 4"),
    "logsumexp_rows": ("lambda s: plogp.logsumexp(logits[:s // CLASSES])", "ROWS * 4"),
    "sigmoid": ("lambda s: plogp.sigmoid(z[:s])", "N * 4"),
}


def _peak(case: str) -> dict[str, float]:
    """Extra peak RSS of one big call of `case` (and the output bytes it may allocate)."""
    call, out_bytes = PEAK_CASES[case]
    extra_inputs = ""
    if "onehot" in call:
        extra_inputs += "onehot = np.eye(CLASSES, dtype=np.float32)[labels]\n"
    if "probs" in call:
        extra_inputs += "probs = plogp.softmax(logits)\n"
    if "probs_q" in call:
        # A second set of rows (the first reversed), contiguous as the first.
        extra_inputs += "probs_q = np.ascontiguousarray(probs[::-1])\n"
    if "g_out" in call:
        extra_inputs += "g_out, h_out = np.empty_like(logits), np.empty_like(logits)\n"
        extra_inputs += "g_out.fill(0); h_out.fill(0)\n"  # touch the pages before measuring
    got = _run(
        PEAK_PRELUDE
        + extra_inputs
        + f"""
call = {call}
call(CLASSES * 2**14)  # warm-up: the pool, first-use allocations
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS
before = status("VmHWM")
result = call(N)
after = status("VmHWM")
print(json.dumps({{"extra": after - before, "out_bytes": {out_bytes},
                   "threads": plogp.get_num_threads()}}))
"""
    )
    return got


@pytest.mark.parametrize("case", sorted(PEAK_CASES))
def test_peak_rss_is_bounded_by_threads_times_chunk(case: str) -> None:
    got = _peak(case)
    allowed = got["out_bytes"] + BUDGET
    assert got["extra"] <= allowed, (
        f"{case}: {got['extra'] / 2**20:.1f} MB extra at peak with {got['threads']} threads, "
        f"allowed {allowed / 2**20:.1f} MB (output {got['out_bytes'] / 2**20:.1f} MB + "
        f"{BUDGET / 2**20:.0f} MB)"
    )
