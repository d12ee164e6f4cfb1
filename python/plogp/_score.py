"""``plogp score``: a loss over files of any size, read in chunks of rows.

Inputs are ``.npy`` files (opened with ``numpy.load(mmap_mode="r")``) or ``.parquet`` columns
(pyarrow, extra ``[parquet]``, read batch by batch). Every source yields the same consecutive
row blocks; each block is fed to a streaming metric of :mod:`plogp.metrics` (``update``), so
peak memory depends on the chunk size, not on the file size. The pages of a memory-mapped
block are released once the block is scored: a memory map keeps the pages it touched in the
process's resident set otherwise, and a 4 GB file would end as 4 GB of RSS.

Errors a user can make (missing file, unreadable format, different lengths, wrong dtype,
values out of range) raise :class:`ScoreError` with a one-line message; the command line
prints it and exits with status 2.
"""

from __future__ import annotations

import math
import mmap
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from plogp._arrow import column_to_numpy

LOSSES = ("binary", "categorical", "sparse")

#: Elements per block when ``--chunk-size`` is not given (2^22 values: 32 MiB of float64 per
#: input), large enough that the per-block Python overhead is invisible next to the kernel.
DEFAULT_CHUNK_ELEMENTS = 1 << 22


class ScoreError(Exception):
    """A mistake in the command's input: reported as one line, exit status 2."""


# -- sources ------------------------------------------------------------------------------


class Source:
    """One input (``Y_TRUE``, ``Y_PRED``, ``--sample-weight`` or ``--groups``) as row blocks."""

    role: str
    label: str
    rows: int
    row_shape: Tuple[int, ...]

    def blocks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        """Consecutive blocks of ``chunk_rows`` rows (the last one shorter)."""
        raise NotImplementedError

    def release(self, start: int, stop: int) -> None:
        """Rows ``[start, stop)`` have been scored and will not be read again."""


class NpySource(Source):
    def __init__(self, role: str, path: str) -> None:
        self.role = role
        self.label = path
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise ScoreError(f"{role}: no such file: {path}") from None
        except IsADirectoryError:
            raise ScoreError(f"{role}: {path} is a directory, not a .npy file") from None
        except PermissionError:
            raise ScoreError(f"{role}: permission denied: {path}") from None
        except (ValueError, OSError, EOFError) as exc:
            raise ScoreError(f"{role}: cannot read {path} as a .npy array ({exc})") from None
        if not isinstance(array, np.ndarray):  # an .npz archive
            raise ScoreError(f"{role}: {path} is an .npz archive, not a .npy array")
        if array.ndim == 0:
            raise ScoreError(f"{role}: {path} holds a 0-d array; expected one row per sample")
        self.array = array
        self.rows = array.shape[0]
        self.row_shape = array.shape[1:]
        self._release = _page_releaser(array)

    def blocks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        for start in range(0, self.rows, chunk_rows):
            yield self.array[start : start + chunk_rows]

    def release(self, start: int, stop: int) -> None:
        if self._release is not None:
            self._release(start, stop)


def _page_releaser(array: np.ndarray) -> Optional[Callable[[int, int], None]]:
    """``release(start, stop)`` dropping the pages of rows [start, stop) from the resident set.

    MADV_DONTNEED on a read-only file mapping only unmaps the pages from this process (the
    page cache keeps them, a later read maps them again): it cannot lose data. Returns None
    where it is not available (not Linux, not a C-ordered memory map).
    """
    mapping = getattr(array, "_mmap", None)
    advice = getattr(mmap, "MADV_DONTNEED", None)
    offset = getattr(array, "offset", None)
    if mapping is None or advice is None or offset is None or not array.flags.c_contiguous:
        return None
    # np.memmap maps from the allocation-granularity boundary below the data offset.
    base = offset % mmap.ALLOCATIONGRANULARITY
    row_bytes = array.itemsize * math.prod(array.shape[1:])
    page = mmap.PAGESIZE

    def release(start: int, stop: int) -> None:
        first = (base + start * row_bytes) // page * page
        last = (base + stop * row_bytes) // page * page  # the partial page stays mapped
        if last > first:
            try:
                mapping.madvise(advice, first, last - first)
            except (OSError, ValueError):
                pass

    return release


