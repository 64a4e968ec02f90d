# A real browser for einklang's dashboard tests. Source this file, then call
# `browser_install` (exports EINKLANG_TEST_BROWSER_PY, the venv's python
# with Playwright, EINKLANG_TEST_CHROMIUM and EINKLANG_TEST_AXE).
#
# Idempotent: Debian's `chromium` (and `chromium-driver`) from apt, once;
# Playwright for Python pinned in a venv under ~/.cache/einklang-peers,
# driving that system Chromium (no browser download); axe-core's
# `axe.min.js` from the npm registry's tarball, pinned, for the
# accessibility check the tests inject into each page.

PEERS=${EINKLANG_PEERS:-$HOME/.cache/einklang-peers}
BROWSER_VENV=$PEERS/browser-venv
BROWSER_PINS="playwright==1.65.2"
AXE_PIN=4.14.1
AXE_JS=$PEERS/axe-core-$AXE_PIN/axe.min.js

_browser_apt() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  echo "installing Debian's chromium and chromium-driver…" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core >/dev/null
}

_browser_venv() {
  if [ -x "$BROWSER_VENV/bin/python" ] \
    && [ "$(cat "$BROWSER_VENV/.pins" 2>/dev/null)" = "$BROWSER_PINS" ]; then
    return 0
  fi
  echo "installing $BROWSER_PINS into $BROWSER_VENV…" >&2
  rm -rf "$BROWSER_VENV"
  mkdir -p "$PEERS"
  if ! python3 -m venv "$BROWSER_VENV" >/dev/null 2>&1; then
    # Debian ships venv's pip bootstrap separately
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    rm -rf "$BROWSER_VENV"
    python3 -m venv "$BROWSER_VENV"
  fi
  # shellcheck disable=SC2086
  "$BROWSER_VENV/bin/pip" install -q --disable-pip-version-check $BROWSER_PINS
  echo "$BROWSER_PINS" >"$BROWSER_VENV/.pins"
}

_browser_axe() {
  if [ -s "$AXE_JS" ]; then
    return 0
  fi
  echo "fetching axe-core $AXE_PIN from the npm registry…" >&2
  local dir
  dir=$(mktemp -d)
  curl -fsSL "https://registry.npmjs.org/axe-core/-/axe-core-$AXE_PIN.tgz" -o "$dir/axe.tgz"
  tar -xzf "$dir/axe.tgz" -C "$dir" package/axe.min.js
  mkdir -p "$(dirname "$AXE_JS")"
  mv "$dir/package/axe.min.js" "$AXE_JS"
  rm -rf "$dir"
}

browser_install() {
  _browser_apt
  _browser_venv
  _browser_axe
  export EINKLANG_TEST_BROWSER_PY="$BROWSER_VENV/bin/python"
  export EINKLANG_TEST_CHROMIUM=/usr/bin/chromium
  export EINKLANG_TEST_AXE="$AXE_JS"
}
