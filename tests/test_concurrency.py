"""Concurrency: Python threads calling at once agree with serial calls; a large call releases
the GIL; a child forked after the parent used the thread pool computes without deadlock."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import plogp

N = 400_003  # above the parallel threshold, several chunks


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, N).astype(np.int8), rng.random(N)


def test_threads_agree_with_serial_calls() -> None:
    inputs = [_data(seed) for seed in range(8)]
    serial = [plogp.binary_cross_entropy(y, p) for y, p in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            concurrent = list(pool.map(lambda a: plogp.binary_cross_entropy(*a), inputs))
            assert [v.hex() for v in concurrent] == [v.hex() for v in serial]


# A switch interval far longer than the test: a Python thread then gets the GIL only when its
# holder releases it by itself (a blocking call, or native code that releases it), never by the
# interpreter's forced switch every 5 ms.
NO_FORCED_SWITCH_S = 120.0
TEST_TIME_LIMIT_S = 30.0


def _ran_during(call: Callable[[], object], time_limit: float = TEST_TIME_LIMIT_S) -> bool:
    """Whether a second Python thread ran while ``call()`` was running.

    The thread waits for ``go``, then sets ``ran``; ``go`` is set just before the call, and
    ``ran`` is read just after it, with no forced GIL switch in between: if ``call`` holds the
    GIL throughout, the thread cannot run before ``ran`` is read, whatever the scheduling.
    The call is repeated until the thread has run or ``time_limit`` seconds have passed (at
    least once), so that a busy machine that is slow to wake the thread during one call does
    not make a false failure.
    """
    go, ran = threading.Event(), threading.Event()

    def other() -> None:
        go.wait()
        ran.set()

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(NO_FORCED_SWITCH_S)
    thread = threading.Thread(target=other)
    try:
        thread.start()
        deadline = time.monotonic() + time_limit
        go.set()
        while True:
            call()
            if ran.is_set():  # read with the GIL held since the call returned
                return True
            if time.monotonic() >= deadline:
                return False
    finally:
        sys.setswitchinterval(old_interval)
        go.set()
        thread.join()


def test_large_call_releases_the_gil() -> None:
    y, p = _data(1)
    y, p = np.tile(y, 20), np.tile(p, 20)  # ~8·10^6 elements, tens of milliseconds
    expected = plogp.binary_cross_entropy(y, p)
    results: list[float] = []
    assert _ran_during(lambda: results.append(plogp.binary_cross_entropy(y, p))), (
        "no other Python thread ran during a large native call: the GIL was not released"
    )
    assert all(r == expected for r in results)


def test_gil_check_detects_a_call_that_holds_the_gil() -> None:
    # The check itself can fail: builtin sum over a range runs in C without releasing the GIL.
    # One call, so that the test takes well under the forced-switch interval.
    assert not _ran_during(lambda: sum(range(3_000_000)), time_limit=0.0)


def _child_loss(queue: "multiprocessing.Queue[str]") -> None:
    y, p = _data(2)
    queue.put(plogp.binary_cross_entropy(y, p).hex())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_computes_after_parent_used_the_pool() -> None:
    y, p = _data(2)
    old = plogp.get_num_threads()
    plogp.set_num_threads(2)
    try:
        parent = plogp.binary_cross_entropy(y, p)  # the pool now exists in the parent
        ctx = multiprocessing.get_context("fork")
        queue: "multiprocessing.Queue[str]" = ctx.Queue()
        child = ctx.Process(target=_child_loss, args=(queue,))
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0, "the forked child hung or crashed"
        assert queue.get(timeout=5) == parent.hex()
    finally:
        plogp.set_num_threads(old)


def test_changing_thread_count_between_calls() -> None:
    y, p = _data(3)
    old = plogp.get_num_threads()
    try:
        results = set()
        for n in (1, 3, 2, 1, 4):
            plogp.set_num_threads(n)
            results.add(plogp.binary_cross_entropy(y, p).hex())
        assert len(results) == 1
    finally:
        plogp.set_num_threads(old)
