#!/usr/bin/env bash
# Runs the Redis limiter tests (tests/unit/limits_redis_test.cc) against a real redis-server,
# several times over to catch flaky timing. Each test starts its own redis-server on a free
# loopback port and stops it by PID; nothing is left running.
#   tests/limits/redis_tests.sh [BUILD_DIR] [REPEAT]
set -euo pipefail
build="${1:-build}"
repeat="${2:-3}"
if ! command -v redis-server >/dev/null; then
  echo "redis-server is not installed (Debian: redis-server); the Redis tests would skip" >&2
  exit 1
fi
bin="$build/unit_tests"
[ -x "$bin" ] || { echo "no $bin: build first (make build)" >&2; exit 1; }
exec timeout 600 "$bin" --gtest_filter='RedisLimiter*' --gtest_repeat="$repeat" --gtest_brief=1
