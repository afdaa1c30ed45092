#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs each for a bounded time, FUZZ_JOBS (default 2) at once. Fails when any target crashes,
# leaks, hits UB or times out.
#
#   fuzz/run.sh                      build + run every target for FUZZ_SECONDS (default 20)
#   FUZZ_SECONDS=300 fuzz/run.sh sse run one target longer
#   FUZZ_BUILD_ONLY=1 fuzz/run.sh    build only
#
# Needs: clang, libclang-rt-14-dev (the fuzzer and sanitizer runtimes), libre2-dev, libmd-dev and the
# project's usual Boost/fmt/OpenSSL development packages. Each target compiles only the
# sources it exercises; objects are shared between targets and cached by ccache when present.
# Crash inputs land in $FUZZ_BUILD/artifacts/; new corpus units in $FUZZ_BUILD/corpus/ (the
# seeds under fuzz/corpus/ stay small and are never written by a run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FUZZ_BUILD:-$ROOT/build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-20}"
JOBS="${FUZZ_JOBS:-2}"
CXX="${FUZZ_CXX:-clang++}"
command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (apt-get install clang libclang-rt-14-dev)"; exit 2; }
LAUNCHER=""
command -v ccache >/dev/null && LAUNCHER=ccache

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CXXFLAGS="-std=c++20 -O1 -g1 $SAN -I$ROOT/src \
  -DBOOST_ASIO_NO_DEPRECATED -DBOOST_ASIO_DISABLE_BOOST_COROUTINE -DTOLLGATE_VERSION=\"fuzz\" \
  -Wno-deprecated-declarations"
LIBS="-lboost_json -lboost_url -lfmt -lre2 -lyaml-cpp -lssl -lcrypto -lmd -lpthread"

# target -> the project sources it needs
declare -A SOURCES=(
  [sse]="src/http/sse.cc src/core/spare_strings.cc"
  [openai_request]="src/core/json_scan.cc src/core/error.cc src/http/sse.cc src/core/spare_strings.cc src/dialects/openai/fast_path.cc
    src/obs/access_log.cc"
  [anthropic_request]="src/core/json_scan.cc src/core/error.cc src/http/sse.cc src/core/spare_strings.cc
    src/dialects/anthropic/fast_path.cc src/dialects/anthropic/inbound.cc src/dialects/anthropic/wire.cc
    src/dialects/anthropic/prompt_caching.cc"
  [gemini_stream]="src/core/json_scan.cc src/core/error.cc src/http/sse.cc src/core/spare_strings.cc
    src/dialects/openai/fast_path.cc
    src/dialects/chat_params.cc src/dialects/gemini/codec.cc src/dialects/gemini/errors.cc src/dialects/gemini/request.cc
    src/dialects/gemini/response.cc src/dialects/gemini/stream.cc src/dialects/gemini/wire.cc"
  [gemini_request]="src/core/json_scan.cc src/core/error.cc src/http/sse.cc src/core/spare_strings.cc
    src/dialects/openai/fast_path.cc src/dialects/gemini/inbound.cc src/dialects/gemini/wire.cc"
  [guardrails]="src/guardrails/guardrail.cc src/guardrails/pii.cc src/guardrails/injection.cc
    src/guardrails/stream_redactor.cc"
  [responses_request]="src/core/error.cc src/http/sse.cc src/core/spare_strings.cc src/store/secret_box.cc
    src/dialects/openai/responses_inbound.cc src/dialects/openai/responses_outbound.cc"
  [schema_check]="src/core/yaml_reader.cc src/core/env_interpolate.cc src/core/schema.cc src/core/kinds/shared.cc src/core/kinds/provider.cc src/core/kinds/model.cc
    src/core/kinds/key.cc src/core/kinds/guardrail.cc src/core/kinds/admin_key.cc src/core/kinds/team.cc
    src/core/kinds/cache_policy.cc src/core/kinds/mcp_server.cc src/cache/policy_config.cc"
  [schema_yaml]="src/core/yaml_reader.cc src/core/env_interpolate.cc
    src/core/schema.cc src/core/kinds/shared.cc src/core/kinds/provider.cc src/core/kinds/model.cc
    src/core/kinds/key.cc src/core/kinds/guardrail.cc src/core/kinds/admin_key.cc src/core/kinds/team.cc
    src/core/kinds/cache_policy.cc src/core/kinds/mcp_server.cc src/cache/policy_config.cc
    src/core/resources.cc src/core/snapshot.cc src/core/secret_scrub.cc src/core/target_stats.cc
    src/store/keys.cc src/mcp/config.cc src/mcp/names.cc"
  [http_request]="src/gateway/accept.cc src/core/decimal.cc src/core/json_scan.cc src/core/error.cc src/http/sse.cc src/core/spare_strings.cc
    src/dialects/openai/fast_path.cc
    src/dialects/anthropic/fast_path.cc src/dialects/anthropic/inbound.cc src/dialects/anthropic/wire.cc
    src/dialects/gemini/inbound.cc src/dialects/gemini/wire.cc"
  [mcp_message]="src/mcp/message.cc src/mcp/names.cc src/http/sse.cc src/core/spare_strings.cc"
  [resources_file]="src/store/resources_file.cc src/store/secret_box.cc src/store/keys.cc src/core/resources.cc
    src/core/snapshot.cc src/core/yaml_reader.cc src/core/env_interpolate.cc src/core/schema.cc src/core/kinds/shared.cc
    src/core/kinds/provider.cc src/core/kinds/model.cc src/core/kinds/key.cc src/core/kinds/guardrail.cc
    src/core/kinds/admin_key.cc src/core/kinds/team.cc src/core/kinds/cache_policy.cc src/core/kinds/mcp_server.cc
    src/cache/policy_config.cc src/mcp/config.cc src/mcp/names.cc src/core/secret_scrub.cc src/core/target_stats.cc"
  [cache_entry]="src/cache/entry.cc src/cache/cache_key.cc src/cache/semantic.cc src/core/json_scan.cc src/core/error.cc
    src/http/sse.cc src/core/spare_strings.cc src/dialects/openai/fast_path.cc
    src/dialects/anthropic/codec.cc src/dialects/anthropic/wire.cc src/dialects/anthropic/fast_path.cc
    src/dialects/chat_params.cc src/dialects/gemini/codec.cc src/dialects/gemini/errors.cc src/dialects/gemini/request.cc
    src/dialects/gemini/response.cc src/dialects/gemini/stream.cc src/dialects/gemini/wire.cc"
)
ALL_TARGETS="sse openai_request anthropic_request gemini_stream gemini_request guardrails http_request responses_request mcp_message cache_entry schema_check schema_yaml resources_file"
TARGETS="${*:-$ALL_TARGETS}"

