#!/usr/bin/env bash
# Runs the monitor store tests (core/tests/store_*.rs) against real servers: SQLite files,
# and a PostgreSQL and a Redis started here on free loopback ports in a temporary folder
# (installed with apt-get when missing; no containers), stopped again on exit.
#
#   tests/store/run.sh                 # all store tests
#   tests/store/run.sh -- two_monitors # extra arguments go to the test binaries
#   KEEP=1 tests/store/run.sh          # leave the temporary folder (server logs) behind
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FEATURES=store-sqlite,store-postgres,store-redis

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "store tests: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

TMP=$(mktemp -d /tmp/deviceauth-store.XXXXXX)
chmod 755 "$TMP"
PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port)
REDISPORT=$(free_port)

# Postgres refuses to run as root: run it as the postgres user when we are root.
pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  set +e
  [ -f "$TMP/pg/data/postmaster.pid" ] && pg "$PGBIN/pg_ctl" -D "$TMP/pg/data" -m immediate stop >/dev/null 2>&1
  [ -f "$TMP/redis/redis.pid" ] && redis-cli -p "$REDISPORT" -a "$PASSWORD" --no-auth-warning shutdown nosave >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "store tests: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM

mkdir -p "$TMP/pg" "$TMP/redis"
printf '%s\n' "$PASSWORD" > "$TMP/pg/password"
[ "$(id -u)" = 0 ] && chown -R postgres "$TMP/pg"
pg "$PGBIN/initdb" -D "$TMP/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  --pwfile="$TMP/pg/password" >"$TMP/pg/initdb.log" 2>&1 || { cat "$TMP/pg/initdb.log"; exit 1; }
pg "$PGBIN/pg_ctl" -D "$TMP/pg/data" -w -l "$TMP/pg/log" \
  -o "-p $PGPORT -k $TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$TMP/pg/log"; exit 1; }

redis-server --port "$REDISPORT" --bind 127.0.0.1 --save '' --appendonly no --requirepass "$PASSWORD" \
  --dir "$TMP/redis" --pidfile "$TMP/redis/redis.pid" --logfile "$TMP/redis/log" --daemonize yes
for _ in $(seq 50); do
  redis-cli -p "$REDISPORT" -a "$PASSWORD" --no-auth-warning ping >/dev/null 2>&1 && break
  sleep 0.1
done

export DEVICEAUTH_TEST_POSTGRES_URL="postgresql://postgres:$PASSWORD@127.0.0.1:$PGPORT/postgres"
export DEVICEAUTH_TEST_REDIS_URL="redis://default:$PASSWORD@127.0.0.1:$REDISPORT/0"
export DEVICEAUTH_TEST_STORES_REQUIRED=1
echo "store tests: postgres on 127.0.0.1:$PGPORT, redis on 127.0.0.1:$REDISPORT"
cd "$ROOT"
cargo test -p deviceauth --features "$FEATURES" --test 'store_*' "$@"
