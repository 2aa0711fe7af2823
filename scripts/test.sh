#!/usr/bin/env bash
# The whole test suite on a fresh Linux machine: installs what the tests need, then runs them.
# Usage: ./scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)   # browser tests drive Debian's Chromium
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (Debian)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# JupyterHub's proxy, for the test of papernb serve --hub behind a real Hub (Node.js and npm are on these machines)
if ! command -v configurable-http-proxy >/dev/null 2>&1; then
  echo "== installing configurable-http-proxy (npm)"
  npm install -g --silent configurable-http-proxy >/dev/null
fi

echo "== installing papernb with its test, app, service, dask and ray extras"
python -m pip install -q --disable-pip-version-check -e ".[test,app,service,dask,ray]"

echo "== ruff"
python -m ruff check papernb tests bench scripts

echo "== pytest (tests, and the notebooks under nbval)"
python -m pytest -q --nbval-lax --nbval-current-env tests notebooks "$@"
