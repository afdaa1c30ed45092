#!/usr/bin/env bash
# Tollgate's resident memory with its defaults (workers 0, access log on, usage records to
# SQLite, one virtual key), issue 18: idle (3 s after start, and after 5 requests), the most seen under a wrk load
# (c64, non-stream fast path, nginx as the upstream mock), then every 10 s for a minute after
# the load stops. RSS does not move with the machine's load, so this is the figure to compare.
#
#   bench/memory.sh                 # MEM_DURATION=10 MEM_CONNS=64 MEM_AFTER=60
#   MEM_SMAPS=1 bench/memory.sh     # + the largest mappings at idle and after
#
# Prints one line per figure; everything it starts is stopped on exit.
set -euo pipefail

DUR=${MEM_DURATION:-10}
CONNS=${MEM_CONNS:-64}
AFTER=${MEM_AFTER:-60}
BENCH_NAME=mem
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
smaps() { [ "${MEM_SMAPS:-0}" = 1 ] || return 0; echo "  $1:"; awk '/^[0-9a-f]+-/{n=$6} /^Rss:/{r[n]+=$2} END{for(k in r) if(r[k]>=200) printf "    %6d kB %s\n", r[k], (k==""?"[anon]":k)}' "/proc/$2/smaps" | sort -rn; }

BODY=$TMP/body.json
echo '{"model":"bench","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about a toll gate on a quiet mountain road."}],"temperature":0.7,"max_tokens":64}' >"$BODY"
CHAT_JSON='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"mock-model","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Stone arch, silent road; a lantern counts the footsteps; mist pays the toll first.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":19,"total_tokens":50}}'
MOCK_PORT=$(free_port)
serve_nginx "$TMP/mock" 1 "server { listen 127.0.0.1:$MOCK_PORT backlog=4096;
  location / { default_type application/json; return 200 '$CHAT_JSON'; } }"

D=$TMP/tg; mkdir -p "$D"
cat >"$D/tollgate.yaml" <<EOF
listen: { proxy: "127.0.0.1:0", admin: "127.0.0.1:0" }
store: { kind: file, path: resources.yaml }
EOF
cat >"$D/resources.yaml" <<EOF
providers:
  - { name: mock, kind: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: sk-mock }
models:
  - { name: bench, targets: [ { provider: mock, model: mock-model } ] }
keys:
  - { name: bench, key: "$VKEY" }
EOF
(cd "$D" && exec "$TG_BIN" serve --config "$D/tollgate.yaml" >"$D/stdout.log" 2>"$D/stderr.log") &
TG_PID=$!; PIDS+=($TG_PID)
TG=""
for _ in $(seq 300); do
  TG=$(sed -n 's/.*listening proxy=\([0-9.:]*\).*/\1/p' "$D/stdout.log" | head -1)
  [ -n "$TG" ] && break; sleep 0.1
done
[ -n "$TG" ] || { echo "tollgate did not start: $(tail -c 400 "$D/stderr.log")" >&2; exit 1; }
sleep 3
IDLE=$(rss $TG_PID)
echo "idle (cold)     $IDLE kB  (3 s after start; load $(cut -d' ' -f1-3 /proc/loadavg))"
smaps idle $TG_PID
# Idle once the request path's code has run (5 requests): the pages of code it touched stay
# mapped, as in any process; "back to idle" is measured against this.
URL="http://$TG/v1/chat/completions"
for _ in 1 2 3 4 5; do
  curl -s -o /dev/null --max-time 10 -X POST -H "Authorization: Bearer $VKEY" -H 'Content-Type: application/json' \
    --data-binary @"$BODY" "$URL"
done
sleep 3
IDLE=$(rss $TG_PID)
echo "idle (warm)     $IDLE kB  (after 5 requests)"
smaps warm $TG_PID
BENCH_BODY=$BODY BENCH_HEADERS="Authorization: Bearer $VKEY" \
  wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$HERE/post.lua" "$URL" >"$TMP/wrk.txt" 2>&1 &
WRK=$!
MAX=0
while kill -0 $WRK 2>/dev/null; do r=$(rss $TG_PID); [ "$r" -gt "$MAX" ] && MAX=$r; sleep 0.2; done
wait $WRK || true
REQ=$(sed -n 's/^WRKJSON {"requests":\([0-9]*\).*/\1/p' "$TMP/wrk.txt")
echo "under c$CONNS     $MAX kB max  ($REQ requests in ${DUR} s)"
for t in $(seq 10 10 "$AFTER"); do
  sleep 10
  r=$(rss $TG_PID)
  echo "after +${t}s      $r kB  ($(( (r - IDLE) * 100 / IDLE ))% over idle)"
done
smaps after $TG_PID
if [ "${MEM_SMAPS:-0}" = 1 ]; then
  echo "  anonymous mappings over 100 kB after (size, rss):"
  awk '/^[0-9a-f]+-/{m=$1; n=$6} /^Size:/{s=$2} /^Rss:/{ if (n=="" && $2>100) printf "    %s %6d %6d kB\n", m, s, $2 }' "/proc/$TG_PID/smaps"
fi
