#!/usr/bin/env bash
# Tollgate benchmark: one run, loopback only, against a fast mock upstream, through
#   direct            the mock itself (the baseline every "added" figure subtracts)
#   nginx             Debian's nginx as a plain keep-alive reverse proxy (the floor a proxy pays)
#   tollgate          the OpenAI fast path with a virtual key (workers 2, access log off)
#   tollgate-w1       the same with workers: 1                         (BENCH_VARIANTS=1)
#   tollgate-log      the same with the access log on (the default)     (BENCH_VARIANTS=1)
#   tollgate-xlate    OpenAI in, Anthropic out (the translated path)   (skipped until supported)
#   portkey           Portkey's gateway from npm, if it installs and runs (BENCH_PORTKEY=0 skips)
# Load per target: wrk closed loop at 16 and 64 connections, h2load at a fixed 200 req/s;
# for streams, a Node client measuring time to first chunk. See bench/README.md.
#
# Knobs (environment): BENCH_DURATION (s per load run, 8), BENCH_RATE (200), BENCH_TTFB_N (300),
# BENCH_GUARD (1: the 2 KB prompt pair, without and with guardrails),
# BENCH_CHUNKS (6), BENCH_DELAY_MS (5), BENCH_VARIANTS (1), BENCH_PORTKEY (1), TOLLGATE_BIN,
# BENCH_ONLY (space-separated target names to run; direct always runs), BENCH_KEEP=1 keeps the
# temp dir.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TG_BIN=${TOLLGATE_BIN:-$ROOT/build/tollgate}
DUR=${BENCH_DURATION:-8}
RATE=${BENCH_RATE:-200}
TTFB_N=${BENCH_TTFB_N:-300}
CHUNKS=${BENCH_CHUNKS:-6}
DELAY_MS=${BENCH_DELAY_MS:-5}
VARIANTS=${BENCH_VARIANTS:-1}
PORTKEY=${BENCH_PORTKEY:-1}
ONLY=${BENCH_ONLY:-}
H2_CLIENTS=8                      # h2load connections; each sends RATE/H2_CLIENTS req/s
VKEY="tg-bench-key-0000000000000000000000000000"

for tool in wrk h2load nginx node curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run: scripts/deps.sh bench)" >&2; exit 1; }
done
[ -x "$TG_BIN" ] || { echo "bench: $TG_BIN not built (run: make build)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT_DIR="$HERE/out"; mkdir -p "$OUT_DIR"
RESULTS="$TMP/results.jsonl"; : >"$RESULTS"
PIDS=()

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  wait 2>/dev/null || true
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ] || [ -s "$TMP/abnormal-exits" ]; then echo "bench: temp files kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # TERM, up to 5 s to finish, then KILL (only processes this script started)
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  # 143 = ended by our TERM; anything else (134 abort, 139 segfault, 137 KILL) is worth a look.
  if [ "$rc" != 0 ] && [ "$rc" != 143 ]; then
    log "pid $1 exited with status $rc after SIGTERM"
    echo "pid $1 status $rc" >>"$TMP/abnormal-exits"
  fi
}
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_http() {  # url [tries]: wait until something answers on url
  for _ in $(seq "${2:-100}"); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "bench: nothing answers at $1" >&2; return 1
}

# ---- process accounting --------------------------------------------------------------------
# CPU: utime+stime (clock ticks) of every process of a target, from /proc/PID/stat. For a
# multi-threaded process (Tollgate, Node) that line already sums all its threads.
cpu_ticks() {
  local sum=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    # Fields after the ")" that closes comm: utime is field 14, stime 15 (12th and 13th after it).
    local rest; rest=$(sed 's/^.*) //' "/proc/$pid/stat")
    set -- $rest
    sum=$((sum + ${12} + ${13}))
  done
  echo "$sum"
}
# Memory in kB summed over the target's processes (nginx: master + workers; shared pages count twice).
mem_kb() {  # field pid...
  local field=$1; shift
  local sum=0 pid v
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1==f {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# ---- the mock upstreams --------------------------------------------------------------------
BODY="$TMP/body.json"
cat >"$BODY" <<'EOF'
{"model":"bench","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about a toll gate on a quiet mountain road."}],"temperature":0.7,"max_tokens":64}
EOF
CHAT_JSON='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"mock-model","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Stone arch, silent road; a lantern counts the footsteps; mist pays the toll first.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":19,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}'
# For the translated slot (OpenAI in, Anthropic out): what Anthropic's /v1/messages answers.
MSG_JSON='{"id":"msg_bench0001","type":"message","role":"assistant","model":"mock-model","content":[{"type":"text","text":"Stone arch, silent road (from messages); a lantern counts the footsteps; mist pays the toll first."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":31,"output_tokens":19}}'

