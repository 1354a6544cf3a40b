#!/usr/bin/env bash
# Load test of the session monitor against the emulator binary: builds release, then runs
# the Rust load test in one process and with 4 shard processes, then the Python asyncio
# load test (tests/load/python/run.sh) when it exists.
#
#   tests/load/run.sh [--users 10000] [--seconds 60] [any other deviceauth-load flag]
# (the Python test gets only --users and --seconds)
#
# JSON reports go to ${LOAD_OUT:-target/load}/rust-single.json and rust-sharded.json.
# Exits non-zero when any run lost or duplicated a change.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="${LOAD_OUT:-$target/load}"
mkdir -p "$out"

# built one at a time: together, Cargo would unify their features and rebuild the emulator
echo "== cargo build --release -p deviceauth-emulator; cargo build --release -p deviceauth-load"
cargo build --release -p deviceauth-emulator || exit 1
cargo build --release -p deviceauth-load || exit 1
export DEVICEAUTH_EMULATOR="$target/release/deviceauth-emulator"

status=0
echo "== deviceauth-load (one process) $*"
"$target/release/deviceauth-load" --json "$out/rust-single.json" "$@" || status=1
echo "== deviceauth-load --shards 4 $*"
"$target/release/deviceauth-load" --shards 4 --json "$out/rust-sharded.json" "$@" || status=1

if [ -x "$here/python/run.sh" ] || [ -f "$here/python/run.sh" ]; then
    echo "== tests/load/python/run.sh"
    # only the flags both tests share are passed on
    py_args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --users|--seconds) py_args+=("$1" "$2"); shift 2 ;;
            *) shift ;;
        esac
    done
    bash "$here/python/run.sh" --json "$out/python.json" "${py_args[@]}" || status=1
else
    echo "== tests/load/python/run.sh not present: skipped"
fi
exit $status
