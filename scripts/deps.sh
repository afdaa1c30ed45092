#!/usr/bin/env bash
# Installs what building and testing Tollgate needs on Debian 12, and only what is missing.
# Idempotent and quiet when everything is already there, so `make run` stays fast.
set -euo pipefail

need_build=(g++ cmake ninja-build ccache pkg-config ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev libhiredis-dev libpq-dev libre2-dev zlib1g-dev libhnswlib-dev libmd-dev
  nodejs npm)  # node builds the Admin UI that is embedded in the binary
need_test=(libgtest-dev libgmock-dev openssl sqlite3 redis-server postgresql chromium clang libclang-rt-14-dev)
need_bench=(wrk nghttp2-client nginx-light)

want=("${need_build[@]}")
case "${1:-build}" in
  test) want+=("${need_test[@]}") ;;
  bench) want+=("${need_test[@]}" "${need_bench[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from outside dpkg (a preinstalled Node); accept a working binary.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