class ParquetSource(Source):
    """Columns of a Parquet file: one column gives a 1-D array, several (or one list column)
    give a (rows, columns) matrix, read one record batch at a time."""

    def __init__(self, role: str, path: str, columns: Optional[Sequence[str]]) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ScoreError(
                f"{role}: reading {path} needs pyarrow: pip install 'plogp[parquet]'"
            ) from None
        self.role = role
        self.label = path if not columns else f"{path}:{','.join(columns)}"
        if not os.path.exists(path):
            raise ScoreError(f"{role}: no such file: {path}")
        try:
            self.file = pq.ParquetFile(path)
        except (OSError, ValueError) as exc:
            raise ScoreError(
                f"{role}: cannot read {path} as Parquet ({_first_line(exc)})"
            ) from None
        names = self.file.schema_arrow.names
        if not columns:
            if len(names) != 1:
                raise ScoreError(
                    f"{role}: {path} has {len(names)} columns ({', '.join(names)}); "
                    f"select them with {path}:COLUMN[,COLUMN...] or --column"
                )
            columns = names
        missing = [c for c in columns if c not in names]
        if missing:
            raise ScoreError(
                f"{role}: {path} has no column {missing[0]!r} (columns: {', '.join(names)})"
            )
        self.columns = list(columns)
        self.rows = self.file.metadata.num_rows
        self.row_shape = () if len(self.columns) == 1 else (len(self.columns),)

    def _to_numpy(self, batch: Any) -> np.ndarray:
        import pyarrow as pa

        arrays = []
        for name in self.columns:
            column = batch.column(name)
            if self.role == "--groups" and (
                pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            ):
                if column.null_count:
                    raise ScoreError(
                        f"{self.role}: column {name!r} of {self.label} has null values"
                    )
                arrays.append(np.asarray(column.to_pylist(), dtype=str))
                continue
            try:
                arrays.append(column_to_numpy(column, f"column {name!r} of {self.label}"))
            except (TypeError, ValueError) as e:
                raise ScoreError(f"{self.role}: {e}") from None
        if len(arrays) == 1:
            return arrays[0]
        if any(a.ndim != 1 for a in arrays):
            raise ScoreError(f"{self.role}: select either one list column or scalar columns")
        return np.stack(arrays, axis=1)

    def blocks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        batches = self.file.iter_batches(batch_size=chunk_rows, columns=self.columns)
        # Batches may be shorter than asked (row-group ends): regroup into exact blocks so
        # that every source yields the same rows together.
        yield from _exact_blocks((self._to_numpy(b) for b in batches), chunk_rows)


