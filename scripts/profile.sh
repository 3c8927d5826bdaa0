#!/usr/bin/env bash
# A CPU profile of tollgate under load, kept next to the figures in docs/profiles:
#   ROUTE=mock    GET /mock of openapi/bench.yaml (wrk -t1 -c32)
#   ROUTE=proxy   GET /proxy/x of the same API, to nginx `return 200` kept alive (wrk -t1 -c32)
#   ROUTE=lambda  a REST route to the release build of functions/hello, as bench-lambda.sh runs
#                 it (wrk -t2 -c16)
# perf samples tollgate's threads with DWARF call graphs while wrk drives the route; then
#   docs/profiles/$NAME.svg  a flame graph (inferno, installed under target/tools when missing;
#                            frames narrower than one pixel are left out to keep the file small)
#   docs/profiles/$NAME.txt  each gateway/tollgate/hyper function's inclusive share of the
#                            samples, then the samples per library
# NAME defaults to ROUTE. WORKERS=1 runs tollgate on one tokio worker, so that a request's whole
# cost sits on one thread. Bounded: perf records DURATION seconds (default 4) while wrk runs two
# more; everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUTE=${ROUTE:-mock}
NAME=${NAME:-$ROUTE}
DURATION=${DURATION:-4}
case "$ROUTE" in mock | proxy | lambda) ;; *)
    echo "ROUTE must be mock, proxy or lambda (got '$ROUTE')" >&2
    exit 2
    ;;
esac

need wrk wrk
need perf linux-perf
need nginx nginx
INFERNO=target/tools/inferno/bin
if [ ! -x "$INFERNO/inferno-flamegraph" ]; then
    cargo install --quiet --locked --root target/tools/inferno inferno@0.12.8 >&2
fi
release_tollgate
TOLLGATE_BIN=$(realpath "$TOLLGATE_BIN")
# What was profiled: this checkout's build (and whether it had uncommitted changes), or TOLLGATE.
if [ -n "${TOLLGATE:-}" ]; then
    BUILD=$TOLLGATE
else
    BUILD=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- gateway local-emulator || echo '+changes')
fi
bench_workspace

PORT=$(free_port)
ENV=(TOLLGATE_LOG=warn)
if [ -n "${WORKERS:-}" ]; then ENV+=("TOKIO_WORKER_THREADS=$WORKERS"); fi
case "$ROUTE" in
mock | proxy)
    UPSTREAM=$(free_port)
    nginx_start "server { listen 127.0.0.1:$UPSTREAM; location / { return 200 '{\"ok\":true}'; } }"
    env "${ENV[@]}" "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/bench.yaml \
        --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" --no-watch -p "$PORT" \
        >/dev/null 2>"$WORK/tollgate.err" &
    TG=$!
    URL="http://127.0.0.1:$PORT/$([ "$ROUTE" = mock ] && echo mock || echo proxy/x)"
    LOAD=(-t1 -c32)
    ;;
lambda)
    cargo build --release -p hello >&2
    HELLO=$(realpath "target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/hello")
    hello_project "$WORK/project" "$HELLO"
    (cd "$WORK/project" && exec env "${ENV[@]}" "$TOLLGATE_BIN" start-api --account-throttle off \
        -t template.yaml --skip-build --no-watch --warm-containers EAGER -p "$PORT") \
        >/dev/null 2>"$WORK/tollgate.err" &
    TG=$!
    URL="http://127.0.0.1:$PORT/hello/bench"
    LOAD=(-t2 -c16)
    ;;
esac
PIDS+=("$TG")
for _ in $(seq 1 150); do curl -sf "$URL" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$URL" >/dev/null || { echo "tollgate did not answer $URL:" >&2; cat "$WORK/tollgate.err" >&2; exit 1; }

# Warm up (Lambda processes start on demand), then profile the middle of a longer run.
wrk "${LOAD[@]}" -d2s "$URL" >/dev/null
wrk "${LOAD[@]}" -d"$((DURATION + 2))s" "$URL" > "$WORK/wrk.txt" &
WRK=$!
sleep 1
perf record -q -F 1999 --call-graph dwarf,32768 -p "$TG" -o "$WORK/perf.data" -- sleep "$DURATION" \
    2>"$WORK/perf.err"
wait "$WRK"
if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$WORK/wrk.txt"; then
    echo "wrk saw failures; not keeping a profile of a failing route:" >&2
    cat "$WORK/wrk.txt" >&2
    exit 1
fi

perf script -i "$WORK/perf.data" --no-inline 2>/dev/null > "$WORK/stacks.txt"
mkdir -p docs/profiles
"$INFERNO/inferno-collapse-perf" "$WORK/stacks.txt" > "$WORK/folded.txt"
"$INFERNO/inferno-flamegraph" --minwidth 1 --title "tollgate, $ROUTE route ($BUILD)" \
    "$WORK/folded.txt" > "docs/profiles/$NAME.svg"
{
    echo "# scripts/profile.sh: ROUTE=$ROUTE${WORKERS:+ WORKERS=$WORKERS} DURATION=$DURATION, build $BUILD"
    echo "# perf record -F 1999 --call-graph dwarf -p <tollgate> while wrk ${LOAD[*]} drove $URL"
    echo "# wrk: $(grep -E 'requests in' "$WORK/wrk.txt" | xargs)"
    echo "# inclusive share of the samples for each gateway/tollgate/hyper function, then samples per library"
    echo
    python3 - "$WORK/stacks.txt" <<'PY'
import collections, re, sys

ours = re.compile(r'^(gateway|tollgate|hyper)::')
total = 0
inclusive = collections.Counter()
for block in open(sys.argv[1]).read().split('\n\n'):
    lines = [l.strip() for l in block.strip().split('\n') if l.strip()]
    # Each frame is `ADDRESS SYMBOL+OFFSET (LIBRARY)`.
    frames = [re.sub(r'\+0x[0-9a-f]+$', '', re.sub(r' \([^()]*\)$', '', l.split(None, 1)[-1])) for l in lines[1:]]
    if not frames:
        continue
    total += 1
    for name in set(frames):
        if ours.search(name):
            inclusive[name] += 1
for name, n in inclusive.most_common():
    if 100 * n / total < 0.5:
        break
    print(f'{100 * n / total:6.2f}% {name}')
PY
    echo
    perf report -i "$WORK/perf.data" --no-children --sort dso -g none -q 2>/dev/null | head -8
} > "docs/profiles/$NAME.txt"
echo "docs/profiles/$NAME.svg and docs/profiles/$NAME.txt ($(grep -E 'requests in' "$WORK/wrk.txt" | xargs))"
