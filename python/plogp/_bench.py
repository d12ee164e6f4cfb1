"""The benchmark workloads of SPEC §6 and the harness behind ``plogp bench``.

One process times, on the same seeded data: plogp, the NumPy reference (``plogp.reference``,
the "numpy" row every × NumPy is relative to) and every installed peer (``scipy.special`` /
``scipy.stats``, ``sklearn.metrics.log_loss``, ``torch.nn.functional`` on plogp's threads,
``jax.jit`` / optax and numba ``prange`` loops: :mod:`plogp._bench_peers`). A peer that is
not installed has no row. Each large workload also gets a measured memory roof: the time for
``threads`` threads to read its input bytes once. Each implementation's result is compared
with an exact reference: terms in extended precision (``numpy.longdouble``, 64-bit
significand on x86-64), added without rounding error by ``math.fsum``. Per workload, the
fastest peer that ran is the "best peer", and plogp's speed-up over it is reported.

Optional dependencies (rich, matplotlib, the peers) are imported lazily. A run that finds jax
turns on ``jax_enable_x64`` (float64 data computed in float64) and restores it afterwards.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import hashlib
import importlib
import importlib.metadata
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

import plogp
from plogp import _bench_peers as peers

SEED = 20240607
# --quick divides every size by this; the latency workload keeps its 100 elements.
QUICK_DIVISOR = 10
FULL_REPEAT = 9
QUICK_REPEAT = 5
# A slow peer gets fewer runs: at most this many seconds of timed calls per row (never fewer
# than SLOW_MIN_RUNS runs).
FULL_ROW_BUDGET_S = 10.0
QUICK_ROW_BUDGET_S = 3.0
SLOW_MIN_RUNS = 3
# The latency workload times loops of calls: a run lasts about this long (full / --quick),
# with at most LATENCY_MAX_CALLS calls.
LATENCY_TARGET_S = 0.05
QUICK_LATENCY_TARGET_S = 0.01
LATENCY_MAX_CALLS = 10_000
# Exact references of reductions cost ~0.3 µs per input element (long double logs and
# math.fsum): above this many elements, every implementation is re-run on the leading rows
# for the error column.
EXACT_MAX_ELEMS = 10**7
# Per-row outputs: the error is the maximum over this many evenly spaced rows.
EXACT_MAX_ROWS = 10_000
_EXT_CHUNK = 1 << 18

_EXTENDED = np.longdouble if np.finfo(np.longdouble).nmant >= 63 else np.float64

Data = Dict[str, np.ndarray]


# --------------------------------------------------------------------------- exact references


def _exact_sum(chunks: Iterable[np.ndarray]) -> Fraction | float:
    """Exact sum of extended-precision terms, as a Fraction (a float if a term is inf/NaN).

    Each term is split without error into float64 ``hi + lo``; per chunk, ``math.fsum`` gives
    the correctly rounded sum ``s`` and a second ``fsum`` the residual ``r`` (exact to
    ~2**-106 relative), accumulated as Fractions.
    """
    total = Fraction(0)
    for terms in chunks:
        if not np.isfinite(terms).all():  # inf or NaN: nothing left to round
            return float(total) + float(np.sum(terms, dtype=np.float64))
        hi = terms.astype(np.float64)
        parts = hi.tolist()
        if _EXTENDED is not np.float64:
            parts += (terms - hi).astype(np.float64).tolist()
        s = math.fsum(parts)
        parts.append(-s)
        total += Fraction(s) + Fraction(math.fsum(parts))
    return total


def _exact_mean(chunks: Iterable[np.ndarray], count: int) -> float:
    total = _exact_sum(chunks)
    if isinstance(total, float):
        return total / count
    return float(total / count)


def _row_chunks(n: int) -> Iterator[slice]:
    for start in range(0, n, _EXT_CHUNK):
        yield slice(start, min(n, start + _EXT_CHUNK))


def _clipped(p: np.ndarray, eps: float) -> np.ndarray:
    return np.clip(p, eps, 1.0 - eps).astype(_EXTENDED)


def _bce_prob_terms(y: np.ndarray, p: np.ndarray) -> Iterator[np.ndarray]:
    """-(y log p + (1 - y) log(1 - p)), p clipped at finfo(p).eps, zero-weight terms exactly 0."""
    eps = float(np.finfo(p.dtype).eps)
    y, p = y.reshape(-1), p.reshape(-1)
    for s in _row_chunks(y.size):
        yc, pc = y[s].astype(_EXTENDED), _clipped(p[s], eps)
        terms = np.zeros_like(pc)
        pos, neg = yc != 0, yc != 1
        terms[pos] -= yc[pos] * np.log(pc[pos])
        terms[neg] -= (1 - yc[neg]) * np.log1p(-pc[neg])
        yield terms


def _bce_logits_terms(y: np.ndarray, z: np.ndarray) -> Iterator[np.ndarray]:
    """max(z, 0) - z y + log1p(exp(-|z|))."""
    y, z = y.reshape(-1), z.reshape(-1)
    for s in _row_chunks(y.size):
        yc, zc = y[s].astype(_EXTENDED), z[s].astype(_EXTENDED)
        yield np.maximum(zc, 0) - np.multiply(zc, yc) + np.log1p(np.exp(-np.abs(zc)))


def _sparse_logits_terms(labels: np.ndarray, z: np.ndarray) -> Iterator[np.ndarray]:
    """logsumexp(z_i) - z_i[label_i] per row (the max shift makes both parts non-negative)."""
    rows = max(1, _EXT_CHUNK // z.shape[1])
    for start in range(0, z.shape[0], rows):
        zc = z[start : start + rows].astype(_EXTENDED)
        m = zc.max(axis=1)
        lse_shifted = np.log(np.exp(zc - m[:, None]).sum(axis=1))
        picked = zc[np.arange(zc.shape[0]), labels[start : start + rows]]
        yield (m - picked) + lse_shifted


def _cce_prob_terms(t: np.ndarray, p: np.ndarray) -> Iterator[np.ndarray]:
    """-t log clip(p) over the non-zero targets (the one-hot rows give one term per row)."""
    eps = float(np.finfo(p.dtype).eps)
    rows = max(1, _EXT_CHUNK // p.shape[1])
    for start in range(0, p.shape[0], rows):
        tc, pc = t[start : start + rows], p[start : start + rows]
        nz = tc != 0
        yield -tc[nz].astype(_EXTENDED) * np.log(_clipped(pc[nz], eps))


def _entropy_row(p_row: np.ndarray) -> float:
    pe = p_row[p_row != 0].astype(_EXTENDED)
    total = _exact_sum([-pe * np.log(pe)])
    return float(total)


# --------------------------------------------------------------------------- workloads


@dataclass
class Implementation:
    """One row of the table: how to call it on a workload's data."""

    label: str
    call: str  # the expression timed, for readers of the JSON
    build: Callable[[Data], Callable[[], Any]]  # data -> zero-argument call
    threads: Callable[[], Optional[int]] = lambda: 1
    tier: Callable[[], Optional[str]] = lambda: None
    requires: Optional[str] = None  # importable module the row needs
    dist: Optional[str] = None  # distribution whose version the row records


