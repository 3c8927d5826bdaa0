#!/usr/bin/env bash
# What watching costs: the HTTP_PROXY route of openapi/bench.yaml under wrk (a second process,
# loopback) with tollgate plain, with the admin port on (the dashboard keeps every request and
# its upstream exchange), and with OTLP export on (spans per request, stage and call, sent to a
# collector stand-in, every trace or one in ten). Bounded: DURATION seconds per run; everything started here stops on exit.
#
#   scripts/bench-observe.sh
#   DURATION=30 CONNECTIONS=64 scripts/bench-observe.sh
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

UPSTREAM=$(free_port)
# The upstream, and the OTLP collector stand-in (it accepts and drops every batch).
nginx_start "    server { listen 127.0.0.1:$UPSTREAM; location / { return 200 '{\"ok\":true}'; } }"

start() {
    local port=$1; shift
    TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/bench.yaml \
        --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" -p "$port" "$@" \
        >/dev/null 2>"$WORK/tollgate-$port.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/mock" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "tollgate on $port did not start" >&2; cat "$WORK/tollgate-$port.err" >&2; exit 1
}

PLAIN=$(free_port); ADMIN=$(free_port); OTLP=$(free_port); SAMPLED=$(free_port)
start "$PLAIN"
start "$ADMIN" --admin-port 0
start "$OTLP" --otlp-endpoint "http://127.0.0.1:$UPSTREAM"
start "$SAMPLED" --otlp-endpoint "http://127.0.0.1:$UPSTREAM" --otlp-sample-ratio 0.1

echo "| tollgate HTTP_PROXY route | req/s | p50 | p99 |"
echo "|---|---|---|---|"
wrk_row "plain" "http://127.0.0.1:$PLAIN/proxy/x"
wrk_row "--admin-port (dashboard, exchanges kept)" "http://127.0.0.1:$ADMIN/proxy/x"
wrk_row "--otlp-endpoint (8 spans a request)" "http://127.0.0.1:$OTLP/proxy/x"
wrk_row "--otlp-endpoint --otlp-sample-ratio 0.1" "http://127.0.0.1:$SAMPLED/proxy/x"
