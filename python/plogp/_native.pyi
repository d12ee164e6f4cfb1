"""Type stubs and reference docs of ``plogp._native``, the Rust extension module.

Every public function of ``plogp`` (except ``log_loss``) is defined here and re-exported by
``plogp/__init__.py``. The docstrings are the API reference; their examples run as doctests
(``tests/test_docs.py``) and ``python -m mypy.stubtest plogp._native`` checks the signatures.
"""

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "entropy",
    "entropy_from_logits",
    "cross_entropy",
    "kl_divergence",
    "js_divergence",
    "softmax",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "log_sigmoid",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "sparse_categorical_cross_entropy",
    "set_num_threads",
    "get_num_threads",
    "simd_level",
    "_after_fork_in_child",
    "_build_info",
    "_log_loss_rows",
    "_entropy_tally",
]
__all__ += [
    "binary_focal_cross_entropy",
    "categorical_focal_cross_entropy",
    "sparse_categorical_focal_cross_entropy",
    "grad_binary_cross_entropy",
    "grad_softmax_cross_entropy",
]

# ---------------------------------------------------------------------------------------------
# Information theory

def entropy(
    p: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> float | NDArray[np.floating[Any]]:
    """Shannon entropy H(p) of each distribution along `axis`.

    Parameters
    ----------
    p : array_like
        Probabilities in [0, 1], float16/32/64 (bool and integer arrays are read as float64).
        Rows are not normalised unless `normalize`.
    axis : int, tuple of ints or None, default -1
        The distribution axis; a tuple reads several axes as one distribution, None the
        whole array (as SciPy's ``axis=None``).
    base : float, optional
        Logarithm base: None for nats, 2 for bits. Must be positive and not 1.
    keepdims : bool, default False
        Keep the reduced axes in the result as dimensions of length 1.
    normalize : bool, default False
        Divide each distribution by its sum first (SciPy's ``scipy.stats.entropy``), in the
        same call: `p` may then hold counts, any finite non-negative values with a positive
        sum per distribution (ValueError otherwise, naming the distribution).

    Returns
    -------
    float or numpy.ndarray
        A Python float for a 1-D `p` (with ``keepdims=False``); otherwise an array of shape
        ``p.shape`` without `axis`, in p's float dtype. An empty distribution gives 0.

    Raises
    ------
    TypeError
        If `p` has an unsupported dtype (complex, object, str, ...).
    ValueError
        If a value of `p` is outside [0, 1] (the message names the first bad flat index),
        `axis` is out of range (including any 0-d `p`), or `base` is not a positive number
        other than 1.

    Notes
    -----
    H(p) = -sum_c p_c * log(p_c), with 0 * log(0) = 0; divided by log(base) if `base` is given.
    NaN propagates. SciPy: ``scipy.special.entr(p).sum(axis)``, and
    ``scipy.stats.entropy(p, axis=axis)`` when p sums to 1 (SciPy normalises p first).
    PyTorch: ``torch.distributions.Categorical(probs=p).entropy()`` (also normalises).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> round(plogp.entropy([0.5, 0.25, 0.25]), 6)
    1.039721
    >>> plogp.entropy([0.5, 0.25, 0.25], base=2)
    1.5
    >>> plogp.entropy(np.array([[0.5, 0.5], [1.0, 0.0]]), base=2)
    array([1., 0.])
    >>> np.round(plogp.entropy([[0.5, 0.5], [1.0, 0.0]], keepdims=True), 6)
    array([[0.693147],
           [0.      ]])
    """

def entropy_from_logits(
    z: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    base: float | None = None,
    keepdims: bool = False,
) -> float | NDArray[np.floating[Any]]:
    """Entropy of softmax(z) along `axis`, without forming the probabilities.

    Parameters
    ----------
    z : array_like
        Logits (unnormalised log-probabilities), float16/32/64. A -inf logit is a class of
        probability 0.
    axis : int, tuple of ints or None, default -1
        The class axis; a tuple reads several axes as one, None the whole array.
    base : float, optional
        Logarithm base: None for nats, 2 for bits. Must be positive and not 1.
    keepdims : bool, default False
        Keep the reduced axes in the result as dimensions of length 1.

    Returns
    -------
    float or numpy.ndarray
        A Python float for a 1-D `z` (or every axis reduced); otherwise an array of shape
        ``z.shape`` without `axis`,
        in z's float dtype.

    Raises
    ------
    TypeError
        If `z` is not a floating-point array (integer and bool included).
    ValueError
        If `axis` is out of range (including any 0-d `z`), or `base` is not a positive number
        other than 1.

    Notes
    -----
    H(softmax(z)) = logsumexp(z) - sum_c softmax(z)_c * z_c, computed max-shifted in one pass.
    -inf logits contribute 0; a row with +inf or NaN gives NaN.
    SciPy: ``scipy.stats.entropy(scipy.special.softmax(z, axis=-1), axis=-1)``.
    PyTorch: ``torch.distributions.Categorical(logits=z).entropy()``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> plogp.entropy_from_logits([0.0, 0.0], base=2)
    1.0
    >>> round(plogp.entropy_from_logits([1.0, 2.0, 3.0]), 6)
    0.832396
    >>> np.round(plogp.entropy_from_logits([[1.0, 2.0, 3.0], [0.0, -np.inf, 0.0]]), 6)
    array([0.832396, 0.693147])
    """

def cross_entropy(
    p: ArrayLike,
    q: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> float | NDArray[np.floating[Any]]:
    """Cross-entropy H(p, q) of each pair of distributions along `axis`.

    Parameters
    ----------
    p : array_like
        True distribution(s), values in [0, 1] (bool and integer arrays are read as float64).
    q : array_like
        Predicted distribution(s), values in [0, 1]; broadcast against `p` by NumPy's
        rules (e.g. many rows of `p` against one `q`), read in place, never repeated.
    axis : int, tuple of ints or None, default -1
        The distribution axis; a tuple reads several axes as one distribution, None the
        whole array (as SciPy's ``axis=None``).
    base : float, optional
        Logarithm base: None for nats, 2 for bits. Must be positive and not 1.
    keepdims : bool, default False
        Keep the reduced axes in the result as dimensions of length 1.
    normalize : bool, default False
        Divide each distribution of `p` and of `q` by its sum first (SciPy's
        ``scipy.stats.entropy(pk, qk)`` and ``jensenshannon``), in the same call: any finite
        non-negative values with a positive sum per distribution (ValueError otherwise).

    Returns
    -------
    float or numpy.ndarray
        A Python float for one distribution; otherwise an array of the broadcast shape of
        `p` and `q` without `axis`, in the wider of the two float dtypes.

    Raises
    ------
    TypeError
        If `p` or `q` has an unsupported dtype (complex, object, str, ...).
    ValueError
        If `p` and `q` do not broadcast or differ in length along `axis`, a value is
        outside [0, 1], `axis` is out of range, or `base` is not a positive number other
        than 1.

    Notes
    -----
    H(p, q) = -sum_c p_c * log(q_c). Terms with p_c = 0 are 0 (also when q_c = 0);
    p_c > 0 = q_c gives inf. No clipping. H(p, q) >= H(p), with equality iff p = q, and
    H(p, q) = H(p) + KL(p || q).
    SciPy: ``-scipy.special.xlogy(p, q).sum(axis)``. Keras:
    ``keras.losses.categorical_crossentropy(p, q)`` (which normalises q and clips it to
    [1e-7, 1 - 1e-7]).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> p, q = [0.5, 0.5], [0.25, 0.75]
    >>> round(plogp.cross_entropy(p, q), 6)
    0.836988
    >>> plogp.cross_entropy(p, q) >= plogp.entropy(p)
    True
    >>> plogp.cross_entropy([1.0, 0.0], [0.0, 1.0])
    inf
    >>> h = plogp.cross_entropy([[0.5, 0.5], [1.0, 0.0]], [[0.25, 0.75], [0.5, 0.5]], base=2)
    >>> np.round(h, 6)
    array([1.207519, 1.      ])
    """

def kl_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> float | NDArray[np.floating[Any]]:
    """Kullback-Leibler divergence KL(p || q) of each pair of distributions along `axis`.

    Parameters
    ----------
    p : array_like
        True distribution(s), values in [0, 1] (bool and integer arrays are read as float64).
    q : array_like
        Reference distribution(s), values in [0, 1]; broadcast against `p` by NumPy's
        rules (e.g. many rows of `p` against one `q`), read in place, never repeated.
    axis : int, tuple of ints or None, default -1
        The distribution axis; a tuple reads several axes as one distribution, None the
        whole array (as SciPy's ``axis=None``).
    base : float, optional
        Logarithm base: None for nats, 2 for bits. Must be positive and not 1.
    keepdims : bool, default False
        Keep the reduced axes in the result as dimensions of length 1.
    normalize : bool, default False
        Divide each distribution of `p` and of `q` by its sum first (SciPy's
        ``scipy.stats.entropy(pk, qk)`` and ``jensenshannon``), in the same call: any finite
        non-negative values with a positive sum per distribution (ValueError otherwise).

    Returns
    -------
    float or numpy.ndarray
        A Python float for one distribution; otherwise an array of the broadcast shape of
        `p` and `q` without `axis`, in the wider of the two float dtypes.

    Raises
    ------
    TypeError
        If `p` or `q` has an unsupported dtype (complex, object, str, ...).
    ValueError
        If `p` and `q` do not broadcast or differ in length along `axis`, a value is
        outside [0, 1], `axis` is out of range, or `base` is not a positive number other
        than 1.

    Notes
    -----
    KL(p || q) = sum_c p_c * log(p_c / q_c), with SciPy's ``rel_entr`` edge cases: a term is 0
    where p_c = 0 and inf where q_c = 0 < p_c. Where q/2 <= p <= 2q a term is computed as
    p * log1p((p - q) / q), which keeps its relative accuracy as p -> q.
    SciPy: ``scipy.special.rel_entr(p, q).sum(axis)``, and ``scipy.stats.entropy(p, q)`` for
    normalised rows. PyTorch: ``torch.nn.functional.kl_div(q.log(), p, reduction="none").sum(-1)``.
    Keras: ``keras.losses.kl_divergence(p, q)`` (clips both to [1e-7, 1]).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> p, q = [0.5, 0.5], [0.25, 0.75]
    >>> round(plogp.kl_divergence(p, q), 6)
    0.143841
    >>> round(plogp.cross_entropy(p, q) - plogp.entropy(p), 6)
    0.143841
    >>> plogp.kl_divergence([0.0, 1.0], [0.5, 0.5], base=2)
    1.0
    >>> plogp.kl_divergence([0.5, 0.5], [0.0, 1.0])
    inf

    Many rows against one reference distribution (broadcast), counts normalised as in SciPy:

    >>> plogp.kl_divergence([[1, 1], [9, 1]], [1, 1], base=2, normalize=True).round(6)
    array([0.      , 0.531004])
    """

def js_divergence(
    p: ArrayLike,
    q: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    base: float | None = None,
    keepdims: bool = False,
    normalize: bool = False,
) -> float | NDArray[np.floating[Any]]:
    """Jensen-Shannon divergence of each pair of distributions along `axis`.

    Parameters
    ----------
    p, q : array_like
        Distributions, values in [0, 1] (bool and integer arrays are read as float64),
        broadcast against each other by NumPy's rules (e.g. many rows against one
        distribution), read in place, never repeated.
    axis : int, tuple of ints or None, default -1
        The distribution axis; a tuple reads several axes as one distribution, None the
        whole array (as SciPy's ``axis=None``).
    base : float, optional
        Logarithm base: None for nats, 2 for bits (the divergence is then in [0, 1]). Must be
        positive and not 1.
    keepdims : bool, default False
        Keep the reduced axes in the result as dimensions of length 1.
    normalize : bool, default False
        Divide each distribution of `p` and of `q` by its sum first (SciPy's
        ``scipy.stats.entropy(pk, qk)`` and ``jensenshannon``), in the same call: any finite
        non-negative values with a positive sum per distribution (ValueError otherwise).

    Returns
    -------
    float or numpy.ndarray
        A Python float for one distribution; otherwise an array of the broadcast shape of
        `p` and `q` without `axis`, in the wider of the two float dtypes.

    Raises
    ------
    TypeError
        If `p` or `q` has an unsupported dtype (complex, object, str, ...).
    ValueError
        If `p` and `q` do not broadcast or differ in length along `axis`, a value is
        outside [0, 1], `axis` is out of range, or `base` is not a positive number other
        than 1.

    Notes
    -----
    JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2. This is the divergence:
    SciPy's ``scipy.spatial.distance.jensenshannon(p, q, axis=axis)`` is its square root (and
    normalises p and q first), so ``jensenshannon(p, q) ** 2`` is the SciPy equivalent.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> plogp.js_divergence([1.0, 0.0], [0.0, 1.0], base=2)
    1.0
    >>> round(plogp.js_divergence([0.5, 0.5], [0.25, 0.75]), 6)
    0.033822
    >>> plogp.js_divergence(np.eye(2), np.eye(2))
    array([0., 0.])
    """

# ---------------------------------------------------------------------------------------------
# Activations

def softmax(z: ArrayLike, *, axis: int | tuple[int, ...] | None = -1) -> NDArray[np.floating[Any]]:
    """Softmax of the logits `z` along `axis`.

    Parameters
    ----------
    z : array_like
        Logits, float16/32/64, at least 1-D.
    axis : int, tuple of ints or None, default -1
        The class axis; a tuple reads several axes as one, None the whole array.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as `z`; each row sums to 1.

    Raises
    ------
    TypeError
        If `z` is not a floating-point array (integer and bool included).
    ValueError
        If `axis` is out of range (including any 0-d `z`).

    Notes
    -----
    softmax(z)_c = exp(z_c - max(z)) / sum_k exp(z_k - max(z)), so large logits do not
    overflow. A row of only -inf, or with +inf or NaN, gives NaN (as SciPy).
    SciPy: ``scipy.special.softmax(z, axis=-1)``. PyTorch: ``torch.softmax(z, dim=-1)``.
    Keras: ``keras.ops.softmax(z, axis=-1)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> np.round(plogp.softmax([1.0, 2.0, 3.0]), 6)
    array([0.090031, 0.244728, 0.665241])
    >>> plogp.softmax([1000.0, 0.0])
    array([1., 0.])
    >>> np.round(plogp.softmax([[1.0, 2.0], [3.0, 4.0]], axis=0), 6)
    array([[0.119203, 0.119203],
           [0.880797, 0.880797]])
    """

def log_softmax(
    z: ArrayLike, *, axis: int | tuple[int, ...] | None = -1
) -> NDArray[np.floating[Any]]:
    """Logarithm of the softmax of the logits `z` along `axis`.

    Parameters
    ----------
    z : array_like
        Logits, float16/32/64, at least 1-D.
    axis : int, tuple of ints or None, default -1
        The class axis; a tuple reads several axes as one, None the whole array.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as `z`.

    Raises
    ------
    TypeError
        If `z` is not a floating-point array (integer and bool included).
    ValueError
        If `axis` is out of range (including any 0-d `z`).

    Notes
    -----
    log_softmax(z)_c = z_c - logsumexp(z), max-shifted: exact where log(softmax(z)) would
    underflow to -inf. A -inf logit gives -inf; a row of only -inf gives NaN (as SciPy).
    SciPy: ``scipy.special.log_softmax(z, axis=-1)``. PyTorch: ``torch.log_softmax(z, dim=-1)``.
    Keras: ``keras.ops.log_softmax(z, axis=-1)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> np.round(plogp.log_softmax([1.0, 2.0, 3.0]), 6)
    array([-2.407606, -1.407606, -0.407606])
    >>> plogp.log_softmax([1000.0, 0.0])
    array([    0., -1000.])
    """

def logsumexp(
    z: ArrayLike, *, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False
) -> float | NDArray[np.floating[Any]]:
    """Logarithm of the sum of exponentials of `z` along `axis`.

    Parameters
    ----------
    z : array_like
        Float16/32/64 values, at least 1-D.
    axis : int, tuple of ints or None, default -1
        The axis (or tuple of axes; None: every axis) to reduce.
    keepdims : bool, default False
        Keep the reduced axes in the result as dimensions of length 1.

    Returns
    -------
    float or numpy.ndarray
        A Python float for a 1-D `z` (or every axis reduced); otherwise an array of shape
        ``z.shape`` without `axis`,
        in z's float dtype.

    Raises
    ------
    TypeError
        If `z` is not a floating-point array (integer and bool included).
    ValueError
        If `axis` is out of range (including any 0-d `z`).

    Notes
    -----
    logsumexp(z) = m + log(sum_c exp(z_c - m)) with m = max(z). A row of only -inf (or an
    empty row) gives -inf; a row containing +inf gives inf.
    SciPy: ``scipy.special.logsumexp(z, axis=-1)``. PyTorch: ``torch.logsumexp(z, dim=-1)``.
    Keras: ``keras.ops.logsumexp(z, axis=-1)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> round(plogp.logsumexp([1.0, 2.0, 3.0]), 6)
    3.407606
    >>> np.round(plogp.logsumexp([[1.0, 2.0], [1000.0, 1000.0]]), 6)
    array([   2.313262, 1000.693147])
    >>> plogp.logsumexp([-np.inf, -np.inf])
    -inf
    """

def sigmoid(z: ArrayLike) -> NDArray[np.floating[Any]]:
    """Logistic sigmoid 1 / (1 + exp(-z)), elementwise.

    Parameters
    ----------
    z : array_like
        Float16/32/64 values of any shape.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as `z` (a 0-d array for a scalar).

    Raises
    ------
    TypeError
        If `z` is not a floating-point array (integer and bool included).

    Notes
    -----
    sigmoid(z) = 1 / (1 + exp(-z)) for z >= 0 and exp(z) / (1 + exp(z)) for z < 0, so no
    exp overflows. SciPy: ``scipy.special.expit(z)``. PyTorch: ``torch.sigmoid(z)``.
    Keras: ``keras.ops.sigmoid(z)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> np.round(plogp.sigmoid([-1000.0, -1.0, 0.0, 1.0, 1000.0]), 6)
    array([0.      , 0.268941, 0.5     , 0.731059, 1.      ])
    >>> plogp.sigmoid(0.0)
    array(0.5)
    """

def log_sigmoid(z: ArrayLike) -> NDArray[np.floating[Any]]:
    """Logarithm of the logistic sigmoid, elementwise.

    Parameters
    ----------
    z : array_like
        Float16/32/64 values of any shape.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as `z` (a 0-d array for a scalar).

    Raises
    ------
    TypeError
        If `z` is not a floating-point array (integer and bool included).

    Notes
    -----
    log_sigmoid(z) = -softplus(-z) = min(z, 0) - log1p(exp(-|z|)): finite for every finite z,
    where log(sigmoid(z)) gives -inf below about z = -745.
    SciPy: ``scipy.special.log_expit(z)``. PyTorch: ``torch.nn.functional.logsigmoid(z)``.
    Keras: ``keras.ops.log_sigmoid(z)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> np.round(plogp.log_sigmoid([-1.0, 0.0, 1.0]), 6)
    array([-1.313262, -0.693147, -0.313262])
    >>> plogp.log_sigmoid([-1000.0, 1000.0])
    array([-1000.,     0.])
    """

# ---------------------------------------------------------------------------------------------
# Losses

def binary_cross_entropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    eps: float | Literal["auto"] = "auto",
    reduction: Literal["mean", "sum", "none"] = "mean",
    nan_policy: Literal["propagate", "raise", "omit"] = "propagate",
    groups: ArrayLike | None = None,
) -> float | NDArray[np.floating[Any]]:
    """Binary cross-entropy (log loss) of targets and predicted probabilities or logits.

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1]: hard 0/1 labels (bool or any integer dtype, read without a copy)
        or soft float targets. Same shape as `y_pred`, any shape (a multilabel (N, C) array
        is scored elementwise); or one trailing axis of length 1 more or less, squeezed as
        in Keras: (N,) targets against (N, 1) predictions score N items, not N × N.
    y_pred : array_like
        Probabilities of the positive class in [0, 1], or logits if `from_logits`;
        float16/32/64.
    from_logits : bool, default False
        Read `y_pred` as logits z, p = sigmoid(z).
    sample_weight : array_like, optional
        Non-negative finite weights of ``y_pred.shape``; or broadcast, read in place: a
        scalar, ``(N,)`` or ``(N, 1)`` along the leading axes (one weight per sample, as in
        Keras and scikit-learn), or a NumPy broadcast over one block of consecutive axes,
        e.g. ``(C,)`` over (N, C) like PyTorch's ``weight=``. Other shapes: ValueError.
    pos_weight : float or array_like, optional
        Weight of the positive term, l = -(pw * y * log(p) + (1 - y) * log(1 - p)): a scalar,
        or an array matching the trailing dimensions of `y_pred` (``(C,)`` for (N, C)
        multilabel input, like PyTorch's BCEWithLogitsLoss). Non-negative and finite.
        Does not change the denominator of "mean".
    label_smoothing : float, default 0.0
        ε in [0, 1]: targets become y * (1 - ε) + ε / 2.
    eps : float or "auto", default "auto"
        Probabilities are clipped to [eps, 1 - eps]; "auto" is ``numpy.finfo(dtype).eps``
        of the computed dtype (float32 for float16 input). 1e-7 is Keras' value; 0 is exact
        (and may return inf). Ignored with `from_logits`.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean": weighted mean over all elements; "sum": weighted sum; "none": the weighted
        loss of each element.
    nan_policy : {"propagate", "raise", "omit"}, default "propagate"
        What to do with items whose loss is NaN (a NaN input, or e.g. inf - inf logits):
        let the NaN reach the result, raise ValueError at the first one, or drop them from
        both the numerator and the denominator of "mean" (their "none" output stays NaN).
    groups : array_like of int, optional
        A group id >= 0 for every element (``y_pred.shape``), or 1-D of length ``shape[0]`` (broadcast along
        the first axis). With groups, "mean" and "sum" return one value per group id
        ``0 .. max(groups)`` as a float64 array, computed in one pass: per group
        ``sum(s * l)`` or ``sum(s * l) / sum(s)`` ("mean" is NaN for a group of zero total
        weight, e.g. an id that does not occur). Ids must be below 2**24; "none" with groups
        is a ValueError. Every other option applies: each group's value is this function on
        that group's items alone.

    Returns
    -------
    float or numpy.ndarray
        A Python float for "mean" and "sum"; for "none" an array of ``y_pred.shape`` in
        y_pred's float dtype.

    Raises
    ------
    TypeError
        If `y_pred` is not a floating-point array, or `y_true` / `sample_weight` has an
        unsupported dtype (complex, object, str, ...).
    ValueError
        If `y_true` and `y_pred` have different shapes; a target, or a probability (without
        `from_logits`), is outside [0, 1]; a weight is negative or not finite, or
        `sample_weight` has the wrong shape; `eps` is outside [0, 0.5); `reduction` is not
        one of the three values; or "mean" is taken over zero total weight (e.g. empty input).

    Notes
    -----
    Per element: l = -(y * log(p) + (1 - y) * log(1 - p)), p clipped to [eps, 1 - eps]; a term
    whose target weight (y or 1 - y) is 0 is 0. From logits: l = max(z, 0) - z * y +
    log1p(exp(-|z|)), never clipped. With weights s: "sum" = sum(s * l), "mean" =
    sum(s * l) / sum(s). NaN propagates.
    scikit-learn: ``sklearn.metrics.log_loss(y_true, y_pred)`` for 1-D labels (same clipping).
    PyTorch: ``torch.nn.functional.binary_cross_entropy(p, y)`` (clamps logs at -100) and
    ``binary_cross_entropy_with_logits(z, y)``. Keras:
    ``keras.losses.binary_crossentropy(y, p, from_logits=...)`` (eps=1e-7, one value per row).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> y = np.array([1, 0, 1, 1])
    >>> p = np.array([0.9, 0.2, 0.6, 0.99])
    >>> round(plogp.binary_cross_entropy(y, p), 6)
    0.212345
    >>> np.round(plogp.binary_cross_entropy(y, p, reduction="none"), 6)
    array([0.105361, 0.223144, 0.510826, 0.01005 ])
    >>> round(plogp.binary_cross_entropy(y, p, sample_weight=[1, 2, 1, 0]), 6)
    0.265618
    >>> z = np.log(p / (1 - p))
    >>> round(plogp.binary_cross_entropy(y, z, from_logits=True), 6)
    0.212345
    >>> round(plogp.binary_cross_entropy([1], [0.0]), 6)
    36.043653
    >>> plogp.binary_cross_entropy([1], [0.0], eps=0)
    inf
    >>> plogp.binary_cross_entropy([1, 0], [0.5])
    Traceback (most recent call last):
    ...
    ValueError: y_true and y_pred must have the same shape,
    got y_true.shape = (2,) and y_pred.shape = (1,)
    """

def categorical_cross_entropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    from_logits: bool = False,
    axis: int | tuple[int, ...] | None = -1,
    sample_weight: ArrayLike | None = None,
    class_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    eps: float | Literal["auto"] = "auto",
    reduction: Literal["mean", "sum", "none"] = "mean",
    nan_policy: Literal["propagate", "raise", "omit"] = "propagate",
    groups: ArrayLike | None = None,
) -> float | NDArray[np.floating[Any]]:
    """Categorical cross-entropy of one-hot or soft targets and predicted distributions.

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1] of the same shape as `y_pred`: one-hot rows (bool or any integer
        dtype, read without a copy) or soft float targets.
    y_pred : array_like
        Class probabilities in [0, 1], or logits if `from_logits`; float16/32/64, at least 1-D.
    from_logits : bool, default False
        Read `y_pred` as logits z, p = softmax(z) along `axis`.
    axis : int, tuple of ints or None, default -1
        The class axis; a tuple (optax's ``axis=(1, 3)``) reads several axes as one class
        axis in C order, None the whole array as one row.
    sample_weight : array_like, optional
        Non-negative finite weights, one per row (the shape of `y_pred` without `axis`); or
        broadcast as in `binary_cross_entropy` (a scalar, ``(N,)``, ``(N, 1)``, ...).
    class_weight : array_like, optional
        One non-negative finite weight per class (1-D, length C): l = -sum_c w_c * t_c *
        log(p_c). The denominator of "mean" stays sum(s).
    label_smoothing : float, default 0.0
        ε in [0, 1]: targets become (1 - ε) * t + ε / K, K = the classes whose logit is not
        -inf (from logits; a -inf logit marks a masked class, which contributes nothing) or
        all C classes (from probabilities, where a p = 0 class is clipped by `eps`, and gives
        inf with ``eps=0``).
    eps : float or "auto", default "auto"
        Probabilities are clipped to [eps, 1 - eps]; "auto" is ``numpy.finfo(dtype).eps``
        of the computed dtype (float32 for float16 input). 1e-7 is Keras' value; 0 is exact
        (and may return inf). Ignored with `from_logits`.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean": weighted mean over rows; "sum": weighted sum; "none": the weighted loss of
        each row.
    nan_policy : {"propagate", "raise", "omit"}, default "propagate"
        What to do with items whose loss is NaN (a NaN input, or e.g. inf - inf logits):
        let the NaN reach the result, raise ValueError at the first one, or drop them from
        both the numerator and the denominator of "mean" (their "none" output stays NaN).
    groups : array_like of int, optional
        A group id >= 0 for every row (the shape of `y_pred` without `axis`), or 1-D of length ``shape[0]`` (broadcast along
        the first axis). With groups, "mean" and "sum" return one value per group id
        ``0 .. max(groups)`` as a float64 array, computed in one pass: per group
        ``sum(s * l)`` or ``sum(s * l) / sum(s)`` ("mean" is NaN for a group of zero total
        weight, e.g. an id that does not occur). Ids must be below 2**24; "none" with groups
        is a ValueError. Every other option applies: each group's value is this function on
        that group's items alone.

    Returns
    -------
    float or numpy.ndarray
        A Python float for "mean" and "sum"; for "none" an array of the shape of `y_pred`
        without `axis`, in y_pred's float dtype.

    Raises
    ------
    TypeError
        If `y_pred` is not a floating-point array, or `y_true` / `sample_weight` has an
        unsupported dtype (complex, object, str, ...).
    ValueError
        If `y_true` and `y_pred` have different shapes; a target, or a probability (without
        `from_logits`), is outside [0, 1]; `axis` is out of range (including 0-d input); a
        weight is negative or not finite, or `sample_weight` has the wrong shape; `eps` is
        outside [0, 0.5); `reduction` is not one of the three values; or "mean" is taken over
        zero total weight (e.g. no rows).

    Notes
    -----
    Per row: l = -sum_c t_c * log(clip(p_c, eps, 1 - eps)); terms with t_c = 0 are 0.
    From logits: l = sum_{c: t_c != 0} t_c * (logsumexp(z) - z_c), never clipped. Rows are
    not normalised. With row weights s: "sum" = sum(s * l), "mean" = sum(s * l) / sum(s).
    scikit-learn: ``sklearn.metrics.log_loss(labels, p)`` for one-hot targets.
    PyTorch: ``torch.nn.functional.cross_entropy(z, t)`` with probability targets (logits,
    classes on dim 1). Keras: ``keras.losses.categorical_crossentropy(t, p, from_logits=...)``
    (eps=1e-7, normalises p).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> t = np.array([[1, 0, 0], [0, 0, 1]])
    >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> round(plogp.categorical_cross_entropy(t, p), 6)
    0.43375
    >>> np.round(plogp.categorical_cross_entropy(t, p, reduction="none"), 6)
    array([0.356675, 0.510826])
    >>> round(plogp.categorical_cross_entropy(t, p, sample_weight=[3, 1]), 6)
    0.395213
    >>> z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> np.round(plogp.categorical_cross_entropy(t, z, from_logits=True, reduction="none"), 6)
    array([0.241311, 0.109601])
    >>> round(plogp.categorical_cross_entropy([0.5, 0.5], [0.25, 0.75]), 6)
    0.836988
    """