@dataclass
class Workload:
    """A workload of SPEC §6: its data, the implementations timed on it, its exact value."""

    name: str
    summary: str
    generate: Callable[[np.random.Generator, int], Data]  # (rng, size divisor) -> data
    inputs: Tuple[str, ...]  # the arrays every implementation reads (bytes, roof)
    implementations: List[Implementation]
    exact: Callable[[Data], Any]  # exact reduction (float) or per-row exact (rows, values)
    subset: Optional[Callable[[Data, int], Data]] = None  # leading rows, for the error column
    per_row: bool = False
    latency: bool = False


def _sigmoid_predictions(rng: np.random.Generator, y: np.ndarray, dtype: Any) -> np.ndarray:
    """Logits centred on ±1 (by label) with spread 2: realistic, and inside (eps, 1 - eps)."""
    z = rng.standard_normal(y.shape, dtype=np.float64)
    z *= 2.0
    z += 2.0 * y - 1.0
    return z.astype(dtype, copy=False)


def _gen_bce_prob(rng: np.random.Generator, div: int, n: int = 10**7) -> Data:
    n //= div
    y = (rng.random(n) < 0.5).astype(np.float64)
    p = _sigmoid_predictions(rng, y, np.float64)
    np.negative(p, out=p)
    np.exp(p, out=p)
    p += 1.0
    np.reciprocal(p, out=p)
    return {"y": y, "p": p}


def _gen_latency(rng: np.random.Generator, div: int) -> Data:
    return _gen_bce_prob(rng, 1, n=100)


def _gen_bce_logits(rng: np.random.Generator, div: int) -> Data:
    n = 10**7 // div
    y = (rng.random(n) < 0.5).astype(np.float32)
    return {"y": y, "z": _sigmoid_predictions(rng, y, np.float32)}


def _gen_sparse_logits(rng: np.random.Generator, div: int) -> Data:
    n, c = 10**6 // div, 100
    z = rng.standard_normal((n, c), dtype=np.float32)
    z *= 3.0
    return {"labels": rng.integers(0, c, n, dtype=np.int64), "z": z}


def _gen_cce_prob(rng: np.random.Generator, div: int) -> Data:
    n, c = 10**6 // div, 10
    labels = rng.integers(0, c, n)
    t = np.zeros((n, c))
    t[np.arange(n), labels] = 1.0
    p = rng.standard_normal((n, c))
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return {"t": t, "p": p}


def _gen_entropy_rows(rng: np.random.Generator, div: int) -> Data:
    """Rows of Dirichlet(1, ..., 1): normalised standard exponentials."""
    n, c = 10**6 // div, 100
    p = rng.standard_exponential((n, c))
    p /= p.sum(axis=1, keepdims=True)
    return {"p": p}


def _gen_log_loss_int(rng: np.random.Generator, div: int) -> Data:
    d = _gen_bce_prob(rng, div)
    return {"y": d["y"].astype(np.int64), "p": d["p"]}


def _gen_log_loss_str(rng: np.random.Generator, div: int) -> Data:
    d = _gen_bce_prob(rng, div)
    return {"y": np.where(d["y"] != 0, "pos", "neg"), "p": d["p"]}


def _gen_log_loss_multiclass(rng: np.random.Generator, div: int) -> Data:
    n, c = 10**6 // div, 10
    labels = rng.integers(0, c, n)
    labels[:c] = np.arange(c)  # every class present, also in tiny test runs
    p = rng.standard_normal((n, c))
    p[np.arange(n), labels] += 1.0  # an informative model, not uniform noise
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return {"y": labels, "p": p}


def _leading_rows(data: Data, rows: int) -> Data:
    return {k: v[:rows] for k, v in data.items()}


def _reference() -> Any:
    return importlib.import_module("plogp.reference")


def _scipy_special() -> Any:
    return importlib.import_module("scipy.special")


def _sklearn_log_loss() -> Any:
    return importlib.import_module("sklearn.metrics").log_loss


def _torch() -> Any:
    return importlib.import_module("torch")


def _torch_f() -> Any:
    return importlib.import_module("torch.nn.functional")


def _torch_threads() -> Optional[int]:
    return int(_torch().get_num_threads())


Build = Callable[[Data], Callable[[], Any]]
PLOGP_LABEL = "plogp"


def _plogp(label_call: str, fn: Build) -> Implementation:
    return Implementation(
        PLOGP_LABEL, label_call, fn, threads=plogp.get_num_threads, tier=plogp.simd_level,
        dist="plogp",
    )  # fmt: skip


def _numpy(label_call: str, fn: Build) -> Implementation:
    return Implementation("numpy (reference)", label_call, fn, dist="numpy")


def _scipy(label: str, call: str, fn: Build, module: str = "scipy.special") -> Implementation:
    return Implementation(label, call, fn, requires=module, dist="scipy")


def _sklearn(call: str, fn: Build) -> Implementation:
    return Implementation(
        "sklearn log_loss", call, fn, requires="sklearn.metrics", dist="scikit-learn"
    )


def _torch_peer(call: str, fn: Build) -> Implementation:
    return Implementation("torch", call, fn, threads=_torch_threads, requires="torch", dist="torch")


def _jax_peer(call: str, fn: Build) -> Implementation:
    return Implementation(
        "jax.jit", call, fn, threads=peers.jax_threads, requires="jax.numpy", dist="jax"
    )


def _optax_peer(call: str, fn: Build) -> Implementation:
    return Implementation(
        "optax (jit)", call, fn, threads=peers.jax_threads, requires="optax", dist="optax"
    )


def _numba_peer(call: str, fn: Build) -> Implementation:
    return Implementation(
        "numba prange", call, fn, threads=peers.numba_threads, requires="numba", dist="numba"
    )


def _bce_prob_implementations(with_sklearn: bool) -> List[Implementation]:
    rows = [
        _plogp(
            "plogp.binary_cross_entropy(y, p)",
            lambda d: partial(plogp.binary_cross_entropy, d["y"], d["p"]),
        ),
        _numpy(
            "plogp.reference.binary_cross_entropy(y, p)",
            lambda d: partial(_reference().binary_cross_entropy, d["y"], d["p"]),
        ),
        _scipy(
            "scipy.special",
            "-np.mean(xlogy(y, p) + xlog1py(1 - y, -p))",
            lambda d: partial(_scipy_bce_prob, d["y"], d["p"]),
        ),
    ]
    if with_sklearn:
        rows.append(
            _sklearn(
                "sklearn.metrics.log_loss(y, p)",
                lambda d: partial(_sklearn_log_loss(), d["y"], d["p"]),
            )
        )
    rows += [
        _torch_peer(
            "F.binary_cross_entropy(from_numpy(p), from_numpy(y))",
            lambda d: partial(_torch_bce_prob, d["y"], d["p"]),
        ),
        _jax_peer("jit(-mean(y * log(p) + (1 - y) * log1p(-p)))", peers.JAX_BCE_PROB),
        _numba_peer(
            "prange: if y != 0: acc -= y*log(p); if y != 1: acc -= (1-y)*log1p(-p)",
            peers.NUMBA_BCE_PROB,
        ),
    ]
    return rows


