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
NGINX=$(command -v nginx)

cargo build --release -p local-emulator --bin tollgate >&2

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

UPSTREAM=$(free_port)
mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    # The upstream, and the OTLP collector stand-in (it accepts and drops every batch).
    server { listen 127.0.0.1:$UPSTREAM; location / { return 200 '{"ok":true}'; } }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;'

start() {
    local port=$1; shift
    TOLLGATE_LOG=warn ./target/release/tollgate start-api --openapi openapi/bench.yaml \
        --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" -p "$port" "$@" \
        >/dev/null 2>"$WORK/tollgate-$port.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/mock" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "tollgate on $port did not start" >&2; cat "$WORK/tollgate-$port.err" >&2; exit 1
}

run() {
    local name=$1 url=$2 out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
    printf '| %s | %s | %s | %s |\n' "$name" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" \
        "$(awk '$1=="99%" {print $2}' <<<"$out")"
}

PLAIN=$(free_port); ADMIN=$(free_port); OTLP=$(free_port); SAMPLED=$(free_port)
start "$PLAIN"
start "$ADMIN" --admin-port 0
start "$OTLP" --otlp-endpoint "http://127.0.0.1:$UPSTREAM"
start "$SAMPLED" --otlp-endpoint "http://127.0.0.1:$UPSTREAM" --otlp-sample-ratio 0.1

echo "| tollgate HTTP_PROXY route | req/s | p50 | p99 |"
echo "|---|---|---|---|"
run "plain" "http://127.0.0.1:$PLAIN/proxy/x"
run "--admin-port (dashboard, exchanges kept)" "http://127.0.0.1:$ADMIN/proxy/x"
run "--otlp-endpoint (8 spans a request)" "http://127.0.0.1:$OTLP/proxy/x"
run "--otlp-endpoint --otlp-sample-ratio 0.1" "http://127.0.0.1:$SAMPLED/proxy/x"
