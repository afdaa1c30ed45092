#!/bin/sh
# Builds the Admin UI and embeds it as one C++ source: ui/build.sh [OUT.cc]
# (default ui/generated/ui_assets.cc). Installs the locked dependencies only when
# node_modules is missing or older than package-lock.json. Called by the top-level build.
set -eu
cd "$(dirname "$0")"
out="${1:-generated/ui_assets.cc}"
if [ ! -d node_modules ] || [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build -- --logLevel warn
node embed.mjs --out "$out"
