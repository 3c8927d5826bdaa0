#!/usr/bin/env bash
# The per-request cost of each usage store on loopback: a MOCK route without an API key, then the
# same route with a key checked against a plan whose counters live in memory, in the embedded
# store, and in Redis. Every request is one token-bucket and one quota decision.
# Bounded: DURATION seconds per store; everything started here is stopped on exit.
# TOLLGATE=PATH measures another build (for a before/after pair of runs); ROWS picks rows by
# name (default: all of baseline memory embedded synced redis dynamodb).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10}
ROWS=${ROWS:-baseline memory embedded synced redis dynamodb}
want() { [[ " $ROWS " == *" $1 "* ]]; }
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
OUT=${OUT:-bench-out}
PORT=18096
REDIS_PORT=18097

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
release_tollgate
mkdir -p "$OUT"
STATE=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$STATE"; }
trap cleanup EXIT

redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
PIDS+=($!)
DDB_PORT=18098
! want dynamodb || dynamodb_local $DDB_PORT

run() {
    local name=$1 path=$2; shift 2
    TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/usage-bench.yaml \
        --api-keys openapi/usage-bench-keys.json --no-watch --state-dir "$STATE" -p $PORT "$@" >/dev/null 2>"$OUT/usage-$name.err" &
    local pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/open" >/dev/null 2>&1 && break; sleep 0.1; done
    # Only 2xx answers count: a row with any other status or a socket error is refused.
    local row
    row=$(OUT=$OUT wrk_row "usage-$name" "http://127.0.0.1:$PORT$path" -H "x-api-key: benchkey000000000000000001") || {
        kill $pid; exit 1
    }
    kill $pid; wait $pid 2>/dev/null || true
    echo "${row/| usage-$name |/| $name |}"
}

echo "| store | req/s | p50 | p99 |"
echo "|---|---|---|---|"
! want baseline || run "no API key (baseline)" /open --usage-store memory
! want memory || run memory /metered --usage-store memory
! want embedded || run embedded /metered --usage-store embedded
! want synced || run "embedded, --state-sync always" /metered --usage-store embedded --state-sync always
! want redis || run redis /metered --usage-store redis --redis-url "redis://127.0.0.1:$REDIS_PORT"
! want dynamodb || run "DynamoDB Local" /metered --usage-store dynamodb --dynamodb-endpoint "http://127.0.0.1:$DDB_PORT" --dynamodb-table bench-usage
