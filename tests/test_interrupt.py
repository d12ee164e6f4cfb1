"""Ctrl-C stops a long native call (issue 15): ``KeyboardInterrupt`` within 0.5 s of SIGINT,
no thread left behind, the pool usable and bit-identical afterwards, no memory kept.

Each case runs in a child interpreter that first sizes its input so that one uninterrupted
call lasts at least ``MIN_CALL_S`` (so a call that ignored the signal could not pass; the
size stays within half of the available memory, and the parent checks that the call still
lasts longer than the signal delay plus the latency bound), prints ``ready``, and makes the
call again; the parent sends SIGINT ``SIGNAL_AFTER_S`` later. Both read ``time.monotonic()``
(``CLOCK_MONOTONIC``, one clock for every process on Linux). Linux only (``/proc/self/task``
lists the child's threads).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import cache
from pathlib import Path

import pytest

from conftest import requires_native

pytestmark = [
    requires_native,
    pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc (Linux)"),
]

SIGNAL_AFTER_S = 0.2  # the child prints "ready" just before the call: it is inside it by then
LATENCY_S = 0.5  # issue 15: KeyboardInterrupt within 0.5 s of the signal
MIN_CALL_S = 1.5  # an uninterrupted call lasts at least this long (> SIGNAL_AFTER_S + LATENCY_S)

CHILD = r"""
import hashlib, json, os, signal, sys, threading, time
import numpy as np
import plogp

kind, MIN_CALL_S = sys.argv[1], float(sys.argv[2])
rng = np.random.default_rng(15)
BASE = 1 << 20

def threads():
    names = []
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:  # a thread ending right now
            pass
    return sorted(names)

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def digest(v):
    if isinstance(v, float):
        return v.hex()
    if isinstance(v, tuple):
        return [digest(x) for x in v]
    return hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()

