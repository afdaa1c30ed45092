#!/usr/bin/env bash
# Added time to first chunk on streams, Tollgate against nginx, in one run (issue 18): the Node
# stream mock (bench/mock_stream.mjs: headers, then the role and first content chunk at once,
# then a chunk every TTFC_DELAY_MS), reached directly, through nginx (proxy_buffering off,
# keep-alive upstream) and through Tollgate (defaults: workers 0, access log on, usage records
# to SQLite, a virtual key). bench/ttfc_interleaved.mjs sends TTFC_N streams to each target on
# one keep-alive connection per target, interleaved stream by stream (stream k to every target
# in turn before stream k+1), so that every target sees the same moments of the host's noise;
# that is repeated TTFC_ROUNDS times. Added = target minus direct, per round; each round's
# ratio to nginx is printed, then the median and the spread (min-max) of the ratios over the
# rounds.
#
#   bench/ttfc.sh        # TTFC_N=400 TTFC_ROUNDS=5 TTFC_CHUNKS=6 TTFC_DELAY_MS=5
#   TTFC_BASE_BIN=/path/to/other/tollgate bench/ttfc.sh   # + that binary as a fourth target
#                                                        # ("base"), in the same rounds
set -euo pipefail

N=${TTFC_N:-400}
ROUNDS=${TTFC_ROUNDS:-5}
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

echo "TTFC: $N streams per target and round, interleaved stream by stream, $ROUNDS rounds; $CHUNKS chunks ${DELAY} ms apart (load $(cut -d' ' -f1-3 /proc/loadavg))"
TARGETS=(--target "direct=http://127.0.0.1:$SMOCK_PORT/v1/chat/completions"
  --target "nginx=http://127.0.0.1:$NGX_PORT/v1/chat/completions"
  --target "tollgate=http://$TG/v1/chat/completions|authorization: Bearer $VKEY")
if [ -n "$BASE" ]; then TARGETS+=(--target "base=http://$TGB/v1/chat/completions|authorization: Bearer $VKEY"); fi
for r in $(seq "$ROUNDS"); do
  node "$HERE/ttfc_interleaved.mjs" --n "$N" "${TARGETS[@]}" >"$TMP/round.$r.jsonl"
done
node - "$TMP" "$ROUNDS" <<'EOF'
const fs = require('fs');
const [dir, rounds] = [process.argv[2], Number(process.argv[3])];
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const span = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}x`;
const gws = ['tollgate', 'base'];
const ratios = { tollgate: [[], []], base: [[], []] };
const added = { nginx: [[], []], tollgate: [[], []], base: [[], []] };
for (let r = 1; r <= rounds; r++) {
  const got = Object.fromEntries(fs.readFileSync(`${dir}/round.${r}.jsonl`, 'utf8').trim().split('\n').map((l) => { const j = JSON.parse(l); return [j.label, j]; }));
  const d = got.direct, n = got.nginx;
  const add = (t) => [t.ttfc_p50_us - d.ttfc_p50_us, t.ttfc_p99_us - d.ttfc_p99_us];
  const na = add(n);
  added.nginx[0].push(na[0]); added.nginx[1].push(na[1]);
  let line = `round ${r}: TTFC p50/p99 us: direct ${d.ttfc_p50_us}/${d.ttfc_p99_us}, nginx ${n.ttfc_p50_us}/${n.ttfc_p99_us} (added ${na[0]}/${na[1]})`;
  for (const g of gws) {
    const t = got[g];
    if (!t) continue;
    const ta = add(t);
    added[g][0].push(ta[0]); added[g][1].push(ta[1]);
    ratios[g][0].push(ta[0] / na[0]); ratios[g][1].push(ta[1] / na[1]);
    line += `, ${g} ${t.ttfc_p50_us}/${t.ttfc_p99_us} (added ${ta[0]}/${ta[1]}; ${(ta[0] / na[0]).toFixed(2)}x / ${(ta[1] / na[1]).toFixed(2)}x nginx; ` +
      `reads/stream ${t.reads_p50}, errors ${t.errors}, usage leaked ${t.usage_leaked}, missing [DONE] ${t.missing_done})`;
  }
  console.log(`${line}; reads/stream direct ${d.reads_p50} nginx ${n.reads_p50}; errors direct ${d.errors} nginx ${n.errors}`);
}
for (const g of gws) {
  if (!ratios[g][0].length) continue;
  console.log(`${g}: median added TTFC p50 / p99 ${med(added[g][0])} / ${med(added[g][1])} us against nginx's ${med(added.nginx[0])} / ${med(added.nginx[1])} us; ` +
    `ratio to nginx per round: p50 median ${med(ratios[g][0]).toFixed(2)}x (${span(ratios[g][0])}), p99 median ${med(ratios[g][1]).toFixed(2)}x (${span(ratios[g][1])})`);
}
EOF
