"""plogp: fast, exact entropy, cross-entropy, divergences and classification losses.

Every public function is implemented in Rust (``plogp._native``); ``plogp.reference`` holds the
same functions in plain NumPy.
"""

import os as _os

from plogp._native import (
    _after_fork_in_child,
    binary_cross_entropy,
    categorical_cross_entropy,
    cross_entropy,
    entropy,
    entropy_from_logits,
    get_num_threads,
    js_divergence,
    kl_divergence,
    log_sigmoid,
    log_softmax,
    logsumexp,
    set_num_threads,
    sigmoid,
    simd_level,
    softmax,
    sparse_categorical_cross_entropy,
)
from plogp._log_loss import log_loss
from plogp._config import package_version as _package_version
from plogp._config import show_config
from plogp._native import (
    binary_focal_cross_entropy,
    categorical_focal_cross_entropy,
    sparse_categorical_focal_cross_entropy,
)
from plogp import grad
from plogp import metrics  # the streaming metrics: ``plogp.metrics.BinaryCrossEntropy``...

__version__ = _package_version()

# A forked child has none of the parent's worker threads: drop the pool there (Windows has
# no fork, and no os.register_at_fork).
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = [
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "cross_entropy",
    "entropy",
    "entropy_from_logits",
    "get_num_threads",
    "js_divergence",
    "kl_divergence",
    "log_loss",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "set_num_threads",
    "sigmoid",
    "simd_level",
    "softmax",
    "sparse_categorical_cross_entropy",
]
__all__ += [
    "binary_focal_cross_entropy",
    "categorical_focal_cross_entropy",
    "sparse_categorical_focal_cross_entropy",
]
