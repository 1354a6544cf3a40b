#!/usr/bin/env bash
# Load test of the Python binding's AsyncMonitor against the emulator, release builds.
#
#   tests/load/python/run.sh [--users N] [--seconds S] [--json PATH] ...   (see load.py --help)
#
# Uses the virtual environment at <repo>/.venv (made if missing, from $PYTHON or python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

step() { printf '\n== %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
    step "creating $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"

step "cargo build --release -p deviceauth-emulator"
(cd "$root" && cargo build --release -p deviceauth-emulator)

step "pip install ./bindings-python (cargo profile: release)"
(cd "$root" && MATURIN_PEP517_ARGS="--profile release" \
    "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings-python)

target="${CARGO_TARGET_DIR:-$root/target}"
step "load.py $*"
exec "$py" "$here/load.py" --emulator "$target/release/deviceauth-emulator" "$@"