def sparse_categorical_cross_entropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    from_logits: bool = False,
    axis: int | tuple[int, ...] | None = -1,
    sample_weight: ArrayLike | None = None,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    eps: float | Literal["auto"] = "auto",
    reduction: Literal["mean", "sum", "none"] = "mean",
    nan_policy: Literal["propagate", "raise", "omit"] = "propagate",
    groups: ArrayLike | None = None,
) -> float | NDArray[np.floating[Any]]:
    """Categorical cross-entropy of integer class labels and predicted distributions.

    Parameters
    ----------
    y_true : array_like
        Class labels in [0, C) of any integer dtype or bool, of the shape of `y_pred` without
        `axis` (C = ``y_pred.shape[axis]``), or with `axis` of length 1 (Keras' (N, 1)
        labels for (N, C) predictions, squeezed). No one-hot array is made.
    y_pred : array_like
        Class probabilities in [0, 1], or logits if `from_logits`; float16/32/64, at least 1-D.
    from_logits : bool, default False
        Read `y_pred` as logits z, p = softmax(z) along `axis`.
    axis : int, tuple of ints or None, default -1
        The class axis; a tuple (optax's ``axis=(1, 3)``) reads several axes as one class
        axis, whose classes a label numbers in C order (``numpy.ravel_multi_index`` over
        ``y_pred.shape`` at those axes, in array order); None: the whole array, one row.
    sample_weight : array_like, optional
        Non-negative finite weights, one per row (the shape of `y_pred` without `axis`); or
        broadcast as in `binary_cross_entropy` (a scalar, ``(N,)``, ``(N, 1)``, ...).
    class_weight : array_like, optional
        One non-negative finite weight per class (1-D, length C). "mean" then divides by
        sum(s_i * w[y_i]), as PyTorch's ``cross_entropy(weight=...)``.
    ignore_index : int, optional
        Rows whose label equals it contribute nothing (loss 0, weight 0; their label is not
        range-checked, so PyTorch's -100 works). All rows ignored: "mean" raises ValueError
        (zero total weight; PyTorch returns nan), "sum" is 0.
    label_smoothing : float, default 0.0
        ε in [0, 1]: the target becomes (1 - ε) * onehot(y) + ε / K over the K classes whose
        logit is not -inf (all C from probabilities); with class weights this is exactly
        PyTorch's ``cross_entropy(weight=w, label_smoothing=ε)``:
        (1 - ε) * w_y * (-log p_y) + ε / K * sum_c w_c * (-log p_c).
    eps : float or "auto", default "auto"
        Probabilities are clipped to [eps, 1 - eps]; "auto" is ``numpy.finfo(dtype).eps``
        of the computed dtype (float32 for float16 input). 1e-7 is Keras' value; 0 is exact
        (and may return inf). Ignored with `from_logits`.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean": weighted mean over rows; "sum": weighted sum; "none": the weighted loss of
        each row.
    nan_policy : {"propagate", "raise", "omit"}, default "propagate"
        What to do with items whose loss is NaN (a NaN input, or e.g. inf - inf logits):
        let the NaN reach the result, raise ValueError at the first one, or drop them from
        both the numerator and the denominator of "mean" (their "none" output stays NaN).
    groups : array_like of int, optional
        A group id >= 0 for every row (``y_true``'s shape), or 1-D of length ``shape[0]`` (broadcast along
        the first axis). With groups, "mean" and "sum" return one value per group id
        ``0 .. max(groups)`` as a float64 array, computed in one pass: per group
        ``sum(s * l)`` or ``sum(s * l) / sum(s)`` ("mean" is NaN for a group of zero total
        weight, e.g. an id that does not occur). Ids must be below 2**24; "none" with groups
        is a ValueError. Every other option applies: each group's value is this function on
        that group's items alone.

    Returns
    -------
    float or numpy.ndarray
        A Python float for "mean" and "sum"; for "none" an array of ``y_true``'s shape in
        y_pred's float dtype.

    Raises
    ------
    TypeError
        If `y_true` is not an integer (or bool) array, `y_pred` is not a floating-point
        array, or `sample_weight` has an unsupported dtype.
    ValueError
        If `y_true` does not have the shape of `y_pred` without `axis`; a label is outside
        [0, C) (the message names the first bad flat index, the value and C); a probability
        (without `from_logits`; every element is checked) is outside [0, 1]; `axis` is out of
        range (including 0-d input); a weight is negative or not finite, or `sample_weight`
        has the wrong shape; `eps` is outside [0, 0.5); `reduction` is not one of the three
        values; or "mean" is taken over zero total weight (e.g. no rows).

    Notes
    -----
    Per row with label k: l = -log(clip(p_k, eps, 1 - eps)); from logits
    l = logsumexp(z) - z_k in one pass over the row, never clipped. With row weights s:
    "sum" = sum(s * l), "mean" = sum(s * l) / sum(s).
    scikit-learn: ``sklearn.metrics.log_loss(y_true, p, labels=range(C))``.
    PyTorch: ``torch.nn.functional.cross_entropy(z, y_true)`` (logits, classes on dim 1) or
    ``nll_loss(p.log(), y_true)``. Keras:
    ``keras.losses.sparse_categorical_crossentropy(y_true, p, from_logits=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> labels = np.array([0, 2])
    >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> round(plogp.sparse_categorical_cross_entropy(labels, p), 6)
    0.43375
    >>> np.round(plogp.sparse_categorical_cross_entropy(labels, p, reduction="none"), 6)
    array([0.356675, 0.510826])
    >>> z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> round(plogp.sparse_categorical_cross_entropy(labels, z, from_logits=True), 6)
    0.175456
    >>> round(plogp.sparse_categorical_cross_entropy(labels, z.T, axis=0, from_logits=True), 6)
    0.175456
    >>> plogp.sparse_categorical_cross_entropy([0, 3], p)
    Traceback (most recent call last):
    ...
    ValueError: y_true[1] = 3 is out of range for 3 classes (labels must be in [0, 3))
    """

