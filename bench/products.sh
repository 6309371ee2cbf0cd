#!/usr/bin/env bash
# The product APIs' lists against the native list, on a workspace of SEED (100 000) native
# requests that all contain "acme" and a few requests of each product. Each product list
# must read only its own requests through the indexes: its CPU per call is printed next to
# the native list's first page of `q=acme` (the reference, measured in the same run), and
# stays flat however many other requests the workspace holds.
#
#   bench/products.sh                 # 100 000 seeded, 5 s per endpoint, 8 connections
#   SEED=20000 DURATION=10 bench/products.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
CONNS=${CONNS:-8}
SEED=${SEED:-100000}
PORT=${PORT:-18183}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

source bench/lib.sh
bench_prepare

WORK=$(mktemp -d)
export DOCKET_BENCH_IDS="$WORK/ids.txt"
BASE="http://127.0.0.1:$PORT"
T="$DOCKET_BENCH_TOKEN"

DOCKET_DATA_DIR="$WORK/data" DOCKET_LISTEN="127.0.0.1:$PORT" DOCKET_ADMIN_TOKEN="$T" \
  DOCKET_RATE_LIMIT_PER_SECOND=100000000 DOCKET_RATE_LIMIT_BURST=100000000 RUST_LOG=warn \
  taskset -c "$SERVER_CPU" "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
bench_wait_ready "$BASE"

server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

bench_seed "$BASE" "$SEED" "$LOAD_CPU"

post() { # path, body, extra header
  curl -fsS -o /dev/null "$BASE$1" -H "Content-Type: application/json" -H "${3:-Authorization: Bearer $T}" -d "$2"
}
echo "filing 10 requests of each product..."
for i in $(seq 10); do
  post /v1/request "{\"campaignId\": \"collect\", \"contact\": {\"email\": \"c$i@acme.example\", \"firstName\": \"Acme $i\"}}"
  post /api/public/v1/requests "{\"data\": {\"type\": \"requests\", \"attributes\": {\"request_id\": \"bench-$i\", \"requested_by\": \"p\", \"community_server_id\": \"g\", \"original_message_content\": \"acme $i\"}}}"
  post /api/reports "{\"target_id\": \"post_$i\", \"target_kind\": \"post\", \"comment\": \"acme $i\"}"
  post /cases "{\"title\": \"Acme case $i\", \"description\": \"Spam\"}"
  post /api/v4/content_requests "{\"content_request\": {\"name\": \"Acme $i\", \"recipient\": \"r\", \"prompt\": \"p\", \"expiration_date\": \"2030/01/01\"}}" "Authentication: Bearer $T"
done

load() { # name, path, header
  local before; before=$(server_ticks)
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H "${3:-Authorization: Bearer $T}" "$BASE$2" >"$WORK/$1.txt"
  echo "$(( $(server_ticks) - before ))" >"$WORK/$1.ticks"
}

load native "/api/v1/requests?q=acme&limit=20"
load collect_search "/v1/requests?search=acme"
load collect "/v1/requests"
load collect_campaign "/v1/requests?campaignId=collect&search=acme"
load opennotes "/api/public/v1/requests"
load storyden "/api/reports"
load serverops "/cases"
load gipper "/api/v4/content_requests?pending=true" "Authentication: Bearer $T"

python3 - "$WORK" "$DURATION" "$CONNS" "$SEED" "$(getconf CLK_TCK)" <<'PY'
import re, sys
work, duration, conns, seed, tck = sys.argv[1:]
def ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
def parse(name):
    t = open(f"{work}/{name}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    done = int(re.search(r"(\d+) requests in", t).group(1))
    cpu_ms = int(open(f"{work}/{name}.ticks").read()) * 1e3 / int(tck) / max(done, 1)
    return rps, p50, cpu_ms, int(bad.group(1)) if bad else 0
rows = [("native GET /api/v1/requests?q=acme (reference)", "native"),
        ("Collect GET /v1/requests?search=acme", "collect_search"),
        ("Collect GET /v1/requests", "collect"),
        ("Collect GET /v1/requests?campaignId=collect&search=acme", "collect_campaign"),
        ("Open Notes GET /api/public/v1/requests", "opennotes"),
        ("Storyden GET /api/reports", "storyden"),
        ("ServerOps GET /cases", "serverops"),
        ("Gipper GET /api/v4/content_requests?pending=true", "gipper")]
ref = parse("native")[2]
print(f"\nProduct lists: {int(seed):,} native requests (all matching \"acme\"), 10 of each product; "
      f"{duration} s per endpoint, {conns} connections")
print(f"{'endpoint':58} {'req/s':>8} {'p50 ms':>8} {'CPU ms/call':>12} {'vs ref':>7}")
for label, name in rows:
    rps, p50, cpu, bad = parse(name)
    flag = f"  ({bad} non-2xx!)" if bad else ""
    print(f"{label:58} {rps:8.0f} {p50:8.2f} {cpu:12.3f} {cpu / ref:7.2f}x{flag}")
PY
