#!/usr/bin/env bash
# Start-up and memory, as the performance issue sets its goals:
#   1. start-up of an API with ROUTES (default 10,000) MOCK routes: from exec to the first 200
#      answer on the last route, RUNS times (median printed with every sample);
#   2. idle RSS of that process, and of one serving openapi/bench.yaml;
#   3. RSS after a soak: wrk with SOAK_CONNECTIONS (default 500) connections for SOAK_SECONDS
#      (default 60) on the MOCK route, then RSS once the load has stopped (after 5 s).
# Every wrk row must be all 2xx (scripts/lib.sh). TOLLGATE=PATH measures another build.
# Loopback only; everything stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ROUTES=${ROUTES:-10000}
RUNS=${RUNS:-5}
SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-500}
need wrk wrk
release_tollgate
BIN=$TOLLGATE_BIN
bench_workspace

python3 - "$ROUTES" > "$WORK/routes.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("openapi: 3.0.1\ninfo: {title: many-routes, version: '1'}\npaths:")
for i in range(n):
    print(f"  /r{i}/{{id}}:\n    get:\n      responses: {{}}\n      x-amazon-apigateway-integration:\n"
          "        type: mock\n        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n"
          "        responses: {default: {statusCode: '200'}}")
PY

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# Milliseconds from exec until the last route answers 200, polling every millisecond.
start_ms() {
    local port=$1 file=$2
    python3 - "$BIN" "$port" "$file" "$((ROUTES - 1))" <<'PY'
import http.client, os, subprocess, sys, time
binary, port, spec, last = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
env = dict(os.environ, TOLLGATE_LOG="warn")
t0 = time.monotonic()
p = subprocess.Popen([binary, "start-api", "--openapi", spec, "--no-watch", "-p", port],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
try:
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=1)
            c.request("GET", f"/r{last}/x")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() - t0 > 30:
            sys.exit("no answer within 30 s")
        time.sleep(0.001)
    print(f"{(time.monotonic() - t0) * 1000:.0f}")
finally:
    p.terminate()
    p.wait()
PY
}

echo "| start-up of $ROUTES routes, exec to first 200 (ms) |"
echo "|---|"
samples=()
for _ in $(seq 1 "$RUNS"); do samples+=("$(start_ms "$(free_port)" "$WORK/routes.yaml")"); done
median=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "| median $median (samples: ${samples[*]}) |"

echo
echo "| process | RSS (MB) |"
echo "|---|---|"
PORT=$(free_port)
TOLLGATE_LOG=warn "$BIN" start-api --openapi "$WORK/routes.yaml" --no-watch -p "$PORT" >/dev/null 2>&1 &
BIG=$!
PIDS+=("$BIG")
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/r0/x" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
awk -v k="$(rss_kb "$BIG")" -v n="$ROUTES" 'BEGIN { printf "| idle, %d MOCK routes | %.1f |\n", n, k / 1024 }'
kill "$BIG"

PORT=$(free_port)
TOLLGATE_LOG=warn "$BIN" start-api --account-throttle off --openapi openapi/bench.yaml --no-watch \
    --stage-variable "upstream=http://127.0.0.1:9" -p "$PORT" >/dev/null 2>&1 &
SMALL=$!
PIDS+=("$SMALL")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/mock" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
IDLE=$(rss_kb "$SMALL")
awk -v k="$IDLE" 'BEGIN { printf "| idle, openapi/bench.yaml | %.1f |\n", k / 1024 }'
ROW=$(THREADS=2 CONNECTIONS=$SOAK_CONNECTIONS DURATION=$SOAK_SECONDS wrk_row soak "http://127.0.0.1:$PORT/mock")
PEAK=$(rss_kb "$SMALL")
sleep 5
AFTER=$(rss_kb "$SMALL")
awk -v k="$PEAK" -v c="$SOAK_CONNECTIONS" -v s="$SOAK_SECONDS" 'BEGIN { printf "| right after %d s with %d connections | %.1f |\n", s, c, k / 1024 }'
awk -v k="$AFTER" -v i="$IDLE" 'BEGIN { printf "| 5 s after the load stopped | %.1f (%.2fx idle) |\n", k / 1024, k / i }'
echo
echo "| soak | req/s | p50 | p99 |"
echo "|---|---|---|---|"
echo "$ROW"
