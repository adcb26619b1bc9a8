#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser drive it with
# Playwright; Playwright's own browser download does not work here). Needs root, as on CI.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing Chromium"
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
