#!/usr/bin/env bash
# Runs the monitor store tests (core/tests/store_*.rs) against real servers: SQLite files,
# and the PostgreSQL and Redis of tests/store/servers.sh (started here on free loopback
# ports in a temporary folder unless DEVICEAUTH_TEST_POSTGRES_URL and
# DEVICEAUTH_TEST_REDIS_URL are set; stopped again on exit).
#
#   tests/store/run.sh                 # all store tests
#   tests/store/run.sh -- two_monitors # extra arguments go to the test binaries
#   KEEP=1 tests/store/run.sh          # leave the temporary folder (server logs) behind
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=servers.sh
source "$ROOT/tests/store/servers.sh"
cd "$ROOT"
cargo test -p deviceauth --features store-sqlite,store-postgres,store-redis --test 'store_*' "$@"
