# PostgreSQL for einklang's tests and benchmarks. Source this file, then call
# `pg_start` (exports EINKLANG_TEST_PG) and `pg_stop`.
#
# Idempotent: installs Debian's postgresql-15 only if its binaries are
# missing, creates a throw-away cluster under /tmp on a free port, and runs
# the server as the `postgres` user (initdb refuses root). Tuned for tests:
# fsync off, no full-page writes.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_install() {
  [ -x "$PG_BIN/postgres" ] && return 0
  echo "installing postgresql-15 from Debian…" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
}

_pg_free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

pg_start() {
  _pg_install
  PG_DIR=$(mktemp -d /tmp/einklang-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(_pg_free_port)
  _pg_as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust \
    --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  _pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
    start >/dev/null
  export PG_DIR PG_PORT
  export EINKLANG_TEST_PG="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  _pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  unset PG_DIR
}
