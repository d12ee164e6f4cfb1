"""The ``plogp`` command line (extra ``[cli]``: rich for tables and progress).

Subcommands (SPEC §2 "Command line"):

- ``plogp bench [--quick] [--json FILE] [--plot FILE] [--threads N] [--repeat R]`` runs the
  workloads of SPEC §6 for plogp, the NumPy reference and every installed peer, and prints a
  side-by-side table.
- ``plogp score Y_TRUE Y_PRED --loss binary|categorical|sparse [...]`` scores .npy / .parquet
  files of any size in chunks (:mod:`plogp._score`).
- ``plogp plot [--out DIR]`` writes the article's figures (:mod:`plogp.plot`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, NoReturn, Optional, Sequence, Tuple


class _Parser(argparse.ArgumentParser):
    """Bad options: one line on stderr and exit status 2 (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("plogp")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="plogp",
        description="Fast, exact entropy, cross-entropy and classification losses.",
    )
    parser.add_argument("--version", action="version", version=f"plogp {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bench = commands.add_parser(
        "bench",
        help="time plogp against NumPy and the installed peers (SPEC §6 workloads)",
        description=(
            "Time the SPEC §6 workloads for plogp, the NumPy reference (plogp.reference) and "
            "every installed peer (SciPy, scikit-learn, PyTorch, jax.jit / optax, numba "
            "prange loops: pip install 'plogp[bench]') in one process, on seeded data. "
            "Prints median time, spread, speed-up over NumPy, plogp's speed-up over each row, "
            "GB/s, time relative to the measured memory-read roof and the max relative error "
            "against an exact reference, then plogp against the best peer of each workload."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="1/10 of the sizes and fewer runs")
    bench.add_argument(
        "--json", metavar="FILE", help="also write every row and the machine info as JSON"
    )
    bench.add_argument(
        "--plot", metavar="FILE", help="bar chart of the speed-ups (needs matplotlib)"
    )
    bench.add_argument(
        "--threads",
        metavar="N",
        type=_positive_int,
        help="plogp, torch and numba threads; default: plogp's setting",
    )
    bench.add_argument(
        "--repeat",
        metavar="R",
        type=_positive_int,
        help="timed runs per row (default 9, --quick 5)",
    )
    bench.set_defaults(handler=_bench, command_parser=bench)

    _add_score(commands)
    _add_plot(commands)
    return parser


def _eps(text: str) -> object:
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a number in [0, 0.5), got {text!r}"
        ) from None
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number in [0, 0.5), got {text!r}")
    return value


def _add_score(commands: "argparse._SubParsersAction[_Parser]") -> None:
    score = commands.add_parser(
        "score",
        help="a loss over .npy / .parquet files of any size, read in chunks",
        description=(
            "Score predictions stored in files: Y_TRUE and Y_PRED are .npy files (memory-mapped) "
            "or Parquet columns (FILE.parquet:COLUMN[,COLUMN...], extra [parquet]). The rows "
            "are read in chunks and fed to a streaming metric, so memory does not grow with "
            "the file. Prints the mean loss, sum, total weight, count, normalized entropy "
            "and perplexity."
        ),
    )
    score.add_argument("y_true", metavar="Y_TRUE", help="targets or labels (.npy / .parquet)")
    score.add_argument("y_pred", metavar="Y_PRED", help="probabilities or logits")
    score.add_argument(
        "--loss",
        required=True,
        choices=("binary", "categorical", "sparse"),
        help="binary, categorical (one-hot or soft targets) or sparse (labels)",
    )
    score.add_argument("--from-logits", action="store_true", help="Y_PRED holds logits")
    score.add_argument("--sample-weight", metavar="FILE", help="one non-negative weight per row")
    score.add_argument("--groups", metavar="FILE", help="one group id per row: per-group results")
    score.add_argument(
        "--eps",
        type=_eps,
        default="auto",
        metavar="X",
        help="probability clipping: 'auto' (default) or a number in [0, 0.5)",
    )
    score.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        help="rows per chunk (default: about 4 million values per chunk)",
    )
    score.add_argument("--json", action="store_true", help="print the results as JSON")
    score.add_argument(
        "--column",
        metavar="NAME",
        nargs="+",
        action="extend",
        help="Parquet columns of Y_PRED (several = one column per class)",
    )
    score.add_argument(
        "--true-column",
        metavar="NAME",
        nargs="+",
        action="extend",
        help="Parquet columns of Y_TRUE",
    )
    score.set_defaults(handler=_score, command_parser=score)


