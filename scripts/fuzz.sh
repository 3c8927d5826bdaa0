#!/usr/bin/env bash
# Fuzz the VTL parser and evaluator for a bounded time (default 60 s; `scripts/fuzz.sh 600` for
# longer). Seeds come from the VTL corpus in tests/fixtures/vtl. Installs cargo-fuzz into
# target/tools on first use. Runs on the stable toolchain without a sanitizer (the code is safe
# Rust; a panic, stack overflow, runaway loop or memory blow-up is what it looks for). A crash
# fails the run and leaves the input under gateway/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
TOOLS=$PWD/target/tools
if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    echo "installing cargo-fuzz (crates.io) into $TOOLS" >&2
    cargo install --quiet --locked cargo-fuzz@0.13.2 --root "$TOOLS"
fi
CORPUS=$PWD/target/fuzz-corpus/vtl
mkdir -p "$CORPUS"
for f in tests/fixtures/vtl/*.case; do
    awk '/^--- template/{f=1;next} /^--- /{f=0} f' "$f" > "$CORPUS/seed-$(basename "$f" .case)"
done
cd gateway/fuzz
LOG=$(mktemp)
if PATH="$TOOLS/bin:$PATH" cargo fuzz run --sanitizer none vtl "$CORPUS" -- \
    -max_total_time="$SECONDS_TO_RUN" -max_len=1024 -timeout=10 -rss_limit_mb=2048 >"$LOG" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$LOG" >&2 || true
    rm -f "$LOG"
else
    tail -40 "$LOG" >&2
    echo "the VTL fuzzer failed: a crashing input is under gateway/fuzz/artifacts/vtl/" >&2
    rm -f "$LOG"
    exit 1
fi
