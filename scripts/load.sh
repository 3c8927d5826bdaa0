#!/usr/bin/env bash
# Load comparison on loopback: tollgate (MOCK and HTTP_PROXY routes) against nginx (`return 200`
# and `proxy_pass`) and against the upstream directly, all driven by wrk from a second process.
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
NGINX=$(command -v nginx)

cargo build --release -p local-emulator --bin tollgate >&2

mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

UPSTREAM=18081; NGINX_RETURN=18082; NGINX_PROXY=18083; TOLLGATE=18084
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
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;'

TOLLGATE_LOG=warn ./target/release/tollgate start-api --openapi openapi/bench.yaml \
    --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" -p $TOLLGATE >/dev/null 2>"$WORK/tollgate.err" &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$TOLLGATE/mock" >/dev/null 2>&1 && break
    sleep 0.1
done

run() {
    local name=$1 url=$2
    echo "== $name: $url" >&2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" > "$OUT/$name.txt"
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/$name.txt")
    p50=$(awk '$1=="50%" {print $2}' "$OUT/$name.txt")
    p99=$(awk '$1=="99%" {print $2}' "$OUT/$name.txt")
    printf '| %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99"
}

echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
run upstream-direct "http://127.0.0.1:$UPSTREAM/x"
run nginx-return-200 "http://127.0.0.1:$NGINX_RETURN/x"
run tollgate-mock "http://127.0.0.1:$TOLLGATE/mock"
run nginx-proxy-pass "http://127.0.0.1:$NGINX_PROXY/x"
run tollgate-http-proxy "http://127.0.0.1:$TOLLGATE/proxy/x"
run tollgate-pool-proxy "http://127.0.0.1:$TOLLGATE/pool/x"
