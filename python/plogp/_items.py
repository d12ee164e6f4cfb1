"""The one Python statement of the per-item argument rules (``sample_weight``, ``groups``).

A per-item argument has the items' shape (elements for the binary losses, rows otherwise),
or, when the items have two or more dimensions, it is 1-D of length ``items[0]`` and is
broadcast along the first axis (one weight per sample of an ``(N, ...)`` batch). Sample
weights also come in the peers' shapes (:func:`weight_shape`): a scalar, ``(N, 1)``, or a
NumPy broadcast over one block of consecutive axes such as ``(C,)`` over ``(N, C)``. The
native bindings state the same rules for the functions (``src/options.rs``); the reference,
the streaming metrics and ``plogp.dask`` use this module (it has no other dependency than
NumPy). The binary losses' targets may also differ from ``y_pred``'s shape by one trailing
axis of length 1 (Keras squeezes it): :func:`binary_truth`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def broadcasts_along_first_axis(name: str, shape: tuple[int, ...], items: tuple[int, ...]) -> bool:
    """``False`` when ``shape`` is the items' shape, ``True`` when it is the 1-D form
    ``(items[0],)`` of 2-D and wider items; a ValueError naming ``name`` otherwise."""
    shape, items = tuple(shape), tuple(items)
    if shape == items:
        return False
    if len(shape) == 1 and len(items) >= 2 and shape[0] == items[0]:
        return True
    also = f" or ({items[0]},)" if len(items) >= 2 else ""
    raise ValueError(
        f"{name} has shape {shape} but the losses have shape {items}; expected {items}{also}"
    )


def per_item(name: str, array: Any, items: tuple[int, ...]) -> np.ndarray:
    """``array`` viewed with the items' shape (no copy): itself, or its 1-D form broadcast
    along the first axis. ValueError naming ``name`` for any other shape."""
    a = np.asarray(array)
    if broadcasts_along_first_axis(name, a.shape, items):
        return np.broadcast_to(a.reshape((-1,) + (1,) * (len(items) - 1)), items)
    return a


def weight_shape(shape: tuple[int, ...], items: tuple[int, ...]) -> tuple[int, ...]:
    """The shape, of as many axes as ``items``, to which ``sample_weight`` of shape ``shape``
    is reshaped (no copy) before ``np.broadcast_to(…, items)``. The first rule that applies:

    - leading axes: ``shape`` without its trailing 1s is the first axes of ``items`` (a
      scalar, ``(N,)`` or ``(N, 1)`` over ``(N, …)``, ``(N, 1)`` over ``(N,)``);
    - NumPy broadcasting whose non-1 axes are one block of consecutive axes of ``items``
      (``(C,)`` or ``(1, C)`` over ``(N, C)``, ``(T, 1)`` over ``(N, T, C)``).

    A ValueError naming ``sample_weight`` for any other shape.
    """
    shape, items = tuple(shape), tuple(items)
    if shape == items:
        return shape
    lead = shape
    while lead and lead[-1] == 1:
        lead = lead[:-1]
    if items[: len(lead)] == lead:
        return lead + (1,) * (len(items) - len(lead))
    if len(shape) <= len(items):
        aligned = (1,) * (len(items) - len(shape)) + shape
        fits = all(a in (d, 1) for a, d in zip(aligned, items))
        varies = [k for k, d in enumerate(items) if d != 1 and aligned[k] == d]
        if fits and varies:
            block = range(varies[0], varies[-1] + 1)
            if all(items[k] == 1 or aligned[k] == items[k] for k in block):
                return aligned
    also = f", ({items[0]},)" if len(items) >= 2 else ""
    raise ValueError(
        f"sample_weight has shape {shape} but the losses have shape {items}; expected "
        f"{items}{also}, a scalar, or a shape that broadcasts to {items} over one block of "
        "consecutive axes"
    )


def weights_per_item(array: Any, items: tuple[int, ...]) -> np.ndarray:
    """``sample_weight`` viewed with the items' shape (no copy), by :func:`weight_shape`."""
    a = np.asarray(array)
    return np.broadcast_to(a.reshape(weight_shape(a.shape, items)), items)


def binary_truth(y_true: Any, items: tuple[int, ...]) -> Any:
    """The targets of a binary loss read with the items' (``y_pred``'s) shape: ``y_true``
    itself, or reshaped (a view) when its shape differs from ``items`` by one trailing axis
    of length 1 — Keras' ``(N,)`` targets against ``(N, 1)`` predictions, or the reverse,
    which NumPy would broadcast to ``(N, N)``. Any other shape is returned as it is, for the
    caller's shape check."""
    shape, items = tuple(y_true.shape), tuple(items)
    if shape + (1,) == items or shape == items + (1,):
        return y_true.reshape(items)
    return y_true
