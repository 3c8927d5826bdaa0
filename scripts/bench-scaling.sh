#!/usr/bin/env bash
# Does the request path scale with cores? benches/examples/pipeline_scaling.rs drives the MOCK
# route of openapi/bench.yaml through the whole pipeline in process (no sockets, so no load
# generator competes for the cores), under `taskset -c 0` (one core, one tokio worker) and then
# `taskset -c 0,1` (two), ROUNDS times each, alternating. Prints each run and the ratio of the
# medians. Bounded by REQUESTS per run.
#
#   scripts/bench-scaling.sh
#   REQUESTS=1000000 TASKS=128 ROUNDS=5 scripts/bench-scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-400000}
TASKS=${TASKS:-64}
ROUNDS=${ROUNDS:-3}
[ "$(nproc --all)" -ge 2 ] || { echo "needs at least two cores" >&2; exit 1; }

cargo build --release -p tollgate-benches --example pipeline_scaling >&2
BIN=target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/examples/pipeline_scaling

one=(); two=()
echo "| cores | run |"
echo "|---|---|"
for _ in $(seq 1 "$ROUNDS"); do
    line=$(taskset -c 0 "$BIN" "$REQUESTS" "$TASKS"); echo "| 1 | $line |"
    one+=("$(sed -E 's/.*req\/s=([0-9]+).*/\1/' <<<"$line")")
    line=$(taskset -c 0,1 "$BIN" "$REQUESTS" "$TASKS"); echo "| 2 | $line |"
    two+=("$(sed -E 's/.*req\/s=([0-9]+).*/\1/' <<<"$line")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m1=$(median "${one[@]}"); m2=$(median "${two[@]}")
awk -v a="$m1" -v b="$m2" 'BEGIN { printf "\nmedian req/s: one core %d, two cores %d, ratio %.2f\n", a, b, b / a }'