def _log_loss_implementations(y_note: str) -> List[Implementation]:
    """plogp.log_loss itself against the NumPy reference and scikit-learn, same arguments."""
    return [
        _plogp(
            f"plogp.log_loss(y, p)  # {y_note}", lambda d: partial(plogp.log_loss, d["y"], d["p"])
        ),
        _numpy(
            "plogp.reference.log_loss(y, p)",
            lambda d: partial(_reference().log_loss, d["y"], d["p"]),
        ),
        _sklearn(
            "sklearn.metrics.log_loss(y, p)",
            lambda d: partial(_sklearn_log_loss(), d["y"], d["p"]),
        ),
    ]


def _scipy_bce_prob(y: np.ndarray, p: np.ndarray) -> float:
    sp = _scipy_special()
    return -float(np.mean(sp.xlogy(y, p) + sp.xlog1py(1 - y, -p)))


def _torch_bce_prob(y: np.ndarray, p: np.ndarray) -> Any:
    torch = _torch()
    return _torch_f().binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y))


def _scipy_bce_logits(y: np.ndarray, z: np.ndarray) -> float:
    sp = _scipy_special()
    return -float(np.mean(y * sp.log_expit(z) + (1 - y) * sp.log_expit(-z)))


def _torch_bce_logits(y: np.ndarray, z: np.ndarray) -> Any:
    torch = _torch()
    return _torch_f().binary_cross_entropy_with_logits(torch.from_numpy(z), torch.from_numpy(y))


def _scipy_sparse_logits(labels: np.ndarray, z: np.ndarray) -> float:
    sp = _scipy_special()
    return float(np.mean(sp.logsumexp(z, axis=1) - z[np.arange(z.shape[0]), labels]))


def _torch_sparse_logits(labels: np.ndarray, z: np.ndarray) -> Any:
    torch = _torch()
    return _torch_f().cross_entropy(torch.from_numpy(z), torch.from_numpy(labels))


def _scipy_cce_prob(t: np.ndarray, p: np.ndarray) -> float:
    return -float(np.mean(_scipy_special().xlogy(t, p).sum(axis=1)))


def _torch_cce_prob(t: np.ndarray, p: np.ndarray) -> Any:
    # torch.nn.functional has no probability-input cross-entropy: the usual tensor expression.
    torch = _torch()
    return -torch.special.xlogy(torch.from_numpy(t), torch.from_numpy(p)).sum(dim=1).mean()


def _scipy_entr_rows(p: np.ndarray) -> np.ndarray:
    return _scipy_special().entr(p).sum(axis=1)


def _scipy_stats_entropy(p: np.ndarray) -> np.ndarray:
    return importlib.import_module("scipy.stats").entropy(p, axis=1)


def _torch_entr_rows(p: np.ndarray) -> Any:
    torch = _torch()
    return torch.special.entr(torch.from_numpy(p)).sum(dim=1)


def _entropy_exact_rows(d: Data) -> Tuple[np.ndarray, np.ndarray]:
    p = d["p"]
    spaced = np.linspace(0, p.shape[0] - 1, min(p.shape[0], EXACT_MAX_ROWS))
    rows = np.unique(spaced.round().astype(np.intp))
    return rows, np.array([_entropy_row(p[r]) for r in rows])


def _log_loss_binary_exact(positive: Any) -> Callable[[Data], float]:
    """Exact binary log loss; `positive` is the larger label (scikit-learn's column order)."""

    def exact(d: Data) -> float:
        y01 = (d["y"] == positive).astype(np.float64)
        return _exact_mean(_bce_prob_terms(y01, d["p"]), y01.size)

    return exact


def _log_loss_multiclass_exact(d: Data) -> float:
    y, p = d["y"], d["p"]
    eps = float(np.finfo(p.dtype).eps)
    picked = p[np.arange(y.size), y]
    chunks = (-np.log(_clipped(picked[s], eps)) for s in _row_chunks(y.size))
    return _exact_mean(chunks, y.size)


