#!/usr/bin/env bash
# Instructions tollgate's process executes per request, over real sockets, counted by callgrind:
# a measure this machine's load does not move (its timings move by 20% between runs).
#   ROUTE=mock    GET /mock of openapi/bench.yaml
#   ROUTE=proxy   GET /proxy/x of the same API, to nginx `return 200` kept alive
#   ROUTE=lambda  a REST route to the release build of functions/hello (the function's own
#                 process is not counted)
#   ROUTE=hyper   hyper alone answering a fixed 200 (local-emulator/examples/hyper_floor.rs, the
#                 HTTP stack tollgate stands on, doing nothing else)
#   ROUTE=hyper-proxy  the same example forwarding each request through tollgate's HTTP client
# tollgate starts under valgrind; one client on one kept-alive connection (Python's http.client,
# so the requests arrive one by one) sends WARMUP requests, callgrind's counters are zeroed, the
# client sends N more (default 2000) and the counters are dumped. Every answer must be 200, or
# the script fails. Prints the instructions per request; KEEP=DIR keeps callgrind's file there
# for `callgrind_annotate --inclusive=yes`. Bounded: N requests, everything started here is
# stopped on exit. TOLLGATE=PATH counts another build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUTE=${ROUTE:-mock}
N=${N:-2000}
WARMUP=${WARMUP:-300}
case "$ROUTE" in mock | proxy | lambda | hyper | hyper-proxy) ;; *)
    echo "ROUTE must be mock, proxy, lambda, hyper or hyper-proxy (got '$ROUTE')" >&2
    exit 2
    ;;
esac
need valgrind valgrind
case "$ROUTE" in hyper*) ;; *)
    release_tollgate
    TOLLGATE_BIN=$(realpath "$TOLLGATE_BIN")
    ;;
esac
bench_workspace
COUNTED=tollgate

PORT=$(free_port)
# nginx `return 200` on $UPSTREAM, for the routes that forward.
upstream_start() {
    need nginx nginx
    nginx_start "server { listen 127.0.0.1:$UPSTREAM; location / { return 200 '{\"ok\":true}'; } }"
}
VALGRIND=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out")
case "$ROUTE" in
mock | proxy)
    UPSTREAM=$(free_port)
    if [ "$ROUTE" = proxy ]; then upstream_start; fi
    TOLLGATE_LOG=warn "${VALGRIND[@]}" "$TOLLGATE_BIN" start-api --account-throttle off \
        --openapi openapi/bench.yaml --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" \
        --no-watch -p "$PORT" >/dev/null 2>"$WORK/tollgate.err" &
    TG=$!
    TARGET=/$([ "$ROUTE" = mock ] && echo mock || echo proxy/x)
    ;;
lambda)
    cargo build --release -p hello >&2
    HELLO=$(realpath "target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/hello")
    hello_project "$WORK/project" "$HELLO"
    (cd "$WORK/project" && TOLLGATE_LOG=warn exec "${VALGRIND[@]}" "$TOLLGATE_BIN" start-api \
        --account-throttle off -t template.yaml --skip-build --no-watch -p "$PORT") \
        >/dev/null 2>"$WORK/tollgate.err" &
    TG=$!
    TARGET=/hello/bench
    ;;
hyper | hyper-proxy)
    cargo build --release -p local-emulator --example hyper_floor >&2
    FLOOR=target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/examples/hyper_floor
    UPSTREAM=$(free_port)
    if [ "$ROUTE" = hyper-proxy ]; then upstream_start; fi
    FORWARD=()
    if [ "$ROUTE" = hyper-proxy ]; then FORWARD=("http://127.0.0.1:$UPSTREAM"); fi
    "${VALGRIND[@]}" "$FLOOR" "$PORT" "${FORWARD[@]}" >/dev/null 2>"$WORK/tollgate.err" &
    TG=$!
    TARGET=/x
    COUNTED=hyper_floor
    ;;
esac
PIDS+=("$TG")
URL="http://127.0.0.1:$PORT$TARGET"
# Under valgrind start-up takes seconds.
for _ in $(seq 1 300); do curl -sf -o /dev/null "$URL" && break; sleep 0.3; done
curl -sf -o /dev/null "$URL" || { echo "tollgate did not answer $URL:" >&2; cat "$WORK/tollgate.err" >&2; exit 1; }

send() {
    python3 - "$PORT" "$TARGET" "$1" <<'PY'
import http.client, sys
port, target, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    conn.request("GET", target)
    answer = conn.getresponse()
    answer.read()
    if answer.status != 200:
        sys.exit(f"request {i + 1} of {n}: status {answer.status}")
PY
}
send "$WARMUP"
callgrind_control -z "$TG" >/dev/null
send "$N"
callgrind_control -d "$TG" >/dev/null
# The dump is written by the process itself; wait for it.
for _ in $(seq 1 50); do ls "$WORK"/callgrind.out.* >/dev/null 2>&1 && break; sleep 0.2; done
sleep 1
DUMP=$(ls "$WORK"/callgrind.out.* | head -1)
TOTAL=$(callgrind_annotate "$DUMP" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp "$DUMP" "$KEEP/callgrind.$ROUTE.out"
fi
BUILD=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- gateway local-emulator || echo '+changes')
if [ "$COUNTED" = tollgate ] && [ -n "${TOLLGATE:-}" ]; then BUILD=$TOLLGATE; fi
echo "$ROUTE: $((TOTAL / N)) instructions per request in $COUNTED's process ($N requests, build $BUILD)"
