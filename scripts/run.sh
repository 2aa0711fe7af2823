#!/usr/bin/env bash
# Run papernb on a fresh Linux machine: installs it with the app extras, then serves the trading app
# (Voila on http://127.0.0.1:8866, local book + simulated market unless PAPERNB_* says otherwise).
# Extra arguments go to `papernb app` (e.g. --port 9000 --no-browser --redis redis://host).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -e ".[app]"
exec papernb app --no-browser "$@"
