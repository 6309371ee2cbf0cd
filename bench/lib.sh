# Shared by the benchmark scripts (sourced): tools, the release build, seeding.

DOCKET_BENCH_TOKEN="dk_benchmarkbenchmarkbenchmarkbenchmark0001"
DOCKET_BENCH_LUA="$PWD/bench/lua"
export DOCKET_BENCH_TOKEN DOCKET_BENCH_LUA

# wrk from Debian, and the release binary of this checkout.
bench_prepare() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  cargo build --release --quiet --bin docket
  BIN=target/release/docket
}

# Waits for the server at $1 to be ready.
bench_wait_ready() {
  for _ in $(seq 200); do curl -sf "$1/readyz" >/dev/null && return 0; sleep 0.05; done
  echo "the server did not start" >&2
  return 1
}

# Files $2 requests on the server at $1 (wrk on CPU $3) and writes up to 4000 of their
# ids, oldest first, to $DOCKET_BENCH_IDS for the get and status-change scripts.
bench_seed() {
  echo "seeding $2 requests..."
  # wrk's `thread:stop()` ends its thread but not the run, so wrk is stopped from here
  # once the newest request's number shows that $2 were stored.
  STOP_AFTER=$2 taskset -c "$3" wrk -t1 -c"${CONNS:-64}" -d120s -s bench/lua/create.lua "$1" >/dev/null &
  local wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 0.5
    local newest
    newest=$(curl -sf "$1/api/v1/requests?limit=1&sort=number" -H "Authorization: Bearer $DOCKET_BENCH_TOKEN" |
      python3 -c 'import json,sys; items = json.load(sys.stdin)["items"]; print(items[0]["number"] if items else 0)' || echo 0)
    if [ "$newest" -ge "$2" ]; then kill -INT "$wrk_pid" 2>/dev/null || true; fi
  done
  wait "$wrk_pid" 2>/dev/null || true
  python3 - "$1" "$DOCKET_BENCH_TOKEN" "$DOCKET_BENCH_IDS" <<'PY'
import json, sys, urllib.request
base, token, out = sys.argv[1:]
ids, cursor = [], None
while len(ids) < 4000:
    url = f"{base}/api/v1/requests?limit=100&sort=number&direction=asc" + (f"&cursor={cursor}" if cursor else "")
    page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})))
    ids += [r["id"] for r in page["items"]]
    cursor = page["next_cursor"]
    if not cursor: break
if len(ids) < 1000:
    sys.exit(f"seeding failed: only {len(ids)} requests listed")
open(out, "w").write("\n".join(ids) + "\n")
PY
}
