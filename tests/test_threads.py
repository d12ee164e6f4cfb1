"""Determinism: bitwise-identical results for any thread count and every SIMD tier.

Each configuration runs in a fresh interpreter (``PLOGP_NUM_THREADS`` and ``PLOGP_SIMD`` are
read once per process) that computes every reduction on inputs larger than one 32768-element
chunk and prints the results as ``float.hex`` (per-row results as a hash of their bytes).
"""

from __future__ import annotations

import json
import platform
from functools import cache
from types import ModuleType

import numpy as np
import pytest

from conftest import requires_native, run_python

pytestmark = requires_native

THREAD_COUNTS = ("1", "2", "3", "8")
TIERS = {
    "x86_64": ("scalar", "avx2", "avx512"),
    "AMD64": ("scalar", "avx2", "avx512"),
    "aarch64": ("scalar", "neon"),
    "arm64": ("scalar", "neon"),
}

# Every reduction (and a few per-row results) on ~3*10^5 elements: several chunks plus a tail.
WORKLOAD = r"""
import hashlib, json
import numpy as np
import plogp

rng = np.random.default_rng(20240607)
n, rows, classes = 300_007, 30_011, 10
y = (rng.random(n) < 0.3).astype(np.int8)
soft = rng.random(n)
p = rng.random(n)
z32 = rng.normal(0, 4, n).astype(np.float32)
w = rng.random(n) * 3
dist = rng.random(n)
dist /= dist.sum()
dist2 = rng.random(n)
dist2 /= dist2.sum()
logits = rng.normal(0, 3, (rows, classes))
probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
labels = rng.integers(0, classes, rows).astype(np.int32)
one_hot = np.eye(classes)[labels]
row_w = rng.random(rows)
class_w = rng.random(classes) + 0.5
p_nan = np.where(rng.random(n) < 0.01, np.nan, p)
item_groups = rng.integers(0, 7, n)
row_groups = rng.integers(0, 5, rows).astype(np.int32)
pos_w = rng.random(7) * 3
# Some non-target classes masked (-inf logits): the smoothed rows' K < C path.
masked = np.where((rng.random((rows, classes)) < 0.1) & (one_hot == 0), -np.inf, logits)

def out(v):
    if isinstance(v, float):
        return v.hex()
    if isinstance(v, tuple):  # gradient and Hessian
        return [out(part) for part in v]
    return hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()

results = {
    "bce_prob_f64": plogp.binary_cross_entropy(y, p),
    "bce_prob_soft_sum": plogp.binary_cross_entropy(soft, p, reduction="sum"),
    "bce_prob_weighted": plogp.binary_cross_entropy(y, p, sample_weight=w),
    "bce_prob_f32": plogp.binary_cross_entropy(y, p.astype(np.float32)),
    "bce_logits_f32": plogp.binary_cross_entropy(y, z32, from_logits=True),
    "bce_logits_f64_weighted": plogp.binary_cross_entropy(
        soft, z32.astype(np.float64), from_logits=True, sample_weight=w),
    "sparse_ce_logits_f64": plogp.sparse_categorical_cross_entropy(
        labels, logits, from_logits=True),
    "sparse_ce_logits_f32": plogp.sparse_categorical_cross_entropy(
        labels, logits.astype(np.float32), from_logits=True, sample_weight=row_w),
    "sparse_ce_prob_f64": plogp.sparse_categorical_cross_entropy(labels, probs),
    "cce_prob_f64": plogp.categorical_cross_entropy(one_hot, probs),
    "cce_logits_sum": plogp.categorical_cross_entropy(
        one_hot, logits, from_logits=True, reduction="sum"),
    "entropy_1d": plogp.entropy(dist),
    "entropy_1d_f32": plogp.entropy(dist.astype(np.float32)),
    "entropy_from_logits_1d": plogp.entropy_from_logits(z32.astype(np.float64)),
    "cross_entropy_1d": plogp.cross_entropy(dist, dist2),
    "kl_divergence_1d": plogp.kl_divergence(dist, dist2),
    "js_divergence_1d": plogp.js_divergence(dist, dist2),
    "logsumexp_1d": plogp.logsumexp(z32.astype(np.float64)),
    "entropy_rows_f64": plogp.entropy(probs),
    "bce_prob_none": plogp.binary_cross_entropy(y, p, reduction="none"),
    "log_softmax_rows": plogp.log_softmax(logits),
    # The loss options, the focal losses, the gradients and the grouped driver.
    "bce_logits_options": plogp.binary_cross_entropy(
        soft, z32, from_logits=True, pos_weight=2.5, label_smoothing=0.1, sample_weight=w),
    "bce_prob_omit": plogp.binary_cross_entropy(y, p_nan, nan_policy="omit"),
    "sparse_ce_logits_options": plogp.sparse_categorical_cross_entropy(
        labels, logits, from_logits=True, class_weight=class_w, label_smoothing=0.2,
        ignore_index=3),
    "cce_logits_smoothed_f32": plogp.categorical_cross_entropy(
        one_hot, logits.astype(np.float32), from_logits=True, label_smoothing=0.1,
        class_weight=class_w),
    "bce_groups": plogp.binary_cross_entropy(y, p, groups=item_groups, sample_weight=w),
    "sparse_ce_groups_sum": plogp.sparse_categorical_cross_entropy(
        labels, logits, from_logits=True, groups=row_groups, reduction="sum"),
    "focal_bce_logits": plogp.binary_focal_cross_entropy(
        y, z32, from_logits=True, gamma=2.0, alpha=0.25),
    "focal_bce_prob_none": plogp.binary_focal_cross_entropy(y, p, reduction="none"),
    "focal_sparse_logits": plogp.sparse_categorical_focal_cross_entropy(
        labels, logits, from_logits=True, gamma=1.5, sample_weight=row_w),
    "grad_bce": plogp.grad.binary_cross_entropy(soft, z32, sample_weight=w, hessian=True),
    "grad_softmax": plogp.grad.softmax_cross_entropy(labels, logits.astype(np.float32),
                                                     hessian=True),
    # Issue 15: every option, focal variant, gradient and grouped entry point.
    "bce_prob_pos_weight_array_smoothed": plogp.binary_cross_entropy(
        y[: n // 7 * 7].reshape(-1, 7),
        p[: n // 7 * 7].reshape(-1, 7), pos_weight=pos_w, label_smoothing=0.05),
    "bce_logits_pos_weight_array_none": plogp.binary_cross_entropy(
        soft[: n // 7 * 7].reshape(-1, 7), z32[: n // 7 * 7].reshape(-1, 7),
        from_logits=True, pos_weight=pos_w, reduction="none"),
    "cce_prob_class_weight_smoothed": plogp.categorical_cross_entropy(
        one_hot, probs, class_weight=class_w, label_smoothing=0.1, sample_weight=row_w),
    "cce_logits_masked_smoothed": plogp.categorical_cross_entropy(
        one_hot, masked, from_logits=True, label_smoothing=0.1, reduction="none"),
    "sparse_prob_ignore_class_weight": plogp.sparse_categorical_cross_entropy(
        labels, probs, class_weight=class_w, ignore_index=2, sample_weight=row_w),
    "sparse_logits_options_f32_none": plogp.sparse_categorical_cross_entropy(
        labels, logits.astype(np.float32), from_logits=True, class_weight=class_w,
        label_smoothing=0.3, ignore_index=0, reduction="none"),
    "focal_bce_prob_alpha_weighted": plogp.binary_focal_cross_entropy(
        soft, p, gamma=0.5, alpha=0.75, sample_weight=w),
    "focal_sparse_prob_ignore_alpha": plogp.sparse_categorical_focal_cross_entropy(
        labels, probs, gamma=2.0, alpha=class_w / class_w.sum(), ignore_index=4),
    "focal_sparse_logits_f32_none": plogp.sparse_categorical_focal_cross_entropy(
        labels, logits.astype(np.float32), from_logits=True, alpha=0.25, reduction="none"),
    "grad_bce_out_f64": plogp.grad.binary_cross_entropy(
        y, z32.astype(np.float64), out=np.empty(n)),
    "grad_softmax_weighted": plogp.grad.softmax_cross_entropy(
        labels, logits, sample_weight=row_w, hessian=True),
    "bce_logits_groups_f32_options": plogp.binary_cross_entropy(
        soft, z32, from_logits=True, groups=item_groups, pos_weight=1.5, label_smoothing=0.1),
    "cce_groups": plogp.categorical_cross_entropy(
        one_hot, probs, groups=row_groups, class_weight=class_w, sample_weight=row_w),
    "cce_logits_groups_f32": plogp.categorical_cross_entropy(
        one_hot, logits.astype(np.float32), from_logits=True, groups=row_groups,
        label_smoothing=0.2),
    "sparse_groups_ignore_f32": plogp.sparse_categorical_cross_entropy(
        labels, logits.astype(np.float32), from_logits=True, groups=row_groups,
        ignore_index=1, class_weight=class_w),
    "focal_bce_groups": plogp.binary_focal_cross_entropy(
        y, z32, from_logits=True, gamma=2.0, alpha=0.25, groups=item_groups, sample_weight=w),
    "focal_cce_logits_smoothed": plogp.categorical_focal_cross_entropy(
        one_hot, logits, from_logits=True, gamma=2.0, alpha=class_w, label_smoothing=0.1,
        sample_weight=row_w),
    "focal_cce_prob_f32_none": plogp.categorical_focal_cross_entropy(
        one_hot, probs.astype(np.float32), alpha=0.25, reduction="none"),
    "focal_cce_groups": plogp.categorical_focal_cross_entropy(
        one_hot, masked, from_logits=True, gamma=1.5, groups=row_groups, label_smoothing=0.2),
    "focal_sparse_groups_ignore": plogp.sparse_categorical_focal_cross_entropy(
        labels, logits.astype(np.float32), from_logits=True, gamma=1.0, ignore_index=3,
        groups=row_groups, reduction="sum"),
    "focal_sparse_smoothed_ignore": plogp.sparse_categorical_focal_cross_entropy(
        labels, probs, gamma=2.0, alpha=class_w, ignore_index=3, label_smoothing=0.1,
        reduction="none"),
}
print(json.dumps({
    "results": {k: out(v) for k, v in results.items()},
    "threads": plogp.get_num_threads(),
    "simd": plogp.simd_level(),
}))
"""


