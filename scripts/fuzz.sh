#!/usr/bin/env bash
# Fuzz the VTL parser and evaluator for a bounded time (default 60 s; `scripts/fuzz.sh 600` for
# longer) with libFuzzer. Seeds come from the VTL corpus in tests/fixtures/vtl. The target is
# built the way cargo-fuzz builds it (sanitizer coverage, `--cfg fuzzing`), with plain cargo on
# the stable toolchain and no sanitizer: the code is safe Rust, and a panic, stack overflow,
# runaway loop or memory blow-up is what it looks for. A crash fails the run and leaves the
# input under gateway/fuzz/artifacts/vtl/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
TRIPLE=$(rustc -vV | awk '/^host:/ {print $2}')
# cargo-fuzz's flags for `--sanitizer none`; the explicit target keeps them off build scripts.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cdebug-assertions -Ccodegen-units=1"
unset CARGO_BUILD_TARGET CARGO_INCREMENTAL
cargo build --quiet --release --manifest-path gateway/fuzz/Cargo.toml --bin vtl --target "$TRIPLE"
FUZZER=gateway/fuzz/target/$TRIPLE/release/vtl

CORPUS=$PWD/target/fuzz-corpus/vtl
mkdir -p "$CORPUS" gateway/fuzz/artifacts/vtl
for f in tests/fixtures/vtl/*.case; do
    awk '/^--- template/{f=1;next} /^--- /{f=0} f' "$f" > "$CORPUS/seed-$(basename "$f" .case)"
done
LOG=$(mktemp)
if "$FUZZER" "$CORPUS" -artifact_prefix=gateway/fuzz/artifacts/vtl/ -max_total_time="$SECONDS_TO_RUN" \
    -max_len=1024 -timeout=10 -rss_limit_mb=2048 >"$LOG" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$LOG" >&2 || true
    rm -f "$LOG"
else
    tail -40 "$LOG" >&2
    echo "the VTL fuzzer failed: a crashing input is under gateway/fuzz/artifacts/vtl/" >&2
    rm -f "$LOG"
    exit 1
fi
