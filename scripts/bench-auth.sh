#!/usr/bin/env bash
# The per-request cost of authorization on loopback: the same backend function behind no
# authorizer, a cached Lambda TOKEN authorizer, and a Cognito (JWT) authorizer, driven by wrk.
# Bounded: DURATION seconds per route; everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
OUT=${OUT:-bench-out}
PORT=18095
ISSUER=https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
release_tollgate
cargo build -p test-authorizers -p conformance >&2
mkdir -p "$OUT"
TOKEN=$("$TOLLGATE_BIN" token mint --key tests/fixtures/jwt/key1.pem --kid key1 --iss "$ISSUER" --ttl 3600)

TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off -t tests/fixtures/e2e/auth.yaml --skip-build --no-watch \
    --warm-containers EAGER --jwks "$ISSUER=tests/fixtures/jwt/jwks1.json" -p $PORT >/dev/null 2>"$OUT/auth.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/public/pid" >/dev/null 2>&1 && break; sleep 0.2; done

# Only 2xx answers count: a row with any other status or a socket error is refused (wrk_row).
run() {
    local name=$1 path=$2 header=$3
    local args=()
    if [ -n "$header" ]; then args=(-H "$header"); fi
    OUT=$OUT wrk_row "$name" "http://127.0.0.1:$PORT$path" "${args[@]}"
}

echo "| route | req/s | p50 | p99 |"
echo "|---|---|---|---|"
run "no authorizer" /public/pid ""
run "cached Lambda TOKEN authorizer" /secure/pid "Authorization: allow"
run "Cognito JWT authorizer" /pool/pid "Authorization: $TOKEN"