def _score(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from plogp import _score as scoring

    try:
        job = scoring.Job(
            loss=args.loss,
            y_true=scoring.open_source("Y_TRUE", args.y_true, args.true_column),
            y_pred=scoring.open_source("Y_PRED", args.y_pred, args.column),
            from_logits=args.from_logits,
            eps=args.eps,
            sample_weight=(
                None
                if args.sample_weight is None
                else scoring.open_source("--sample-weight", args.sample_weight)
            ),
            groups=None if args.groups is None else scoring.open_source("--groups", args.groups),
            chunk_rows=args.chunk_size,
        )
        scoring.check_lengths(job)
        with scoring.progress_bar(job.y_true.rows) as progress:
            metric = scoring.score(job, progress)
        report = scoring.report(job, metric)
    except scoring.ScoreError as exc:
        print(f"plogp score: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("plogp score: interrupted", file=sys.stderr)
        return 130
    scoring.render(report, as_json=args.json)
    return 0


def _add_plot(commands: "argparse._SubParsersAction[_Parser]") -> None:
    plot = commands.add_parser(
        "plot",
        help="draw the article's figures as PNG files (needs matplotlib)",
        description=(
            "Write binary_cross_entropy.png (the loss of one prediction for y = 1 and y = 0) "
            "and cross_entropy.png (H(p, q) against H(p) as q moves away from p), computed "
            "with plogp."
        ),
    )
    plot.add_argument(
        "--out",
        metavar="DIR",
        default=".",
        help="output directory, created if missing (default: .)",
    )
    plot.add_argument("--dpi", metavar="N", type=_positive_int, default=120, help="resolution")
    plot.set_defaults(handler=_plot, command_parser=plot)


def _plot(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error("matplotlib is not installed (pip install 'plogp[plot]')")
    from plogp import plot

    try:
        paths = plot.save(args.out, dpi=args.dpi)
    except OSError as exc:
        print(
            f"plogp plot: error: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr
        )
        return 2
    for path in paths:
        print(path)
    return 0


def _check_output_path(parser: argparse.ArgumentParser, option: str, path: Optional[str]) -> None:
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        parser.error(f"argument {option}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        parser.error(f"argument {option}: directory {parent!r} is not writable")


def _progress_printer() -> Tuple[Callable[[str], None], Callable[[], None]]:
    """A transient rich progress line on a terminal, else one plain line per step on stderr."""
    started = time.perf_counter()
    if sys.stderr.isatty():
        try:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        except ImportError:
            pass
        else:
            # Refreshed only at each step: a refresh thread would compete for the GIL with the
            # calls being timed.
            progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
                auto_refresh=False,
            )
            task = progress.add_task("starting")
            progress.start()

            def update(text: str) -> None:
                progress.update(task, description=text)
                progress.refresh()

            return update, progress.stop

    def line(text: str) -> None:
        elapsed = time.perf_counter() - started
        print(f"plogp bench [{elapsed:6.1f} s] {text}", file=sys.stderr, flush=True)

    return line, lambda: None


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from plogp import _bench as bench

    _check_output_path(parser, "--json", args.json)
    _check_output_path(parser, "--plot", args.plot)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("argument --plot: matplotlib is not installed (pip install 'plogp[plot]')")

    settings = bench.Settings(quick=args.quick, repeat=args.repeat, threads=args.threads)
    update, stop = _progress_printer()
    try:
        report = bench.run(settings, progress=update)
    except KeyboardInterrupt:
        report = None
    finally:
        stop()
    if report is None:
        print("plogp bench: interrupted", file=sys.stderr)
        return 130

    bench.render(report)
    status = 0
    if args.json is not None:
        import json

        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(bench.to_json(report), f, indent=2, allow_nan=False)
                f.write("\n")
        except OSError as exc:
            print(f"plogp bench: cannot write {args.json}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
        else:
            print(f"plogp bench: wrote {args.json}", file=sys.stderr)
    if args.plot is not None:
        try:
            bench.plot(report, args.plot)
        except (OSError, ValueError) as exc:
            print(f"plogp bench: cannot write {args.plot}: {exc}", file=sys.stderr)
            status = 1
        else:
            print(f"plogp bench: wrote {args.plot}", file=sys.stderr)
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``plogp`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, argparse.ArgumentParser], int] = args.handler
    return handler(args, args.command_parser)


if __name__ == "__main__":
    sys.exit(main())