def make(n):
    # Inputs of n elements, repeated from a random block of 2^20 (cheap to build at any n).
    z = np.resize(rng.normal(0, 3, BASE).astype(np.float32), n)
    y = np.resize((rng.random(BASE) < 0.3).astype(np.int8), n)
    if kind in ("bce", "concurrent"):
        return lambda a, b: plogp.binary_cross_entropy(y[a:b], z[a:b], from_logits=True,
                                                       reduction="none")
    if kind == "groups":
        ids = np.resize(rng.integers(0, 7, BASE).astype(np.int32), n)
        return lambda a, b: plogp.binary_cross_entropy(y[a:b], z[a:b], from_logits=True,
                                                       groups=ids[a:b])
    if kind == "grad":
        return lambda a, b: plogp.grad.binary_cross_entropy(y[a:b], z[a:b], hessian=True)
    if kind == "focal":
        return lambda a, b: plogp.binary_focal_cross_entropy(y[a:b], z[a:b], from_logits=True,
                                                             gamma=2.0, alpha=0.25)
    c = 100
    rows = z[: n // c * c].reshape(-1, c)
    if kind == "sparse":
        labels = np.resize(rng.integers(0, c, BASE // c), n // c)
        return lambda a, b: plogp.sparse_categorical_cross_entropy(
            labels[a // c:b // c], rows[a // c:b // c], from_logits=True)
    if kind == "entropy":
        return lambda a, b: plogp.entropy_from_logits(rows[a // c:b // c])
    if kind == "softmax":
        return lambda a, b: plogp.softmax(rows[a // c:b // c])
    if kind == "pos_weight":
        y_rows, pos_w = y[: n // c * c].reshape(-1, c), rng.random(c) * 3
        return lambda a, b: plogp.binary_cross_entropy(
            y_rows[a // c:b // c], rows[a // c:b // c], from_logits=True, pos_weight=pos_w,
            reduction="none")
    raise SystemExit(f"unknown kind {kind}")

# Bytes per element that a call of each kind holds at once (inputs, outputs; "concurrent"
# runs two calls), so that sizing never asks for more memory than the machine has.
BYTES = {"bce": 9, "concurrent": 13, "groups": 9, "grad": 13, "focal": 5, "sparse": 6,
         "entropy": 5, "softmax": 9, "pos_weight": 9}

def available_bytes():
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) * 1024

def timed(call, n):
    t = time.monotonic()
    out = call(0, n)
    return time.monotonic() - t, out

# Size the input: double n until one call lasts MIN_CALL_S, up to half of the available
# memory. A call is timed twice and the shorter time counts: the first touch of fresh memory
# can cost more than the kernel on a VM, and the interrupted call is a repeat too.
limit = int(0.5 * available_bytes() / BYTES[kind])
n = min(1 << 24, limit)
while True:
    call = make(n)
    first_s, full = timed(call, n)
    del full
    full_s, full = timed(call, n)
    full_s = min(first_s, full_s)
    if full_s >= MIN_CALL_S or n >= limit:
        break
    del call, full
    n = min(2 * n, limit)
full = digest(full)
small = digest(call(0, 1 << 22))  # several chunks and the pool, below the interrupt threshold
report = {"n": n, "full_s": full_s}
before = {"threads": threads(), "rss": rss()}

other = None
if kind == "concurrent":
    # A second long call from another Python thread: a signal is for the main thread only,
    # so this call must run to its end with the uninterrupted result.
    got = {}
    other = threading.Thread(target=lambda: got.update(value=digest(call(0, n))))
    other.start()
    time.sleep(0.05)

def on_sigint(signum, frame):
    # Runs when the native call's wait loop polls for signals: splits the latency into
    # "signal seen" and "call stopped".
    report["handled"] = time.monotonic()
    raise KeyboardInterrupt

signal.signal(signal.SIGINT, on_sigint)
print("ready", flush=True)
start = time.monotonic()
try:
    result = call(0, n)
    report["outcome"] = "finished"
except KeyboardInterrupt:
    report["outcome"] = "KeyboardInterrupt"
report["caught"] = time.monotonic()
report["call_s"] = report["caught"] - start
if other is not None:
    other.join()
    report["other_identical"] = got.get("value") == full
# A joined thread can still be listed for a moment: the kernel wakes pthread_join when the
# thread releases its memory map, before it removes the task from /proc. A thread that was
# not joined would stay listed through the whole second.
for _ in range(100):
    if threads() == before["threads"]:
        break
    time.sleep(0.01)
report["threads_before"] = before["threads"]
report["threads_after"] = threads()
report["python_threads"] = threading.active_count()
report["rss_growth"] = rss() - before["rss"]
again = call(0, 1 << 22)
report["again_identical"] = digest(again) == small
print(json.dumps(report), flush=True)
"""


def _interrupt(kind: str, threads: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLOGP_")}
    env["PLOGP_NUM_THREADS"] = threads
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), kind, str(MIN_CALL_S)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", line + child.communicate(timeout=120)[1]
        time.sleep(SIGNAL_AFTER_S)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    report["latency"] = report["caught"] - sent
    report["seen_after"] = report.get("handled", report["caught"]) - sent
    return report


def _latency(r: dict) -> str:
    return (
        f"KeyboardInterrupt {r['latency']:.3f} s after SIGINT (handler ran after "
        f"{r['seen_after']:.3f} s)"
    )


def _interrupt_in_time(kind: str, threads: str) -> tuple[dict, str]:
    """One interrupted call, or a second one if the first overran the bound.

    The bound is wall-clock on a shared machine: one stalled scheduling slice of the VM can
    overrun it although the call stopped at its next chunk. The second try must meet it; both
    latencies are in the message.
    """
    first = _interrupt(kind, threads)
    if first["latency"] < LATENCY_S:
        return first, _latency(first)
    again = _interrupt(kind, threads)
    return again, f"{_latency(again)}; first try: {_latency(first)}"


CASES = [
    pytest.param("bce", "1", id="bce-logits-none-1-thread"),
    pytest.param("bce", "2", id="bce-logits-none-2-threads"),
    pytest.param("sparse", "2", id="sparse-ce-rows"),
    pytest.param("entropy", "2", id="entropy-rows"),
    # One thread: writing the gradient and the Hessian is bound by memory bandwidth, so on two
    # threads an input that fits in half of the memory can be too short to time the signal.
    pytest.param("grad", "1", id="grad-bce-hessian-1-thread"),
    pytest.param("groups", "2", id="bce-groups"),
    pytest.param("softmax", "2", id="softmax-rows"),
    pytest.param("pos_weight", "2", id="bce-logits-pos-weight-rows"),
    pytest.param("focal", "2", id="binary-focal-logits"),
]


@pytest.mark.parametrize(("kind", "threads"), CASES)
def test_sigint_stops_a_long_call(kind: str, threads: str) -> None:
    r, latency = _interrupt_in_time(kind, threads)
    # The sizing loop guarantees a call that ignores SIGINT would overrun the bound.
    assert r["full_s"] >= SIGNAL_AFTER_S + LATENCY_S, r
    assert r["outcome"] == "KeyboardInterrupt", r
    assert r["latency"] < LATENCY_S, latency
    assert r["call_s"] < r["full_s"], r  # the call was cut short
    # No thread left: the helper is joined, the pool's workers are the same ones.
    assert "plogp-call" not in r["threads_after"], r["threads_after"]
    assert r["threads_after"] == r["threads_before"], r
    assert r["python_threads"] == 1
    # Nothing kept: the discarded output (reduction="none", the gradients: up to ~2 GB) and
    # every per-chunk buffer were freed.
    assert r["rss_growth"] < 64 << 20, r
    # The next call works and gives the same bits as before the interrupt.
    assert r["again_identical"], r


@cache
def _concurrent() -> tuple[dict, str]:
    return _interrupt_in_time("concurrent", "2")


def test_sigint_spares_a_call_from_another_thread() -> None:
    r, _ = _concurrent()
    assert r["outcome"] == "KeyboardInterrupt", r
    assert r["other_identical"], "the other thread's call was cancelled or changed"
    assert r["threads_after"] == r["threads_before"], r
    assert r["rss_growth"] < 64 << 20, r
    assert r["again_identical"], r


def test_sigint_latency_while_another_thread_uses_the_pool() -> None:
    # The pool's workers take a job from outside only when no chunk of the calls they run is
    # left, so a call queued behind another thread's call could not see its token for seconds;
    # an interruptible call that finds the pool in use runs on its own thread instead
    # (plogp_core::parallel::map_chunks).
    r, latency = _concurrent()
    assert r["latency"] < LATENCY_S, latency
