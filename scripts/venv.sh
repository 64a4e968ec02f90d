# A pinned Python venv for a test peer, shared by scripts/dav.sh and
# scripts/browser.sh. Source this file, then `peers_venv DIR "PINS"`:
# made once (and again when the pins change), with Debian's python3-venv
# installed first when the machine lacks it. The pins file is written
# only after pip succeeded, so a half-made venv is made again.

peers_venv() {
  local dir=$1 pins=$2
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pins" 2>/dev/null)" = "$pins" ]; then
    return 0
  fi
  echo "installing $pins into $dir…" >&2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  if ! python3 -m venv "$dir" >/dev/null 2>&1; then
    # Debian ships venv's pip bootstrap separately
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    rm -rf "$dir"
    python3 -m venv "$dir"
  fi
  # shellcheck disable=SC2086
  "$dir/bin/pip" install -q --disable-pip-version-check $pins
  echo "$pins" >"$dir/.pins"
}