nginx_common() {  # prefix dir: the lines every nginx here shares (own pid, logs and temp dirs)
  local d=$1
  mkdir -p "$d"
  cat <<EOF
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
EOF
}
nginx_http_common() {
  local d=$1
  cat <<EOF
  access_log off;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  keepalive_requests 10000000; keepalive_timeout 120s;
EOF
}

start_nginx() {  # name conf -> sets NGINX_PID
  local d="$TMP/$1"
  nginx -t -q -p "$d" -c "$2" -e "$d/error.log" 2>"$d/test.log" || { cat "$d/test.log" >&2; return 1; }
  nginx -p "$d" -c "$2" -e "$d/error.log" >"$d/stdout.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
}
nginx_pids() {  # master + its workers
  echo "$1" $(ps -o pid= --ppid "$1" 2>/dev/null)
}

MOCK_PORT=$(free_port)
{
  nginx_common "$TMP/mock"
  echo "worker_processes 1;"
  echo "http {"
  nginx_http_common "$TMP/mock"
  cat <<EOF
  server {
    listen 127.0.0.1:$MOCK_PORT backlog=4096;
    location ~ /messages\$ { default_type application/json; return 200 '$MSG_JSON'; }
    location / { default_type application/json; return 200 '$CHAT_JSON'; }
  }
}
EOF
} >"$TMP/mock.conf"
start_nginx mock "$TMP/mock.conf"
MOCK_PID=$NGINX_PID

SMOCK_PORT=$(free_port)
node "$HERE/mock_stream.mjs" --port "$SMOCK_PORT" --chunks "$CHUNKS" --delay-ms "$DELAY_MS" >"$TMP/smock.log" 2>&1 &
PIDS+=($!)

wait_http "http://127.0.0.1:$MOCK_PORT/"
wait_http "http://127.0.0.1:$SMOCK_PORT/"

