#!/usr/bin/env bash
# CPU per request on one gateway, in figures that do not move with the machine's load:
# instructions per request (callgrind, every thread of the process: workers, access-log writer,
# usage writer) and user+sys CPU time per request (/proc/PID/stat over a wrk run), next to
# nginx as a plain reverse proxy in the same run. Issue 18; see bench/README.md.
#
#   bench/cpu_per_request.sh                       # defaults: virtual key, access log on, usage to SQLite
#   CPR_CALLGRIND=1 bench/cpu_per_request.sh       # + instructions per request (slow: valgrind)
#
# Knobs: CPR_DURATION (s of wrk per figure, 5), CPR_CONNS (16), CPR_KEYS (virtual keys in the
# store, 1), CPR_MODELS (models, 1), CPR_PROMPT_KB (0: the small chat body; else a prompt of
# that many KiB), CPR_GOV=1 (key limits, a budget, a model limit and a PII guardrail),
# CPR_XLATE=1 (OpenAI in, Anthropic out), CPR_ACCESS_LOG (true), CPR_USAGE (sqlite),
# CPR_NGINX (1: measure nginx too), CPR_CG_REQUESTS (requests counted under callgrind, 2000),
# CPR_STRACE=1 (syscalls per request, each kind, over CPR_ST_REQUESTS requests, 20000, h2load
# --h1 -c CPR_CONNS; perf stat, or CPR_ST_TOOL=strace; CPR_ST_KEEP=DIR keeps the tables),
# CPR_START_S (seconds the gateway may take to start, 60; more under callgrind with many keys),
# TOLLGATE_BIN. Prints one line per figure; everything it starts is stopped on exit.
set -euo pipefail

DUR=${CPR_DURATION:-5}
CONNS=${CPR_CONNS:-16}
KEYS=${CPR_KEYS:-1}
MODELS=${CPR_MODELS:-1}
PROMPT_KB=${CPR_PROMPT_KB:-0}
BENCH_KEEP=${CPR_KEEP:-0}
BENCH_NAME=cpr
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ticks() { local u=0 k=0 p r; for p in "$@"; do r=$(sed 's/^.*) //' "/proc/$p/stat"); set -- $r; u=$((u + ${12})); k=$((k + ${13})); done; echo $u $k; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- the body ----
BODY=$TMP/body.json
if [ "$PROMPT_KB" = 0 ]; then
  echo '{"model":"bench","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about a toll gate on a quiet mountain road."}],"temperature":0.7,"max_tokens":64}' >"$BODY"
else
  node -e '
    const n = +process.argv[1] * 1024;
    const s = "Version 4.2 moves the scheduler to a work-stealing pool, which cuts tail latency for mixed batch and interactive jobs; metrics now carry the queue name as a label. ";
    let p = ""; while (p.length < n) p += s;
    process.stdout.write(JSON.stringify({model: "bench", messages: [{role: "system", content: "You are a precise technical writer."}, {role: "user", content: p.slice(0, n)}], max_tokens: 256}));
  ' "$PROMPT_KB" >"$BODY"
fi

# ---- the mock upstream: nginx answering a fixed chat.completion / Anthropic message ----
CHAT_JSON='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"mock-model","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Stone arch, silent road; a lantern counts the footsteps; mist pays the toll first.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":19,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}'
MSG_JSON='{"id":"msg_bench0001","type":"message","role":"assistant","model":"mock-model","content":[{"type":"text","text":"Stone arch, silent road (from messages); a lantern counts the footsteps; mist pays the toll first."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":31,"output_tokens":19}}'
MOCK_PORT=$(free_port)
serve_nginx "$TMP/mock" 1 "server { listen 127.0.0.1:$MOCK_PORT backlog=4096;
  location ~ /messages\$ { default_type application/json; return 200 '$MSG_JSON'; }
  location / { default_type application/json; return 200 '$CHAT_JSON'; } }"

