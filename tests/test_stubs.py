"""The hand-written stub ``python/plogp/_native.pyi`` matches the compiled module
(``mypy.stubtest``: names, signatures, keyword-only options and defaults)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import REPO, requires_native, run_python

pytestmark = requires_native


def test_stubtest_native_module(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    # MYPYPATH puts this checkout's stub ahead of any installed copy of the package.
    mypy_path = os.pathsep.join(filter(None, [str(REPO / "python"), os.environ.get("MYPYPATH")]))
    done = run_python(
        "import sys; from mypy.stubtest import main; sys.exit(main())",
        {"MYPYPATH": mypy_path},
        argv=["plogp._native"],
        cwd=tmp_path,  # mypy's cache goes there, not into the checkout
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout, done.stdout