# ---- measuring one target --------------------------------------------------------------------
# measure NAME URL HEADERS STREAM_URL STREAM_HEADERS PIDS...
#   HEADERS: "Name: value|Name: value" (Authorization etc.), used by wrk, h2load and curl;
#   STREAM_HEADERS likewise for the time-to-first-chunk client. No STREAM_URL: no stream test.
measure() {
  local name=$1 url=$2 hdrs=$3 surl=$4 shdrs=$5; shift 5
  local pids=("$@")
  local curl_h=() h2_h=() tt_h=() h hs
  IFS='|' read -r -a hs <<<"$hdrs"
  for h in "${hs[@]}"; do [ -n "$h" ] && { curl_h+=(-H "$h"); h2_h+=(-H "$h"); }; done
  IFS='|' read -r -a hs <<<"$shdrs"
  for h in "${hs[@]}"; do [ -n "$h" ] && tt_h+=(--header "$h"); done

  # A correct answer first, or the figures mean nothing.
  local code
  code=$(curl -s -o "$TMP/$name.check" -w '%{http_code}' --max-time 5 -X POST "${curl_h[@]}" \
    -H 'Content-Type: application/json' --data-binary @"$BODY" "$url" || true)
  if [ "$code" != 200 ] || ! grep -q '"usage"' "$TMP/$name.check" ||
     { [ -n "${CHECK_GREP:-}" ] && ! grep -q "$CHECK_GREP" "$TMP/$name.check"; }; then
    log "$name: check request failed (HTTP $code): $(head -c 300 "$TMP/$name.check" 2>/dev/null)"
    printf '{"name":"%s","skipped":"check request failed (HTTP %s)"}\n' "$name" "$code" >>"$RESULTS"
    return 0
  fi
  for _ in 1 2 3 4 5; do curl -s -o /dev/null -X POST "${curl_h[@]}" -H 'Content-Type: application/json' --data-binary @"$BODY" "$url"; done
  sleep 0.5
  local rss_idle; rss_idle=$(mem_kb VmRSS "${pids[@]}")

  export BENCH_BODY="$BODY" BENCH_HEADERS="$hdrs"
  log "$name: warm-up"
  wrk -t2 -c16 -d2s -s "$HERE/post.lua" "$url" >/dev/null 2>&1 || true

  local c json c0 c1 runs="" sampler=""
  local rss_load=0
  for c in 16 64; do
    log "$name: wrk -t2 -c$c -d${DUR}s"
    c0=$(cpu_ticks "${pids[@]}")
    if [ "$c" = 64 ]; then ( sleep $((DUR / 2)); mem_kb VmRSS "${pids[@]}" >"$TMP/$name.rssload" ) & sampler=$!; fi
    wrk -t2 -c"$c" -d"${DUR}s" --latency -s "$HERE/post.lua" "$url" >"$TMP/$name.wrk$c.txt" 2>&1 || true
    c1=$(cpu_ticks "${pids[@]}")
    json=$(sed -n 's/^WRKJSON //p' "$TMP/$name.wrk$c.txt")
    [ -n "$json" ] || { log "$name: wrk gave no result: $(tail -3 "$TMP/$name.wrk$c.txt")"; json='{"requests":0}'; }
    runs+="\"wrk$c\":$json,\"cpu_ticks$c\":$((c1 - c0)),"
  done
  [ -z "$sampler" ] || wait "$sampler" || true
  rss_load=$(cat "$TMP/$name.rssload" 2>/dev/null || echo 0)
  local hwm; hwm=$(mem_kb VmHWM "${pids[@]}")

  log "$name: h2load --h1 -c$H2_CLIENTS --rps $((RATE / H2_CLIENTS)) -D $DUR"
  c0=$(cpu_ticks "${pids[@]}")
  h2load --h1 -c"$H2_CLIENTS" -t1 --rps $((RATE / H2_CLIENTS)) -D "$DUR" --warm-up-time 1 \
    -d "$BODY" -H 'content-type: application/json' "${h2_h[@]}" \
    --log-file "$TMP/$name.h2log" "$url" >"$TMP/$name.h2load.txt" 2>&1 || true
  c1=$(cpu_ticks "${pids[@]}")
  local h2n h2ok p50 p99
  h2n=$(wc -l <"$TMP/$name.h2log" 2>/dev/null || echo 0)
  h2ok=$(awk -F'\t' '$2==200' "$TMP/$name.h2log" 2>/dev/null | wc -l)
  read -r p50 p99 < <(awk -F'\t' '$2==200 {print $3}' "$TMP/$name.h2log" | sort -n |
    awk '{a[NR]=$1} END {if (NR==0) {print "null null"; exit}; i50=int(NR*0.50+0.999999); i99=int(NR*0.99+0.999999); print a[i50], a[i99]}')
  runs+="\"rate\":{\"requests\":$h2n,\"ok\":$h2ok,\"p50_us\":$p50,\"p99_us\":$p99,\"cpu_ticks\":$((c1 - c0))},"

  local ttfc="null"
  if [ -n "$surl" ]; then
    log "$name: time to first chunk, $TTFB_N sequential streams"
    ttfc=$(node "$HERE/ttfb.mjs" --url "$surl" --n "$TTFB_N" --label "$name" "${tt_h[@]}" 2>"$TMP/$name.ttfb.err" || echo null)
    [ -n "$ttfc" ] || ttfc=null
  fi
  printf '{"name":"%s",%s"rss_idle_kb":%s,"rss_load_kb":%s,"hwm_kb":%s,"tick_us":%s,"procs":%s,"stream":%s}\n' \
    "$name" "$runs" "$rss_idle" "$rss_load" "$hwm" "$TICK_US" "${#pids[@]}" "$ttfc" >>"$RESULTS"
}

