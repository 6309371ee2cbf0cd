#!/usr/bin/env bash
# Property-based checks of the product APIs Docket serves (docket-http `compat/`) against
# the products' own published OpenAPI documents, and of Docket's native API against its own
# `/openapi.json`: no request may cause a server error, every documented response must
# match its schema, and (Docket's own) every status code answered must be documented.
# Fails on any violation.
#
#   .ci/schemathesis.sh            # builds and uses target/debug/docket
#   EXAMPLES=200 .ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=3.39.16
# Newer hypothesis releases break hypothesis-jsonschema under schemathesis 3.x; pin a
# contemporary one.
HYPOTHESIS_VERSION=6.124.7
EXAMPLES=${EXAMPLES:-60}
# The products' published OpenAPI documents, copied unchanged from the products.
SPECS=${SPECS:-.ci/specs}
WORK=target/schemathesis
VENV=$WORK/venv
TOKEN=dk_schemathesis_0123456789abcdefghijklmnopqrstuv
# Drops generated cases HTTP itself forbids (control characters in header values).
export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$PWD/.ci${PYTHONPATH:+:$PYTHONPATH}"

mkdir -p "$WORK"
if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/pip" show schemathesis 2>/dev/null | grep -q "^Version: $SCHEMATHESIS_VERSION$" \
    || ! "$VENV/bin/pip" show hypothesis 2>/dev/null | grep -q "^Version: $HYPOTHESIS_VERSION$"; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
fi

# Always the binary of this checkout (a leftover release build may be stale); the tests
# have built it already, so this is quick.
cargo build --quiet -p docket
BIN=target/debug/docket

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d "$WORK/data.XXXXXX")
echo "== starting $BIN on 127.0.0.1:$PORT"
DOCKET_ADMIN_TOKEN=$TOKEN DOCKET_RATE_LIMIT_PER_SECOND=100000 DOCKET_RATE_LIMIT_BURST=100000 \
    "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.1
done

# The products' documents promise their own status codes loosely (Docket answers a few
# more, e.g. 429), so only server errors and response shapes are checked there; Docket's
# own document must also list every status code it answers.
CHECKS=not_a_server_error,response_schema_conformance
run() {
    local spec=$1 base=$2
    shift 2
    echo "== schemathesis: $spec against $base $*"
    "$VENV/bin/schemathesis" run "$spec" \
        --base-url "$base" \
        "$@" \
        --header "Authorization: Bearer $TOKEN" \
        --checks "$CHECKS" \
        --data-generation-method all \
        --hypothesis-max-examples "$EXAMPLES" \
        --hypothesis-derandomize \
        --hypothesis-suppress-health-check all \
        --experimental=openapi-3.1 \
        --generation-with-security-parameters false \
        --no-color \
        --show-trace
}

# A request of each product that exists, so that the operations on one id reach the
# handlers' success paths too (random ids are only ever 404).
post() {
    curl -fsS "http://127.0.0.1:$PORT$1" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "$2" |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("data", d)["id"])'
}
NOTE=$(post /api/public/v1/requests '{"data": {"type": "requests", "attributes": {"request_id": "schemathesis", "requested_by": "ci", "community_server_id": "ci"}}}')
REPORT=$(post /api/reports '{"target_id": "cc5lnd2s1s4652adtu50", "target_kind": "post", "comment": "ci"}')

status=0
run "$SPECS/opennotes-requests.openapi.json" "http://127.0.0.1:$PORT" || status=1
run "$SPECS/opennotes-requests.openapi.json" "http://127.0.0.1:$PORT" \
    --include-path-regex '\{request_id\}' --set-path "request_id=$NOTE" || status=1
run "$SPECS/storyden-reports.openapi.json" "http://127.0.0.1:$PORT/api" || status=1
run "$SPECS/storyden-reports.openapi.json" "http://127.0.0.1:$PORT/api" \
    --include-path-regex '\{report_id\}' --set-path "report_id=$REPORT" || status=1

# Docket's own document, as the server serves it: every operation, then those on one
# request again with a request that exists.
OWN=$WORK/docket.openapi.json
curl -fsS "http://127.0.0.1:$PORT/openapi.json" -o "$OWN"
REQUEST=$(curl -fsS "http://127.0.0.1:$PORT/api/v1/requests" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"title": "schemathesis"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
CHECKS=not_a_server_error,status_code_conformance,response_schema_conformance
# The event stream never ends by design (it is tested in tests/events.rs).
run "$OWN" "http://127.0.0.1:$PORT" --exclude-path /api/v1/events/stream || status=1
run "$OWN" "http://127.0.0.1:$PORT" \
    --include-path-regex '^/api/v1/requests/\{id\}' --set-path "id=$REQUEST" || status=1
if grep -q '"level":"ERROR"\|ERROR' "$WORK/server.log"; then
    echo "== the server logged errors:"; grep 'ERROR' "$WORK/server.log" | head -20
    status=1
fi
exit $status
