# shellcheck shell=bash
# Sourced, not run: starts a PostgreSQL and a Redis on free loopback ports in a temporary
# folder (installing postgresql, redis-server and sqlite3 with apt-get when missing; no
# containers), exports their URLs, and stops them when the sourcing shell exits:
#
#   DEVICEAUTH_TEST_POSTGRES_URL  postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres
#   DEVICEAUTH_TEST_REDIS_URL     redis://default:PASSWORD@127.0.0.1:PORT/0
#   DEVICEAUTH_TEST_POSTGRES_CA   the PEM of the CA that signed Postgres's TLS certificate
#                                 (for 127.0.0.1 and localhost; TLS is on, and optional)
#   DEVICEAUTH_TEST_STORES_REQUIRED=1   (store tests fail, not skip, without a server)
#
# Both servers want a password (scram-sha-256 / requirepass), so the wrong-password paths
# are real. When both URLs are already set, nothing is started. KEEP=1 leaves the folder
# (server logs) behind. Installs an EXIT trap: source it before setting one of your own.
if [ -z "${DEVICEAUTH_TEST_POSTGRES_URL:-}" ] || [ -z "${DEVICEAUTH_TEST_REDIS_URL:-}" ]; then
  _da_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  _da_missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || _da_missing+=(postgresql)
  command -v redis-server >/dev/null || _da_missing+=(redis-server)
  command -v sqlite3 >/dev/null || _da_missing+=(sqlite3)
  command -v openssl >/dev/null || _da_missing+=(openssl)
  if [ ${#_da_missing[@]} -gt 0 ]; then
    echo "store servers: installing ${_da_missing[*]}"
    _da_as_root apt-get update -qq
    _da_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${_da_missing[@]}" >/dev/null
  fi
  _DA_PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  _DA_TMP=$(mktemp -d /tmp/deviceauth-store.XXXXXX)
  chmod 755 "$_DA_TMP"
  _DA_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  _da_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  _DA_PGPORT=$(_da_free_port)
  _DA_REDISPORT=$(_da_free_port)
  # Postgres refuses to run as root: run it as the postgres user when we are root.
  _da_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  _da_stop_servers() {
    set +e
    [ -f "$_DA_TMP/pg/data/postmaster.pid" ] && _da_pg "$_DA_PGBIN/pg_ctl" -D "$_DA_TMP/pg/data" -m immediate stop >/dev/null 2>&1
    [ -f "$_DA_TMP/redis/redis.pid" ] && redis-cli -p "$_DA_REDISPORT" -a "$_DA_PASSWORD" --no-auth-warning shutdown nosave >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then echo "store servers: kept $_DA_TMP"; else rm -rf "$_DA_TMP"; fi
  }
  trap _da_stop_servers EXIT
  trap 'exit 130' INT TERM

  mkdir -p "$_DA_TMP/pg" "$_DA_TMP/redis" "$_DA_TMP/tls"
  printf '%s\n' "$_DA_PASSWORD" > "$_DA_TMP/pg/password"
  # A CA of our own and a server certificate for 127.0.0.1 and localhost.
  (
    cd "$_DA_TMP/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=deviceauth-test-ca -keyout ca.key -out ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
      -out server.pem >/dev/null 2>&1
  ) || { echo "store servers: openssl failed"; exit 1; }
  cp "$_DA_TMP/tls/server.pem" "$_DA_TMP/tls/server.key" "$_DA_TMP/pg/"
  chmod 600 "$_DA_TMP/pg/server.key"
  [ "$(id -u)" = 0 ] && chown -R postgres "$_DA_TMP/pg"
  _da_pg "$_DA_PGBIN/initdb" -D "$_DA_TMP/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --pwfile="$_DA_TMP/pg/password" >"$_DA_TMP/pg/initdb.log" 2>&1 || { cat "$_DA_TMP/pg/initdb.log"; exit 1; }
  _da_pg "$_DA_PGBIN/pg_ctl" -D "$_DA_TMP/pg/data" -w -l "$_DA_TMP/pg/log" \
    -o "-p $_DA_PGPORT -k $_DA_TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
        -c ssl=on -c ssl_cert_file=$_DA_TMP/pg/server.pem -c ssl_key_file=$_DA_TMP/pg/server.key" start >/dev/null \
    || { cat "$_DA_TMP/pg/log"; exit 1; }
  redis-server --port "$_DA_REDISPORT" --bind 127.0.0.1 --save '' --appendonly no --requirepass "$_DA_PASSWORD" \
    --dir "$_DA_TMP/redis" --pidfile "$_DA_TMP/redis/redis.pid" --logfile "$_DA_TMP/redis/log" --daemonize yes
  for _ in $(seq 50); do
    redis-cli -p "$_DA_REDISPORT" -a "$_DA_PASSWORD" --no-auth-warning ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  export DEVICEAUTH_TEST_POSTGRES_URL="postgresql://postgres:$_DA_PASSWORD@127.0.0.1:$_DA_PGPORT/postgres"
  export DEVICEAUTH_TEST_REDIS_URL="redis://default:$_DA_PASSWORD@127.0.0.1:$_DA_REDISPORT/0"
  export DEVICEAUTH_TEST_POSTGRES_CA="$_DA_TMP/tls/ca.pem"
  echo "store servers: postgres on 127.0.0.1:$_DA_PGPORT, redis on 127.0.0.1:$_DA_REDISPORT (folder $_DA_TMP)"
fi
export DEVICEAUTH_TEST_STORES_REQUIRED=1