# ---- targets -------------------------------------------------------------------------------
log "machine: $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
LOAD_START=$(uptime | sed 's/.*load average: //')

# (1) direct: the mock itself. CPU and RSS columns are the mock's (nginx for non-stream).
measure direct "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" "Authorization: Bearer sk-mock" \
  "http://127.0.0.1:$SMOCK_PORT/v1/chat/completions" "Authorization: Bearer sk-mock" $(nginx_pids "$MOCK_PID")

# (2) nginx as a plain reverse proxy: keep-alive upstreams, no buffering for the SSE server.
if want nginx; then
  NGX_PORT=$(free_port); NGX_SPORT=$(free_port)
  {
    nginx_common "$TMP/proxy"
    echo "worker_processes 2;"
    echo "http {"
    nginx_http_common "$TMP/proxy"
    cat <<EOF
  upstream mock  { server 127.0.0.1:$MOCK_PORT;  keepalive 128; }
  upstream smock { server 127.0.0.1:$SMOCK_PORT; keepalive 32; }
  server {
    listen 127.0.0.1:$NGX_PORT backlog=4096;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$NGX_SPORT backlog=4096;
    location / { proxy_pass http://smock; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; }
  }
}
EOF
  } >"$TMP/proxy.conf"
  start_nginx proxy "$TMP/proxy.conf"
  NGX_PID=$NGINX_PID
  wait_http "http://127.0.0.1:$NGX_PORT/"
  sleep 0.3
  measure nginx "http://127.0.0.1:$NGX_PORT/v1/chat/completions" "Authorization: Bearer sk-mock" \
    "http://127.0.0.1:$NGX_SPORT/v1/chat/completions" "Authorization: Bearer sk-mock" $(nginx_pids "$NGX_PID")
  stop_pid "$NGX_PID"
fi

# (3) Tollgate. start_tollgate NAME WORKERS ACCESS_LOG [extra resources yaml] -> TG_PID, TG_PROXY
start_tollgate() {
  local d="$TMP/$1"; mkdir -p "$d"
  cat >"$d/tollgate.yaml" <<EOF
listen: { proxy: "127.0.0.1:0", admin: "127.0.0.1:0" }
store: { kind: file, path: resources.yaml }
workers: $2
log: { access_log: $3 }
usage: { backend: ${BENCH_USAGE:-sqlite} }
EOF
  cat >"$d/resources.yaml" <<EOF
providers:
  - { name: mock, kind: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: "sk-mock" }
  - { name: smock, kind: openai-compatible, base_url: "http://127.0.0.1:$SMOCK_PORT/v1", api_key: "sk-mock" }
${4:-}
models:
  - { name: bench, targets: [ { provider: mock, model: mock-model } ] }
  - { name: bench-stream, targets: [ { provider: smock, model: mock-model } ] }
${5:-}
keys:
  - { name: bench, key: "$VKEY" }
EOF
  if ! "$TG_BIN" validate "$d/resources.yaml" >"$d/validate.log" 2>&1; then
    log "$1: resources rejected: $(head -c 400 "$d/validate.log")"; return 1
  fi
  (cd "$d" && exec "$TG_BIN" serve --config "$d/tollgate.yaml" >"$d/stdout.log" 2>"$d/stderr.log") &
  TG_PID=$!
  PIDS+=("$TG_PID")
  TG_PROXY=""
  for _ in $(seq 100); do
    TG_PROXY=$(sed -n 's/.*listening proxy=\([0-9.:]*\).*/\1/p' "$d/stdout.log" 2>/dev/null | head -1)
    [ -n "$TG_PROXY" ] && break
    kill -0 "$TG_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$TG_PROXY" ] || { log "$1: did not start: $(tail -c 400 "$d/stderr.log")"; return 1; }
}

