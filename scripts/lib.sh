# Shared by the scripts.

# Install a Debian package: apt_install PACKAGE [WHY]
apt_install() {
    echo "installing $1 (Debian package)${2:+ $2}" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$1" >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq "$1" >/dev/null; fi
}

# Install the package that provides a command, if the command is missing: need COMMAND PACKAGE [WHY]
need() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2" "${3:-}"
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Benchmarks: run wrk against URL and print a markdown row `| NAME | req/s | p50 | p99 |`:
# wrk_row NAME URL [WRK ARGS...]. THREADS, CONNECTIONS and DURATION set the load; with OUT set,
# wrk's own report is kept as $OUT/NAME.txt. A row counts only successful answers: when wrk saw
# any answer that is not 2xx/3xx, or any socket error, the row is not printed and the script
# fails, naming what went wrong (a throttled or broken target is not a fast one).
wrk_row() {
    local name=$1 url=$2 out
    shift 2
    out=$(wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-32}" -d"${DURATION:-10}s" --latency "$@" "$url")
    if [ -n "${OUT:-}" ]; then printf '%s\n' "$out" > "$OUT/$name.txt"; fi
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' <<<"$out"; then
        echo "wrk_row $name: refusing the row, wrk saw failures:" >&2
        grep -E 'requests in|Non-2xx or 3xx responses|Socket errors' <<<"$out" >&2
        return 1
    fi
    printf '| %s | %s | %s | %s |\n' "$name" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" \
        "$(awk '$1=="99%" {print $2}' <<<"$out")"
}

# Benchmarks: a scratch directory ($WORK) and a list of background processes ($PIDS), removed
# and stopped on exit together with any nginx that nginx_start started.
bench_workspace() {
    WORK=$(mktemp -d)
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -f "$WORK/nginx.pid" ]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
    rm -rf "$WORK"
}

# Benchmarks: start Debian's nginx (one worker, no access log) with the given server blocks.
nginx_start() {
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
$1
}
CONF
    "$(command -v nginx)" -c "$WORK/nginx.conf" -p "$WORK" -g 'daemon on;'
}
