"""The ``plogp`` command line (extra ``[cli]``: rich for tables and progress).

Subcommands (SPEC §2 "Command line"):

- ``plogp bench [--quick] [--json FILE] [--plot FILE] [--threads N] [--repeat R]`` runs the
  workloads of SPEC §6 for plogp, the NumPy reference and every installed peer, and prints a
  side-by-side table.

``score`` and ``plot`` are registered in :func:`build_parser` once they exist.
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
            "every installed peer (SciPy, scikit-learn, PyTorch) in one process, on seeded data. "
            "Prints median time, spread, speed-up over NumPy, GB/s, time relative to the "
            "measured memory-read roof and the max relative error against an exact reference."
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
        help="plogp (and torch) threads; default: plogp's setting",
    )
    bench.add_argument(
        "--repeat",
        metavar="R",
        type=_positive_int,
        help="timed runs per row (default 9, --quick 5)",
    )
    bench.set_defaults(handler=_bench, command_parser=bench)

    # `score` (SPEC §2) and `plot` are added here as `commands.add_parser(...)` with
    # `set_defaults(handler=...)` when they are implemented.
    return parser


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
