#!/usr/bin/env bash
# Lambda round trips on loopback: the same lambda_http function (functions/hello) behind tollgate's
# Runtime API host and behind `cargo lambda watch` (cargo-lambda from PyPI), driven by the same
# wrk run; plus tollgate's cold start (process spawn to first response).
# Bounded: DURATION seconds per target; everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
OUT=${OUT:-bench-out}
COLD_SAMPLES=${COLD_SAMPLES:-5}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v cargo-lambda >/dev/null || python3 -m pip install --quiet --disable-pip-version-check cargo-lambda

release_tollgate
cargo build -p hello >&2
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

TOLLGATE=18090; CARGO_LAMBDA=18091
wait_for() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "timed out waiting for $1" >&2; return 1; }

TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off -t template.yaml --skip-build --no-watch \
    --warm-containers EAGER -p $TOLLGATE >/dev/null 2>"$OUT/tollgate-lambda.err" &
PIDS+=($!)
wait_for "http://127.0.0.1:$TOLLGATE/hello/bench"

(cd functions/hello && cargo lambda watch --invoke-address 127.0.0.1 --invoke-port $CARGO_LAMBDA --ignore-changes) \
    >/dev/null 2>"$OUT/cargo-lambda.err" &
PIDS+=($!)
wait_for "http://127.0.0.1:$CARGO_LAMBDA/lambda-url/hello/"

echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
# Only 2xx answers count: a row with any other status or a socket error is refused (wrk_row).
OUT=$OUT wrk_row "tollgate (REST route → hello)" "http://127.0.0.1:$TOLLGATE/hello/bench"
OUT=$OUT wrk_row "cargo lambda watch (function URL → hello)" "http://127.0.0.1:$CARGO_LAMBDA/lambda-url/hello/"

# Cold starts: with a 1 s idle timeout every request after a 2 s pause starts a new process.
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off -t template.yaml --skip-build --no-watch \
    --idle-timeout 1 -p $TOLLGATE >/dev/null 2>>"$OUT/tollgate-lambda.err" &
PIDS+=($!)
wait_for "http://127.0.0.1:$TOLLGATE/health"
echo
echo "| tollgate cold start sample | first response (ms) | warm response (ms) |"
echo "|---|---|---|"
for i in $(seq 1 "$COLD_SAMPLES"); do
    sleep 2.5
    cold=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$TOLLGATE/hello/cold")
    warm=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$TOLLGATE/hello/warm")
    awk -v i="$i" -v c="$cold" -v w="$warm" 'BEGIN { printf "| %s | %.1f | %.1f |\n", i, c * 1000, w * 1000 }'
done