WORKLOADS: List[Workload] = [
    Workload(
        "bce_prob_f64",
        "10^7 labels (f64 0/1) and probabilities",
        _gen_bce_prob,
        ("y", "p"),
        _bce_prob_implementations(with_sklearn=True),
        lambda d: _exact_mean(_bce_prob_terms(d["y"], d["p"]), d["y"].size),
        subset=_leading_rows,
    ),
    Workload(
        "bce_logits_f32",
        "10^7 labels and logits, f32",
        _gen_bce_logits,
        ("y", "z"),
        [
            _plogp(
                "plogp.binary_cross_entropy(y, z, from_logits=True)",
                lambda d: partial(plogp.binary_cross_entropy, d["y"], d["z"], from_logits=True),
            ),
            _numpy(
                "plogp.reference.binary_cross_entropy(y, z, from_logits=True)",
                lambda d: partial(
                    _reference().binary_cross_entropy, d["y"], d["z"], from_logits=True
                ),
            ),
            _scipy(
                "scipy.special",
                "-np.mean(y * log_expit(z) + (1 - y) * log_expit(-z))",
                lambda d: partial(_scipy_bce_logits, d["y"], d["z"]),
            ),
            _torch_peer(
                "F.binary_cross_entropy_with_logits(from_numpy(z), from_numpy(y))",
                lambda d: partial(_torch_bce_logits, d["y"], d["z"]),
            ),
            _jax_peer(
                "jit(mean(maximum(z, 0) - z * y + log1p(exp(-abs(z)))))", peers.JAX_BCE_LOGITS
            ),
            _optax_peer(
                "jit(optax.sigmoid_binary_cross_entropy(z, y).mean())", peers.OPTAX_BCE_LOGITS
            ),  # fmt: skip
            _numba_peer(
                "prange: acc += max(z, 0) - z*y + log1p(exp(-abs(z)))", peers.NUMBA_BCE_LOGITS
            ),
        ],
        lambda d: _exact_mean(_bce_logits_terms(d["y"], d["z"]), d["y"].size),
        subset=_leading_rows,
    ),
    Workload(
        "sparse_ce_logits_f32",
        "10^6 × 100 f32 logits, int64 labels",
        _gen_sparse_logits,
        ("labels", "z"),
        [
            _plogp(
                "plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True)",
                lambda d: partial(
                    plogp.sparse_categorical_cross_entropy, d["labels"], d["z"], from_logits=True
                ),
            ),
            _numpy(
                "plogp.reference.sparse_categorical_cross_entropy(labels, z, from_logits=True)",
                lambda d: partial(
                    _reference().sparse_categorical_cross_entropy,
                    d["labels"],
                    d["z"],
                    from_logits=True,
                ),
            ),
            _scipy(
                "scipy.special",
                "np.mean(logsumexp(z, axis=1) - z[np.arange(n), labels])",
                lambda d: partial(_scipy_sparse_logits, d["labels"], d["z"]),
            ),
            _torch_peer(
                "F.cross_entropy(from_numpy(z), from_numpy(labels))",
                lambda d: partial(_torch_sparse_logits, d["labels"], d["z"]),
            ),
            _jax_peer(
                "jit(mean(logsumexp(z, axis=1) - take_along_axis(z, labels)))",
                peers.JAX_SPARSE_LOGITS,
            ),
            _optax_peer(
                "jit(optax.softmax_cross_entropy_with_integer_labels(z, labels).mean())",
                peers.OPTAX_SPARSE_LOGITS,
            ),
            _numba_peer(
                "prange over rows: max, sum exp(z - max), acc += max + log(sum) - z[label]",
                peers.NUMBA_SPARSE_LOGITS,
            ),
        ],
        lambda d: _exact_mean(_sparse_logits_terms(d["labels"], d["z"]), d["z"].shape[0]),
        subset=_leading_rows,
    ),
    Workload(
        "cce_prob_f64",
        "10^6 × 10 one-hot targets and probabilities",
        _gen_cce_prob,
        ("t", "p"),
        [
            _plogp(
                "plogp.categorical_cross_entropy(t, p)",
                lambda d: partial(plogp.categorical_cross_entropy, d["t"], d["p"]),
            ),
            _numpy(
                "plogp.reference.categorical_cross_entropy(t, p)",
                lambda d: partial(_reference().categorical_cross_entropy, d["t"], d["p"]),
            ),
            _scipy(
                "scipy.special",
                "-np.mean(xlogy(t, p).sum(axis=1))",
                lambda d: partial(_scipy_cce_prob, d["t"], d["p"]),
            ),
            _sklearn(
                "sklearn.metrics.log_loss(t, p)",
                lambda d: partial(_sklearn_log_loss(), d["t"], d["p"]),
            ),
            _torch_peer(
                "-torch.special.xlogy(t, p).sum(dim=1).mean()",
                lambda d: partial(_torch_cce_prob, d["t"], d["p"]),
            ),
            _jax_peer("jit(-mean(sum(t * log(p), axis=1)))", peers.JAX_CCE_PROB),
            _numba_peer("prange: if t != 0: acc -= t*log(p)", peers.NUMBA_CCE_PROB),
        ],
        lambda d: _exact_mean(_cce_prob_terms(d["t"], d["p"]), d["p"].shape[0]),
        subset=_leading_rows,
    ),
    Workload(
        "entropy_rows_f64",
        "10^6 × 100 distributions, per-row entropy",
        _gen_entropy_rows,
        ("p",),
        [
            _plogp("plogp.entropy(p)", lambda d: partial(plogp.entropy, d["p"])),
            _numpy("plogp.reference.entropy(p)", lambda d: partial(_reference().entropy, d["p"])),
            _scipy(
                "scipy.stats",
                "scipy.stats.entropy(p, axis=1)",
                lambda d: partial(_scipy_stats_entropy, d["p"]),
                module="scipy.stats",
            ),
            _scipy(
                "scipy.special",
                "entr(p).sum(axis=1)",
                lambda d: partial(_scipy_entr_rows, d["p"]),
            ),
            _torch_peer(
                "torch.special.entr(from_numpy(p)).sum(dim=1)",
                lambda d: partial(_torch_entr_rows, d["p"]),
            ),
            _jax_peer("jit(jax.scipy.special.entr(p).sum(axis=1))", peers.JAX_ENTROPY_ROWS),
            _numba_peer("prange over rows: if p > 0: h -= p*log(p)", peers.NUMBA_ENTROPY_ROWS),
        ],
        _entropy_exact_rows,
        per_row=True,
    ),
    Workload(
        "latency_bce_n100",
        "100 elements, one call",
        _gen_latency,
        ("y", "p"),
        _bce_prob_implementations(with_sklearn=False),
        lambda d: _exact_mean(_bce_prob_terms(d["y"], d["p"]), d["y"].size),
        latency=True,
    ),
    Workload(
        "log_loss_int",
        "10^7 binary int64 labels and f64 probabilities, plogp.log_loss",
        _gen_log_loss_int,
        ("y", "p"),
        _log_loss_implementations("int64 labels"),
        _log_loss_binary_exact(1),
    ),
    Workload(
        "log_loss_float",
        "10^7 binary f64 0/1 labels and f64 probabilities, plogp.log_loss",
        _gen_bce_prob,
        ("y", "p"),
        _log_loss_implementations("float64 0/1 labels"),
        _log_loss_binary_exact(1.0),
    ),
    Workload(
        "log_loss_str",
        '10^7 binary string labels ("neg"/"pos") and f64 probabilities, plogp.log_loss',
        _gen_log_loss_str,
        ("y", "p"),
        _log_loss_implementations("<U3 labels"),
        _log_loss_binary_exact("pos"),
    ),
    Workload(
        "log_loss_multiclass",
        "10^6 × 10 f64 probabilities, int64 labels, plogp.log_loss",
        _gen_log_loss_multiclass,
        ("y", "p"),
        _log_loss_implementations("int64 labels, 10 classes"),
        _log_loss_multiclass_exact,
    ),
]


WORKLOAD_NAMES = tuple(w.name for w in WORKLOADS)


# --------------------------------------------------------------------------- measurement


