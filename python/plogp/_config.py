"""``plogp.__version__`` and ``plogp.show_config()``: which build and which machine made a number.

The version comes from the installed distribution's metadata; a source checkout run with
``PYTHONPATH=python`` (no metadata) falls back to the ``[project] version`` of the checkout's
``pyproject.toml``. ``show_config`` reads only cheap facts (no kernel call, no optional import).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, overload

DISTRIBUTION = "plogp"
UNKNOWN_VERSION = "0+unknown"

# Tiers of each machine, lowest first (the names `simd_level()` returns), and the CPU flags
# (as Linux's /proc/cpuinfo spells them) each x86-64 tier needs: the same features the native
# tiers check (`simd::Avx2::try_new`, `simd::Avx512::try_new`).
_TIERS = {
    "x86_64": ("scalar", "avx2", "avx512"),
    "aarch64": ("scalar", "neon"),
}
_MACHINE_ALIASES = {"amd64": "x86_64", "x86-64": "x86_64", "arm64": "aarch64"}
_X86_FLAGS = {
    "avx2": frozenset({"avx2", "fma"}),
    "avx512": frozenset({"avx512f", "avx2", "fma"}),
}
# The extras' dependencies whose versions show_config reports when installed.
_OPTIONAL = ("scipy", "scikit-learn", "dask", "distributed", "pyarrow", "matplotlib", "rich")


def _pyproject_version(pyproject: Path) -> str | None:
    """The ``version`` of the ``[project]`` table of ``pyproject`` (None if absent/dynamic).

    A line scan rather than ``tomllib``, which is Python 3.11+ (plogp supports 3.9).
    """
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    table = None
    for line in text.splitlines():
        header = re.match(r"\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
        if header:
            table = header.group(1).strip()
            continue
        if table == "project":
            found = re.match(r"""\s*version\s*=\s*["']([^"']+)["']""", line)
            if found:
                return found.group(1)
    return None


def package_version() -> str:
    """The version of this plogp: distribution metadata, else the checkout's pyproject.toml."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    # python/plogp/_config.py -> the checkout's root.
    found = _pyproject_version(Path(__file__).resolve().parents[2] / "pyproject.toml")
    return found if found is not None else UNKNOWN_VERSION


def _machine() -> str:
    machine = platform.machine().lower()
    return _MACHINE_ALIASES.get(machine, machine)


def _cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (None where it is not readable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def available_tiers() -> list[str] | None:
    """The SIMD tiers this CPU can run, lowest first, or None when that is not known here.

    These are what the hardware offers; ``simd_level()`` is what the kernels use, which may be
    lower (``PLOGP_SIMD``, or a tier that automatic detection does not select yet).
    """
    machine = _machine()
    tiers = _TIERS.get(machine)
    if tiers is None:
        return ["scalar"]
    if machine == "aarch64":
        return list(tiers)  # NEON is part of the aarch64 baseline
    flags = _cpu_flags()
    if flags is None:
        return None
    return [t for t in tiers if t == "scalar" or _X86_FLAGS[t] <= flags]


def _optional_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _OPTIONAL:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def config() -> dict[str, Any]:
    """The facts ``show_config`` prints, as a dict (see ``show_config``)."""
    import numpy

    import plogp

    return {
        "plogp": {"version": plogp.__version__, "path": str(Path(plogp.__file__).parent)},
        "build": {
            **plogp._native._build_info(),
            "extension": Path(plogp._native.__file__).name,
            "abi3": ".abi3." in Path(plogp._native.__file__).name,
        },
        "simd": {
            "level": plogp.simd_level(),
            "available": available_tiers(),
            "PLOGP_SIMD": os.environ.get("PLOGP_SIMD"),
        },
        "threads": {
            "num_threads": plogp.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "PLOGP_NUM_THREADS": os.environ.get("PLOGP_NUM_THREADS"),
        },
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "numpy": {"version": numpy.__version__},
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
        "optional": _optional_versions(),
    }


def _format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(value) if value else "-"
    return str(value)


@overload
def show_config(*, as_dict: Literal[False] = ...) -> None: ...
@overload
def show_config(*, as_dict: Literal[True]) -> dict[str, Any]: ...
@overload
def show_config(*, as_dict: bool) -> dict[str, Any] | None: ...


def show_config(*, as_dict: bool = False) -> dict[str, Any] | None:
    """Print the version of plogp and facts about the build and the machine it runs on.

    Attach its output to a bug report or a benchmark figure: it says which version and SIMD
    tier computed a number, on how many threads, with which NumPy and Python.

    Parameters
    ----------
    as_dict : bool, default False
        Return the same information as a dict instead of printing it.

    Returns
    -------
    None or dict
        With ``as_dict=True``, a dict of dicts (all values are str, int, bool, list or None):

        - ``"plogp"``: ``"version"`` (``plogp.__version__``), ``"path"`` (the package directory);
        - ``"build"``: ``"profile"`` (the cargo profile), ``"rustc"``, ``"pyo3"``,
          ``"rust-numpy"``, ``"rayon"`` (versions), ``"target_arch"``, ``"extension"`` (the
          file name of the compiled module) and ``"abi3"`` (a stable-ABI build);
        - ``"simd"``: ``"level"`` (the tier in use, ``plogp.simd_level()``), ``"available"`` (the
          tiers this CPU can run, lowest first, or None where that is not known),
          ``"PLOGP_SIMD"`` (the environment variable, None if unset);
        - ``"threads"``: ``"num_threads"`` (``plogp.get_num_threads()``), ``"cpu_count"``,
          ``"PLOGP_NUM_THREADS"``;
        - ``"python"``: ``"version"``, ``"implementation"``, ``"executable"``;
        - ``"numpy"``: ``"version"``;
        - ``"platform"``: ``"system"``, ``"release"``, ``"machine"``, ``"platform"``;
        - ``"optional"``: the version of each optional dependency of the extras (scipy,
          scikit-learn, dask, distributed, pyarrow, matplotlib, rich), None if not installed.

    Raises
    ------
    TypeError
        If `as_dict` is not a bool.

    Examples
    --------
    >>> import plogp
    >>> info = plogp.show_config(as_dict=True)
    >>> info["plogp"]["version"] == plogp.__version__
    True
    >>> info["simd"]["level"] == plogp.simd_level()
    True
    """
    if not isinstance(as_dict, bool):
        raise TypeError(f"as_dict must be a bool, got {type(as_dict).__name__}")
    info = config()
    if as_dict:
        return info
    lines = []
    for section, values in info.items():
        lines.append(f"{section}:")
        width = max(len(key) for key in values)
        lines.extend(f"  {key:<{width}}  {_format_value(v)}" for key, v in values.items())
    print("\n".join(lines))
    return None
