#!/usr/bin/env bash
# Run papernb on a fresh Linux machine: installs it, then runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -e .
exec papernb demo "$@"