tollgate_target() {  # name workers access_log with_stream_test
  want "$1" || return 0
  if start_tollgate "$1" "$2" "$3"; then
    sleep 0.3
    local surl=""; [ "$4" = 1 ] && surl="http://$TG_PROXY/v1/chat/completions"
    measure "$1" "http://$TG_PROXY/v1/chat/completions" "Authorization: Bearer $VKEY" \
      "$surl" "Authorization: Bearer $VKEY" "$TG_PID"
    stop_pid "$TG_PID"
  else
    printf '{"name":"%s","skipped":"did not start"}\n' "$1" >>"$RESULTS"
  fi
}
tollgate_target tollgate 2 false 1
if [ "$VARIANTS" = 1 ]; then    # non-stream figures only, to keep the run short
  tollgate_target tollgate-w1 1 false 0
  tollgate_target tollgate-log 2 true 0
fi

# (3b) The translated path: OpenAI in, Anthropic out (model bench-anthropic -> provider kind
# anthropic at the nginx mock, which answers /v1/messages with an Anthropic message). Non-stream
# only for now: to add its stream figures, teach mock_stream.mjs Anthropic SSE (message_start,
# content_block_delta...) on /v1/messages and pass its URL as the STREAM_URL below. Skipped,
# with the reason in the table, while Tollgate rejects the config or answers wrongly.
if want tollgate-xlate; then
  if start_tollgate tollgate-xlate 2 false \
      "  - { name: amock, kind: anthropic, base_url: \"http://127.0.0.1:$MOCK_PORT\", api_key: \"sk-ant-mock\" }" \
      "  - { name: bench-anthropic, targets: [ { provider: amock, model: mock-model } ] }"; then
    sed 's/"model":"bench"/"model":"bench-anthropic"/' "$BODY" >"$TMP/body-xlate.json"
    BODY_SAVED=$BODY; BODY="$TMP/body-xlate.json"
    # The answer must be the Anthropic mock's text, turned into an OpenAI chat.completion.
    CHECK_GREP='"choices".*(from messages)' \
      measure tollgate-xlate "http://$TG_PROXY/v1/chat/completions" "Authorization: Bearer $VKEY" "" "" "$TG_PID"
    BODY=$BODY_SAVED
    stop_pid "$TG_PID"
  else
    printf '{"name":"tollgate-xlate","skipped":"anthropic provider not accepted yet"}\n' >>"$RESULTS"
  fi
fi

