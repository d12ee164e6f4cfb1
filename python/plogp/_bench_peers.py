"""The compiled peers of ``plogp bench``: ``jax.jit`` (and optax, jitted) and numba ``prange``.

Each peer is what a performance-minded user would write for a workload:

- jax: the plain formula under ``jax.jit``, and the optax loss where optax has one
  (``optax.sigmoid_binary_cross_entropy``, ``optax.softmax_cross_entropy_with_integer_labels``;
  optax has no loss on probabilities). The inputs are moved to the device once, with
  ``jax.device_put``, outside the timing; the timed call waits for the result
  (``block_until_ready``: jax dispatches asynchronously). float64 data is computed in float64:
  ``plogp._bench.run`` enables ``jax_enable_x64`` for the run. XLA's CPU client sizes its own
  thread pool from the machine's cores; it cannot be set per call.
- numba: one ``@njit(parallel=True)`` function per workload, a ``prange`` loop over elements or
  rows with a float64 accumulator, skipping the logarithms of zero targets (as a user writing
  the loop would); ``numba.set_num_threads`` is set to plogp's threads by the harness.

Every builder takes the workload's data and returns a zero-argument call; it compiles (jax:
traces and compiles for these shapes; numba: compiles for these dtypes) by calling it once,
so the harness's warm-up and timed calls never include compilation. jax, optax and numba are
imported only when a builder runs.
"""

from __future__ import annotations

import importlib
import math
import os
from functools import lru_cache
from typing import Any, Callable, Dict

import numpy as np

Data = Dict[str, np.ndarray]
Build = Callable[[Data], Callable[[], Any]]


# --------------------------------------------------------------------------- jax / optax


def _jax() -> Any:
    return importlib.import_module("jax")


def _jnp() -> Any:
    return importlib.import_module("jax.numpy")


def _optax() -> Any:
    return importlib.import_module("optax")


def jax_threads() -> int:
    """Threads of XLA's CPU pool: one per usable core (XLA's default; not configurable here)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _jax_call(formula: Callable[..., Any], *names: str) -> Build:
    """A builder: jit `formula`, put the arrays on the device once, compile, return the call."""

    def build(d: Data) -> Callable[[], Any]:
        jax = _jax()
        fn = jax.jit(formula)
        args = [jax.device_put(d[n]) for n in names]
        for a in args:
            a.block_until_ready()

        def call() -> Any:
            return fn(*args).block_until_ready()

        call()  # trace and compile for these shapes and dtypes
        return call

    return build


def _jax_bce_prob(y: Any, p: Any) -> Any:
    jnp = _jnp()
    return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log1p(-p))


def _jax_bce_logits(y: Any, z: Any) -> Any:
    jnp = _jnp()
    return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))


def _optax_bce_logits(y: Any, z: Any) -> Any:
    return _optax().sigmoid_binary_cross_entropy(z, y).mean()


def _jax_sparse_logits(labels: Any, z: Any) -> Any:
    jax, jnp = _jax(), _jnp()
    picked = jnp.take_along_axis(z, labels[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - picked)


def _optax_sparse_logits(labels: Any, z: Any) -> Any:
    return _optax().softmax_cross_entropy_with_integer_labels(z, labels).mean()


def _jax_cce_prob(t: Any, p: Any) -> Any:
    jnp = _jnp()
    return -jnp.mean(jnp.sum(t * jnp.log(p), axis=1))


def _jax_entropy_rows(p: Any) -> Any:
    # entr: 0 log 0 = 0 (the plain -p * log(p) would give NaN at p = 0).
    return importlib.import_module("jax.scipy.special").entr(p).sum(axis=1)


JAX_BCE_PROB = _jax_call(_jax_bce_prob, "y", "p")
JAX_BCE_LOGITS = _jax_call(_jax_bce_logits, "y", "z")
OPTAX_BCE_LOGITS = _jax_call(_optax_bce_logits, "y", "z")
JAX_SPARSE_LOGITS = _jax_call(_jax_sparse_logits, "labels", "z")
OPTAX_SPARSE_LOGITS = _jax_call(_optax_sparse_logits, "labels", "z")
JAX_CCE_PROB = _jax_call(_jax_cce_prob, "t", "p")
JAX_ENTROPY_ROWS = _jax_call(_jax_entropy_rows, "p")


# --------------------------------------------------------------------------- numba


def numba_threads() -> int:
    return int(importlib.import_module("numba").get_num_threads())


@lru_cache(maxsize=None)
def _numba_kernels() -> Dict[str, Callable[..., Any]]:
    """The prange loops, defined (not yet compiled) on first use, so numba loads lazily."""
    numba = importlib.import_module("numba")
    njit, prange = numba.njit, numba.prange

    @njit(parallel=True)
    def bce_prob(y: np.ndarray, p: np.ndarray) -> float:
        acc = 0.0
        for i in prange(y.size):
            t, q = y[i], p[i]
            if t != 0:
                acc -= t * math.log(q)
            if t != 1:
                acc -= (1 - t) * math.log1p(-q)
        return acc / y.size

    @njit(parallel=True)
    def bce_logits(y: np.ndarray, z: np.ndarray) -> float:
        acc = 0.0
        for i in prange(z.size):
            x = z[i]
            acc += max(x, 0) - x * y[i] + math.log1p(math.exp(-abs(x)))
        return acc / z.size

    @njit(parallel=True)
    def sparse_logits(labels: np.ndarray, z: np.ndarray) -> float:
        n, c = z.shape
        acc = 0.0
        for i in prange(n):
            m = z[i, 0]
            for j in range(1, c):
                m = max(m, z[i, j])
            s = 0.0
            for j in range(c):
                s += math.exp(z[i, j] - m)
            acc += m + math.log(s) - z[i, labels[i]]
        return acc / n

    @njit(parallel=True)
    def cce_prob(t: np.ndarray, p: np.ndarray) -> float:
        n, c = p.shape
        acc = 0.0
        for i in prange(n):
            for j in range(c):
                if t[i, j] != 0:
                    acc -= t[i, j] * math.log(p[i, j])
        return acc / n

    @njit(parallel=True)
    def entropy_rows(p: np.ndarray) -> np.ndarray:
        n, c = p.shape
        out = np.empty(n)
        for i in prange(n):
            h = 0.0
            for j in range(c):
                q = p[i, j]
                if q > 0:
                    h -= q * math.log(q)
            out[i] = h
        return out

    return {
        "bce_prob": bce_prob,
        "bce_logits": bce_logits,
        "sparse_logits": sparse_logits,
        "cce_prob": cce_prob,
        "entropy_rows": entropy_rows,
    }


def _numba_call(kernel: str, *names: str) -> Build:
    def build(d: Data) -> Callable[[], Any]:
        fn = _numba_kernels()[kernel]
        args = [d[n] for n in names]

        def call() -> Any:
            return fn(*args)

        call()  # compile for these dtypes and dimensions
        return call

    return build


NUMBA_BCE_PROB = _numba_call("bce_prob", "y", "p")
NUMBA_BCE_LOGITS = _numba_call("bce_logits", "y", "z")
NUMBA_SPARSE_LOGITS = _numba_call("sparse_logits", "labels", "z")
NUMBA_CCE_PROB = _numba_call("cce_prob", "t", "p")
NUMBA_ENTROPY_ROWS = _numba_call("entropy_rows", "p")
