#!/usr/bin/env bash
# Docket on PostgreSQL: one and two `docket serve` nodes sharing one fresh database, with
# 10 000 and then 1 000 000 requests stored. For each (stored, nodes) it measures a bare
# endpoint (/healthz) and the get, list, status-change and create load of bench/run.sh, and
# prints requests/s, p50/p99 and the ratio to the bare endpoint measured in the same run.
#
# The nodes share CPU 0 and wrk runs on CPU 1; PostgreSQL is not pinned (it shares both).
# On a two-core machine a second node cannot add CPU, so the two-node rows show what
# spreading load over nodes costs (or not), not scale-out. With two nodes, two wrk
# processes split the connections between the nodes; their rates are summed.
#
# The first 10 000 requests are filed through the API (wrk); the rest of the 1 000 000 are
# bulk-loaded with SQL (as a restore would), each with its `request.created` event. Both
# are followed by ANALYZE, as autovacuum would within a minute.
#
#   bench/postgres.sh                                    # 10 s per run, 64 connections
#   PG_ADMIN_URL=postgres://postgres@db/postgres DURATION=30 bench/postgres.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${BENCH_DB:-docket_bench}
SIZES=${SIZES:-"10000 1000000"}
PORT1=${PORT:-18181}
PORT2=$((PORT1 + 1))
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

source bench/lib.sh
bench_prepare

WORK=$(mktemp -d)
export DOCKET_BENCH_IDS="$WORK/ids.txt"
DB_URL="${PG_ADMIN_URL%/*}/$DB"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

psql -q "$PG_ADMIN_URL" -c "drop database if exists $DB" -c "create database $DB"
DOCKET_DATABASE_URL="$DB_URL" "$BIN" migrate

start_node() { # port
  DOCKET_DATABASE_URL="$DB_URL" DOCKET_LISTEN="127.0.0.1:$1" DOCKET_ADMIN_TOKEN="$DOCKET_BENCH_TOKEN" \
    DOCKET_DATA_DIR="$WORK/data-$1" \
    DOCKET_RATE_LIMIT_PER_SECOND=100000000 DOCKET_RATE_LIMIT_BURST=100000000 RUST_LOG=warn \
    taskset -c "$SERVER_CPU" "$BIN" serve >"$WORK/server-$1.log" 2>&1 &
  PIDS+=($!)
  bench_wait_ready "http://127.0.0.1:$1"
}

start_node "$PORT1"
start_node "$PORT2"

# One wrk per node, connections split between them; waits for both.
load() { # label nodes bare|lua-script
  local label=$1 nodes=$2 what=$3 per=$(($CONNS / $2)) i=0 port
  local -a loads=()
  for port in "$PORT1" "$PORT2"; do
    i=$((i + 1)); [ "$i" -le "$nodes" ] || break
    if [ "$what" = bare ]; then
      taskset -c "$LOAD_CPU" wrk -t1 -c"$per" -d"${DURATION}s" --latency "http://127.0.0.1:$port/healthz" >"$WORK/$label-$i.txt" &
    else
      taskset -c "$LOAD_CPU" wrk -t1 -c"$per" -d"${DURATION}s" --latency -s "bench/lua/$what.lua" "http://127.0.0.1:$port" >"$WORK/$label-$i.txt" &
    fi
    loads+=($!)
  done
  wait "${loads[@]}"
}

bulk_load() { # total
  psql -q "$DB_URL" -v total="$1" <<'SQL'
with ws as (select id from workspaces order by created_at limit 1),
     t as (select id from request_types where key = 'general' and workspace_id = (select id from ws)),
     base as (select coalesce(max(number), 0) as n0, (extract(epoch from clock_timestamp()) * 1000000)::bigint as t0
              from requests where workspace_id = (select id from ws))
insert into requests (id, workspace_id, number, type_id, type_key, title, description, status, category,
                      data, tags, version, created_at, updated_at)
select gen_random_uuid(), ws.id, base.n0 + g, t.id, 'general', 'Bulk request ' || (base.n0 + g),
       'Loaded for the benchmark; ask ' || md5(g::text), 'open', 'open', '{}', '[]', 1, base.t0 + g, base.t0 + g
from generate_series(1, :total - (select n0 from base)) g, ws, t, base;
insert into events (id, workspace_id, request_id, kind, at, changes)
select gen_random_uuid(), r.workspace_id, r.id, 'request.created', r.created_at, '[]'
from requests r where not exists (select 1 from events e where e.request_id = r.id);
update workspaces set next_request_number = (select max(number) + 1 from requests r where r.workspace_id = workspaces.id)
where exists (select 1 from requests r where r.workspace_id = workspaces.id);
analyze;
SQL
}

RESULTS="$WORK/results.txt"
for size in $SIZES; do
  have=$(psql -qtA "$DB_URL" -c "select count(*) from requests")
  if [ "$have" -eq 0 ]; then
    bench_seed "http://127.0.0.1:$PORT1" "$(( size < 10000 ? size : 10000 ))" "$LOAD_CPU"
    # What autovacuum would have done within a minute of the load: without statistics the
    # planner takes the freshly filled table for empty and sorts it whole for every page.
    psql -q "$DB_URL" -c "analyze"
  fi
  have=$(psql -qtA "$DB_URL" -c "select count(*) from requests")
  if [ "$have" -lt "$size" ]; then
    echo "bulk-loading up to $size requests..."
    bulk_load "$size"
  fi
  for nodes in 1 2; do
    for w in bare get list status create; do
      load "$size-$nodes-$w" "$nodes" "$w"
    done
    echo "$size $nodes" >>"$RESULTS"
  done
done

python3 - "$WORK" "$DURATION" "$CONNS" "$RESULTS" <<'PY'
import glob, re, sys
work, duration, conns, results = sys.argv[1:]
def ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
def parse(label):
    rps, p50, p99, bad = 0.0, 0.0, 0.0, 0
    for f in sorted(glob.glob(f"{work}/{label}-*.txt")):
        t = open(f).read()
        rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
        p50 = max(p50, ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)))
        p99 = max(p99, ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1)))
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
        bad += int(m.group(1)) if m else 0
    return rps, p50, p99, bad
print(f"\nDocket on PostgreSQL: {duration} s per run, {conns} connections in all, nodes on one CPU, wrk on the other")
print(f"{'stored':>9} {'nodes':>5} {'workload':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>7} {'non-2xx':>8}")
for line in open(results):
    size, nodes = line.split()
    bare = parse(f"{size}-{nodes}-bare")[0]
    for w in ["bare", "create", "get", "list", "status"]:
        rps, p50, p99, bad = parse(f"{size}-{nodes}-{w}")
        print(f"{size:>9} {nodes:>5} {w:10} {rps:9.0f} {p50:8.2f} {p99:8.2f} {rps / bare:7.2f} {bad:8d}")
PY
