# Radicale (CardDAV/CalDAV) and vdirsyncer for einklang's tests. Source this
# file, then call `dav_start` (exports EINKLANG_TEST_DAV and
# EINKLANG_TEST_VDIRSYNCER) and `dav_stop`.
#
# Idempotent: one pinned Python venv under ~/.cache/einklang-peers (made
# once, ~20 s), a throw-away Radicale on a free port with htpasswd auth
# (user `alice`, password `alicepw`), storage under /tmp.

# shellcheck source=scripts/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

PEERS=${EINKLANG_PEERS:-$HOME/.cache/einklang-peers}
DAV_VENV=$PEERS/dav-venv
DAV_PINS="radicale==3.9.0 vdirsyncer==0.21.0"

_dav_install() {
  peers_venv "$DAV_VENV" "$DAV_PINS"
}

dav_start() {
  _dav_install
  DAV_DIR=$(mktemp -d /tmp/einklang-dav.XXXXXX)
  DAV_PORT=$(_pg_free_port)
  echo "alice:alicepw" >"$DAV_DIR/users"
  "$DAV_VENV/bin/radicale" --server-hosts "127.0.0.1:$DAV_PORT" \
    --auth-type htpasswd --auth-htpasswd-filename "$DAV_DIR/users" \
    --auth-htpasswd-encryption plain --rights-type owner_only \
    --storage-filesystem-folder "$DAV_DIR/collections" \
    --logging-level warning >"$DAV_DIR/log" 2>&1 &
  DAV_PID=$!
  local i
  for i in $(seq 1 200); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $DAV_PORT), 0.2)" 2>/dev/null; then
      break
    fi
    if ! kill -0 "$DAV_PID" 2>/dev/null; then
      echo "Radicale did not start:" >&2
      cat "$DAV_DIR/log" >&2
      return 1
    fi
    sleep 0.05
  done
  export DAV_DIR DAV_PORT DAV_PID
  export EINKLANG_TEST_DAV="http://127.0.0.1:$DAV_PORT/alice/"  # user alice, password alicepw
  export EINKLANG_TEST_VDIRSYNCER="$DAV_VENV/bin/vdirsyncer"
}

dav_stop() {
  [ -n "${DAV_DIR:-}" ] || return 0
  kill "$DAV_PID" 2>/dev/null || true
  wait "$DAV_PID" 2>/dev/null || true
  rm -rf "$DAV_DIR"
  unset DAV_DIR
}
