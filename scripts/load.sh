#!/usr/bin/env bash
# Load comparison on loopback: tollgate (MOCK and HTTP_PROXY routes) against nginx (`return 200`
# and `proxy_pass`), against the upstream directly and against hyper alone answering a fixed 200
# (local-emulator/examples/hyper_floor.rs: the HTTP stack tollgate stands on, doing nothing else)
# and hyper forwarding every request through tollgate's own HTTP client (the same example with an
# upstream), all driven by wrk from a second process.
# Bounded: each run lasts DURATION seconds; everything started here is stopped on exit.
#
#   scripts/load.sh            # 10 s per target, 2 threads, 32 connections
#   DURATION=30 CONNECTIONS=64 scripts/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
OUT=${OUT:-bench-out}

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
need wrk wrk
need nginx nginx

release_tollgate
cargo build --release -p local-emulator --example hyper_floor >&2
HYPER_FLOOR=target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/examples/hyper_floor

mkdir -p "$OUT"
bench_workspace

UPSTREAM=18081; NGINX_RETURN=18082; NGINX_PROXY=18083; TG_PORT=18084; FLOOR=18085; SECURE=18086
FLOOR_PROXY=18087
nginx_start "$(cat <<CONF
    upstream backend { server 127.0.0.1:$UPSTREAM; keepalive 64; }
    # The upstream every proxy forwards to.
    server { listen 127.0.0.1:$UPSTREAM; location / { return 200 '{"ok":true}'; } }
    # nginx answering by itself, as a MOCK route does.
    server { listen 127.0.0.1:$NGINX_RETURN; location / { return 200 '{"ok":true}'; } }
    # nginx proxying, as an HTTP_PROXY route does.
    server {
        listen 127.0.0.1:$NGINX_PROXY;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
CONF
)"

TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/bench.yaml \
    --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" -p $TG_PORT >/dev/null 2>"$WORK/tollgate.err" &
PIDS+=($!)
"$HYPER_FLOOR" "$FLOOR" &
PIDS+=($!)
"$HYPER_FLOOR" "$FLOOR_PROXY" "http://127.0.0.1:$UPSTREAM" &
PIDS+=($!)
# The same proxy route behind a Cognito user-pool authorizer (an RS256 token checked against the
# fixture key set) and an API key on a usage plan in the memory store.
ISSUER=https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example
TOKEN=$("$TOLLGATE_BIN" token mint --key tests/fixtures/jwt/key1.pem --kid key1 --iss "$ISSUER" --ttl 3600)
TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/bench-secure.yaml \
    --api-keys openapi/bench-secure-keys.json --usage-store memory --jwks "$ISSUER=tests/fixtures/jwt/jwks1.json" \
    --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" --no-watch -p $SECURE >/dev/null 2>"$WORK/secure.err" &
PIDS+=($!)
SECURE_HEADERS=(-H "Authorization: $TOKEN" -H "x-api-key: benchkey000000000000000001")
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$TG_PORT/mock" >/dev/null 2>&1 \
        && curl -sf "http://127.0.0.1:$FLOOR/" >/dev/null 2>&1 \
        && curl -sf "http://127.0.0.1:$FLOOR_PROXY/" >/dev/null 2>&1 \
        && curl -sf "${SECURE_HEADERS[@]}" "http://127.0.0.1:$SECURE/secure/x" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
wrk_row upstream-direct "http://127.0.0.1:$UPSTREAM/x"
wrk_row nginx-return-200 "http://127.0.0.1:$NGINX_RETURN/x"
wrk_row hyper-alone-fixed-200 "http://127.0.0.1:$FLOOR/x"
wrk_row tollgate-mock "http://127.0.0.1:$TG_PORT/mock"
wrk_row nginx-proxy-pass "http://127.0.0.1:$NGINX_PROXY/x"
wrk_row hyper-alone-proxying "http://127.0.0.1:$FLOOR_PROXY/x"
wrk_row tollgate-http-proxy "http://127.0.0.1:$TG_PORT/proxy/x"
wrk_row tollgate-http-proxy-jwt-and-key "http://127.0.0.1:$SECURE/secure/x" "${SECURE_HEADERS[@]}"
wrk_row tollgate-pool-proxy "http://127.0.0.1:$TG_PORT/pool/x"