def _exact_blocks(pieces: Iterator[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    pending: List[np.ndarray] = []
    count = 0
    for piece in pieces:
        pending.append(piece)
        count += len(piece)
        while count >= rows:
            joined = pending[0] if len(pending) == 1 else np.concatenate(pending)
            yield joined[:rows]
            rest = joined[rows:]
            pending = [rest] if len(rest) else []
            count = len(rest)
    if count:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_source(role: str, spec: str, columns: Optional[Sequence[str]] = None) -> Source:
    """``FILE.npy``, ``FILE.parquet`` or ``FILE.parquet:COLUMN[,COLUMN...]``."""
    path, selected = spec, None
    if not os.path.exists(spec) and ":" in spec:
        path, _, names = spec.rpartition(":")
        selected = [n for n in names.split(",") if n]
    if selected and columns:
        raise ScoreError(f"{role}: columns given twice ({spec} and --column)")
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        return ParquetSource(role, path, selected or columns)
    if selected or columns:
        raise ScoreError(f"{role}: columns can only be selected in a .parquet file, not {path}")
    if lower.endswith(".npy"):
        return NpySource(role, path)
    if not os.path.exists(path):
        raise ScoreError(f"{role}: no such file: {path}")
    raise ScoreError(f"{role}: unsupported file type {path!r}; expected .npy or .parquet")


# -- scoring ------------------------------------------------------------------------------


@dataclass
class Job:
    loss: str
    y_true: Source
    y_pred: Source
    from_logits: bool = False
    eps: Any = "auto"
    sample_weight: Optional[Source] = None
    groups: Optional[Source] = None
    chunk_rows: Optional[int] = None

    def sources(self) -> List[Source]:
        return [s for s in (self.y_true, self.y_pred, self.sample_weight, self.groups) if s]

    def block_rows(self) -> int:
        if self.chunk_rows is not None:
            return self.chunk_rows
        width = max(math.prod(s.row_shape) for s in self.sources())
        return max(1, DEFAULT_CHUNK_ELEMENTS // max(width, 1))


def check_lengths(job: Job) -> None:
    for source in job.sources()[1:]:
        if source.rows != job.y_true.rows:
            raise ScoreError(
                f"{source.role} has {source.rows} rows but Y_TRUE has {job.y_true.rows} "
                f"({source.label} vs {job.y_true.label})"
            )
    if job.groups is not None and job.groups.row_shape != ():
        raise ScoreError(
            f"--groups must be one group id per row, got rows of shape {job.groups.row_shape}"
        )
    if job.sample_weight is not None and job.sample_weight.row_shape != ():
        raise ScoreError(
            f"--sample-weight must be one weight per row, got rows of shape "
            f"{job.sample_weight.row_shape}"
        )


def new_metric(job: Job) -> Any:
    from plogp import metrics

    classes = {
        "binary": metrics.BinaryCrossEntropy,
        "categorical": metrics.CategoricalCrossEntropy,
        "sparse": metrics.SparseCategoricalCrossEntropy,
    }
    return classes[job.loss](from_logits=job.from_logits, eps=job.eps)


# "y_pred[12] = 1.5": an index inside the block, made an index inside the file.
_INDEX = re.compile(r"\b(y_true|y_pred|sample_weight|groups)\[(\d+)\]")


def _in_file_message(message: str, job: Job, first_row: int) -> str:
    widths = {
        "y_true": job.y_true,
        "y_pred": job.y_pred,
        "sample_weight": job.sample_weight,
        "groups": job.groups,
    }

    def shift(match: "re.Match[str]") -> str:
        source = widths[match.group(1)]
        row_elements = math.prod(source.row_shape) if source is not None else 1
        return f"{match.group(1)}[{int(match.group(2)) + first_row * row_elements}]"

    return _INDEX.sub(shift, message.splitlines()[0] if message else message)


class GroupedMetric:
    """One metric for all rows and one per group id (ids: integers, booleans or strings).

    Each block is one ``metric.update(..., groups=codes)``: the metric accumulates the total
    and every group in the same kernel pass. ``codes`` are small integers from a map
    ``key -> code`` that persists across blocks, so a group id (a string, say) keeps its code
    in every block. Non-negative integer ids below ``IDENTITY_CODES`` are their own codes
    (no map, no pass over the ids beyond a min / max); other ids are mapped through the
    distinct ids of the block (``np.unique``, one per block).
    """

    #: Integer ids in ``[0, IDENTITY_CODES)`` are used as codes as they are.
    IDENTITY_CODES = 1 << 20

    def __init__(self, new: Callable[[], Any]) -> None:
        self.metric = new()
        self._codes: Dict[Any, int] = {}  # key -> code, for ids that are not their own code
        self._keys: List[Any] = []  # code -> key, for the same
        self._identity: Optional[bool] = None  # ids are their own codes (fixed by block 1)
        self._kind = ""

    def _block_codes(self, groups: np.ndarray) -> np.ndarray:
        kind = "U" if groups.dtype.kind in "US" else groups.dtype.kind
        if self._kind and kind != self._kind:
            raise ScoreError(f"--groups changes type between blocks ({self._kind!r} then {kind!r})")
        self._kind = kind
        if self._identity is None:
            self._identity = (
                kind in "iu"
                and bool(groups.size)
                and (int(groups.min()) >= 0 and int(groups.max()) < self.IDENTITY_CODES)
            )
        if self._identity:
            if groups.size and not (
                int(groups.min()) >= 0 and int(groups.max()) < self.IDENTITY_CODES
            ):
                raise ScoreError(
                    f"--groups: ids in [0, {self.IDENTITY_CODES}) in the first block, then "
                    f"{int(groups.min())}..{int(groups.max())}; use ids of one range or strings"
                )
            return groups
        keys, inverse = np.unique(groups, return_inverse=True)
        lookup = np.empty(len(keys), dtype=np.intp)
        for i, key in enumerate(keys.tolist()):
            code = self._codes.get(key)
            if code is None:
                code = self._codes[key] = len(self._keys)
                self._keys.append(key)
            lookup[i] = code
        return lookup[inverse.reshape(-1)]

    def update(
        self,
        y_true: np.ndarray,
        y_pred: np.ndarray,
        *,
        sample_weight: Optional[np.ndarray],
        groups: np.ndarray,
    ) -> None:
        groups = np.asarray(groups)
        if groups.dtype.kind not in "iubUS":
            raise ScoreError(f"--groups must hold integer or string ids, got {groups.dtype}")
        codes = self._block_codes(groups)
        self.metric.update(y_true, y_pred, sample_weight=sample_weight, groups=codes)

    def key(self, code: int) -> Any:
        if self._identity:
            return code
        return self._keys[code]

    def result(self) -> Any:
        return self.metric.result()


def group_results(metric: GroupedMetric) -> List[Tuple[Any, Any]]:
    """(group id, result) for every group seen, in sorted id order."""
    groups = metric.result().groups
    return sorted(
        ((metric.key(code), result) for code, result in groups.items()), key=lambda pair: pair[0]
    )


def score(job: Job, progress: Optional[Callable[[int], None]] = None) -> Any:
    """Feed every block to a metric (a :class:`GroupedMetric` with ``--groups``); returns it
    (call ``result()`` on it)."""
    check_lengths(job)
    metric: Any = new_metric(job) if job.groups is None else GroupedMetric(lambda: new_metric(job))
    rows = job.block_rows()
    iterators = [s.blocks(rows) for s in job.sources()]
    start = 0
    for blocks in zip(*iterators):
        y_true, y_pred = blocks[0], blocks[1]
        rest = list(blocks[2:])
        weight = rest.pop(0) if job.sample_weight is not None else None
        groups = rest.pop(0) if job.groups is not None else None
        try:
            if groups is None:
                metric.update(y_true, y_pred, sample_weight=weight)
            else:
                metric.update(y_true, y_pred, sample_weight=weight, groups=groups)
        except (TypeError, ValueError) as exc:
            raise ScoreError(_in_file_message(str(exc), job, start)) from None
        stop = start + len(y_pred)
        for source in job.sources():
            source.release(start, stop)
        start = stop
        if progress is not None:
            progress(stop)
    return metric


RESULT_FIELDS = ("mean", "sum", "weight", "count", "normalized_entropy", "perplexity")


def result_dict(result: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name in RESULT_FIELDS:
        value = getattr(result, name)
        out[name] = int(value) if name == "count" else float(value)
    return out


class progress_bar:
    """``with progress_bar(total) as update: update(rows_done)``: a rich bar on stderr when it
    is a terminal and rich is installed; silent otherwise (pipes, logs, tests)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._progress: Any = None

    def __enter__(self) -> Callable[[int], None]:
        import sys

        if not sys.stderr.isatty():
            return lambda done: None
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:
            return lambda done: None
        self._progress = Progress(
            TextColumn("scoring rows"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        task = self._progress.add_task("score", total=self.total)
        self._progress.start()
        progress = self._progress
        return lambda done: progress.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def report(job: Job, metric: Any) -> Dict[str, Any]:
    """The JSON-ready summary of a finished run."""
    out: Dict[str, Any] = {
        "loss": job.loss,
        "from_logits": job.from_logits,
        "eps": job.eps,
        "rows": job.y_true.rows,
        "y_true": job.y_true.label,
        "y_pred": job.y_pred.label,
    }
    try:
        out["result"] = result_dict(metric.result())
        if out["result"]["weight"] == 0:
            raise ScoreError(
                "cannot compute the mean loss: zero total weight (no rows, or "
                "every sample weight is 0)"
            )
        if job.groups is not None:
            out["groups"] = [
                {"group": _plain(group), **result_dict(result)}
                for group, result in group_results(metric)
            ]
    except ValueError as exc:  # e.g. zero total weight
        raise ScoreError(_first_line(exc)) from None
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _json_number(value: Any) -> Any:
    # JSON has no inf / nan: they become null (the text output shows them).
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render(summary: Dict[str, Any], *, as_json: bool = False) -> None:
    import sys

    if as_json:
        import json

        def clean(obj: Any) -> Any:
            if isinstance(obj, dict):
                return {k: clean(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [clean(v) for v in obj]
            return _json_number(obj)

        print(json.dumps(clean(summary), indent=2, allow_nan=False))
        return

    labels = ("loss (mean)", "sum", "weight", "count", "normalized entropy", "perplexity")
    kind = summary["loss"] + (" from logits" if summary["from_logits"] else "")
    title = f"plogp score: {kind} cross-entropy, {summary['rows']} rows"
    groups = summary.get("groups")
    if groups is None:
        # One result: a column of name / value pairs.
        headers: Tuple[str, ...] = ("", "")
        cells = [[label, _fmt(summary["result"][f])] for label, f in zip(labels, RESULT_FIELDS)]
    else:
        headers = ("group", *labels)
        cells = [
            [str(name), *(_fmt(r[f]) for f in RESULT_FIELDS)]
            for name, r in [("all", summary["result"])] + [(g["group"], g) for g in groups]
        ]
    if sys.stdout.isatty():
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            table = Table(title=title, show_header=groups is not None)
            for i, h in enumerate(headers):
                table.add_column(h, justify="left" if i == 0 else "right")
            for row in cells:
                table.add_row(*row)
            Console().print(table)
            return
    print(title)
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
        ).rstrip()

    if groups is not None:
        print(line(headers))
    for row in cells:
        print(line(row))


def _fmt(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.10g}"
