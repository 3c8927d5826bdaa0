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

TOLLGATE=18185; NGINX_TLS=18186
TOLLGATE_LOG=warn ./target/release/tollgate start-api --openapi openapi/bench.yaml \
    --stage-variable "upstream=http://127.0.0.1:9" --tls-self-signed --state-dir "$WORK/state" \
    -p $TOLLGATE >/dev/null 2>"$WORK/tollgate.err" &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -sfk "https://127.0.0.1:$TOLLGATE/mock" >/dev/null 2>&1 && break
    sleep 0.1
done

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
    server {
        listen 127.0.0.1:$NGINX_TLS ssl;
        ssl_certificate $WORK/state/tls/localhost.pem;
        ssl_certificate_key $WORK/state/tls/localhost-key.pem;
        location / { return 200 '{"ok":true}'; }
    }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;'

run() {
    local name=$1 url=$2; shift 2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" > "$WORK/$name.txt"
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.txt")
    p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.txt")
    printf '| %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99"
}

echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
run nginx-tls-keepalive "https://127.0.0.1:$NGINX_TLS/x"
run tollgate-tls-keepalive "https://127.0.0.1:$TOLLGATE/mock"
run nginx-tls-handshake-per-request "https://127.0.0.1:$NGINX_TLS/x" -H "Connection: close"
run tollgate-tls-handshake-per-request "https://127.0.0.1:$TOLLGATE/mock" -H "Connection: close"
