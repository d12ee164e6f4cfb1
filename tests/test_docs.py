"""The examples in the docstrings of ``python/plogp/_native.pyi`` run and print what they show.

A stub is never imported, so its docstrings are read with ``ast`` and run with ``doctest``
against the installed ``plogp``: the API reference cannot drift from what the native module
returns.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import pydoc
import re
from pathlib import Path

import numpy as np
import pytest

import plogp

STUB = Path(__file__).resolve().parents[1] / "python" / "plogp" / "_native.pyi"
OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
EXAMPLES_SECTION = re.compile(r"^Examples\n-{8,}$", re.MULTILINE)


def _stub_docstrings() -> dict[str, tuple[str, int]]:
    """Function name -> (docstring, line of its opening quotes) for every function in the stub."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"), filename=str(STUB))
    docs = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            doc = ast.get_docstring(node)
            if doc is not None:
                docs[node.name] = (doc, node.body[0].lineno)
    return docs


DOCSTRINGS = _stub_docstrings()
WITH_EXAMPLES = sorted(
    name for name, (doc, _) in DOCSTRINGS.items() if EXAMPLES_SECTION.search(doc)
)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name: str) -> None:
    doc, line = DOCSTRINGS[name]
    # doctest reports `lineno + example offset + 1`; the docstring's first line is `line`.
    test = doctest.DocTestParser().get_doctest(
        doc, {"np": np, "plogp": plogp}, f"plogp._native.{name}", str(STUB), line - 1
    )
    runner = doctest.DocTestRunner(verbose=False, optionflags=OPTIONFLAGS)
    report: list[str] = []
    results = runner.run(test, out=report.append)
    assert results.attempted > 0, f"{name}: the Examples section has no doctest"
    if results.failed:
        pytest.fail("".join(report), pytrace=False)


def test_every_public_function_has_examples() -> None:
    # log_loss is Python code with its own docstring, not part of the stub.
    public = sorted(set(plogp.__all__) - {"log_loss"})
    missing = [name for name in public if name not in WITH_EXAMPLES]
    assert not missing, f"no docstring with an Examples section in {STUB.name}: {missing}"


def _stub_functions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"), filename=str(STUB))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("name", sorted(DOCSTRINGS))
def test_runtime_docstring_is_the_stub_docstring(name: str) -> None:
    # build.rs copies each stub docstring into the extension: help(), `?` and __doc__ show it.
    func = getattr(plogp._native, name)
    assert func.__doc__, f"{name} has no docstring at run time"
    assert inspect.cleandoc(func.__doc__) == DOCSTRINGS[name][0]


@pytest.mark.parametrize("name", sorted(DOCSTRINGS))
def test_runtime_signature_is_the_stub_signature(name: str) -> None:
    node = _stub_functions()[name]
    args = node.args
    want = [(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD) for a in args.args]
    want += [(a.arg, inspect.Parameter.KEYWORD_ONLY) for a in args.kwonlyargs]
    params = inspect.signature(getattr(plogp._native, name)).parameters.values()
    got = [(p.name, p.kind) for p in params]
    assert got == want
    stub_defaults = [ast.literal_eval(d) for d in args.defaults]
    stub_defaults += [ast.literal_eval(d) for d in args.kw_defaults if d is not None]
    defaults = [p.default for p in params if p.default is not inspect.Parameter.empty]
    assert defaults == stub_defaults


def test_help_shows_the_numpy_docstring() -> None:
    text = pydoc.render_doc(plogp.binary_cross_entropy, renderer=pydoc.plaintext)
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert section in text
    assert (
        plogp.grad.binary_cross_entropy.__doc__ == plogp._native.grad_binary_cross_entropy.__doc__
    )