def binary_focal_cross_entropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    from_logits: bool = False,
    gamma: float = 2.0,
    alpha: float | None = None,
    sample_weight: ArrayLike | None = None,
    eps: float | Literal["auto"] = "auto",
    reduction: Literal["mean", "sum", "none"] = "mean",
    nan_policy: Literal["propagate", "raise", "omit"] = "propagate",
    groups: ArrayLike | None = None,
) -> float | NDArray[np.floating[Any]]:
    """Binary focal cross-entropy (Lin et al., 2017), elementwise over any shape.

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1] (soft, or 0/1 of bool / any integer dtype), the shape of `y_pred`
        (or one trailing axis of length 1 more or less, squeezed as in Keras).
    y_pred : array_like
        Probabilities in [0, 1], or logits if `from_logits`; float16/32/64, any shape.
    from_logits : bool, default False
        Read `y_pred` as logits z, p = sigmoid(z); stable for every finite z (|z| = 1e30 too).
    gamma : float, default 2.0
        Focusing parameter, finite and >= 0. ``gamma=0, alpha=None`` is
        `binary_cross_entropy` (bit for bit).
    alpha : float in [0, 1], optional
        Class balance alpha_t = alpha*y + (1 - alpha)*(1 - y) (torchvision
        ``sigmoid_focal_loss``, Keras ``apply_class_balancing=True``, optax
        ``sigmoid_focal_loss``). None: alpha_t = 1.
    sample_weight, eps, reduction, nan_policy, groups
        As in `binary_cross_entropy` ("mean" divides by the sum of the sample weights; alpha
        does not enter the denominator); with `groups`, one value per group id.

    Returns
    -------
    float or numpy.ndarray
        A Python float for "mean" and "sum"; for "none" an array of y_pred's shape and dtype.

    Raises
    ------
    TypeError
        Unsupported dtypes, or a `gamma` / `alpha` that is not a number.
    ValueError
        As `binary_cross_entropy`; `gamma` negative or not finite; `alpha` outside [0, 1].

    Notes
    -----
    l = alpha_t*(1 - p_t)**gamma*bce with p_t = p*y + (1 - p)*(1 - y) and
    bce = -[y*log(p) + (1 - y)*log(1 - p)], as in torchvision, Keras and optax, soft targets
    included; for 0/1 targets this is -[alpha*y*(1 - p)**gamma*log(p) +
    (1 - alpha)*(1 - y)*p**gamma*log(1 - p)]. p is clipped to [eps, 1 - eps]. From logits
    log(p) = -softplus(-z), log(1 - p) = -softplus(z), and log(1 - p_t) is formed from them
    in log space, so nothing overflows. Cross-entropy terms whose weight (y or 1 - y) is
    exactly 0 contribute 0, and so do elements with alpha_t = 0.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> y = np.array([1, 0, 1])
    >>> p = np.array([0.9, 0.2, 0.4])
    >>> np.round(plogp.binary_focal_cross_entropy(y, p, reduction="none"), 6)
    array([0.001054, 0.008926, 0.329865])
    >>> round(plogp.binary_focal_cross_entropy(y, p, alpha=0.25), 6)
    0.029808
    >>> plogp.binary_focal_cross_entropy(y, [1e30, -1e30, -1e30], from_logits=True, reduction="none")
    array([0.e+00, 0.e+00, 1.e+30])
    >>> round(plogp.binary_focal_cross_entropy([0.9], [100.0], from_logits=True, gamma=0.5), 6)
    3.162278
    """

