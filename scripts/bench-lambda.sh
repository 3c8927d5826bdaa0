#!/usr/bin/env bash
# Lambda round trips on loopback: the same lambda_http function (functions/hello) behind tollgate's
# Runtime API host and behind `cargo lambda watch` (cargo-lambda from PyPI), driven by the same
# wrk run; plus tollgate's cold start (process spawn to first response).
#
# PROFILE=release (the default) runs one release build of the function under both: cargo-lambda
# as `cargo lambda watch --release`, tollgate from a project folder whose `.aws-sam/build` holds
# that same executable (as `sam build` leaves one). PROFILE=debug runs the debug build under both
# (tollgate builds it from template.yaml).
# Bounded: DURATION seconds per target and round (ROUNDS, default 1); everything started here is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
OUT=${OUT:-bench-out}
COLD_SAMPLES=${COLD_SAMPLES:-5}
PROFILE=${PROFILE:-release}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v cargo-lambda >/dev/null || python3 -m pip install --quiet --disable-pip-version-check cargo-lambda

release_tollgate
TOLLGATE_BIN=$(realpath "$TOLLGATE_BIN")
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
bench_workspace

TG_PORT=18090; CARGO_LAMBDA=18091
wait_for() { for _ in $(seq 1 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "timed out waiting for $1" >&2; return 1; }

if [ "$PROFILE" = release ]; then
    cargo build --release -p hello >&2
    HELLO=$(realpath "target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/hello")
    # A project as `sam build` leaves it: the template, and the function's executable under
    # .aws-sam/build (the same file cargo-lambda runs).
    PROJECT=$WORK/project
    hello_project "$PROJECT" "$HELLO"
    LAMBDA_FLAGS=(--release)
else
    cargo build -p hello >&2
    PROJECT=$PWD
    LAMBDA_FLAGS=()
fi
start_tollgate() {
    (cd "$PROJECT" && TOLLGATE_LOG=warn exec "$TOLLGATE_BIN" start-api --account-throttle off \
        -t template.yaml --skip-build --no-watch -p $TG_PORT "$@") >/dev/null 2>>"$OUT/tollgate-lambda.err" &
    PIDS+=($!)
}

start_tollgate --warm-containers EAGER
wait_for "http://127.0.0.1:$TG_PORT/hello/bench"

(cd functions/hello && exec cargo lambda watch "${LAMBDA_FLAGS[@]}" --invoke-address 127.0.0.1 \
    --invoke-port $CARGO_LAMBDA --ignore-changes) >/dev/null 2>"$OUT/cargo-lambda.err" &
PIDS+=($!)
wait_for "http://127.0.0.1:$CARGO_LAMBDA/lambda-url/hello/"

echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
# Only 2xx answers count: a row with any other status or a socket error is refused (wrk_row).
# ROUNDS > 1 alternates the two targets and ends with each round's ratio and their median:
# cargo-lambda's rate moves a lot from run to run on a shared machine (docs/benchmarks.md).
RATIOS=()
for _ in $(seq 1 "${ROUNDS:-1}"); do
    ours=$(OUT=$OUT wrk_row "tollgate (REST route → hello, $PROFILE)" "http://127.0.0.1:$TG_PORT/hello/bench")
    theirs=$(OUT=$OUT wrk_row "cargo lambda watch (function URL → hello, $PROFILE)" "http://127.0.0.1:$CARGO_LAMBDA/lambda-url/hello/")
    printf '%s\n%s\n' "$ours" "$theirs"
    RATIOS+=("$(awk -F'|' -v a="$(cut -d'|' -f3 <<<"$ours")" '{printf "%.2f", a / $3}' <<<"$theirs")")
done
if [ "${ROUNDS:-1}" -gt 1 ]; then
    echo
    echo "ratios: ${RATIOS[*]}; median $(printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{r[NR]=$1} END {print (NR % 2) ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2}')"
fi

# Cold starts: with a 1 s idle timeout every request after a 2 s pause starts a new process.
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
start_tollgate --idle-timeout 1
wait_for "http://127.0.0.1:$TG_PORT/hello/up"
echo
echo "| tollgate cold start sample | first response (ms) | warm response (ms) |"
echo "|---|---|---|"
for i in $(seq 1 "$COLD_SAMPLES"); do
    sleep 2.5
    cold=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$TG_PORT/hello/cold")
    warm=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$TG_PORT/hello/warm")
    awk -v i="$i" -v c="$cold" -v w="$warm" 'BEGIN { printf "| %s | %.1f | %.1f |\n", i, c * 1000, w * 1000 }'
done