@dataclass
class Row:
    """One measured implementation (or the read roof) on one workload."""

    workload: str
    implementation: str
    call: str
    times_s: List[float]  # per call; latency rows: each is the mean of `calls` calls
    calls: int
    input_bytes: int
    threads: Optional[int]
    tier: Optional[str]
    max_rel_error: Optional[float] = None
    error_scope: Optional[str] = None
    failure: Optional[str] = None
    x_numpy: Optional[float] = None
    x_roof: Optional[float] = None
    plogp_speedup: Optional[float] = None  # this row's median / plogp's (peers only)
    peak_traced_bytes: Optional[int] = None  # see _traced_call
    is_roof: bool = False
    version: Optional[str] = None  # of the implementation's distribution

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s) if self.times_s else math.nan

    @property
    def quartiles_s(self) -> Tuple[float, float]:
        if not self.times_s:
            return math.nan, math.nan
        q1, q3 = np.percentile(self.times_s, [25, 75])
        return float(q1), float(q3)

    @property
    def half_iqr_s(self) -> float:
        if len(self.times_s) < 2:
            return math.nan
        q1, q3 = self.quartiles_s
        return (q3 - q1) / 2

    @property
    def is_peer(self) -> bool:
        return not self.is_roof and self.implementation != PLOGP_LABEL

    @property
    def gb_per_s(self) -> Optional[float]:
        if not self.times_s or self.calls > 1:
            return None
        return self.input_bytes / self.median_s / 1e9

    def to_json(self) -> Dict[str, Any]:
        ok = bool(self.times_s)
        return {
            "workload": self.workload,
            "implementation": self.implementation,
            "call": self.call,
            "runs": len(self.times_s),
            "calls_per_run": self.calls,
            "median_s": self.median_s if ok else None,
            "half_iqr_s": _finite_or_none(self.half_iqr_s),
            "min_s": min(self.times_s) if ok else None,
            "max_s": max(self.times_s) if ok else None,
            "times_s": self.times_s,
            "x_numpy": _finite_or_none(self.x_numpy),
            "gb_per_s": _finite_or_none(self.gb_per_s),
            "x_roof": _finite_or_none(self.x_roof),
            "plogp_speedup": _finite_or_none(self.plogp_speedup),
            "max_rel_error": _finite_or_none(self.max_rel_error),
            "error_scope": self.error_scope,
            "input_bytes": self.input_bytes,
            "threads": self.threads,
            "simd_level": self.tier,
            "version": self.version,
            "peak_traced_mb": None
            if self.peak_traced_bytes is None
            else self.peak_traced_bytes / 1e6,
            "failure": self.failure,
        }


def _finite_or_none(x: Optional[float]) -> Optional[float]:
    return x if x is not None and math.isfinite(x) else None


@dataclass
class Settings:
    quick: bool = False
    repeat: Optional[int] = None  # None: FULL_REPEAT or QUICK_REPEAT
    threads: Optional[int] = None  # None: plogp's current setting
    workloads: Sequence[str] = WORKLOAD_NAMES
    size_divisor: Optional[int] = None  # None: QUICK_DIVISOR with quick, else 1 (tests: more)

    @property
    def runs(self) -> int:
        return self.repeat or (QUICK_REPEAT if self.quick else FULL_REPEAT)

    @property
    def divisor(self) -> int:
        if self.size_divisor is not None:
            return self.size_divisor
        return QUICK_DIVISOR if self.quick else 1

    @property
    def row_budget_s(self) -> float:
        return QUICK_ROW_BUDGET_S if self.quick else FULL_ROW_BUDGET_S


@dataclass
class Report:
    settings: Settings
    rows: List[Row] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    machine: Dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0


def _traced_call(fn: Callable[[], Any]) -> Tuple[Any, int]:
    """Call once under tracemalloc: the result and the peak of memory allocated meanwhile.

    NumPy reports its array buffers to tracemalloc, so the peak counts the N-sized or N×C
    temporaries of the NumPy-based implementations (and the output array of every one);
    plogp's Rust-side scratch memory is not traced.
    """
    tracemalloc.start()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


