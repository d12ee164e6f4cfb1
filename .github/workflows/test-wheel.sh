#!/usr/bin/env bash
# Installs the plogp wheel in dist/ that fits PYTHON (argument 1, default `python`) into a fresh
# virtual environment and runs the test suite (and the README doctests) against it: from the
# repository root, with no Rust toolchain on PATH, and PLOGP_REQUIRE_NATIVE=1 so that nothing
# passes by skipping. Used by every wheel job of release.yml; the CI wheel step does the same.
set -euo pipefail
PY=${1:-python}
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

VENV="$(mktemp -d)/venv"
"$PY" -m venv "$VENV"
if [ -x "$VENV/bin/python" ]; then VPY="$VENV/bin/python"; else VPY="$VENV/Scripts/python.exe"; fi
# The wheel from dist/ only (never a plogp from PyPI), then its test extra from PyPI.
"$VPY" -m pip install --no-index --find-links dist --no-deps plogp
"$VPY" -m pip install -q --find-links dist "plogp[test]"

# PATH without cargo/rustc: a test that needed the toolchain would fail here.
NO_RUST_PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e '\.cargo' -e 'rustup' | paste -sd: -)"
PATH="$(dirname "$VPY"):$NO_RUST_PATH"
export PATH
if command -v cargo >/dev/null 2>&1 || command -v rustc >/dev/null 2>&1; then
    echo "a Rust toolchain is still on PATH: $(command -v cargo rustc)" >&2
    exit 1
fi
"$VPY" - <<'PY'
import plogp
assert "site-packages" in plogp.__file__, plogp.__file__  # the wheel, not the checkout
plogp.show_config()
PY
PLOGP_REQUIRE_NATIVE=1 "$VPY" -m pytest -q -p no:cacheprovider
