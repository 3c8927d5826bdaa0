#!/usr/bin/env bash
# Descriptor exhaustion, probed as the hardening issue describes it: SILENT sockets (default
# 12,000) opened against a release tollgate and left silent, then REQUESTS ordinary requests on
# fresh connections, each of which must answer 200. Prints how many did, and how many of the
# silent sockets tollgate closed. Loopback only; the probe ends by itself (every socket is
# closed on exit, and each request waits at most 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

SILENT=${SILENT:-12000}
REQUESTS=${REQUESTS:-100}
release_tollgate
bench_workspace
PORT=$(free_port)
TOLLGATE_LOG=warn "$TOLLGATE_BIN" start-api -t tests/fixtures/e2e/hardening.yaml --skip-build --no-watch \
    -p "$PORT" "$@" >/dev/null 2>"$WORK/tollgate.err" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
python3 - "$PORT" "$SILENT" "$REQUESTS" <<'PY'
import resource, socket, sys, time
port, silent, requests = (int(a) for a in sys.argv[1:4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for _ in range(silent):
    s = socket.create_connection(("127.0.0.1", port))
    held.append(s)
time.sleep(1)
ok = 0
started = time.monotonic()
for _ in range(requests):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"POST /mock HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
    data = b""
    try:
        while chunk := c.recv(4096):
            data += chunk
    except OSError:
        pass
    ok += data.startswith(b"HTTP/1.1 200")
    c.close()
elapsed = time.monotonic() - started
closed = 0
for s in held:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
    s.close()
print(f"| {silent} silent sockets held | {ok}/{requests} requests answered 200 | {elapsed:.2f} s for the requests | {closed} silent sockets closed by tollgate |")
PY
grep -m1 "max-connections" "$WORK/tollgate.err" >&2 || true