def sparse_categorical_focal_cross_entropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    from_logits: bool = False,
    axis: int | tuple[int, ...] | None = -1,
    gamma: float = 2.0,
    alpha: float | ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    eps: float | Literal["auto"] = "auto",
    reduction: Literal["mean", "sum", "none"] = "mean",
    nan_policy: Literal["propagate", "raise", "omit"] = "propagate",
    groups: ArrayLike | None = None,
) -> float | NDArray[np.floating[Any]]:
    """Focal cross-entropy of integer class labels, one loss per row.

    Parameters
    ----------
    y_true : array_like
        Class labels in [0, C) of any integer dtype or bool, the shape of `y_pred` without
        `axis` (or with it of length 1).
    y_pred : array_like
        Class probabilities in [0, 1], or logits if `from_logits` (-inf marks a masked class).
    from_logits, axis, sample_weight, eps, reduction, nan_policy
        As in `sparse_categorical_cross_entropy`.
    gamma : float, default 2.0
        Focusing parameter, finite and >= 0.
    alpha : float or array_like, optional
        Class balance alpha_c: one number for every class, or a 1-D array of C numbers; all
        finite and >= 0. None: 1. Without label smoothing only the true class's alpha_y
        enters.
    ignore_index : int, optional
        Rows whose label equals it get weight 0 (loss 0, label not range-checked).
    label_smoothing : float, default 0.0
        eps in [0, 1]: the target of a row becomes (1 - eps)*one_hot(y) + eps/K over the K
        classes (the classes whose logit is not -inf, from logits), and the loss is that of
        `categorical_focal_cross_entropy` on it.
    groups : array_like of int, optional
        As in `sparse_categorical_cross_entropy`: one value per group id, each the function
        on that group's rows alone (ignored rows have weight 0 in their group).

    Returns
    -------
    float or numpy.ndarray
        A Python float for "mean" and "sum"; for "none" an array of ``y_true``'s shape.

    Raises
    ------
    TypeError
        Unsupported dtypes; `gamma`, `alpha`, `ignore_index` or `label_smoothing` of the
        wrong type.
    ValueError
        As `sparse_categorical_cross_entropy`; `gamma` negative or not finite; `alpha`
        negative, not finite or not of length C; `label_smoothing` outside [0, 1]; "mean"
        when every row is ignored.

    Notes
    -----
    l = -alpha_y*(1 - p_y)**gamma*log(p_y) without label smoothing, and
    -sum_c alpha_c*t_c*(1 - p_c)**gamma*log(p_c) over the smoothed targets t with it. From
    logits log(p_y) = (z_y - m) - log(S) and log(1 - p_y) = log(S') - log(S), with S the
    max-shifted sum of exponentials and S' the same sum without class y: one max pass and
    one exp pass per row, no cancellation.
    "mean" = sum(s*l) / sum(s) over the rows that are not ignored: alpha is NOT in the
    denominator (the torchvision / Keras convention; PyTorch's weighted ``cross_entropy``
    divides by sum(s*w_y) instead).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> labels = np.array([0, 2])
    >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> np.round(plogp.sparse_categorical_focal_cross_entropy(labels, p, reduction="none"), 6)
    array([0.032101, 0.081732])
    >>> round(plogp.sparse_categorical_focal_cross_entropy(labels, p), 6)
    0.056916
    >>> round(plogp.sparse_categorical_focal_cross_entropy([0, -100], p, ignore_index=-100), 6)
    0.032101
    >>> t = np.eye(3)[labels]
    >>> a = plogp.sparse_categorical_focal_cross_entropy(labels, p, label_smoothing=0.1)
    >>> b = plogp.categorical_focal_cross_entropy(t, p, label_smoothing=0.1)
    >>> a == b
    True
    """

