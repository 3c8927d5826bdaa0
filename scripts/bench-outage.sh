#!/usr/bin/env bash
# What a usage-store outage costs requests: a keyed MOCK route whose plan lives in Redis, then in
# DynamoDB Local, with the store up, then stopped mid-run (requests fail open, as AWS's do; the
# circuit breaker stops them waiting on the store), beside the memory store as the baseline.
# Loopback only; bounded by DURATION seconds per row; everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
OUT=${OUT:-bench-out/outage}

command -v wrk >/dev/null || apt_install wrk
command -v redis-server >/dev/null || apt_install redis-server
release_tollgate
mkdir -p "$OUT"
bench_workspace
PORT=$(free_port)
REDIS_PORT=$(free_port)

start_tollgate() {
    TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/usage-bench.yaml \
        --api-keys openapi/usage-bench-keys.json --no-watch --state-dir "$WORK" -p "$PORT" "$@" \
        >/dev/null 2>>"$OUT/tollgate.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/open" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "tollgate did not start" >&2; return 1
}
stop_last() { kill "${PIDS[-1]}" 2>/dev/null || true; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'; }
KEY=(-H "x-api-key: benchkey000000000000000001")

echo "| usage store | req/s | p50 | p99 |"
echo "|---|---|---|---|"
start_tollgate --usage-store memory
OUT=$OUT wrk_row "memory" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"
stop_last

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
start_tollgate --usage-store redis --redis-url "redis://127.0.0.1:$REDIS_PORT"
OUT=$OUT wrk_row "redis up" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"
kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
# The first run includes the moment the breaker trips; the second is the outage as it lasts.
OUT=$OUT wrk_row "redis down: the first ${DURATION} s (fail open)" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"
OUT=$OUT wrk_row "redis down: the next ${DURATION} s (fail open)" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"

# The same with the DynamoDB store (DynamoDB Local, leasing as the emulator does), stopped mid-run.
DDB_PORT=$(free_port)
dynamodb_local "$DDB_PORT"
DDB_PID=${PIDS[-1]}
start_tollgate --usage-store dynamodb --dynamodb-endpoint "http://127.0.0.1:$DDB_PORT" --dynamodb-table outage
OUT=$OUT wrk_row "dynamodb up" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"
kill "$DDB_PID"; wait "$DDB_PID" 2>/dev/null || true
OUT=$OUT wrk_row "dynamodb down: the first ${DURATION} s (fail open)" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"
OUT=$OUT wrk_row "dynamodb down: the next ${DURATION} s (fail open)" "http://127.0.0.1:$PORT/metered" "${KEY[@]}"
