#!/usr/bin/env bash
# Webhook figures: (1) durable status changes with and without a subscribed webhook (the
# added cost of the outbox and delivery), (2) events delivered per second to a local
# receiver. Server pinned to CPU 0; wrk and the receiver (bench/receiver.py) on CPU 1.
#
#   bench/webhooks.sh            # DURATION=10 SEED=3000 by default
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
SEED=${SEED:-3000}
PORT=${PORT:-18182}
HOOK_PORT=${HOOK_PORT:-18183}

source bench/lib.sh
bench_prepare

WORK=$(mktemp -d)
export DOCKET_BENCH_IDS="$WORK/ids.txt"
BASE="http://127.0.0.1:$PORT"
AUTH="Authorization: Bearer $DOCKET_BENCH_TOKEN"

DOCKET_DATA_DIR="$WORK/data" DOCKET_LISTEN="127.0.0.1:$PORT" DOCKET_ADMIN_TOKEN="$DOCKET_BENCH_TOKEN" \
  DOCKET_RATE_LIMIT_PER_SECOND=100000000 DOCKET_RATE_LIMIT_BURST=100000000 \
  DOCKET_WEBHOOKS_ALLOW_PRIVATE=true RUST_LOG=warn \
  taskset -c 0 "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
taskset -c 1 python3 bench/receiver.py "$HOOK_PORT" >"$WORK/receiver.log" 2>&1 &
RECEIVER=$!
trap 'kill $SERVER $RECEIVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
bench_wait_ready "$BASE"

bench_seed "$BASE" "$SEED" 1

rps() { grep -E "Requests/sec" "$1" | awk '{print $2}'; }
taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" -s bench/lua/status.lua "$BASE" >"$WORK/plain.txt"

curl -sf "$BASE/api/v1/webhooks" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$HOOK_PORT/hook\"}" >/dev/null
sleep 1
maxseq() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("select coalesce(max(seq),0) from events").fetchone()[0])' "$WORK/data/docket.db"; }
before=$(curl -s "http://127.0.0.1:$HOOK_PORT/count")
seq_before=$(maxseq)
start=$(date +%s.%N)
taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" -s bench/lua/status.lua "$BASE" >"$WORK/hooked.txt"
# The events the run wrote (a PATCH to the status a request already has writes none).
load_end=$(date +%s.%N)
at_load_end=$(curl -s "http://127.0.0.1:$HOOK_PORT/count")
events=$(( $(maxseq) - seq_before ))
# Wait until every event of the run has been delivered.
target=$(( before + events ))
waited_from=$SECONDS
while :; do
  got=$(curl -s "http://127.0.0.1:$HOOK_PORT/count")
  [ "$got" -ge "$target" ] && break
  if (( SECONDS - waited_from > ${WAIT:-600} )); then echo "gave up waiting: $got of $target"; break; fi
  sleep 0.2
done
end=$(date +%s.%N)
delivered=$(( got - before ))

# Where the deliveries stand (read-only look at the database).
python3 - "$WORK/data/docket.db" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for state, n, attempts in db.execute("select state, count(*), sum(json_array_length(attempts)) from webhook_deliveries group by state"):
    print(f"deliveries {state}: {n} ({attempts} attempts)")
errors = {}
for (a,) in db.execute("select attempts from webhook_deliveries where attempts != '[]'"):
    for t in json.loads(a):
        if t.get("error"):
            errors[t["error"]] = errors.get(t["error"], 0) + 1
for e, n in sorted(errors.items(), key=lambda x: -x[1])[:5]:
    print(f"  failed attempts: {n} x {e}")
PY
plain=$(rps "$WORK/plain.txt"); hooked=$(rps "$WORK/hooked.txt")
python3 - "$plain" "$hooked" "$delivered" "$events" "$start" "$load_end" "$end" "$(( at_load_end - before ))" <<'PY'
import sys
plain, hooked = float(sys.argv[1]), float(sys.argv[2])
delivered, events = int(sys.argv[3]), int(sys.argv[4])
start, load_end, end = map(float, sys.argv[5:8])
during = int(sys.argv[8])
print("status changes/s, no webhook:      %8.0f" % plain)
print("status changes/s, one webhook:     %8.0f  (%.2fx)" % (hooked, hooked / plain))
print("events written / delivered:        %8d / %d" % (events, delivered))
print("delivered during the load:         %8d in %.1f s = %.0f/s" % (during, load_end - start, during / (load_end - start)))
if end > load_end:
    print("delivered after it (drain):        %8d in %.1f s = %.0f/s" % (delivered - during, end - load_end, (delivered - during) / (end - load_end)))
PY
