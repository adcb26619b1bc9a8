#!/usr/bin/env bash
# Create .venv and install Dockyard into it at the locked versions: requirements.lock, or with
# "test" requirements-test.lock (the same versions plus the test tools). scripts/lock.sh
# refreshes both from pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
lock=requirements.lock
extras="[postgres,queue]"
if [ "${1:-}" = "test" ]; then
  lock=requirements-test.lock
  extras="[postgres,queue,test]"
fi
.venv/bin/python -m pip install --quiet -r "$lock"
.venv/bin/python -m pip install --quiet --no-deps -e ".${extras}"
bash scripts/assets.sh
