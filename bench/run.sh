#!/usr/bin/env bash
# Docket's benchmark. Starts the release server on a fresh SQLite database, pinned to CPU 0,
# and drives it with wrk pinned to CPU 1. Seeds SEED requests, then measures a bare
# endpoint (/healthz, no auth, no database) and create, get, list and status-change load,
# and prints requests/s, p50 and p99 for each, its ratio to the bare endpoint, and the
# server's CPU time and disk reads per request.
#
#   bench/run.sh                      # defaults: 10 s per run, 64 connections, 10 000 seeded
#   DURATION=30 CONNS=128 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
SEED=${SEED:-10000}
PORT=${PORT:-18181}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

source bench/lib.sh
bench_prepare

WORK=$(mktemp -d)
export DOCKET_BENCH_IDS="$WORK/ids.txt"
BASE="http://127.0.0.1:$PORT"

DOCKET_DATA_DIR="$WORK/data" DOCKET_LISTEN="127.0.0.1:$PORT" DOCKET_ADMIN_TOKEN="$DOCKET_BENCH_TOKEN" \
  DOCKET_RATE_LIMIT_PER_SECOND=100000000 DOCKET_RATE_LIMIT_BURST=100000000 RUST_LOG=warn \
  taskset -c "$SERVER_CPU" "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
bench_wait_ready "$BASE"

# The server's CPU time so far, in clock ticks (user + system).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

# Bytes the server has read from the disk so far (not from the page cache).
server_disk_reads() { awk '/^read_bytes/ {print $2}' "/proc/$SERVER/io"; }

load() { # name, wrk args...
  local name=$1; shift
  local before; before=$(server_ticks)
  local read_before; read_before=$(server_disk_reads)
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" >"$WORK/$name.txt"
  echo "$(( $(server_ticks) - before ))" >"$WORK/$name.ticks"
  echo "$(( $(server_disk_reads) - read_before ))" >"$WORK/$name.reads"
}

bench_seed "$BASE" "$SEED" "$LOAD_CPU"

load bare "$BASE/healthz"
load get -s bench/lua/get.lua "$BASE"
load list -s bench/lua/list.lua "$BASE"
load status -s bench/lua/status.lua "$BASE"
load create -s bench/lua/create.lua "$BASE"

STORED=$(curl -s "$BASE/api/v1/requests?limit=1&sort=number" -H "Authorization: Bearer $DOCKET_BENCH_TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["number"])')
RSS=$(ps -o rss= -p $SERVER | tr -d ' ')

python3 - "$WORK" "$DURATION" "$CONNS" "$STORED" "$RSS" "$(getconf CLK_TCK)" <<'PY'
import re, sys
work, duration, conns, stored, rss, tck = sys.argv[1:]
def ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
def parse(name):
    t = open(f"{work}/{name}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    errs = re.search(r"Socket errors: (.*)", t)
    done = int(re.search(r"(\d+) requests in", t).group(1))
    cpu_us = int(open(f"{work}/{name}.ticks").read()) * 1e6 / int(tck) / max(done, 1)
    disk_kb = int(open(f"{work}/{name}.reads").read()) / 1024 / max(done, 1)
    return rps, p50, p99, int(bad.group(1)) if bad else 0, errs.group(1) if errs else "", cpu_us, disk_kb
rows = [("bare GET /healthz", "bare"), ("create POST /requests", "create"), ("get GET /requests/{id}", "get"),
        ("list GET /requests", "list"), ("status PATCH /requests/{id}", "status")]
bare = parse("bare")[0]
print(f"\nDocket benchmark: {duration} s per run, {conns} connections, wrk -t1 on its own CPU, server on one CPU")
print(f"{'workload':30} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>7} {'CPU us':>7} {'disk KB':>8} {'non-2xx':>8}")
for label, name in rows:
    rps, p50, p99, bad, errs, cpu_us, disk_kb = parse(name)
    print(f"{label:30} {rps:10.0f} {p50:8.2f} {p99:8.2f} {rps / bare:7.3f} {cpu_us:7.1f} {disk_kb:8.2f} {bad:8d}" + (f"  socket errors: {errs}" if errs else ""))
print("CPU us: the server's CPU time (user + system) per request served, over the run; steadier")
print("between runs than req/s when the machine's speed varies, and what a CPU-bound change moves.")
print("disk KB: what the server read from the disk (not the page cache) per request served.")
print(f"requests stored at the end: {stored}; server RSS: {int(rss) / 1024:.0f} MiB")
PY
