"""``plogp.__version__`` and ``plogp.show_config()``."""

from __future__ import annotations

import doctest
import json
import platform
import re
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import plogp
from conftest import REPO, run_python
from plogp import _config

# PEP 440, public versions plus the local "+..." part (e.g. "0.1.0", "1.2.0rc1", "0+unknown").
PEP440 = re.compile(
    r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[A-Za-z0-9]+(\.[A-Za-z0-9]+)*)?$"
)


def _cargo_workspace_version() -> str:
    text = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    section = text.split("[workspace.package]", 1)[1].split("\n[", 1)[0]
    found = re.search(r'^version\s*=\s*"([^"]+)"', section, re.MULTILINE)
    assert found, "no version in [workspace.package] of Cargo.toml"
    return found.group(1)


def test_version_is_a_pep440_string() -> None:
    assert isinstance(plogp.__version__, str)
    assert PEP440.match(plogp.__version__), plogp.__version__
    assert plogp.__version__ != _config.UNKNOWN_VERSION


def test_version_is_the_distribution_or_the_checkout_version() -> None:
    try:
        installed = metadata.version("plogp")
    except metadata.PackageNotFoundError:
        installed = None
    if installed is not None:
        assert plogp.__version__ == installed
    else:
        assert plogp.__version__ == _config._pyproject_version(REPO / "pyproject.toml")


def test_pyproject_and_cargo_versions_agree() -> None:
    # One version for the wheel, `plogp.__version__` and the crates.
    assert _config._pyproject_version(REPO / "pyproject.toml") == _cargo_workspace_version()


def test_version_falls_back_to_pyproject_without_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_config.metadata, "version", missing)
    # As in a checkout run with PYTHONPATH=python (an installed package has no pyproject.toml).
    monkeypatch.setattr(_config, "__file__", str(REPO / "python" / "plogp" / "_config.py"))
    assert _config.package_version() == _config._pyproject_version(REPO / "pyproject.toml")


def test_version_is_unknown_without_metadata_or_pyproject(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_config.metadata, "version", missing)
    monkeypatch.setattr(_config, "__file__", str(tmp_path / "python" / "plogp" / "_config.py"))
    assert _config.package_version() == _config.UNKNOWN_VERSION


def test_pyproject_version_reads_only_the_project_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[tool.other]\nversion = "9.9"\n\n[project]  # the package\nname = "x"\n'
        "version = '1.2.3'\n\n[tool.maturin]\nversion = \"7\"\n",
        encoding="utf-8",
    )
    assert _config._pyproject_version(path) == "1.2.3"
    path.write_text('[project]\nname = "x"\ndynamic = ["version"]\n', encoding="utf-8")
    assert _config._pyproject_version(path) is None
    assert _config._pyproject_version(tmp_path / "absent.toml") is None


def test_show_config_as_dict() -> None:
    info = plogp.show_config(as_dict=True)
    assert set(info) == {
        "plogp",
        "build",
        "simd",
        "threads",
        "python",
        "numpy",
        "platform",
        "optional",
    }
    assert info["plogp"]["version"] == plogp.__version__
    assert Path(info["plogp"]["path"]) == Path(plogp.__file__).parent
    assert info["simd"]["level"] == plogp.simd_level()
    available = info["simd"]["available"]
    if available is not None:
        assert available[0] == "scalar"
        assert info["simd"]["level"] in available
    assert info["threads"]["num_threads"] == plogp.get_num_threads()
    assert info["python"]["version"] == platform.python_version()
    assert info["numpy"]["version"] == np.__version__
    assert info["platform"]["machine"] == platform.machine()
    assert info["optional"]["scipy"] == metadata.version("scipy")  # a test dependency
    assert json.loads(json.dumps(info)) == info  # plain data: goes into a JSON report


def test_show_config_reports_the_environment() -> None:
    done = run_python(
        "import json, plogp; print(json.dumps(plogp.show_config(as_dict=True)))",
        {"PLOGP_SIMD": "scalar", "PLOGP_NUM_THREADS": "3"},
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["simd"]["level"] == "scalar"
    assert info["simd"]["PLOGP_SIMD"] == "scalar"
    assert info["threads"]["num_threads"] == 3
    assert info["threads"]["PLOGP_NUM_THREADS"] == "3"


def test_show_config_prints_every_entry(capsys: pytest.CaptureFixture[str]) -> None:
    info = plogp.show_config(as_dict=True)
    assert capsys.readouterr().out == ""  # as_dict=True returns, it does not print
    assert plogp.show_config() is None
    out = capsys.readouterr().out
    for section, values in info.items():
        assert re.search(rf"^{section}:$", out, re.MULTILINE), section
        for key, value in values.items():
            shown = _config._format_value(value)
            assert re.search(rf"^  {re.escape(key)} +{re.escape(shown)}$", out, re.MULTILINE), (
                key,
                shown,
                out,
            )


@pytest.mark.parametrize("bad", [1, "yes", None, np.bool_(True)])
def test_show_config_rejects_a_non_bool(bad: object) -> None:
    with pytest.raises(TypeError, match="as_dict"):
        plogp.show_config(as_dict=bad)


def test_show_config_docstring_examples_run() -> None:
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(_config.show_config, "show_config", globs={}):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0


@pytest.mark.parametrize(
    ("machine", "flags", "expected"),
    [
        ("x86_64", {"sse2", "avx"}, ["scalar"]),
        ("x86_64", {"avx2"}, ["scalar"]),  # AVX2 without FMA is not the avx2 tier
        ("x86_64", {"avx2", "fma"}, ["scalar", "avx2"]),
        ("x86_64", {"avx2", "fma", "avx512f"}, ["scalar", "avx2", "avx512"]),
        ("x86_64", {"avx2", "avx512f"}, ["scalar"]),  # both native tiers need FMA
        (
            "x86_64",
            {"avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"},
            ["scalar", "avx2", "avx512"],
        ),
        ("AMD64", None, None),  # no /proc/cpuinfo (Windows, macOS): not known
        ("aarch64", None, ["scalar", "neon"]),
        ("arm64", None, ["scalar", "neon"]),
        ("riscv64", None, ["scalar"]),
    ],
)
def test_available_tiers(
    monkeypatch: pytest.MonkeyPatch,
    machine: str,
    flags: set[str] | None,
    expected: list[str] | None,
) -> None:
    monkeypatch.setattr(_config.platform, "machine", lambda: machine)
    monkeypatch.setattr(_config, "_cpu_flags", lambda: None if flags is None else frozenset(flags))
    assert _config.available_tiers() == expected


def test_cpu_flags_of_this_machine() -> None:
    flags = _config._cpu_flags()
    if not Path("/proc/cpuinfo").exists():
        assert flags is None
        return
    assert flags, "/proc/cpuinfo has a flags line"
    if _config._machine() == "x86_64":
        assert "sse2" in flags  # the x86-64 baseline


def test_show_config_names_the_build() -> None:
    build = plogp.show_config(as_dict=True)["build"]
    lock = (Path(__file__).resolve().parents[1] / "Cargo.lock").read_text(encoding="utf-8")
    for key, crate in (("pyo3", "pyo3"), ("rust-numpy", "numpy"), ("rayon", "rayon")):
        assert f'name = "{crate}"\nversion = "{build[key]}"' in lock, (key, build[key])
    assert build["rustc"].startswith("rustc ")
    assert build["profile"] in ("release", "debug")
    assert build["abi3"] == (".abi3." in build["extension"])
