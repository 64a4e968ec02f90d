# A real browser for einklang's dashboard tests. Source this file, then call
# `browser_install` (exports EINKLANG_TEST_BROWSER_PY, the venv's python
# with Playwright, EINKLANG_TEST_CHROMIUM and EINKLANG_TEST_AXE).
#
# Idempotent: Debian's `chromium` (and `chromium-driver`) from apt, once;
# Playwright for Python pinned in a venv under ~/.cache/einklang-peers,
# driving that system Chromium (no browser download); axe-core's
# `axe.min.js` from the npm registry's tarball, pinned, for the
# accessibility check the tests inject into each page.

# shellcheck source=scripts/venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

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
  peers_venv "$BROWSER_VENV" "$BROWSER_PINS"
  _browser_axe
  export EINKLANG_TEST_BROWSER_PY="$BROWSER_VENV/bin/python"
  export EINKLANG_TEST_CHROMIUM=/usr/bin/chromium
  export EINKLANG_TEST_AXE="$AXE_JS"
}
