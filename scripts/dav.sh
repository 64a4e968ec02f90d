# Radicale (CardDAV/CalDAV) and vdirsyncer for einklang's tests. Source this
# file, then call `dav_start` (exports EINKLANG_TEST_DAV and
# EINKLANG_TEST_VDIRSYNCER) and `dav_stop`.
#
# Idempotent: one pinned Python venv under ~/.cache/einklang-peers (made
# once, ~20 s), a throw-away Radicale on a free port with htpasswd auth
# (user `alice`, password `alicepw`), storage under /tmp.

PEERS=${EINKLANG_PEERS:-$HOME/.cache/einklang-peers}
DAV_VENV=$PEERS/dav-venv
DAV_PINS="radicale==3.9.0 vdirsyncer==0.21.0"

_dav_install() {
  if [ -x "$DAV_VENV/bin/radicale" ] && [ -x "$DAV_VENV/bin/vdirsyncer" ] \
    && [ "$(cat "$DAV_VENV/.pins" 2>/dev/null)" = "$DAV_PINS" ]; then
    return 0
  fi
  echo "installing $DAV_PINS into $DAV_VENV…" >&2
  rm -rf "$DAV_VENV"
  mkdir -p "$PEERS"
  if ! python3 -m venv "$DAV_VENV" >/dev/null 2>&1; then
    # Debian ships venv's pip bootstrap separately
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    rm -rf "$DAV_VENV"
    python3 -m venv "$DAV_VENV"
  fi
  # shellcheck disable=SC2086
  "$DAV_VENV/bin/pip" install -q --disable-pip-version-check $DAV_PINS
  echo "$DAV_PINS" >"$DAV_VENV/.pins"
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