def _run_workload(env: dict[str, str]) -> dict:
    done = run_python(WORKLOAD, env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@cache
def _workload_with(name: str, value: str) -> dict:
    return _run_workload({name: value})


@cache
def _default_tier() -> str:
    done = run_python("import plogp; print(plogp.simd_level())")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _runnable_tiers() -> list[str]:
    """Every tier this CPU can run, lowest first: each is forced and compared with Scalar,
    so no tier the hardware offers goes untested."""
    from plogp._config import available_tiers  # plogp imports only where it is built

    order = TIERS.get(platform.machine(), ("scalar",))
    available = available_tiers()
    if available is None:  # no /proc/cpuinfo: the tiers up to the detected one
        best = _default_tier()
        assert best in order, f"simd_level() = {best!r} is not a tier of {platform.machine()}"
        available = list(order[: order.index(best) + 1])
    assert set(available) <= set(order), (available, order)
    return available


def test_env_sets_the_thread_count() -> None:
    for count in THREAD_COUNTS:
        assert _workload_with("PLOGP_NUM_THREADS", count)["threads"] == int(count)


@pytest.mark.parametrize("count", THREAD_COUNTS[1:])
def test_results_identical_for_any_thread_count(count: str) -> None:
    single = _workload_with("PLOGP_NUM_THREADS", THREAD_COUNTS[0])["results"]
    many = _workload_with("PLOGP_NUM_THREADS", count)["results"]
    differing = {k: (single[k], many[k]) for k in single if single[k] != many[k]}
    assert not differing, f"PLOGP_NUM_THREADS=1 vs {count}: {differing}"


def test_forced_tier_is_reported() -> None:
    for tier in _runnable_tiers():
        assert _workload_with("PLOGP_SIMD", tier)["simd"] == tier


def test_results_identical_for_every_tier() -> None:
    tiers = _runnable_tiers()
    scalar = _workload_with("PLOGP_SIMD", "scalar")["results"]
    for tier in tiers[1:]:
        other = _workload_with("PLOGP_SIMD", tier)["results"]
        differing = {k: (scalar[k], other[k]) for k in scalar if scalar[k] != other[k]}
        assert not differing, f"PLOGP_SIMD=scalar vs {tier}: {differing}"


def test_unknown_or_unsupported_tier_request_falls_back() -> None:
    runnable = _runnable_tiers()
    scalar = _workload_with("PLOGP_SIMD", "scalar")["results"]
    unsupported = [t for t in ("avx512", "neon") if t not in runnable][0]
    for request in ("bogus", unsupported):
        run = _workload_with("PLOGP_SIMD", request)
        assert run["simd"] in runnable, run["simd"]
        assert run["results"] == scalar, f"PLOGP_SIMD={request} changed a result"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 tiers")
def test_detected_tier_uses_the_cpu() -> None:
    available = _runnable_tiers()
    if "avx2" not in available:
        pytest.skip("this CPU has no AVX2+FMA")
    tier = _default_tier()
    # Every x86-64 tier is verified on hardware (README, "Threads and SIMD"): automatic
    # detection picks the best one the CPU has.
    assert tier == available[-1], f"a CPU with the tiers {available} runs the {tier!r} tier"


# --------------------------------------------------------------------------------------------
# set_num_threads / get_num_threads in this process


@pytest.fixture
def restore_threads(native: ModuleType):
    before = native.get_num_threads()
    yield native
    native.set_num_threads(before)


def test_set_get_num_threads_round_trip(restore_threads: ModuleType) -> None:
    native = restore_threads
    for count in (1, 3, 2, 7):
        native.set_num_threads(count)
        assert native.get_num_threads() == count


def test_set_num_threads_keeps_results_bitwise(
    restore_threads: ModuleType, rng: np.random.Generator
) -> None:
    native = restore_threads
    y = rng.integers(0, 2, 200_001).astype(np.uint8)
    z = rng.normal(0, 5, 200_001)
    logits = rng.normal(0, 2, (20_001, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 20_001)
    results = set()
    for count in (1, 2, 5):
        native.set_num_threads(count)
        results.add(
            (
                native.binary_cross_entropy(y, z, from_logits=True).hex(),
                native.sparse_categorical_cross_entropy(labels, logits, from_logits=True).hex(),
                native.entropy_from_logits(z).hex(),
            )
        )
    assert len(results) == 1, results


@pytest.mark.parametrize("bad", [0, -1, -8])
def test_set_num_threads_rejects_non_positive(restore_threads: ModuleType, bad: int) -> None:
    native = restore_threads
    before = native.get_num_threads()
    with pytest.raises(ValueError, match=r"\bn\b|thread"):
        native.set_num_threads(bad)
    assert native.get_num_threads() == before