def categorical_focal_cross_entropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    from_logits: bool = False,
    axis: int | tuple[int, ...] | None = -1,
    gamma: float = 2.0,
    alpha: float | ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    eps: float | Literal["auto"] = "auto",
    reduction: Literal["mean", "sum", "none"] = "mean",
    nan_policy: Literal["propagate", "raise", "omit"] = "propagate",
    groups: ArrayLike | None = None,
) -> float | NDArray[np.floating[Any]]:
    """Focal cross-entropy of one-hot or soft targets, one loss per row (Keras'
    ``CategoricalFocalCrossentropy``).

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1] of the same shape as `y_pred`: one-hot rows (bool or any integer
        dtype, read without a copy) or soft float targets.
    y_pred : array_like
        Class probabilities in [0, 1], or logits if `from_logits` (-inf marks a masked class).
    from_logits, axis, sample_weight, eps, reduction, nan_policy, groups
        As in `categorical_cross_entropy`.
    gamma : float, default 2.0
        Focusing parameter, finite and >= 0.
    alpha : float or array_like, optional
        Class balance alpha_c: one number for every class (Keras' ``alpha=0.25``), or a 1-D
        array of C numbers; all finite and >= 0. None: 1.
    label_smoothing : float, default 0.0
        eps in [0, 1]: targets become (1 - eps)*t + eps/K over the K classes (the classes whose
        logit is not -inf, from logits), as in `categorical_cross_entropy`.

    Returns
    -------
    float or numpy.ndarray
        A Python float for "mean" and "sum"; for "none" an array of `y_pred`'s shape without
        `axis`.

    Raises
    ------
    TypeError
        Unsupported dtypes; `gamma` or `alpha` of the wrong type.
    ValueError
        As `categorical_cross_entropy`; `gamma` negative or not finite; `alpha` negative, not
        finite or not of length C.

    Notes
    -----
    l = -sum_c alpha_c*t_c*(1 - p_c)**gamma*log(p_c), with t after label smoothing and p
    clipped to [eps, 1 - eps] (probabilities; not renormalised: Keras divides y_pred by its
    row sum first). From logits log(p_c) = (z_c - m) - log(S) and
    log(1 - p_c) = log(S - e_c) - log(S) with e_c = exp(z_c - m), S their sum and S - 1 kept
    exactly for the top class, so (1 - p)**gamma keeps its relative accuracy where p -> 1.
    A row whose max logit is NaN or +inf, or whose logits are all -inf, gives NaN. With
    gamma = 0 and no alpha it is `categorical_cross_entropy`, bit for bit. "mean" =
    sum(s*l) / sum(s): alpha is not in the denominator (the Keras convention).

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> t = np.array([[1, 0, 0], [0, 0, 1]])
    >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> np.round(plogp.categorical_focal_cross_entropy(t, p, reduction="none"), 6)
    array([0.032101, 0.081732])
    >>> plogp.categorical_focal_cross_entropy(t, p, gamma=0.0) == plogp.categorical_cross_entropy(t, p)
    True
    """

