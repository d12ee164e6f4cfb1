"""The test suite's own safety net: a missing extension is a skip (an error under
``PLOGP_REQUIRE_NATIVE=1``, as in CI), and a package that is broken in any other way is an
error, never a skip.

Each case runs pytest in a subprocess on a copy of this checkout's package without the compiled
extension, with this suite's ``conftest.py`` and a two-test probe file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NATIVE_MISSING, REPO

PROBE = """
def test_uses_native(native):
    assert native.entropy([0.5, 0.5], base=2) == 1.0


def test_uses_reference(reference):
    assert reference.entropy([0.5, 0.5], base=2) == 1.0
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of python/plogp without the extension, tests/conftest.py and the probe."""
    shutil.copytree(
        REPO / "python" / "plogp",
        tmp_path / "python" / "plogp",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
    )
    (tmp_path / "tests").mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "tests" / "conftest.py")
    (tmp_path / "tests" / "test_probe.py").write_text(PROBE, encoding="utf-8")
    return tmp_path


def _pytest(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLOGP_") and k not in ("PYTHONPATH", "PYTEST_ADDOPTS")
    }
    full_env.update(PYTHONPATH=str(root / "python"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_missing_extension_skips_the_native_tests(checkout: Path) -> None:
    done = _pytest(checkout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "1 passed, 1 skipped" in output, output
    assert NATIVE_MISSING in output, output


def test_missing_extension_is_an_error_under_plogp_require_native(checkout: Path) -> None:
    done = _pytest(checkout, PLOGP_REQUIRE_NATIVE="1")
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "PLOGP_REQUIRE_NATIVE" in output, output
    assert "passed" not in output, output


def test_broken_package_is_an_error_not_a_skip(checkout: Path) -> None:
    # A module of the package that fails to import (here: a missing dependency) must fail the
    # run even without PLOGP_REQUIRE_NATIVE, instead of passing as "extension not built".
    init = checkout / "python" / "plogp" / "__init__.py"
    init.write_text(
        "import plogp_missing_dependency\n" + init.read_text(encoding="utf-8"), encoding="utf-8"
    )
    done = _pytest(checkout)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "plogp_missing_dependency" in output, output
    assert "skipped" not in output, output
