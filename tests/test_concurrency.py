"""Concurrency: Python threads calling at once agree with serial calls; a large call releases
the GIL; a child forked after the parent used the thread pool computes without deadlock."""

from __future__ import annotations

import multiprocessing
import threading
import time
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


def test_large_call_releases_the_gil() -> None:
    y, p = _data(1)
    y, p = np.tile(y, 20), np.tile(p, 20)  # ~8·10^6 elements, tens of milliseconds
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = ticks
        for _ in range(3):
            plogp.binary_cross_entropy(y, p)
        during = ticks - before
    finally:
        stop.set()
        counter.join()
    assert during > 10, f"the other thread ran only {during} times during native calls"


def _child_loss(queue: "multiprocessing.Queue[str]") -> None:
    y, p = _data(2)
    queue.put(plogp.binary_cross_entropy(y, p).hex())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_computes_after_parent_used_the_pool() -> None:
    y, p = _data(2)
    plogp.set_num_threads(2)
    parent = plogp.binary_cross_entropy(y, p)  # the pool now exists in the parent
    ctx = multiprocessing.get_context("fork")
    queue: "multiprocessing.Queue[str]" = ctx.Queue()
    child = ctx.Process(target=_child_loss, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "the forked child hung or crashed"
    assert queue.get(timeout=5) == parent.hex()


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