def _elapsed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _time_calls(fn: Callable[[], Any], runs: int, budget_s: float = math.inf) -> List[float]:
    """`runs` timed calls, or fewer (never below SLOW_MIN_RUNS) once they last `budget_s`."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        times: List[float] = []
        while len(times) < runs and not (len(times) >= SLOW_MIN_RUNS and sum(times) >= budget_s):
            times.append(_elapsed(fn))
        return times
    finally:
        if gc_was_enabled:
            gc.enable()


def _time_latency(fn: Callable[[], Any], runs: int, target_s: float) -> Tuple[List[float], int]:
    """Per-call times: each run is a loop of `calls` calls lasting about `target_s`."""
    t_probe = min(_time_loop(fn, 100) for _ in range(3)) / 100
    calls = int(min(LATENCY_MAX_CALLS, max(100, target_s / max(t_probe, 1e-9))))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [_time_loop(fn, calls) / calls for _ in range(runs)], calls
    finally:
        if gc_was_enabled:
            gc.enable()


def _time_loop(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - t0


def measure_read_roof(buffers: Sequence[np.ndarray], threads: int, runs: int) -> List[float]:
    """Times for `threads` threads to read every byte of `buffers` once.

    Each thread reduces (np.add.reduce, which releases the GIL) its own contiguous share of
    every buffer, viewed as uint64: integer adds have no slow path for the subnormal or NaN
    bit patterns that other dtypes' bytes form when viewed as float64. A run lasts from the
    first thread's start to the last thread's end, read inside the threads: the pool's
    dispatch (~50 µs here) is not memory traffic and would flatter the small --quick sizes.
    """
    words = []
    for b in buffers:
        raw = np.ascontiguousarray(b).reshape(-1).view(np.uint8)
        words.append(raw[: raw.size - raw.size % 8].view(np.uint64))
    shares = [
        [w[k * w.size // threads : (k + 1) * w.size // threads] for w in words]
        for k in range(threads)
    ]

    def read(share: List[np.ndarray]) -> Tuple[float, float]:
        start = time.perf_counter()
        for w in share:
            np.add.reduce(w)
        return start, time.perf_counter()

    def span(pool: ThreadPoolExecutor) -> float:
        spans = list(pool.map(read, shares))
        return max(end for _, end in spans) - min(start for start, _ in spans)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        span(pool)  # start the threads; the caches are then as warm as for a timed call
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return [span(pool) for _ in range(runs)]
        finally:
            if gc_was_enabled:
                gc.enable()


def _as_result(x: Any) -> Any:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return float(x) if np.ndim(x) == 0 else np.asarray(x)


def _rel_error(got: Any, exact: float) -> float:
    got = float(got)
    if exact == got:
        return 0.0
    return abs(got - exact) / abs(exact) if exact != 0 else abs(got - exact)


def _module_available(name: str) -> bool:
    try:
        # The top-level package first: a submodule already in sys.modules would otherwise be
        # found even when its package can no longer be imported.
        importlib.import_module(name.split(".")[0])
        importlib.import_module(name)
    except Exception:  # an installed but broken peer counts as missing
        return False
    return True


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return text[0] if text else type(exc).__name__


ProgressFn = Callable[[str], None]


def run(settings: Settings, progress: Optional[ProgressFn] = None) -> Report:
    """Run the selected workloads; `progress` is called with a description before each step."""
    step = progress or (lambda text: None)
    started = time.perf_counter()
    report = Report(settings)
    previous_threads = plogp.get_num_threads()
    threads = settings.threads or previous_threads
    selected = [w for w in WORKLOADS if w.name in settings.workloads]
    step("looking for the peers")
    wanted = {i.requires.split(".")[0] for w in selected for i in w.implementations if i.requires}
    missing = sorted(m for m in wanted if not _module_available(m))
    plogp.set_num_threads(threads)
    try:
        with _peer_settings(threads, report.notes):
            for workload in selected:
                report.rows += _run_workload(workload, settings, report.notes, step)
                gc.collect()
        if missing:
            report.notes.append("not installed (no rows): " + ", ".join(missing))
    finally:
        plogp.set_num_threads(previous_threads)
    report.machine = machine_info(threads)
    report.elapsed_s = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _peer_settings(threads: int, notes: List[str]) -> Iterator[None]:
    """torch and numba on plogp's `threads`, jax with float64 enabled; all restored on exit.

    XLA's CPU pool cannot be resized once jax is loaded: it keeps one thread per usable core.
    """
    restore: List[Callable[[], None]] = []
    if _module_available("torch"):
        torch = _torch()
        restore.append(partial(torch.set_num_threads, torch.get_num_threads()))
        torch.set_num_threads(threads)
    if _module_available("numba"):
        numba = importlib.import_module("numba")
        restore.append(partial(numba.set_num_threads, numba.get_num_threads()))
        most = int(numba.config.NUMBA_NUM_THREADS)
        if threads > most:
            notes.append(f"numba: {most} threads (NUMBA_NUM_THREADS), not {threads}")
        numba.set_num_threads(min(threads, most))
    if _module_available("jax"):
        jax = importlib.import_module("jax")
        x64 = bool(jax.config.jax_enable_x64)
        restore.append(partial(jax.config.update, "jax_enable_x64", x64))
        jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        for undo in reversed(restore):
            undo()


def _run_workload(w: Workload, settings: Settings, notes: List[str], step: ProgressFn) -> List[Row]:
    step(f"{w.name}: generating data")
    data = w.generate(np.random.default_rng(SEED), 1 if w.latency else settings.divisor)
    inputs = [data[k] for k in w.inputs]
    nbytes = sum(a.nbytes for a in inputs)
    runs = settings.runs
    rows: List[Row] = []
    results: Dict[str, Any] = {}
    for impl in w.implementations:
        if impl.requires and not _module_available(impl.requires):
            continue
        step(f"{w.name}: {impl.label}")
        row = Row(w.name, impl.label, impl.call, [], 1, nbytes, None, None)
        row.version = _plogp_version() if impl.dist == "plogp" else _version(impl.dist)
        try:
            row.threads, row.tier = impl.threads(), impl.tier()
            fn = impl.build(data)  # compiled peers (jax, numba) compile here, untimed
            # Warm-up, untimed: its result is the one checked against the exact reference.
            out, row.peak_traced_bytes = _traced_call(fn)
            results[impl.label] = _as_result(out)
            if w.latency:
                target_s = QUICK_LATENCY_TARGET_S if settings.quick else LATENCY_TARGET_S
                row.times_s, row.calls = _time_latency(fn, runs, target_s)
            else:
                row.times_s = _time_calls(fn, runs, settings.row_budget_s)
            del out, fn
        except Exception as exc:  # a peer's API change must not stop the whole benchmark
            row.failure = _one_line(exc)
            notes.append(f"{w.name}: {impl.label} failed: {row.failure}")
        rows.append(row)

    if not w.latency:
        step(f"{w.name}: read roof")
        threads = plogp.get_num_threads()
        roof = Row(
            w.name,
            f"read roof ({threads} thr)",
            f"np.add.reduce over the input bytes, {threads} threads",
            measure_read_roof(inputs, threads, max(3 * runs, 9)),  # cheap: steadier median
            1,
            nbytes,
            threads,
            None,
            is_roof=True,
        )
        rows.append(roof)
        for row in rows:
            if row.times_s:
                row.x_roof = row.median_s / roof.median_s

    step(f"{w.name}: exact reference")
    _fill_errors(w, data, rows, results, notes, step)

    numpy_row = next((r for r in rows if r.implementation.startswith("numpy") and r.times_s), None)
    plogp_row = next((r for r in rows if r.implementation == PLOGP_LABEL and r.times_s), None)
    for row in rows:
        if numpy_row is not None and row.times_s and not row.is_roof:
            row.x_numpy = numpy_row.median_s / row.median_s
        if plogp_row is not None and row.times_s and row.is_peer:
            row.plogp_speedup = row.median_s / plogp_row.median_s
    del data, inputs, results
    return rows


def _fill_errors(
    w: Workload,
    data: Data,
    rows: List[Row],
    results: Dict[str, Any],
    notes: List[str],
    step: ProgressFn,
) -> None:
    measured = [r for r in rows if not r.is_roof and r.implementation in results]
    if w.per_row:
        idx, exact = w.exact(data)
        n_rows = next(iter(data.values())).shape[0]
        scope = "all rows" if idx.size == n_rows else f"{idx.size} evenly spaced rows"
        for row in measured:
            got = np.asarray(results[row.implementation], dtype=np.float64)[idx]
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(exact != 0, np.abs(got - exact) / np.abs(exact), np.abs(got - exact))
            row.max_rel_error, row.error_scope = float(np.max(rel)), scope
        if scope != "all rows":
            notes.append(f"{w.name}: error = max over {scope} (exact per-row entropy)")
        return

    first = next(iter(data.values()))
    elems = max(a.size for a in data.values())
    if w.subset is None or elems <= EXACT_MAX_ELEMS:
        exact = w.exact(data)
        for row in measured:
            row.max_rel_error = _rel_error(results[row.implementation], exact)
            row.error_scope = "all"
        return

    rows_kept = max(1, first.shape[0] * EXACT_MAX_ELEMS // elems)
    sub = w.subset(data, rows_kept)
    exact, scope = w.exact(sub), f"first {rows_kept} rows"
    notes.append(f"{w.name}: error measured on the {scope} (every implementation re-run on them)")
    impls = {i.label: i for i in w.implementations}
    for row in measured:
        step(f"{w.name}: error of {row.implementation}")
        try:
            got = _as_result(impls[row.implementation].build(sub)())
        except Exception as exc:
            failure = _one_line(exc)
            notes.append(f"{w.name}: {row.implementation} failed on the error subset: {failure}")
            continue
        row.max_rel_error, row.error_scope = _rel_error(got, exact), scope


# --------------------------------------------------------------------------- best peer


def best_peers(rows: Sequence[Row]) -> Dict[str, Dict[str, Any]]:
    """Per workload: the fastest peer that ran (every row but plogp's and the roof) and
    plogp's speed-up over it, median over median, with the range the quartiles allow
    (best peer's first quartile / plogp's third .. best peer's third / plogp's first)."""
    summary: Dict[str, Dict[str, Any]] = {}
    for name in dict.fromkeys(r.workload for r in rows):
        ran = [r for r in rows if r.workload == name and r.times_s and not r.is_roof]
        mine = next((r for r in ran if r.implementation == PLOGP_LABEL), None)
        ranked = sorted((r for r in ran if r.is_peer), key=lambda r: r.median_s)
        entry: Dict[str, Any] = {
            "plogp_median_s": None if mine is None else mine.median_s,
            "peers_ran": [r.implementation for r in ranked],
            "best_peer": None,
            "best_peer_median_s": None,
            "second_peer": None,
            "second_peer_median_s": None,
            "speedup_over_best_peer": None,
            "speedup_range": None,
        }
        if ranked:
            best = ranked[0]
            entry.update(best_peer=best.implementation, best_peer_median_s=best.median_s)
        if len(ranked) > 1:
            entry.update(second_peer=ranked[1].implementation,
                         second_peer_median_s=ranked[1].median_s)  # fmt: skip
        if ranked and mine is not None:
            (b1, b3), (m1, m3) = ranked[0].quartiles_s, mine.quartiles_s
            entry["speedup_over_best_peer"] = ranked[0].median_s / mine.median_s
            entry["speedup_range"] = [b1 / m3, b3 / m1]
        summary[name] = entry
    return summary


# --------------------------------------------------------------------------- machine info


def _cpuinfo() -> Dict[str, Any]:
    model, cores = None, set()
    flags: List[str] = []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            physical = core = None
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model is None:
                    model = value
                elif key == "physical id":
                    physical = value
                elif key == "core id":
                    core = value
                    cores.add((physical, core))
                elif key == "flags" and not flags:
                    flags = value.split()
    except OSError:
        pass
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl") if f in flags]
    return {
        "cpu_model": model or platform.processor() or platform.machine(),
        "physical_cores": len(cores) or None,
        "cpu_simd_flags": simd,
    }


def _version(dist: Optional[str]) -> Optional[str]:
    if dist is None:
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _plogp_version() -> Optional[str]:
    """The installed distribution's version; a source tree on PYTHONPATH has none."""
    return _version("plogp") or getattr(plogp, "__version__", None)


def _plogp_build() -> Dict[str, Any]:
    """What identifies the build behind the figures: the extension file, its SHA-256 and, for a
    source checkout, the git commit (with "+dirty" when the tracked files differ from it)."""
    native = importlib.import_module("plogp._native")
    path = getattr(native, "__file__", None)
    build: Dict[str, Any] = {"version": _plogp_version(), "native": path, "native_sha256": None}
    if path:
        with open(path, "rb") as f:
            build["native_sha256"] = hashlib.sha256(f.read()).hexdigest()
    build["git_commit"] = _git_commit(os.path.dirname(os.path.abspath(plogp.__file__)))
    build.update(plogp.show_config(as_dict=True)["build"])  # profile, rustc, pyo3, abi3, ...
    return build


def _git_commit(directory: str) -> Optional[str]:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, text=True, timeout=10
        )
        if done.returncode:
            raise OSError(done.stderr.strip())
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout
        return None
    return commit + ("+dirty" if dirty else "")


