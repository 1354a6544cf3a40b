#!/usr/bin/env bash
# Installs the deviceauth Python package with the interpreter $1 (a venv's python): the
# wheel DEVICEAUTH_WHEEL names (what ./run-dist built, as ./run-tests does: built once,
# tested as shipped), else built from ./bindings-python in cargo profile $2 (default dev).
# Used by tests/python/run.sh and tests/e2e/run.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="$1"
profile="${2:-dev}"
pip=("$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps)

if [ -n "${DEVICEAUTH_WHEEL:-}" ]; then
    printf '\n== %s\n' "pip install $DEVICEAUTH_WHEEL"
    "${pip[@]}" "$DEVICEAUTH_WHEEL"
else
    printf '\n== %s\n' "pip install ./bindings-python (cargo profile: $profile)"
    (cd "$root" && MATURIN_PEP517_ARGS="--profile $profile" "${pip[@]}" ./bindings-python)
fi