def grad_binary_cross_entropy(
    y_true: ArrayLike,
    logits: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    hessian: bool = False,
    out: Any = None,
) -> Any:
    """Gradient (and Hessian) of binary cross-entropy w.r.t. the logits; ``plogp.grad.binary_cross_entropy``.

    Parameters
    ----------
    y_true : array_like
        Targets in [0, 1] (soft, bool or integer), the shape of `logits`.
    logits : array_like
        Logits z, float16/32/64, any shape.
    sample_weight : array_like, optional
        Non-negative finite weights of the shape of `logits`, or 1-D of length
        ``logits.shape[0]``; they multiply g and h.
    hessian : bool, default False
        Also return the Hessian (diagonal) h.
    out : numpy.ndarray or (numpy.ndarray, numpy.ndarray), optional
        Preallocated result (a (g, h) tuple when `hessian`): the shape of `logits`, the result
        dtype, C-contiguous, writeable, sharing no memory with an input. Written in place and
        returned.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        g = s*(sigmoid(z) - y), or (g, h) with h = s*sigmoid(z)*(1 - sigmoid(z)); float64 for
        float64 logits, float32 for float32 and float16 logits.

    Raises
    ------
    TypeError
        Unsupported dtypes; `out` not an array (or not a pair with `hessian`) or of the wrong
        dtype.
    ValueError
        Shape mismatches; `y_true` outside [0, 1]; bad weights; `out` of the wrong shape, not
        C-contiguous, read-only or sharing memory with an input.

    Notes
    -----
    Both sigmoids come from e = exp(-|z|), so nothing overflows; h = e/(1 + e)**2 has no
    cancellation and is never 0 where its value is representable.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> g, h = plogp.grad.binary_cross_entropy([1, 0], [2.0, -1.0], hessian=True)
    >>> np.round(g, 6), np.round(h, 6)
    (array([-0.119203,  0.268941]), array([0.104994, 0.196612]))
    """

