#!/usr/bin/env bash
# Compares the CPU cost per request of two builds of Docket *at the same time*: both
# servers run pinned to CPU 0 (sharing it), each is driven by its own `wrk -t1 -c64` on
# CPU 1, and each server's CPU time per request is printed with the ratio B/A. Whatever
# slows the machine slows both alike, so the ratio shows changes of a few percent that
# req/s from separate runs (±15% between identical runs here) hides. An A/A run (the
# same binary twice) gives 0.98–1.01.
#
#   A=/tmp/docket-before B=target/release/docket bench/ab.sh
#   SCRIPT="get status" ROUNDS=3 DURATION=10 SEED=5000 A=... B=... bench/ab.sh
#
# SCRIPT names files in bench/lua/ (without .lua), or `bare` for /healthz.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${A:?A=path to the first docket binary}" "${B:?B=path to the second docket binary}"
DURATION=${DURATION:-8}
SEED=${SEED:-5000}
source bench/lib.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
WORK=$(mktemp -d)

start() { # name, binary, port
  DOCKET_DATA_DIR="$WORK/$1" DOCKET_LISTEN="127.0.0.1:$3" DOCKET_ADMIN_TOKEN="$DOCKET_BENCH_TOKEN" \
    DOCKET_RATE_LIMIT_PER_SECOND=100000000 DOCKET_RATE_LIMIT_BURST=100000000 RUST_LOG=warn \
    taskset -c 0 "$2" serve >"$WORK/$1.log" 2>&1 &
  echo $!
}
PA=$(start a "$A" 18301)
PB=$(start b "$B" 18302)
trap 'kill $PA $PB 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
bench_wait_ready http://127.0.0.1:18301
bench_wait_ready http://127.0.0.1:18302
DOCKET_BENCH_IDS=$WORK/ids-a.txt bench_seed http://127.0.0.1:18301 "$SEED" 1 >/dev/null
DOCKET_BENCH_IDS=$WORK/ids-b.txt bench_seed http://127.0.0.1:18302 "$SEED" 1 >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
target() { # script, port
  if [ "$1" = bare ]; then echo "http://127.0.0.1:$2/healthz"; else echo "-s bench/lua/$1.lua http://127.0.0.1:$2"; fi
}
for _ in $(seq "${ROUNDS:-3}"); do
  for s in ${SCRIPT:-status}; do
    a0=$(ticks "$PA"); b0=$(ticks "$PB")
    # shellcheck disable=SC2046 # target() prints wrk's arguments, split on purpose
    DOCKET_BENCH_IDS=$WORK/ids-a.txt taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" $(target "$s" 18301) >"$WORK/a.txt" &
    # shellcheck disable=SC2046
    DOCKET_BENCH_IDS=$WORK/ids-b.txt taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" $(target "$s" 18302) >"$WORK/b.txt"
    wait %1
    a1=$(ticks "$PA"); b1=$(ticks "$PB")
    na=$(grep -oP '\d+(?= requests in)' "$WORK/a.txt")
    nb=$(grep -oP '\d+(?= requests in)' "$WORK/b.txt")
    python3 - "$s" "$DURATION" "$(getconf CLK_TCK)" "$na" "$nb" "$((a1 - a0))" "$((b1 - b0))" <<'PY'
import sys
s, duration, tck, na, nb, ta, tb = sys.argv[1], *map(float, sys.argv[2:])
a, b = ta * 1e6 / tck / na, tb * 1e6 / tck / nb
print(f"{s:8} A {na / duration:8.0f}/s {a:6.1f} µs   B {nb / duration:8.0f}/s {b:6.1f} µs   B/A CPU {b / a:.3f}")
PY
  done
done
