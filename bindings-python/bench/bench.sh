#!/usr/bin/env bash
# Sets up and runs bench_calls.py: release builds of the extension and of the emulator,
# and the official `activeconnect` 0.0.10 client, in <repo>/.venv.
#
#   bindings-python/bench/bench.sh [--seconds 5] [--in-flight 100]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"

echo "== official client: activeconnect==0.0.10"
"$py" -m pip install --quiet --disable-pip-version-check "activeconnect==0.0.10"

echo "== cargo build --release -p deviceauth-emulator"
(cd "$root" && cargo build --release -p deviceauth-emulator)

if [ -n "${DEVICEAUTH_WHEEL:-}" ]; then
    echo "== pip install $DEVICEAUTH_WHEEL"
    "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$DEVICEAUTH_WHEEL"
else
    echo "== pip install ./bindings-python (release)"
    (cd "$root" && env -u MATURIN_PEP517_ARGS \
        "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings-python)
fi

echo "== bench_calls.py"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
DEVICEAUTH_EMULATOR="${DEVICEAUTH_EMULATOR:-$target/release/deviceauth-emulator}" exec "$py" "$here/bench_calls.py" "$@"