# Distributions whose version the JSON records (the peers' and what they run on).
_VERSIONED = (
    "numpy", "scipy", "scikit-learn", "torch", "jax", "jaxlib", "optax", "numba", "llvmlite",
    "rich",
)  # fmt: skip


_RUNTIME_ENV = ("PLOGP_NUM_THREADS", "PLOGP_SIMD")


def machine_info(threads: int) -> Dict[str, Any]:
    info = _cpuinfo()
    usable: Optional[int]
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        import resource

        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    except ImportError:
        peak_rss_mb = None
    info.update(
        {
            "logical_cores": os.cpu_count(),
            "usable_cores": usable,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "versions": {"plogp": _plogp_version(), **{d: _version(d) for d in _VERSIONED}},
            "plogp_build": _plogp_build(),
            "threads": threads,
            "simd_level": plogp.simd_level(),
            "env": {k: os.environ[k] for k in _RUNTIME_ENV if k in os.environ},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "peak_rss_mb": peak_rss_mb,
        }
    )
    return info


def to_json(report: Report) -> Dict[str, Any]:
    s = report.settings
    return {
        "schema": 2,
        "quick": s.quick,
        "repeat": s.runs,
        "seed": SEED,
        "size_divisor": s.divisor,
        "machine": report.machine,
        "elapsed_s": report.elapsed_s,
        "workloads": {w.name: w.summary for w in WORKLOADS if w.name in s.workloads},
        "rows": [r.to_json() for r in report.rows],
        "best_peer": best_peers(report.rows),
        "notes": table_notes(report),
    }


# --------------------------------------------------------------------------- output

HEADERS = (
    "workload", "implementation", "median", "±", "runs", "× NumPy", "plogp ×", "GB/s", "× roof",
    "max rel err", "peak MB", "threads", "tier",
)  # fmt: skip
_RIGHT = set(HEADERS[2:-1])


def _fmt_time(s: float, per_call: bool) -> str:
    if not math.isfinite(s):
        return "—"
    if s >= 1:
        text = f"{s:.2f} s"
    elif s >= 1e-3:
        text = f"{s * 1e3:.3g} ms"
    else:
        text = f"{s * 1e6:.3g} µs"
    return text + ("/call" if per_call else "")


def _fmt_mb(nbytes: int) -> str:
    mb = nbytes / 1e6
    return f"{mb:.0f}" if mb >= 10 else f"{mb:.1f}" if mb >= 0.1 else "<0.1"


def _fmt_ratio(x: Optional[float]) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def table_cells(report: Report) -> List[List[str]]:
    """The table as text cells (one list per row; the workload name only on its first row)."""
    cells = []
    previous = None
    for r in report.rows:
        name = r.workload if r.workload != previous else ""
        previous = r.workload
        if not r.times_s:
            cells.append([name, r.implementation, "failed"] + [""] * (len(HEADERS) - 3))
            continue
        spread = r.half_iqr_s / r.median_s * 100 if r.median_s else math.nan
        err = r.max_rel_error
        cells.append(
            [
                name,
                r.implementation,
                _fmt_time(r.median_s, r.calls > 1),
                f"±{spread:.1f}%" if math.isfinite(spread) else "—",
                f"{len(r.times_s)}×{r.calls}" if r.calls > 1 else str(len(r.times_s)),
                "" if r.is_roof else _fmt_ratio(r.x_numpy),
                _fmt_ratio(r.plogp_speedup) if r.is_peer else "",
                "—" if r.gb_per_s is None else f"{r.gb_per_s:.1f}",
                _fmt_ratio(r.x_roof),
                "" if r.is_roof else ("—" if err is None else "0" if err == 0 else f"{err:.1e}"),
                "" if r.peak_traced_bytes is None else _fmt_mb(r.peak_traced_bytes),
                "" if r.threads is None else str(r.threads),
                r.tier or "",
            ]
        )
    return cells


BEST_HEADERS = (
    "workload", "plogp", "best peer", "its median", "plogp ÷ best peer", "IQR range",
    "second best",
)  # fmt: skip
_BEST_RIGHT = {"plogp", "its median", "plogp ÷ best peer", "IQR range"}