def grad_softmax_cross_entropy(
    labels: ArrayLike,
    logits: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    hessian: bool = False,
    out: Any = None,
) -> Any:
    """Gradient (and diagonal Hessian) of softmax cross-entropy w.r.t. the logits; ``plogp.grad.softmax_cross_entropy``.

    Parameters
    ----------
    labels : array_like
        Integer class labels in [0, C), shape (N,).
    logits : array_like
        Logits of shape (N, C), float16/32/64.
    sample_weight : array_like, optional
        Non-negative finite weights, shape (N,); they multiply each row of g and h.
    hessian : bool, default False
        Also return the exact diagonal of the Hessian.
    out : numpy.ndarray or (numpy.ndarray, numpy.ndarray), optional
        As in `grad_binary_cross_entropy`, of shape (N, C).

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        g = s*(softmax(z) - onehot(y)), or (g, h) with h = s*p*(1 - p); float64 for float64
        logits, float32 otherwise.

    Raises
    ------
    TypeError
        As `grad_binary_cross_entropy`; float labels.
    ValueError
        `logits` not 2-D; `labels` not of shape (N,) or out of range; bad weights or `out`.

    Notes
    -----
    One max pass and one exp pass per row; 1 - p is computed without cancellation. XGBoost's
    own ``multi:softprob`` uses h = 2*p*(1 - p) and LightGBM's ``multiclass`` uses
    C/(C - 1)*p*(1 - p): multiply h by 2.0 or C/(C - 1) to reproduce them.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> g, h = plogp.grad.softmax_cross_entropy([1], [[1.0, 2.0, 0.5]], hessian=True)
    >>> np.round(g, 6), np.round(h, 6)
    (array([[ 0.231224, -0.371468,  0.140244]]), array([[0.177759, 0.23348 , 0.120576]]))
    """