# (3c) Guardrails on a 2 KB prompt: the same 2 KB chat request through a model without
# guardrails (tollgate-2k) and through one with a typical policy set (tollgate-guard2k: PII
# redact over every entity, prompt-injection block, a keyword and pattern deny list, on the
# prompt and the answer). The prompt is clean text (no hit: the usual case), so the difference
# is the cost of scanning. BENCH_GUARD=0 skips both.
if [ "${BENCH_GUARD:-1}" = 1 ] && { want tollgate-2k || want tollgate-guard2k; }; then
  PROMPT2K="Summarise the following release notes for an operations audience. Keep the version numbers and the dates, drop the marketing language, and list anything that needs action before the upgrade. "
  while [ ${#PROMPT2K} -lt 2000 ]; do
    PROMPT2K+="Version 4.2 moves the scheduler to a work-stealing pool, which cuts tail latency for mixed batch and interactive jobs; the old fixed pool remains available behind a flag until the next major release. Metrics now carry the queue name as a label, and the retention job runs every six hours instead of nightly. "
  done
  PROMPT2K=${PROMPT2K:0:2048}
  printf '{"model":"%s","messages":[{"role":"system","content":"You are a precise technical writer."},{"role":"user","content":"%s"}],"max_tokens":256}\n' \
    bench "$PROMPT2K" >"$TMP/body-2k.json"
  sed 's/"model":"bench"/"model":"bench-guarded"/' "$TMP/body-2k.json" >"$TMP/body-guard2k.json"
  GUARD_YAML='guardrails:
  - { name: pii, kind: pii, mode: redact }
  - { name: injection, kind: prompt-injection, mode: block, threshold: 0.5 }
  - { name: deny, kind: keywords, mode: block, keywords: ["project nightingale", "internal only"], patterns: ["(?i)confidential-[0-9]{3,}"] }'
  GUARD_MODEL="  - { name: bench-guarded, targets: [ { provider: mock, model: mock-model } ], guardrails: [pii, injection, deny] }"
  BODY_SAVED=$BODY
  for t in tollgate-2k tollgate-guard2k; do
    want "$t" || continue
    if start_tollgate "$t" 2 false "$GUARD_YAML" "$GUARD_MODEL"; then
      sleep 0.3
      BODY="$TMP/body-${t#tollgate-}.json"
      measure "$t" "http://$TG_PROXY/v1/chat/completions" "Authorization: Bearer $VKEY" "" "" "$TG_PID"
      stop_pid "$TG_PID"
    else
      printf '{"name":"%s","skipped":"did not start"}\n' "$t" >>"$RESULTS"
    fi
  done
  BODY=$BODY_SAVED
fi

# (4) Portkey's gateway from npm, installed once into bench/.cache (needs the npm registry the
# first time; skipped if that or its start fails).
if [ "$PORTKEY" = 1 ] && want portkey; then
  PK_DIR="$HERE/.cache/portkey"
  PK_JS="$PK_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
  if [ ! -f "$PK_JS" ]; then
    log "portkey: installing @portkey-ai/gateway with npm (once)"
    mkdir -p "$PK_DIR"
    [ -f "$PK_DIR/package.json" ] || echo '{"name":"bench-portkey","private":true}' >"$PK_DIR/package.json"
    (cd "$PK_DIR" && timeout 180 npm install --no-audit --no-fund --loglevel=error @portkey-ai/gateway) \
      >"$TMP/portkey-install.log" 2>&1 || log "portkey: npm install failed: $(tail -c 300 "$TMP/portkey-install.log")"
  fi
  if [ -f "$PK_JS" ]; then
    PK_PORT=$(free_port)
    (cd "$PK_DIR" && exec node "$PK_JS" --port="$PK_PORT" --headless) >"$TMP/portkey.log" 2>&1 &
    PK_PID=$!
    PIDS+=("$PK_PID")
    if wait_http "http://127.0.0.1:$PK_PORT/" 150; then
      measure portkey "http://127.0.0.1:$PK_PORT/v1/chat/completions" \
        "Authorization: Bearer sk-mock|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1" \
        "http://127.0.0.1:$PK_PORT/v1/chat/completions" \
        "Authorization: Bearer sk-mock|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$SMOCK_PORT/v1" \
        "$PK_PID"
    else
      printf '{"name":"portkey","skipped":"did not start"}\n' >>"$RESULTS"
    fi
    stop_pid "$PK_PID"
  else
    printf '{"name":"portkey","skipped":"not installed"}\n' >>"$RESULTS"
  fi
fi

LOAD_END=$(uptime | sed 's/.*load average: //')
REPORT="$OUT_DIR/$STAMP.md"
node "$HERE/report.mjs" "$RESULTS" \
  --date "$(date -u '+%Y-%m-%d %H:%M UTC')" --nproc "$(nproc)" --load-start "$LOAD_START" --load-end "$LOAD_END" \
  --duration "$DUR" --rate "$RATE" --h2-clients "$H2_CLIENTS" --ttfb-n "$TTFB_N" --chunks "$CHUNKS" --delay-ms "$DELAY_MS" \
  --abnormal "$(cat "$TMP/abnormal-exits" 2>/dev/null | tr '\n' ';')" \
  --tollgate "$("$TG_BIN" version 2>/dev/null | head -1) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))" \
  | tee "$REPORT"
cp "$RESULTS" "$OUT_DIR/$STAMP.jsonl"
log "written $REPORT (raw figures: $OUT_DIR/$STAMP.jsonl)"
