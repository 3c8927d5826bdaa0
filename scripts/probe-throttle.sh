#!/usr/bin/env bash
# False throttling, probed as the hardening issue describes it: REPLICAS tollgate processes share
# one usage store; CLIENTS paced clients send requests with one API key at SHARE (default 0.3) of
# the key's rate for SECONDS, spread over the replicas. Well under the rate, every answer should
# be 200; the probe prints, per store, how many of the requests were throttled.
#   scripts/probe-throttle.sh [memory|redis|dynamodb ...]   (default: all three)
# RATE and BURST set the key's limits (default 200/20). Loopback only; everything started here
# stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

RATE=${RATE:-200}
BURST=${BURST:-20}
SHARE=${SHARE:-0.3}
SECONDS_=${SECONDS_:-10}
REPLICAS=${REPLICAS:-3}
CLIENTS=${CLIENTS:-12}
STORES=("$@")
[ ${#STORES[@]} -gt 0 ] || STORES=(memory redis dynamodb)

need redis-server redis-server
release_tollgate
bench_workspace
cat > "$WORK/keys.json" <<JSON
{
  "keys": [{"id": "probe", "name": "probe", "value": "probekey000000000000000001", "plans": ["probe"]}],
  "plans": [{"id": "probe", "apiStages": [{"api": "usage-bench", "stage": "Prod"}],
             "throttle": {"rateLimit": $RATE, "burstLimit": $BURST}}]
}
JSON

# Sets ARGS to the store's flags, starting its server once (not in a subshell, so the server
# is in PIDS and stopped on exit).
store_args() {
    case $1 in
        memory) ARGS=(--usage-store memory) ;;
        redis)
            if [ -z "${REDIS_PORT:-}" ]; then
                REDIS_PORT=$(free_port)
                redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
                PIDS+=($!)
                sleep 0.5
            fi
            ARGS=(--usage-store redis --redis-url "redis://127.0.0.1:$REDIS_PORT" --redis-prefix "probe-$RANDOM:") ;;
        dynamodb)
            if [ -z "${DDB_PORT:-}" ]; then
                DDB_PORT=$(free_port)
                dynamodb_local "$DDB_PORT"
            fi
            ARGS=(--usage-store dynamodb --dynamodb-endpoint "http://127.0.0.1:$DDB_PORT" --dynamodb-table "probe-$RANDOM") ;;
        *) echo "unknown store $1" >&2; exit 2 ;;
    esac
}

echo "| store | sent | throttled | other |"
echo "|---|---|---|---|"
for store in "${STORES[@]}"; do
    store_args "$store"
    ports=()
    replica_pids=()
    for _ in $(seq 1 "$REPLICAS"); do
        port=$(free_port)
        TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api --account-throttle off --openapi openapi/usage-bench.yaml \
            --api-keys "$WORK/keys.json" --no-watch --state-dir "$WORK/state-$port" -p "$port" "${ARGS[@]}" \
            >/dev/null 2>"$WORK/$store-$port.err" &
        replica_pids+=($!)
        ports+=("$port")
        # One at a time: the first creates the DynamoDB table, the others find it.
        for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/open" >/dev/null 2>&1 && break; sleep 0.1; done
        curl -sf "http://127.0.0.1:$port/open" >/dev/null || { cat "$WORK/$store-$port.err" >&2; exit 1; }
    done
    python3 - "$store" "$RATE" "$SHARE" "$SECONDS_" "$CLIENTS" "${ports[@]}" <<'PY'
import http.client, sys, threading, time
store, rate, share, seconds, clients = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
ports = [int(p) for p in sys.argv[6:]]
interval = clients / (rate * share)  # each client's spacing, so all of them together send rate*share
counts = {"sent": 0, "throttled": 0, "other": 0}
lock = threading.Lock()
def client(i):
    conn = http.client.HTTPConnection("127.0.0.1", ports[i % len(ports)], timeout=10)
    start = time.monotonic() + interval * i / clients  # staggered, then evenly paced
    n = 0
    while True:
        due = start + n * interval
        if due - start > seconds:
            return
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            conn.request("GET", "/metered", headers={"x-api-key": "probekey000000000000000001"})
            r = conn.getresponse()
            r.read()
            status = r.status
        except OSError:
            conn.close()
            status = None
        with lock:
            counts["sent"] += 1
            if status == 429:
                counts["throttled"] += 1
            elif status != 200:
                counts["other"] += 1
        n += 1
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
print(f"| {store} | {counts['sent']} | {counts['throttled']} | {counts['other']} |")
PY
    for p in "${replica_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${replica_pids[@]}" 2>/dev/null || true
done