# ---------------------------------------------------------------------------------------------
# Runtime

def set_num_threads(n: int) -> None:
    """Set the number of threads used by large calls.

    Parameters
    ----------
    n : int
        Number of worker threads, at least 1. The default is the number of CPUs, or the
        environment variable ``PLOGP_NUM_THREADS``.

    Raises
    ------
    TypeError
        If `n` is not an int.
    ValueError
        If `n` is less than 1.

    Notes
    -----
    Results are bitwise identical for any thread count: work is cut into fixed-size chunks
    whose partial sums are combined in order. PyTorch: ``torch.set_num_threads(n)``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> before = plogp.get_num_threads()
    >>> plogp.set_num_threads(1)
    >>> plogp.get_num_threads()
    1
    >>> plogp.set_num_threads(before)
    """

def get_num_threads() -> int:
    """Number of threads used by large calls.

    Returns
    -------
    int
        The value set by `set_num_threads`, else ``PLOGP_NUM_THREADS``, else the number of
        CPUs.

    Notes
    -----
    Calls on small arrays run on the calling thread whatever this number is.
    PyTorch: ``torch.get_num_threads()``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> plogp.get_num_threads() >= 1
    True
    """

def simd_level() -> Literal["avx512", "avx2", "neon", "scalar"]:
    """Name of the SIMD instruction-set tier the kernels run on.

    Returns
    -------
    {"avx512", "avx2", "neon", "scalar"}
        The best tier this CPU supports, detected once per process, or the lower tier
        requested by the environment variable ``PLOGP_SIMD``.

    Notes
    -----
    Every tier returns bit-identical results (one lane layout and reduction tree, FMA in every
    tier), so this only affects speed. NumPy's counterpart is ``numpy.show_runtime()``.

    Examples
    --------
    >>> import numpy as np
    >>> import plogp
    >>> plogp.simd_level() in {"avx512", "avx2", "neon", "scalar"}
    True
    """

def _after_fork_in_child() -> None:
    """Drop the thread pool inherited from the parent process; called after ``os.fork()``.

    Registered by ``plogp/__init__.py`` with ``os.register_at_fork(after_in_child=...)``: a
    forked child has none of its parent's worker threads, so the next large call starts a
    new pool. Not public API.
    """

def _log_loss_rows(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    one_hot: bool,
    eps: float,
    sample_weight: ArrayLike | None = None,
    reduction: Literal["mean", "sum"] = "mean",
) -> tuple[float, float, int]:
    """``plogp.log_loss``'s 2-D kernel: the sparse (``one_hot=False``: integer class codes) or
    categorical (``one_hot=True``: one-hot rows) cross-entropy of probabilities clipped at
    ``eps``; the largest ``|sum(y_pred[i]) - 1|`` over the rows (NaN if a row sum is NaN, 0.0
    without rows); and how many distinct codes occur (0 with ``one_hot=True``), all from the
    same pass over ``y_pred``. Not public API.
    """

def _entropy_tally(
    p: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    base: float | None = None,
    sample_weight: ArrayLike | None = None,
    groups: ArrayLike | None = None,
) -> tuple[Any, ...]:
    """Private to ``plogp.metrics.Entropy``: the weighted sums of one batch of
    distributions in one pass, as the losses' ``reduction="_tally"`` (per group with
    `groups`)."""

def _build_info() -> dict[str, str]:
    """How this extension was built: ``"profile"`` (cargo profile), ``"rustc"`` (compiler
    version), the versions of ``"pyo3"``, ``"rust-numpy"`` and ``"rayon"`` (from Cargo.lock)
    and ``"target_arch"``. Read by ``plogp.show_config()``; not public API.
    """
