#!/usr/bin/env bash
# Added time to first chunk on streams, Tollgate against nginx, in one run (issue 18): the Node
# stream mock (bench/mock_stream.mjs: headers, then the role and first content chunk at once,
# then a chunk every TTFC_DELAY_MS), reached directly, through nginx (proxy_buffering off,
# keep-alive upstream) and through Tollgate (defaults: workers 0, access log on, usage records
# to SQLite, a virtual key). bench/ttfb.mjs runs TTFC_N sequential streams on one keep-alive
# connection per target; the targets take turns in TTFC_ROUNDS rounds so that the machine's
# load drifts over all three alike. Added = target minus direct, per round; the median round
# is reported with every round's figures.
#
#   bench/ttfc.sh        # TTFC_N=300 TTFC_ROUNDS=3 TTFC_CHUNKS=6 TTFC_DELAY_MS=5
#   TTFC_BASE_BIN=/path/to/other/tollgate bench/ttfc.sh   # + that binary as a fourth target
#                                                        # ("base"), in the same rounds
set -euo pipefail

N=${TTFC_N:-300}
ROUNDS=${TTFC_ROUNDS:-3}
CHUNKS=${TTFC_CHUNKS:-6}
DELAY=${TTFC_DELAY_MS:-5}
BENCH_NAME=ttfc
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMOCK_PORT=$(free_port)
node "$HERE/mock_stream.mjs" --port "$SMOCK_PORT" --chunks "$CHUNKS" --delay-ms "$DELAY" >"$TMP/smock.log" 2>&1 &
PIDS+=($!)
NGX_PORT=$(free_port)
serve_nginx "$TMP/ngx" 1 "upstream smock { server 127.0.0.1:$SMOCK_PORT; keepalive 32; }
  server { listen 127.0.0.1:$NGX_PORT;
    location / { proxy_pass http://smock; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }"

D=$TMP/tg; mkdir -p "$D"
printf 'listen: { proxy: "127.0.0.1:0", admin: "127.0.0.1:0" }\nstore: { kind: file, path: resources.yaml }\n' >"$D/tollgate.yaml"
cat >"$D/resources.yaml" <<EOF
providers:
  - { name: smock, kind: openai-compatible, base_url: "http://127.0.0.1:$SMOCK_PORT/v1", api_key: sk-mock }
models:
  - { name: bench-stream, targets: [ { provider: smock, model: mock-model } ] }
keys:
  - { name: bench, key: "$VKEY" }
EOF
start_gateway() {  # dir binary -> the proxy's address in GW
  (cd "$1" && exec "$2" serve --config "$1/tollgate.yaml" >"$1/stdout.log" 2>"$1/stderr.log") &
  PIDS+=($!)
  GW=""
  for _ in $(seq 300); do
    GW=$(sed -n 's/.*listening proxy=\([0-9.:]*\).*/\1/p' "$1/stdout.log" | head -1)
    [ -n "$GW" ] && break; sleep 0.1
  done
  [ -n "$GW" ] || { echo "tollgate did not start: $(tail -c 400 "$1/stderr.log")" >&2; exit 1; }
}
start_gateway "$D" "$TG_BIN"; TG=$GW
BASE=${TTFC_BASE_BIN:-}
if [ -n "$BASE" ]; then
  mkdir -p "$TMP/base" && cp "$D/tollgate.yaml" "$D/resources.yaml" "$TMP/base/"
  start_gateway "$TMP/base" "$(realpath "$BASE")"; TGB=$GW
fi
for _ in $(seq 50); do grep -q "listening on" "$TMP/smock.log" && break; sleep 0.1; done

echo "TTFC: $N sequential streams per target and round, $ROUNDS rounds; $CHUNKS chunks ${DELAY} ms apart (load $(cut -d' ' -f1-3 /proc/loadavg))"
run() { node "$HERE/ttfb.mjs" --url "$1" --n "$N" --label "$2" "${@:3}"; }
for r in $(seq "$ROUNDS"); do
  run "http://127.0.0.1:$SMOCK_PORT/v1/chat/completions" direct >"$TMP/direct.$r.json"
  run "http://127.0.0.1:$NGX_PORT/v1/chat/completions" nginx >"$TMP/nginx.$r.json"
  run "http://$TG/v1/chat/completions" tollgate --header "authorization: Bearer $VKEY" >"$TMP/tollgate.$r.json"
  if [ -n "$BASE" ]; then run "http://$TGB/v1/chat/completions" base --header "authorization: Bearer $VKEY" >"$TMP/base.$r.json"; fi
done
node - "$TMP" "$ROUNDS" <<'EOF'
const fs = require('fs');
const [dir, rounds] = [process.argv[2], Number(process.argv[3])];
const get = (t, r) => JSON.parse(fs.readFileSync(`${dir}/${t}.${r}.json`, 'utf8'));
const rows = [];
for (let r = 1; r <= rounds; r++) {
  const d = get('direct', r), n = get('nginx', r), t = get('tollgate', r);
  rows.push({ r, d, n, t,
    n50: n.ttfc_p50_us - d.ttfc_p50_us, n99: n.ttfc_p99_us - d.ttfc_p99_us,
    t50: t.ttfc_p50_us - d.ttfc_p50_us, t99: t.ttfc_p99_us - d.ttfc_p99_us });
  console.log(`round ${r}: TTFC p50/p99 us: direct ${d.ttfc_p50_us}/${d.ttfc_p99_us}, nginx ${n.ttfc_p50_us}/${n.ttfc_p99_us}, ` +
    `tollgate ${t.ttfc_p50_us}/${t.ttfc_p99_us}; added: nginx ${rows.at(-1).n50}/${rows.at(-1).n99}, tollgate ${rows.at(-1).t50}/${rows.at(-1).t99}; ` +
    `reads/stream direct ${d.reads_p50} nginx ${n.reads_p50} tollgate ${t.reads_p50}; errors ${d.errors + n.errors + t.errors}, usage leaked ${t.usage_leaked}`);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
if (fs.existsSync(`${dir}/base.1.json`)) {
  const b = []; for (let r = 1; r <= rounds; r++) { const x = get('base', r), d = get('direct', r);
    b.push([x.ttfc_p50_us - d.ttfc_p50_us, x.ttfc_p99_us - d.ttfc_p99_us]);
    console.log(`round ${r}: base (TTFC_BASE_BIN) ${x.ttfc_p50_us}/${x.ttfc_p99_us}, added ${b.at(-1)[0]}/${b.at(-1)[1]}, reads/stream ${x.reads_p50}, errors ${x.errors}, usage leaked ${x.usage_leaked}`); }
  const n50 = med(rows.map((x) => x.n50)), n99 = med(rows.map((x) => x.n99)), b50 = med(b.map((x) => x[0])), b99 = med(b.map((x) => x[1]));
  console.log(`median added TTFC p50 / p99, base: ${b50} / ${b99} us (base/nginx ${(b50 / n50).toFixed(2)}x / ${(b99 / n99).toFixed(2)}x)`);
}
const m = { n50: med(rows.map((x) => x.n50)), n99: med(rows.map((x) => x.n99)), t50: med(rows.map((x) => x.t50)), t99: med(rows.map((x) => x.t99)) };
console.log(`median added TTFC p50 / p99: nginx ${m.n50} / ${m.n99} us, tollgate ${m.t50} / ${m.t99} us ` +
  `(tollgate/nginx ${(m.t50 / m.n50).toFixed(2)}x / ${(m.t99 / m.n99).toFixed(2)}x)`);
EOF
