#!/usr/bin/env bash
# Refresh the locks from pyproject.toml's ranges: requirements.lock (the server with PostgreSQL
# and Redis support: what the Docker image and `make serve` install) and requirements-test.lock
# (the same versions plus the test tools: what `make test` and CI install). Review the diff,
# run `make test`, commit both files.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet pip-tools
compile=("$tools/bin/pip-compile" --quiet --strip-extras --no-emit-index-url --no-emit-find-links --resolver=backtracking)
"${compile[@]}" --extra postgres --extra queue -o requirements.lock pyproject.toml
"${compile[@]}" --extra postgres --extra queue --extra test -c requirements.lock \
  -o requirements-test.lock pyproject.toml