mkdir -p "$BUILD/obj" "$BUILD/artifacts" "$BUILD/corpus"

# Sources with coroutine bodies: clang 14 cannot emit -fsanitize=function's prologue for the
# split coroutine functions ("Cannot represent a difference across sections").
COROUTINE_SOURCES="fuzz/fuzz_http_request.cc"

compile() {  # compile SRC (relative to ROOT) into an object with fuzzer coverage
  local src="$1" obj="$BUILD/obj/${1//\//_}.o" extra=""
  [[ " $COROUTINE_SOURCES " == *" $src "* ]] && extra="-fno-sanitize=function"
  # Rebuilt when its source or any header changed (an object built against an older header
  # links but crashes); ccache makes the unchanged ones cheap.
  if [[ ! -f "$obj" || "$ROOT/$src" -nt "$obj" || "$NEWEST_HEADER" -nt "$obj" ]]; then
    $LAUNCHER "$CXX" $CXXFLAGS $extra -fsanitize=fuzzer-no-link -c "$ROOT/$src" -o "$obj"
  fi
}
NEWEST_HEADER=$(find "$ROOT/src" "$ROOT/fuzz" -name "*.h" -printf "%T@ %p\n" | sort -n | tail -1 | cut -d" " -f2-)
export -f compile
export NEWEST_HEADER ROOT BUILD CXX CXXFLAGS LAUNCHER COROUTINE_SOURCES

needed=""
for t in $TARGETS; do
  [[ -n "${SOURCES[$t]:-}" ]] || { echo "fuzz: unknown target '$t' ($ALL_TARGETS)"; exit 2; }
  needed+=" ${SOURCES[$t]} fuzz/fuzz_$t.cc"
done
echo "$needed" | tr ' \n' '\n\n' | sed '/^$/d' | sort -u | xargs -P "$JOBS" -I{} bash -c 'compile {}'

for t in $TARGETS; do
  objs="$BUILD/obj/fuzz_fuzz_$t.cc.o"
  for s in ${SOURCES[$t]}; do objs+=" $BUILD/obj/${s//\//_}.o"; done
  "$CXX" $SAN -fsanitize=fuzzer $objs $LIBS -o "$BUILD/fuzz_$t"
done
echo "fuzz: built $TARGETS in $BUILD"
[[ -n "${FUZZ_BUILD_ONLY:-}" ]] && exit 0

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
fuzz_one() {  # run target $1 for SECONDS_EACH; its verdict is one line, its log $BUILD/$1.log
  local t="$1"
  mkdir -p "$BUILD/corpus/$t"
  if ! "$BUILD/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
       -max_len=16384 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
       "$BUILD/corpus/$t" "$ROOT/fuzz/corpus/$t" >"$BUILD/$t.log" 2>&1; then
    echo "fuzz: $t FAILED (log: $BUILD/$t.log)"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$BUILD/$t.log" | head -5 || true
    return 1
  fi
  echo "fuzz: $t for ${SECONDS_EACH}s: $(grep -E "^stat::number_of_executed_units|^Done" "$BUILD/$t.log" | tr '\n' ' ')"
}
export -f fuzz_one
export SECONDS_EACH
# Each target is one process on one core: JOBS of them at a time.
failed=""
echo "$TARGETS" | tr ' ' '\n' | sed '/^$/d' | xargs -P "$JOBS" -I{} bash -c 'fuzz_one {}' || failed=yes
if [[ -n "$failed" ]]; then
  failed=$(for t in $TARGETS; do grep -q "^Done" "$BUILD/$t.log" 2>/dev/null || printf ' %s' "$t"; done)
  echo "fuzz: crashes in:$failed"
  exit 1
fi
echo "fuzz: all targets clean"
