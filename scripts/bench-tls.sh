#!/usr/bin/env bash
# TLS on loopback: tollgate and nginx serving the same certificate (tollgate's generated
# localhost certificate), driven by wrk from a second process. Two shapes: keep-alive (request
# throughput over one handshake per connection) and `Connection: close` (a full handshake per
# request). Bounded: DURATION seconds per run; everything started here is stopped on exit.
#
#   scripts/bench-tls.sh
#   DURATION=30 CONNECTIONS=64 scripts/bench-tls.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
need wrk wrk
need nginx nginx
release_tollgate

bench_workspace

TOLLGATE=18185; NGINX_TLS=18186
TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/bench.yaml \
    --stage-variable "upstream=http://127.0.0.1:9" --tls-self-signed --state-dir "$WORK/state" \
    -p $TOLLGATE >/dev/null 2>"$WORK/tollgate.err" &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -sfk "https://127.0.0.1:$TOLLGATE/mock" >/dev/null 2>&1 && break
    sleep 0.1
done

nginx_start "$(cat <<CONF
    server {
        listen 127.0.0.1:$NGINX_TLS ssl;
        ssl_certificate $WORK/state/tls/localhost.pem;
        ssl_certificate_key $WORK/state/tls/localhost-key.pem;
        location / { return 200 '{"ok":true}'; }
    }
CONF
)"

echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
wrk_row nginx-tls-keepalive "https://127.0.0.1:$NGINX_TLS/x"
wrk_row tollgate-tls-keepalive "https://127.0.0.1:$TOLLGATE/mock"
wrk_row nginx-tls-handshake-per-request "https://127.0.0.1:$NGINX_TLS/x" -H "Connection: close"
wrk_row tollgate-tls-handshake-per-request "https://127.0.0.1:$TOLLGATE/mock" -H "Connection: close"
