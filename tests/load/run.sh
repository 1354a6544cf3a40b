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
#
# Monitor stores (issue 13):
#
#   tests/load/run.sh --store sqlite|postgres|redis|memory|none [--monitors 4] [--users 100000]
#       [--interval-ms 30000] [--seconds 120] [--lease-ms 60000] [--no-kill] [other flags]
#
# runs only the store mode of deviceauth-load (see tests/load/rust/src/store.rs): the
# sessions go into the store, --monitors child processes (each a StoreMonitor) poll them,
# one is SIGKILLed half-way (unless --monitors 1 or --no-kill). `memory` is one StoreMonitor
# on a memory store in one process; `none` is today's in-memory Monitor in the same harness.
# Postgres and Redis are started by tests/store/servers.sh (apt-installed when missing),
# SQLite is a file in a temporary folder. Defaults for the store mode: 100,000 sessions,
# 30 s interval, 120 s window. Report: $out/store-KIND-Nm.json. Exits 1 on lost changes.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="${LOAD_OUT:-$target/load}"
mkdir -p "$out"

# built one at a time: together, Cargo would unify their features and rebuild the emulator
# (LOAD_NO_BUILD=1: use the binaries already built, e.g. for several store runs in a row)
if [ "${LOAD_NO_BUILD:-0}" = 1 ] && [ -x "$target/release/deviceauth-load" ] && [ -x "$target/release/deviceauth-emulator" ]; then
    echo "== LOAD_NO_BUILD=1: using $target/release/deviceauth-load as built"
else
    echo "== cargo build --release -p deviceauth-emulator; cargo build --release -p deviceauth-load"
    cargo build --release -p deviceauth-emulator || exit 1
    cargo build --release -p deviceauth-load || exit 1
fi
export DEVICEAUTH_EMULATOR="$target/release/deviceauth-emulator"

# ---- store mode
store=""
rest=()
while [ $# -gt 0 ]; do
    case "$1" in
        --store) store="${2:-}"; shift 2 ;;
        --store=*) store="${1#--store=}"; shift ;;
        *) rest+=("$1"); shift ;;
    esac
done
set -- ${rest[@]+"${rest[@]}"}
if [ -n "$store" ]; then
    has() { local flag="$1"; shift; for a in "$@"; do [ "$a" = "$flag" ] && return 0; done; return 1; }
    args=("$@")
    has --users "$@" || args+=(--users 100000)
    has --interval-ms "$@" || args+=(--interval-ms 30000)
    has --seconds "$@" || args+=(--seconds 120)
    monitors=4
    for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--monitors" ] && { j=$((i + 1)); monitors="${!j}"; }; done
    namespace="load_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    sqlite_dir=""
    case "$store" in
        sqlite)
            sqlite_dir="$(mktemp -d /tmp/deviceauth-load-sqlite.XXXXXX)"
            export DEVICEAUTH_LOAD_STORE_URL="sqlite://$sqlite_dir/sessions.db"
            ;;
        postgres|postgresql|redis)
            # shellcheck source=../store/servers.sh
            source "$root/tests/store/servers.sh" || exit 1
            if [ "$store" = redis ]; then url="$DEVICEAUTH_TEST_REDIS_URL"; else url="$DEVICEAUTH_TEST_POSTGRES_URL"; fi
            export DEVICEAUTH_LOAD_STORE_URL="$url?namespace=$namespace"
            store="${store%ql}"
            ;;
        memory|none) monitors=1 ;;
        *) echo "--store: sqlite, postgres, redis, memory or none" >&2; exit 2 ;;
    esac
    report="$out/store-$store-${monitors}m.json"
    echo "== deviceauth-load --store $store ${args[*]} (report $report)"
    "$target/release/deviceauth-load" --store "$store" --json "$report" "${args[@]}"
    status=$?
    [ -n "$sqlite_dir" ] && rm -rf "$sqlite_dir"
    exit $status
fi

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
