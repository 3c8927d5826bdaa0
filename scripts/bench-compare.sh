#!/usr/bin/env bash
# Two tollgate builds side by side in one run: the MOCK, HTTP_PROXY and pool routes of
# openapi/bench.yaml under wrk (a second process, loopback), A then B for each route, with the
# ratio B/A. For checking that a change does not slow the pipeline down.
#
#   scripts/bench-compare.sh OLD_BINARY NEW_BINARY
#   A_ARGS="..." B_ARGS="--account-throttle off" DURATION=10 scripts/bench-compare.sh A B
#   ROUTES="proxy/x" scripts/bench-compare.sh A B     (some of the routes only)
#
# The build that runs first in a round can be favoured (seen on the proxy route): check a
# result in both orders.
#
# Both builds should run without the account throttle (AWS's 10,000 rps), or the rows would
# measure 429s: rows with any non-2xx answer are refused (scripts/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
need wrk wrk
need nginx nginx
bench_workspace

# openapi/bench.yaml's pool names this port.
UPSTREAM=18081
nginx_start "    server { listen 127.0.0.1:$UPSTREAM; location / { return 200 '{\"ok\":true}'; } }"

start() {
    local bin=$1 port=$2; shift 2
    # shellcheck disable=SC2086
    TOLLGATE_LOG=warn "$bin" start-api --openapi openapi/bench.yaml --no-watch \
        --stage-variable "upstream=http://127.0.0.1:$UPSTREAM" -p "$port" "$@" \
        >/dev/null 2>"$WORK/tollgate-$port.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/mock" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "$bin on $port did not start" >&2; cat "$WORK/tollgate-$port.err" >&2; exit 1
}

PA=$(free_port); PB=$(free_port)
# shellcheck disable=SC2086
start "$A" "$PA" ${A_ARGS:-}
# shellcheck disable=SC2086
start "$B" "$PB" ${B_ARGS:-}

# ROUNDS alternating runs per build and route (A, B, A, B, ...), so drift on a shared machine
# hits both; the ratio compares the sums.
ROUNDS=${ROUNDS:-2}
echo "| route | build | req/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for route in ${ROUTES:-mock proxy/x pool/x}; do
    sa=0; sb=0
    for _ in $(seq 1 "$ROUNDS"); do
        a=$(wrk_row "A" "http://127.0.0.1:$PA/$route")
        b=$(wrk_row "B" "http://127.0.0.1:$PB/$route")
        echo "${a/| A |/| $route | A |}"
        echo "${b/| B |/| $route | B |}"
        sa=$(awk -v s="$sa" -v r="$(awk -F'|' '{print $3}' <<<"$a")" 'BEGIN {print s + r}')
        sb=$(awk -v s="$sb" -v r="$(awk -F'|' '{print $3}' <<<"$b")" 'BEGIN {print s + r}')
    done
    echo "| $route | B/A | $(awk -v a="$sa" -v b="$sb" 'BEGIN {printf "%.2f", b / a}') | | |"
done
