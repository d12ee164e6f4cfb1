"""``plogp.grad``: gradients and diagonal Hessians of cross-entropy w.r.t. the logits.

Shaped for the custom objectives of gradient-boosting libraries (LightGBM, XGBoost): one
pass over the data, multithreaded and deterministic, optionally written into preallocated
arrays (``out=``). The plain NumPy versions are ``plogp.reference.grad_binary_cross_entropy``
and ``plogp.reference.grad_softmax_cross_entropy``.
"""

from plogp._native import grad_binary_cross_entropy as binary_cross_entropy
from plogp._native import grad_softmax_cross_entropy as softmax_cross_entropy

__all__ = ["binary_cross_entropy", "softmax_cross_entropy"]
