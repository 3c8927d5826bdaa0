#!/usr/bin/env bash
# Python and Node.js functions: the first response after `start-api` (a fresh process, cold) and
# warm round trips, for tollgate's built-in runtime clients and, side by side in the same run,
# AWS's awslambdaric for Python (and aws-lambda-ric for Node.js with TOLLGATE_NODE_RIC set); and
# the first response of functions whose dependencies are already installed. Loopback only; bounded by COLD_SAMPLES starts and DURATION
# seconds of load per row; everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
COLD_SAMPLES=${COLD_SAMPLES:-5}
OUT=${OUT:-bench-out/runtimes}
PYTHON=${TOLLGATE_PYTHON:-python3}

command -v wrk >/dev/null || apt_install wrk
"$PYTHON" -c 'import awslambdaric' 2>/dev/null || "$PYTHON" -m pip install --quiet --disable-pip-version-check awslambdaric==4.2.2
release_tollgate
TOLLGATE=$(realpath "$TOLLGATE_BIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
# A user's project folder: the runtimes fixture, started from inside it.
cp -r tests/fixtures/runtimes "$WORK/project"
# AWS's Node.js client, where a user has it: node_modules beside the template.
if [ -n "${TOLLGATE_NODE_RIC:-}" ]; then ln -s "$TOLLGATE_NODE_RIC" "$WORK/project/node_modules"; fi
cd "$WORK/project"

PORT=$(free_port)
start() {
    TOLLGATE_LOG=warn TOLLGATE_PYTHON=$PYTHON "$TOLLGATE" start-api --no-watch --account-throttle off -p "$PORT" "$@" \
        >/dev/null 2>>"$OUT/tollgate.err" &
    PIDS+=($!)
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.05; done
    echo "tollgate did not start" >&2; return 1
}
stop() { kill "${PIDS[-1]}" 2>/dev/null || true; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'; }

# The first response of a fresh tollgate: spawning the interpreter, loading the client and the
# handler, and one invocation. Any answer but 200 fails the run.
cold() {
    local path=$1; shift
    local samples=()
    for _ in $(seq 1 "$COLD_SAMPLES"); do
        start "$@"
        local t
        t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT$path")
        [ "${t%% *}" = 200 ] || { echo "cold $path answered ${t%% *}" >&2; exit 1; }
        samples+=("$(awk -v s="${t#* }" 'BEGIN {printf "%.0f", s * 1000}')")
        stop
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# Assigned first: a failed sample then stops the script (set -e) instead of printing a blank.
PY_BUILTIN=$(cold /py)
PY_OFFICIAL=$(cold /py --runtime-client official)
NODE_BUILTIN=$(cold /node)
# AWS's Node.js client when it is installed (npm aws-lambda-ric, a native build that needs cmake):
# TOLLGATE_NODE_RIC names the node_modules folder it is in.
NODE_OFFICIAL=
if [ -n "${TOLLGATE_NODE_RIC:-}" ]; then NODE_OFFICIAL=$(cold /node --runtime-client official); fi
echo "| function | client | cold first response, median of $COLD_SAMPLES (ms) |"
echo "|---|---|---|"
echo "| Python (/py) | built-in | $PY_BUILTIN |"
echo "| Python (/py) | awslambdaric | $PY_OFFICIAL |"
echo "| Node.js (/node) | built-in | $NODE_BUILTIN |"
if [ -n "$NODE_OFFICIAL" ]; then echo "| Node.js (/node) | aws-lambda-ric | $NODE_OFFICIAL |"; fi
# Cold with dependencies cached: the deps project, whose first start installs requirements.txt,
# package.json and the AWS SDK into its .tollgate folder (not timed); then fresh starts that find
# them there.
cp -r "$OLDPWD/tests/fixtures/runtimes-deps" "$WORK/deps"
cd "$WORK/deps"
TOLLGATE_PYTHON=$PYTHON "$TOLLGATE" start-api --no-watch -p "$PORT" >/dev/null 2>>"$OUT/tollgate.err" &
PIDS+=($!)
for _ in $(seq 1 1200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.25; done
stop
PY_DEPS=$(cold /py-sdk)
NODE_DEPS=$(cold /node-sdk)
echo "| Python importing boto3 (/py-sdk), cached | built-in | $PY_DEPS |"
echo "| Node.js importing @aws-sdk/client-sts (/node-sdk), cached | built-in | $NODE_DEPS |"
cd "$WORK/project"
# Warm rows: a short unmeasured run first, so every process the load needs is already started.
warm() { wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$1" >/dev/null; OUT=$OUT wrk_row "$2" "$1"; }
echo
echo "| target | req/s | p50 | p99 |"
echo "|---|---|---|---|"
start --warm-containers EAGER
warm "http://127.0.0.1:$PORT/py" python-builtin-warm
warm "http://127.0.0.1:$PORT/node" node-builtin-warm
stop
start --warm-containers EAGER --runtime-client official
warm "http://127.0.0.1:$PORT/py" python-awslambdaric-warm
if [ -n "$NODE_OFFICIAL" ]; then warm "http://127.0.0.1:$PORT/node" node-aws-lambda-ric-warm; fi
stop
