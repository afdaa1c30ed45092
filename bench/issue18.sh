#!/usr/bin/env bash
# Every figure issue 18 asks for, one benchmark after the other on this build, against nginx
# (and Portkey in bench/run.sh's table), each one's output kept in bench/out/issue18-<UTC>/ and
# its figure lines gathered in summary.txt. Run it on a quiet machine: the wall-clock figures
# (CPU per request, TTFC, stalls) move with other work; instruction counts and RSS do not.
# About 45 minutes; ISSUE18_ONLY="cpr memory" runs the named steps only.
#
#   bench/issue18.sh          # needs what `make bench` installs (wrk, h2load, nginx, valgrind, perf)
#
# The steps, and the issue's line each answers:
#   run       throughput, p50/p99 at 200 req/s, RSS: nginx, Tollgate, Portkey (bench/run.sh)
#   cpr       CPU per request against nginx, three runs (at most 2x)
#   cg        instructions per request: defaults, governance on a 2 KB prompt (at most +10 %),
#             10 / 100,000 keys, 5 / 1,000 models, 2 / 32 / 256 KB prompts fast and translated
#   memory    idle RSS, under c64, a minute after (bench/memory.sh)
#   ttfc      added time to first chunk against nginx, p50 and p99 (bench/ttfc.sh)
#   streams   every stream the descriptor limit allows, three waves against nginx's: per
#             stream, CPU per chunk, stalls, memory after the waves (bench/stream_scale.mjs)
#   reload    a 100,000-key reload under load (bench/reload_under_load.sh)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
export TOLLGATE_BIN=$(realpath "${TOLLGATE_BIN:-$ROOT/build/tollgate}")
OUT=$HERE/out/issue18-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
ONLY=${ISSUE18_ONLY:-run cpr cg memory ttfc streams reload}

# step NAME LOG COMMAND...: runs it with its output in OUT/LOG.log, and notes the load around it.
step() {
  local name=$1 log=$2; shift 2
  case " $ONLY " in *" $name "*) ;; *) return 0 ;; esac
  echo "== $log: $* (load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%H:%M:%S))" | tee -a "$OUT/summary.txt"
  if ! "$@" >"$OUT/$log.log" 2>&1; then echo "   failed: see $OUT/$log.log" | tee -a "$OUT/summary.txt"; return 0; fi
  grep -E "$FIGURES" "$OUT/$log.log" | sed 's/^/   /' | tee -a "$OUT/summary.txt" || true
}
# The lines that carry a figure, in each script's output.
FIGURES='us/req|Ir/req|per request|instructions|RSS|idle|after|p50|p99|ratio|median|wave|stalls|reload|during|\| (nginx|tollgate|portkey|direct)'

echo "issue 18 on $(git -C "$ROOT" rev-parse --short HEAD), $TOLLGATE_BIN, $(nproc) CPUs" | tee "$OUT/summary.txt"
step run run "$HERE/run.sh"
for i in 1 2 3; do step cpr "cpr-$i" env CPR_DURATION=8 "$HERE/cpu_per_request.sh"; done
CG="env CPR_CALLGRIND=1 CPR_NGINX=0 CPR_DURATION=2"
step cg cg-defaults $CG "$HERE/cpu_per_request.sh"
step cg cg-2kb $CG CPR_PROMPT_KB=2 "$HERE/cpu_per_request.sh"
step cg cg-2kb-gov $CG CPR_PROMPT_KB=2 CPR_GOV=1 "$HERE/cpu_per_request.sh"
step cg cg-keys-10 $CG CPR_KEYS=10 "$HERE/cpu_per_request.sh"
step cg cg-keys-100000 $CG CPR_KEYS=100000 CPR_START_S=1200 "$HERE/cpu_per_request.sh"
step cg cg-models-5 $CG CPR_MODELS=5 "$HERE/cpu_per_request.sh"
step cg cg-models-1000 $CG CPR_MODELS=1000 "$HERE/cpu_per_request.sh"
for kb in 32 256; do step cg "cg-${kb}kb" $CG CPR_PROMPT_KB=$kb CPR_CG_REQUESTS=500 "$HERE/cpu_per_request.sh"; done
for kb in 2 32 256; do step cg "cg-${kb}kb-xlate" $CG CPR_PROMPT_KB=$kb CPR_XLATE=1 CPR_CG_REQUESTS=500 "$HERE/cpu_per_request.sh"; done
step memory memory "$HERE/memory.sh"
step ttfc ttfc "$HERE/ttfc.sh"
step streams streams bash -c "cd '$ROOT/tests' && node ../bench/stream_scale.mjs --streams 0 --waves 3 --nginx 1"
step reload reload env RL_DUR=120 RL_EVERY=30 "$HERE/reload_under_load.sh"
echo "outputs in $OUT" | tee -a "$OUT/summary.txt"
