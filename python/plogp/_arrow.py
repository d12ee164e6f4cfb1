"""Arrow input: objects with the Arrow PyCapsule interface (``__arrow_c_array__`` or
``__arrow_c_stream__``: pyarrow arrays and chunked arrays, polars Series, Arrow-backed pandas)
read as NumPy arrays without going through a NumPy ``object`` array.

Numeric and bool columns become 1-D arrays (zero-copy where Arrow's layout allows it: one
chunk, no nulls, not bool); fixed-size-list and list columns whose lists all have one length
become 2-D ``(rows, length)`` arrays (rows × classes). A null is a ValueError naming the
argument: a missing prediction or label has no loss. Used by the native functions (through
``plogp._native``'s input preparation) and by ``plogp score`` for Parquet columns, so both read
Arrow data the same way. Needs pyarrow (extra ``[parquet]``), imported only when such an
object arrives.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_arrow(obj: Any) -> bool:
    """Whether ``obj`` exposes the Arrow PyCapsule interface."""
    return hasattr(obj, "__arrow_c_array__") or hasattr(obj, "__arrow_c_stream__")


def to_numpy(obj: Any, name: str) -> np.ndarray:
    """The Arrow array ``obj`` (argument ``name``) as a NumPy array; see the module docstring."""
    try:
        import pyarrow as pa
    except ImportError:
        if hasattr(obj, "__array__"):  # e.g. a pandas Series: NumPy can read it without Arrow
            return np.asarray(obj)
        raise TypeError(
            f"{name} is an Arrow array; reading it needs pyarrow: pip install 'plogp[parquet]'"
        ) from None
    if hasattr(obj, "__arrow_c_array__"):
        column = pa.array(obj)
    else:
        column = pa.chunked_array(obj)
    return column_to_numpy(column, name)


def column_to_numpy(column: Any, name: str) -> np.ndarray:
    """A pyarrow ``Array`` or ``ChunkedArray`` as NumPy (ValueError / TypeError naming ``name``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if column.null_count:
        first = pc.index(pc.is_null(column), True).as_py()
        raise ValueError(
            f"{name} has {column.null_count} null value(s), the first at index {first}; "
            "fill or drop them first (a missing value has no loss)"
        )
    kind = column.type
    if pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if pa.types.is_fixed_size_list(kind):
            width = kind.list_size
        else:
            lengths = pc.list_value_length(column)
            width = int(lengths[0].as_py()) if len(column) else 0
            if len(column) and pc.max(lengths).as_py() != pc.min(lengths).as_py():
                raise ValueError(
                    f"{name}: the lists of this Arrow column have different lengths "
                    f"({pc.min(lengths).as_py()} to {pc.max(lengths).as_py()}); rows of "
                    "classes must all have one length"
                )
        values = column.flatten()
        if values.null_count:
            raise ValueError(f"{name} has {values.null_count} null value(s) inside its lists")
        return _values(values, name).reshape(len(column), width)
    return _values(column, name)


def _values(column: Any, name: str) -> np.ndarray:
    import pyarrow as pa

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        raise TypeError(f"{name} is an Arrow array of type {kind}; expected numbers or bool")
    return column.to_numpy(zero_copy_only=False)
