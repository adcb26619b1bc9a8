#!/usr/bin/env bash
# Build the browser libraries Dockyard serves itself (3Dmol.js for the viewer, Chart.js for
# the plots, Swagger UI for the API reference at /docs) into src/dockyard/web/static/vendor/, from the npm registry at the versions in
# package-lock.json. Nothing happens when the files there already match the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=src/dockyard/web/static/vendor
FILES=(3Dmol.es6-min.js chart.umd.min.js swagger-ui-bundle.js swagger-ui.css)
want=$(sha256sum package-lock.json | cut -d' ' -f1)

up_to_date() {
  [ -f "$VENDOR/.lock-sha256" ] && [ "$(cat "$VENDOR/.lock-sha256")" = "$want" ] || return 1
  for file in "${FILES[@]}"; do [ -s "$VENDOR/$file" ] || return 1; done
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if up_to_date; then exit 0; fi
if ! command -v npm >/dev/null; then
  echo "installing Node.js and npm"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi
echo "building the web assets (3Dmol.js, Chart.js, Swagger UI) from package-lock.json"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
mkdir -p "$VENDOR"
cp node_modules/3dmol/build/3Dmol.es6-min.js "$VENDOR/"
cp node_modules/3dmol/LICENSE "$VENDOR/3Dmol.LICENSE.txt"
# The source map is not served, so the line that points to it goes.
grep -v '^//# sourceMappingURL=' node_modules/chart.js/dist/chart.umd.min.js \
  >"$VENDOR/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$VENDOR/chart.js.LICENSE.md"
for file in swagger-ui-bundle.js swagger-ui.css; do
  grep -v 'sourceMappingURL=' "node_modules/swagger-ui-dist/$file" >"$VENDOR/$file"
done
cp node_modules/swagger-ui-dist/LICENSE "$VENDOR/swagger-ui.LICENSE.txt"
node -e '
  const lock = require("./package-lock.json").packages;
  for (const name of ["3dmol", "chart.js", "swagger-ui-dist"])
    console.log(`${name} ${lock["node_modules/" + name].version}`);
' >"$VENDOR/VERSIONS.txt"
echo "$want" >"$VENDOR/.lock-sha256"
