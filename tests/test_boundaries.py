"""One implementation of each thing: production code never imports the oracle
(``plogp.reference``), and the oracle imports nothing production uses except the two
modules that are shared on purpose (the scikit-learn layer and the per-item shape rule)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from conftest import requires_native, run_python

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "plogp"

#: The oracle and the module of its loss formulas.
REFERENCE = {"plogp.reference", "plogp._reference_options"}
#: Shared by production and the reference on purpose: NumPy-only, tested against
#: scikit-learn / the bindings themselves.
SHARED = {"plogp._sklearn_compat", "plogp._items"}
#: ``plogp bench`` times the reference as its "numpy" peer (SPEC §6): the one production
#: module that loads it, lazily and by name, as a competitor, never as a helper.
BENCH = "plogp._bench"


def _module_name(path: Path) -> str:
    return "plogp" if path.stem == "__init__" else f"plogp.{path.stem}"


def _plogp_imports(path: Path) -> set[str]:
    """The plogp modules a file imports (``import plogp.x``, ``from plogp import x``,
    ``from plogp.x import y``, relative imports), wherever in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "plogp")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = "plogp" + ("." + module if module else "")
            if module == "plogp":
                found.update(f"plogp.{a.name}" for a in node.names)
            elif module.split(".")[0] == "plogp":
                found.add(module)
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.glob("*.py"))}


def test_the_scan_sees_the_package() -> None:
    assert {
        "plogp",
        "plogp.reference",
        "plogp.metrics",
        "plogp.dask",
        "plogp._log_loss",
        "plogp._score",
    } <= set(MODULES)
    assert "plogp._sklearn_compat" in _plogp_imports(MODULES["plogp._log_loss"])


@pytest.mark.parametrize("name", sorted(set(MODULES) - REFERENCE))
def test_production_never_imports_the_reference(name: str) -> None:
    imported = _plogp_imports(MODULES[name])
    assert not imported & REFERENCE, f"{name} imports {sorted(imported & REFERENCE)}"
    if name != BENCH:  # nor by name (importlib)
        assert 'import_module("plogp.reference' not in MODULES[name].read_text()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_the_reference_imports_only_the_shared_modules(name: str) -> None:
    imported = _plogp_imports(MODULES[name])
    assert imported <= REFERENCE | SHARED, f"{name} imports {sorted(imported - REFERENCE - SHARED)}"


@pytest.mark.parametrize("name", sorted(SHARED))
def test_the_shared_modules_import_no_plogp_module(name: str) -> None:
    assert _plogp_imports(MODULES[name]) == set()


@requires_native
def test_importing_every_production_module_leaves_the_reference_unloaded() -> None:
    code = (
        "import json, sys\n"
        "import plogp, plogp.metrics, plogp.grad, plogp.cli, plogp._score, plogp._log_loss\n"
        "try:\n    import plogp.dask\nexcept ImportError:\n    pass\n"
        "import numpy as np\n"
        "plogp.log_loss(['a', 'b', 'a'], [0.2, 0.7, 0.4])\n"
        "plogp.log_loss([0, 2, 1], np.full((3, 3), 1 / 3))\n"
        "plogp.metrics.Entropy().update(np.full((2, 2), 0.5), groups=[0, 1])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('plogp'))))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert "plogp.metrics" in loaded and "plogp._sklearn_compat" in loaded
    assert not loaded & REFERENCE, sorted(loaded & REFERENCE)