run_wrk() {  # url seconds conns -> WRKJSON line's request count
  BENCH_BODY=$BODY BENCH_HEADERS="Authorization: Bearer $VKEY" \
    wrk -t1 -c"$3" -d"$2s" -s "$HERE/post.lua" "$1" 2>&1 | sed -n 's/^WRKJSON //p' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s||"{\"requests\":0}");const e=j.errors||{};console.log(j.requests, Object.values(e).reduce((a,b)=>a+b,0), j.rps||0, j.p50_us||0, j.p99_us||0)})'
}
check() {  # url: one request must answer 200 with usage
  local code; code=$(curl -s -o "$TMP/check" -w '%{http_code}' --max-time 30 -X POST -H "Authorization: Bearer $VKEY" \
    -H 'Content-Type: application/json' --data-binary @"$BODY" "$1" || true)
  [ "$code" = 200 ] && grep -q usage "$TMP/check" || { echo "check failed (HTTP $code): $(head -c 300 "$TMP/check")" >&2; exit 1; }
}
measure_cpu() {  # name url pids...
  local name=$1 url=$2; shift 2
  check "$url"
  run_wrk "$url" 1 "$CONNS" >/dev/null
  local l0 u0 k0 u1 k1; l0=$(load); read -r u0 k0 < <(ticks "$@")
  read -r n err rps p50 p99 < <(run_wrk "$url" "$DUR" "$CONNS")
  read -r u1 k1 < <(ticks "$@")
  local us=$(( (u1 - u0 + k1 - k0) * TICK_US )) uus=$(( (u1 - u0) * TICK_US ))
  printf '%-10s cpu/req %6.1f us (user %.1f)  (%d req, %d err, %.0f req/s c%d, p50 %d us p99 %d us; load %s)\n' \
    "$name" "$(echo "$us / $n" | bc -l)" "$(echo "$uus / $n" | bc -l)" "$n" "$err" "$rps" "$CONNS" "$p50" "$p99" "$l0"
}

# Syscalls per request over a fixed count of requests (h2load, after the wrk warm-up), every
# thread of the given processes. By default `perf stat` on the syscall tracepoints: counted in
# the kernel, so the gateway runs at full speed and its batching (access log, usage writer) is
# what it is under load; CPR_ST_TOOL=strace uses `strace -f -c` (slows the process several
# times, which makes batches smaller and wake-ups per request larger).
ST_CALLS="read write readv writev recvfrom recvmsg sendto sendmsg epoll_wait epoll_pwait epoll_ctl
  timerfd_settime futex clock_nanosleep pwrite64 pread64 fdatasync fsync fcntl openat close unlink
  accept accept4 getsockopt setsockopt ioctl shutdown connect socket getpeername newfstatat mprotect madvise brk
  munmap mmap"
count_syscalls() {  # name url pids...
  [ "${CPR_STRACE:-0}" = 1 ] || return 0
  local name=$1 url=$2; shift 2
  local n=${CPR_ST_REQUESTS:-20000} out=$TMP/syscalls-$name.txt tool=${CPR_ST_TOOL:-perf} st
  if [ "$tool" = strace ]; then
    local args=() p; for p in "$@"; do args+=(-p "$p"); done
    strace -f -c -o "$out" "${args[@]}" 2>/dev/null & st=$!
  else
    local ev=raw_syscalls:sys_enter c; for c in $ST_CALLS; do ev+=",syscalls:sys_enter_$c"; done
    perf stat -x, -e "$ev" -o "$out" -p "$(echo "$@" | tr ' ' ,)" & st=$!
  fi
  sleep 1
  h2load --h1 -n "$n" -c"$CONNS" -t1 -d "$BODY" -H 'content-type: application/json' -H "Authorization: Bearer $VKEY" \
    "$url" >"$TMP/h2load-$name.txt" 2>&1
  local ok; ok=$(sed -n 's/.*status codes: \([0-9]*\) 2xx.*/\1/p' "$TMP/h2load-$name.txt")
  local rps; rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$TMP/h2load-$name.txt")
  sleep 1  # the access-log and usage writers' batches of the run
  kill -INT $st; wait $st 2>/dev/null || true
  echo "$name syscalls per request ($ok of $n requests 2xx at $rps req/s, c$CONNS, $tool):"
  if [ "$tool" = strace ]; then
    awk -v n="$n" '$0 ~ /^-/ {d++; next} d==1 && NF>=5 { e = NF == 6 ? $5 : 0;
        printf "  %-18s %8.3f  (failed %.3f)\n", $NF, $4/n, e/n; t+=$4 } END { printf "  %-18s %8.3f\n", "total", t/n }' "$out"
  else
    awk -F, -v n="$n" '$3 ~ /sys_enter/ && $1+0 > 0 { k=$3; sub(/.*sys_enter_?/, "", k); if (k == "") k = "all";
        printf "  %-18s %8.3f\n", k, $1/n }' "$out" | sort -k2 -nr
  fi
  [ -n "${CPR_ST_KEEP:-}" ] && mkdir -p "$CPR_ST_KEEP" && cp "$out" "$CPR_ST_KEEP/"
  return 0
}

