#!/usr/bin/env bash
# A resources reload under load (issue 18): the gateway holds KEYS virtual keys (100,000 by
# default); h2load sends a fixed RATE for DUR seconds while SIGHUP reloads the whole snapshot
# every EVERY seconds (the next SIGHUP waits for the reload before it to be logged). Prints
# p50/p99/max of the requests answered while no reload ran and of those in flight during a
# reload (from its SIGHUP until 500 ms after the gateway logged it done: the parse, the swap and
# the old snapshot's release), and how long each reload took. Loopback only; everything started
# is stopped on exit.
#   bench/reload_under_load.sh            # RL_KEYS=100000 RL_RATE=200 RL_DUR=20 RL_EVERY=5
set -euo pipefail
KEYS=${RL_KEYS:-100000}; RATE=${RL_RATE:-200}; DUR=${RL_DUR:-20}; EVERY=${RL_EVERY:-5}
BENCH_NAME=reload
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOCK_PORT=$(free_port)
serve_nginx "$TMP/mock" 1 "server { listen 127.0.0.1:$MOCK_PORT; location / { default_type application/json;
    return 200 '{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}'; } }"

cat >"$TMP/tollgate.yaml" <<EOF
listen: { proxy: "127.0.0.1:0", admin: "127.0.0.1:0" }
store: { kind: file, path: resources.yaml }
EOF
{
  echo "providers: [ { name: mock, kind: openai-compatible, base_url: \"http://127.0.0.1:$MOCK_PORT/v1\", api_key: sk-mock } ]"
  echo "models: [ { name: bench, targets: [ { provider: mock, model: m } ] } ]"
  echo "keys:"
  echo "  - { name: bench, key: \"$VKEY\" }"
  node -e 'for (let i = 2; i <= +process.argv[1]; i++) console.log(`  - { name: k${i}, key: "tg-bench-key-${String(i).padStart(28, "0")}" }`)' "$KEYS"
} >"$TMP/resources.yaml"
echo '{"model":"bench","messages":[{"role":"user","content":"hi"}]}' >"$TMP/body.json"

(cd "$TMP" && exec "$TG_BIN" serve --config "$TMP/tollgate.yaml" >"$TMP/stdout.log" 2>"$TMP/stderr.log") & TG=$!; PIDS+=($TG)
for _ in $(seq 3000); do P=$(sed -n 's/.*listening proxy=\([0-9.:]*\).*/\1/p' "$TMP/stdout.log" | head -1); [ -n "$P" ] && break; sleep 0.1; done
[ -n "$P" ] || { echo "did not start: $(tail -c 300 "$TMP/stderr.log")" >&2; exit 1; }
URL="http://$P/v1/chat/completions"
echo "keys $KEYS; RSS $(awk '/VmRSS/ {print $2}' /proc/$TG/status) kB; load $(cut -d' ' -f1-3 /proc/loadavg)"

START=$(date +%s.%N)
h2load --h1 -c8 -t1 --rps $((RATE / 8)) -D "$DUR" -d "$TMP/body.json" -H 'content-type: application/json' \
  -H "Authorization: Bearer $VKEY" --log-file "$TMP/h2.log" "$URL" >"$TMP/h2.txt" 2>&1 &
H2=$!
: >"$TMP/hups"
# Whether the gateway logged a reload past byte offsets OUT and ERR of its two logs. Only what
# came after the SIGHUP is read: stdout holds the access log too (a line a request, megabytes by
# the end), and reading all of it every 50 ms while a reload ran took a core from the load.
log_sizes() { stat -c %s "$TMP/stdout.log" "$TMP/stderr.log" | paste -sd' '; }
reloaded_since() {
  { tail -c +$(($1 + 1)) "$TMP/stdout.log"; tail -c +$(($2 + 1)) "$TMP/stderr.log"; } | grep -q 'resources reloaded'
}
for t in $(seq "$EVERY" "$EVERY" $((DUR - 1))); do
  wait_s=$(echo "$START + $t - $(date +%s.%N)" | bc)
  case $wait_s in -*) ;; *) sleep "$wait_s" ;; esac
  [ "$(echo "$(date +%s.%N) < $START + $DUR - 1" | bc)" = 1 ] || break
  read -r out err < <(log_sizes); h=$(date +%s.%N); kill -HUP "$TG"
  for _ in $(seq 6000); do ! reloaded_since "$out" "$err" && kill -0 "$TG" 2>/dev/null || break; sleep 0.05; done
  echo "$h $(date +%s.%N)" >>"$TMP/hups"
done
wait "$H2" || true
# h2load's log: start time (us since epoch), status, duration (us). A request is "during a
# reload" when it was in flight within 500 ms after a SIGHUP.
node -e '
  const fs = require("fs");
  const hups = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean)
    .map((l) => l.split(" ").map((s) => parseFloat(s) * 1e6));
  const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split("\t").map(Number));
  const during = [], quiet = [];
  let errors = 0;
  for (const [start, status, dur] of rows) {
    if (status !== 200) errors++;
    (hups.some(([h, done]) => start + dur >= h && start <= done + 5e5) ? during : quiet).push(dur);
  }
  const pct = (a, p) => { a.sort((x, y) => x - y); return a.length ? a[Math.min(a.length - 1, Math.ceil(a.length * p) - 1)] : 0; };
  const show = (n, a) => console.log(`${n}: ${a.length} requests, p50 ${pct(a, .5)} us, p99 ${pct(a, .99)} us, max ${a.length ? Math.max(...a) : 0} us`);
  show("no reload", quiet); show("during reload", during);
  console.log(`errors: ${errors}; reloads: ${hups.length}, each ${hups.map(([h, d]) => ((d - h) / 1e6).toFixed(1) + " s").join(", ")}`);
' "$TMP/hups" "$TMP/h2.log"
grep -o 'resources reloaded (version [0-9]*)' "$TMP/stdout.log" "$TMP/stderr.log" | wc -l | sed 's/^/reloads logged: /'
echo "RSS after: $(awk '/VmRSS/ {print $2}' /proc/$TG/status) kB"
