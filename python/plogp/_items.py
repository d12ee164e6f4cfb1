"""The one Python statement of the per-item argument rule (``sample_weight``, ``groups``).

A per-item argument has the items' shape (elements for the binary losses, rows otherwise),
or, when the items have two or more dimensions, it is 1-D of length ``items[0]`` and is
broadcast along the first axis (one weight per sample of an ``(N, ...)`` batch). The native
bindings state the same rule for the functions; the reference, the streaming metrics and
``plogp.dask`` use this module (it has no other dependency than NumPy).
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