def best_peer_cells(report: Report) -> List[List[str]]:
    """One line per workload: plogp, the fastest peer and plogp's speed-up over it."""
    per_call = {r.workload for r in report.rows if r.calls > 1}
    cells = []
    for name, b in best_peers(report.rows).items():

        def t(x: Optional[float]) -> str:
            return "—" if x is None else _fmt_time(x, name in per_call)

        second = b["second_peer"]
        rng = b["speedup_range"]
        cells.append(
            [
                name,
                t(b["plogp_median_s"]),
                b["best_peer"] or "—",
                t(b["best_peer_median_s"]),
                _fmt_ratio(b["speedup_over_best_peer"]),
                "—" if rng is None else f"{_fmt_ratio(rng[0])}–{_fmt_ratio(rng[1])}",
                "—" if second is None else f"{second} {t(b['second_peer_median_s'])}",
            ]
        )
    return cells


def table_title(report: Report) -> str:
    m = report.machine
    v = m.get("versions", {})
    div = report.settings.divisor
    mode = "full size" if div == 1 else f"{'quick, ' if report.settings.quick else ''}1/{div} sizes"
    commit = m.get("plogp_build", {}).get("git_commit")
    name = v.get("plogp") or (f"source {commit[:7]}{commit[40:]}" if commit else "?")
    return (
        f"plogp {name} bench, {mode}: {m.get('cpu_model')}, "
        f"{m.get('usable_cores')} cores, plogp threads={m.get('threads')}, "
        f"SIMD {m.get('simd_level')}"
    )


def table_notes(report: Report) -> List[str]:
    s = report.settings
    notes = [
        f"median of `runs` timed calls after one warm-up; ± = half the interquartile range; "
        f"slow peers get fewer runs (≤ {s.row_budget_s:.0f} s per row, "
        f"≥ {SLOW_MIN_RUNS} runs).",
        "× NumPy = NumPy reference time / time (higher is faster). GB/s = input bytes / time. "
        "× roof = time / time for all threads to read the input once (1.00 = at the memory roof; "
        "SPEC §5 target ≤ 1.5).",
        "max rel err = |result − exact| / |exact|; exact = terms in extended precision "
        f"({np.dtype(_EXTENDED).name}) summed by math.fsum, from the float64 version of the data.",
        "peak MB = peak memory allocated during one call through NumPy/Python allocators "
        "(tracemalloc, output included); plogp's Rust-side scratch is not traced.",
        "plogp × = this row's time / plogp's time (how many times faster plogp is).",
        "numpy, scipy and scikit-learn run on one thread; torch and numba on plogp's threads "
        "(torch.set_num_threads, numba.set_num_threads); jax / optax on XLA's CPU pool (one "
        "thread per usable core). jax and numba compile before the warm-up; jax inputs are "
        "put on the device once, outside the timing.",
        "best peer = the fastest row other than plogp and the roof (NumPy reference included); "
        "plogp ÷ best peer = its median / plogp's; IQR range = from the quartiles of both.",
        "versions: " + _versions_line(report.machine),
    ]
    if any(r.calls > 1 for r in report.rows):
        notes.append(
            "latency_bce_n100: time per call; runs = runs × calls per run (the time includes "
            "the Python loop, ~0.05 µs per call); SPEC §5 target ≤ 2 µs."
        )
    return notes + report.notes


def _versions_line(machine: Dict[str, Any]) -> str:
    versions = machine.get("versions", {})
    text = ", ".join(f"{k} {v}" for k, v in versions.items() if v is not None)
    commit = machine.get("plogp_build", {}).get("git_commit")
    return text + (f"; plogp source at {commit}" if commit else "")


def render_rich(report: Report, file: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout)
    if not console.is_terminal:
        console.width = max(console.width, 200)  # never wrap a piped table
    table = Table(title=table_title(report), title_justify="left")
    for h in HEADERS:
        table.add_column(h, justify="right" if h in _RIGHT else "left", no_wrap=True)
    for i, cells in enumerate(table_cells(report)):
        if cells[0] and i:
            table.add_section()
        roof = cells[1].startswith("read roof")
        style = "bold" if cells[1] == "plogp" else "dim" if roof else None
        table.add_row(*cells, style=style)
    console.print(table)
    best = Table(title="plogp against the best peer", title_justify="left")
    for h in BEST_HEADERS:
        best.add_column(h, justify="right" if h in _BEST_RIGHT else "left", no_wrap=True)
    for cells in best_peer_cells(report):
        best.add_row(*cells)
    console.print(best)
    for note in table_notes(report):
        console.print(f"  • {note}", highlight=False, soft_wrap=True)


def render_plain(report: Report, file: Any = None) -> None:
    out = file or sys.stdout
    cells = table_cells(report)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if h in _RIGHT else c.ljust(w) for c, w, h in zip(row, widths, HEADERS)
        ).rstrip()

    print(table_title(report), file=out)
    print(line(HEADERS), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for i, row in enumerate(cells):
        if row[0] and i:
            print(file=out)
        print(line(row), file=out)
    print(file=out)
    print("plogp against the best peer", file=out)
    print(_plain_table(BEST_HEADERS, best_peer_cells(report), _BEST_RIGHT), file=out)
    for note in table_notes(report):
        print(f"  * {note}", file=out)


def _plain_table(headers: Sequence[str], cells: List[List[str]], right: set) -> str:
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(row, widths, headers)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def render(report: Report, file: Any = None) -> None:
    """A rich table when rich is installed (the [cli] extra), else plain text."""
    try:
        import rich  # noqa: F401
    except ImportError:
        render_plain(report, file)
    else:
        render_rich(report, file)


def plot(report: Report, path: str) -> None:
    """Bars of × NumPy per workload, one colour per implementation, log scale (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    bars = [r for r in report.rows if not r.is_roof and r.x_numpy is not None]
    workloads = [w.name for w in WORKLOADS if any(r.workload == w.name for r in bars)]
    labels = list(dict.fromkeys(r.implementation for r in bars))
    colours = {label: f"C{k}" for k, label in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(max(7.0, 1.7 * len(workloads)), 4.5))
    width = 0.8 / max(1, max(sum(r.workload == name for r in bars) for name in workloads))
    seen = set()
    for j, name in enumerate(workloads):
        group = [r for r in bars if r.workload == name]
        for k, r in enumerate(group):
            x = j + width * (k - (len(group) - 1) / 2)
            label = r.implementation if r.implementation not in seen else None
            seen.add(r.implementation)
            ax.bar(x, r.x_numpy, width, color=colours[r.implementation], label=label)
            if r.implementation == "plogp":
                text = _fmt_ratio(r.x_numpy)
                ax.annotate(text, (x, r.x_numpy), ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads, rotation=20, ha="right")
    ax.set_ylabel("speed-up over the NumPy reference (×)")
    ax.set_title(table_title(report), fontsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
