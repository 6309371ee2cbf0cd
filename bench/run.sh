#!/usr/bin/env bash
# Docket's benchmark. Starts the release server on a fresh SQLite database, pinned to CPU 0,
# and drives it with wrk pinned to CPU 1. Seeds SEED requests, then measures a bare
# endpoint (/healthz, no auth, no database) and create, get, list and status-change load;
# then the requested items: filing a request of a type with 10 items, one answer to one
# item, and status changes of requests with 10 items (beside those without). Prints
# requests/s, p50 and p99 for each, its ratio to the bare endpoint, and the server's CPU
# time and disk reads per request.
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

# Requested items: a type whose template has 10 items (5 questions, 5 documents).
python3 - "$BASE" "$DOCKET_BENCH_TOKEN" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1:]
items = [{"kind": "question", "key": f"q{i}", "label": f"Question {i}", "required": True, "answer_type": {"type": "text"}} for i in range(5)]
items += [{"kind": "document", "key": f"d{i}", "label": f"Document {i}", "required": True, "allowed_types": ["application/pdf"]} for i in range(5)]
general = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/request-types/general", headers={"Authorization": f"Bearer {token}"})))
body = {"key": "items10", "name": "Ten items", "workflow": general["workflow"], "items": items}
req = urllib.request.Request(f"{base}/api/v1/request-types", data=json.dumps(body).encode(), method="POST",
    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
urllib.request.urlopen(req)
PY
load create_items -s bench/lua/create_items.lua "$BASE"
# Up to 4000 requests with items for the status changes, and one question of each of the
# first 2000 for the answers; beside them, 4000 untouched requests without items, so the
# two status runs below start on requests alike but for the items, back to back.
export DOCKET_BENCH_PAIRS="$WORK/pairs.txt"
python3 - "$BASE" "$DOCKET_BENCH_TOKEN" "$WORK/item_ids.txt" "$DOCKET_BENCH_PAIRS" "$WORK/plain_ids.txt" <<'PY'
import json, sys, urllib.request
base, token, ids_out, pairs_out, plain_out = sys.argv[1:]
get = lambda url: json.load(urllib.request.urlopen(urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})))
def walk(query):
    ids, cursor = [], None
    while len(ids) < 4000:
        page = get(f"/api/v1/requests?{query}&limit=100&sort=number&direction=asc" + (f"&cursor={cursor}" if cursor else ""))
        ids += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor: break
    if len(ids) < 1000:
        sys.exit(f"only {len(ids)} requests for {query}")
    return ids[:4000]
ids = walk("type=items10")
open(ids_out, "w").write("\n".join(ids) + "\n")
pairs = [f"{r} {get(f'/api/v1/requests/{r}/items')['items'][0]['id']}" for r in ids[:2000]]
open(pairs_out, "w").write("\n".join(pairs) + "\n")
# The oldest requests still open: seeded ones the first status run did not touch.
plain = walk("type=general&status=open")
open(plain_out, "w").write("\n".join(plain) + "\n")
PY
load submit -s bench/lua/submit.lua "$BASE"
# Status changes with and without items in the order A B B A (each on its own half of the
# ids), so neither side gains from running first or last.
split -n l/2 -d "$WORK/plain_ids.txt" "$WORK/plain_ids."
split -n l/2 -d "$WORK/item_ids.txt" "$WORK/item_ids."
DOCKET_BENCH_IDS="$WORK/plain_ids.00" load status_plain -s bench/lua/status.lua "$BASE"
DOCKET_BENCH_IDS="$WORK/item_ids.00" load status_items -s bench/lua/status.lua "$BASE"
DOCKET_BENCH_IDS="$WORK/item_ids.01" load status_items2 -s bench/lua/status.lua "$BASE"
DOCKET_BENCH_IDS="$WORK/plain_ids.01" load status_plain2 -s bench/lua/status.lua "$BASE"

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
        ("list GET /requests", "list"), ("status PATCH /requests/{id}", "status"),
        ("create, type with 10 items", "create_items"), ("answer one item", "submit"),
        ("status, no items (1st)", "status_plain"), ("status, 10 items (1st)", "status_items"),
        ("status, 10 items (2nd)", "status_items2"), ("status, no items (2nd)", "status_plain2")]
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
both = lambda name, i: parse(name)[i] + parse(name + "2")[i]
plain, with_items = both("status_plain", 0), both("status_items", 0)
cpu_plain, cpu_items = both("status_plain", 5), both("status_items", 5)
print(f"status change of a request with 10 items (A B B A): {with_items / plain:.3f}x the rate without items, "
      f"{(cpu_items / cpu_plain - 1) * 100:+.1f}% server CPU per change (the target is at most +10%)")
print(f"filing with 10 items: {parse('create_items')[0] / parse('create')[0]:.3f}x the rate of a plain create")
PY
