# What every bench script sets up (sourced, after `set -euo pipefail`): where the binary is, a
# temporary folder, and the processes the script starts (append their PIDs to PIDS), stopped on
# exit: TERM, then KILL after 10 s. BENCH_NAME names the folder; BENCH_KEEP=1 keeps it.
HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
ROOT=$(dirname "$HERE")
TG_BIN=$(realpath "${TOLLGATE_BIN:-$ROOT/build/tollgate}")
VKEY="tg-bench-key-0000000000000000000000000000"
TMP=$(mktemp -d "/tmp/tollgate-${BENCH_NAME:-bench}.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
# A free loopback port.
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# Starts nginx in DIR with WORKERS workers, its http block holding BODY (servers, upstreams);
# loopback only, no logs, keep-alive kept. Its PID goes to PIDS and NGINX_PID.
serve_nginx() {  # dir workers body
  local d=$1; mkdir -p "$d"
  cat >"$d/nginx.conf" <<CONF
daemon off; pid $d/nginx.pid; error_log $d/error.log warn; worker_processes $2;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f;
  uwsgi_temp_path $d/u; scgi_temp_path $d/s; keepalive_requests 10000000; keepalive_timeout 120s;
  client_max_body_size 64m; client_body_buffer_size 1m;
$3
}
CONF
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" & NGINX_PID=$!
  PIDS+=("$NGINX_PID")
}