if [ "${CPR_NGINX:-1}" = 1 ]; then
  NGX_PORT=$(free_port)
  serve_nginx "$TMP/proxy" 1 "upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 128; }
  server { listen 127.0.0.1:$NGX_PORT backlog=4096;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
  NGX_PID=$NGINX_PID
  sleep 0.5
  measure_cpu nginx "http://127.0.0.1:$NGX_PORT/v1/chat/completions" $NGX_PID $(ps -o pid= --ppid $NGX_PID)
  count_syscalls nginx "http://127.0.0.1:$NGX_PORT/v1/chat/completions" $(ps -o pid= --ppid $NGX_PID)
  kill -TERM $NGX_PID
fi

# ---- Tollgate with the defaults (access log on, usage records to SQLite), workers 1 ----
D=$TMP/tg; mkdir -p "$D"
cat >"$D/tollgate.yaml" <<EOF
listen: { proxy: "127.0.0.1:0", admin: "127.0.0.1:0" }
store: { kind: file, path: resources.yaml }
workers: 1
log: { access_log: ${CPR_ACCESS_LOG:-true} }
usage: { backend: ${CPR_USAGE:-sqlite} }
EOF
{
  echo "providers:"
  echo "  - { name: mock, kind: openai-compatible, base_url: \"http://127.0.0.1:$MOCK_PORT/v1\", api_key: sk-mock }"
  echo "  - { name: amock, kind: anthropic, base_url: \"http://127.0.0.1:$MOCK_PORT/v1\", api_key: sk-mock }"
  if [ "${CPR_GOV:-0}" = 1 ]; then
    echo "guardrails:"
    echo "  - { name: pii, kind: pii, mode: redact }"
  fi
  echo "models:"
  TARGET=mock; [ "${CPR_XLATE:-0}" = 1 ] && TARGET=amock
  GUARDS=""; [ "${CPR_GOV:-0}" = 1 ] && GUARDS=", guardrails: [pii], limits: { rpm: 100000000, tpm: 10000000000 }, pricing: { input: 1, output: 2 }"
  echo "  - { name: bench, targets: [ { provider: $TARGET, model: mock-model } ]$GUARDS }"
  for i in $(seq 2 "$MODELS"); do echo "  - { name: bench-$i, targets: [ { provider: mock, model: mock-model-$i } ] }"; done
  echo "keys:"
  if [ "${CPR_GOV:-0}" = 1 ]; then
    echo "  - { name: bench, key: \"$VKEY\", limits: { rpm: 100000000, tpm: 10000000000, concurrency: 1000 }, model_limits: { bench: { rpm: 100000000 } }, budget: { usd_per_month: 1000000, mode: hard } }"
  else
    echo "  - { name: bench, key: \"$VKEY\" }"
  fi
  [ "$KEYS" -gt 1 ] && node -e 'for (let i = 2; i <= +process.argv[1]; i++) console.log(`  - { name: k${i}, key: "tg-bench-key-${String(i).padStart(28, "0")}" }`)' "$KEYS"
} >"$D/resources.yaml"
"$TG_BIN" validate "$D/resources.yaml" >"$D/validate.log" 2>&1 || { cat "$D/validate.log" >&2; exit 1; }

start_tg() {  # [wrapper...]
  : >"$D/stdout.log"
  (cd "$D" && exec "$@" "$TG_BIN" serve --config "$D/tollgate.yaml" >"$D/stdout.log" 2>"$D/stderr.log") &
  TG_PID=$!; PIDS+=($TG_PID)
  TG=""
  for _ in $(seq $((${CPR_START_S:-60} * 10))); do
    TG=$(sed -n 's/.*listening proxy=\([0-9.:]*\).*/\1/p' "$D/stdout.log" | head -1)
    [ -n "$TG" ] && break; sleep 0.1
  done
  [ -n "$TG" ] || { echo "tollgate did not start: $(tail -c 400 "$D/stderr.log")" >&2; exit 1; }
}
stop_tg() { kill -TERM "$TG_PID"; for _ in $(seq 300); do kill -0 "$TG_PID" 2>/dev/null || break; sleep 0.1; done; }

LABEL="tollgate"; [ "$KEYS" -gt 1 ] && LABEL+=" keys=$KEYS"; [ "$MODELS" -gt 1 ] && LABEL+=" models=$MODELS"
[ "$PROMPT_KB" != 0 ] && LABEL+=" prompt=${PROMPT_KB}KiB"; [ "${CPR_GOV:-0}" = 1 ] && LABEL+=" governance"
[ "${CPR_XLATE:-0}" = 1 ] && LABEL+=" translated"
start_tg
sleep 0.3
URL="http://$TG/v1/chat/completions"
measure_cpu tollgate "$URL" "$TG_PID"
count_syscalls tollgate "$URL" "$TG_PID"
echo "  ($LABEL; rss $(awk '/VmRSS/ {print $2}' /proc/$TG_PID/status) kB after the run)"
stop_tg

if [ "${CPR_CALLGRIND:-0}" = 1 ]; then
  # Counting starts after the warm-up (callgrind_control -z) and ends with a dump; every thread
  # counts (one profile, --separate-threads=no). The start-up runs uninstrumented
  # (--instr-atstart=no, several times faster: 100,000 keys load in minutes, not an hour).
  start_tg valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" --dump-instr=no --compress-strings=no \
    --instr-atstart=no
  callgrind_control -i on "$TG_PID" >/dev/null
  URL="http://$TG/v1/chat/completions"
  check "$URL"
  run_wrk "$URL" 2 4 >/dev/null
  sleep 1
  callgrind_control -z "$TG_PID" >/dev/null
  # A fixed count, so the machine's load changes how long this takes, not what is counted.
  n=${CPR_CG_REQUESTS:-2000}
  h2load --h1 -n "$n" -c4 -t1 -d "$BODY" -H 'content-type: application/json' -H "Authorization: Bearer $VKEY" \
    "$URL" >"$D/h2load.txt" 2>&1
  err=$(( n - $(sed -n 's/.*status codes: \([0-9]*\) 2xx.*/\1/p' "$D/h2load.txt") ))
  sleep 1  # the access-log and usage writers finish the run's lines
  callgrind_control -d "$TG_PID" >/dev/null
  sleep 1
  f=$(ls -t "$D"/cg.out* | head -1)
  ir=$(sed -n 's/^summary: //p;s/^totals: //p' "$f" | head -1)
  printf 'tollgate   Ir/req %8.0f  (%d req, %d err under callgrind; %s)\n' "$(echo "$ir / $n" | bc -l)" "$n" "$err" "$LABEL"
  [ -n "${CPR_CG_KEEP:-}" ] && cp "$f" "$CPR_CG_KEEP"
  stop_tg
fi
