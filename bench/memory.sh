#!/usr/bin/env bash
# Tollgate's resident memory with its defaults (workers 0, access log on, usage records to
# SQLite, one virtual key), issue 18: idle (3 s after start, and after 5 requests), the most seen under a wrk load
# (c64, non-stream fast path, nginx as the upstream mock), then every 10 s for a minute after
# the load stops. RSS does not move with the machine's load, so this is the figure to compare.
#
#   bench/memory.sh                 # MEM_DURATION=10 MEM_CONNS=64 MEM_AFTER=60
#   MEM_SMAPS=1 bench/memory.sh     # + the largest mappings at idle and after
#   MEM_CASES=defaults bench/memory.sh   # only the `make run` defaults (below); "file" only the rest
#
# Two cases. "defaults": `tollgate serve` with no config at all, as `make run` starts it (the
# SQLite resource store under ./data, usage records in the same file, the demo model), from a
# fresh directory: idle 3 s after the first start (which creates the store, a first key and an
# admin key), after 5 requests to the demo model, and 3 s after a second start on the same
# data; each with RSS broken down by mapping (smaps: file-backed and anonymous). Its listeners
# are the fixed defaults (127.0.0.1:8080/8081), so it runs in a network namespace of its own
# (`unshare -n`: root, or unprivileged user namespaces) and the requests are sent from inside
# it (`nsenter`). "file": memory.sh's original case, a tollgate.yaml with a file store.
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

CASES=${MEM_CASES:-defaults file}
# RSS by mapping: the binary (text, rodata, data), each shared library, the heap, thread stacks
# (8 MiB reservations), other anonymous memory (malloc's per-thread arenas, mmap'd blocks), and
# the totals file-backed / anonymous.
breakdown() {
  awk '/^[0-9a-f]+-[0-9a-f]+ /{perm=$2; n=$6; anon_map=(n=="")
         if (n=="") k="anon: other (arenas, mmap)"; else if (n=="[heap]") k="anon: heap"; else if (n=="[stack]") k="anon: main stack"
         else { sub(/.*\//,"",n); k=n (perm ~ /x/ ? " text" : perm ~ /w/ ? " data" : " rodata") } next }
       /^Size:/{ if (anon_map && $2==8192) k="anon: thread stacks" }
       /^Rss:/{ r[k]+=$2; t+=$2 } /^Anonymous:/{ a+=$2 }
       END{ for (x in r) if (r[x]>=16) printf "    %6d kB %s\n", r[x], x | "sort -rn"; close("sort -rn")
            printf "    %6d kB total: %d file-backed, %d anonymous\n", t, t-a, a }' "/proc/$1/smaps"
}

# --- the `make run` defaults: no config, a fresh data directory ---
if [[ " $CASES " == *" defaults "* ]]; then
  if ! unshare -rn true 2>/dev/null && ! unshare -n true 2>/dev/null; then
    echo "defaults: skipped (needs unshare -n: root or unprivileged user namespaces)"
  else
    NS=(unshare -n); unshare -n true 2>/dev/null || NS=(unshare -rn)
    DD=$TMP/defaults; mkdir -p "$DD"
    start_defaults() {  # starts the gateway in DD; sets DPID once it listens
      (cd "$DD" && exec "${NS[@]}" sh -c 'ip link set lo up 2>/dev/null || ifconfig lo up; exec "$0" serve' "$TG_BIN" \
        >"$DD/stdout.log" 2>"$DD/stderr.log") &
      DPID=$!; PIDS+=($DPID)
      for _ in $(seq 300); do grep -q 'listening proxy=' "$DD/stdout.log" && break; sleep 0.1; done
      grep -q 'listening proxy=' "$DD/stdout.log" || { echo "defaults: tollgate did not start: $(tail -c 400 "$DD/stderr.log")" >&2; exit 1; }
    }
    start_defaults
    sleep 3
    echo "defaults, first start, idle    $(rss $DPID) kB  (no config, fresh ./data, 3 s after start; load $(cut -d' ' -f1-3 /proc/loadavg))"
    breakdown $DPID
    DKEY=$(sed -n 's/.*export TOLLGATE_KEY=//p' "$DD/stdout.log")
    for _ in 1 2 3 4 5; do
      nsenter -t $DPID -n curl -s -o /dev/null --max-time 10 -X POST -H "Authorization: Bearer $DKEY" \
        -H 'Content-Type: application/json' -d '{"model":"demo","messages":[{"role":"user","content":"hello"}]}' \
        http://127.0.0.1:8080/v1/chat/completions
    done
    sleep 3
    echo "defaults, after 5 requests     $(rss $DPID) kB"
    breakdown $DPID
    kill -TERM $DPID; wait $DPID 2>/dev/null || true
    start_defaults
    sleep 3
    echo "defaults, second start, idle   $(rss $DPID) kB  (the same ./data)"
    breakdown $DPID
    kill -TERM $DPID; wait $DPID 2>/dev/null || true
  fi
fi
[[ " $CASES " == *" file "* ]] || exit 0

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
