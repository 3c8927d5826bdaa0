#!/usr/bin/env bash
# Synthesise the CDK app in tests/cdk-app with the aws-cdk and aws-cdk-lib its lock file pins
# (installed under target/tools/cdk) and fail when what `cdk synth` writes differs from the
# committed tests/fixtures/cdk/cdk.out, which the template tests load. With --update, replace
# the committed output instead.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=$PWD/tests/cdk-app
FIXTURE=$PWD/tests/fixtures/cdk/cdk.out
TOOLS=$PWD/target/tools/cdk
mkdir -p "$TOOLS"
if ! cmp -s "$APP/package-lock.json" "$TOOLS/package-lock.json" || [ ! -d "$TOOLS/node_modules/aws-cdk-lib" ]; then
    cp "$APP/package.json" "$APP/package-lock.json" "$TOOLS/"
    (cd "$TOOLS" && npm ci --silent --no-audit --no-fund)
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT" "$OUT.log"' EXIT
# Offline and quiet: no telemetry, no notices, no version check.
export CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=true NODE_PATH="$TOOLS/node_modules"
if ! (cd "$APP" && "$TOOLS/node_modules/.bin/cdk" synth --no-notices --quiet -o "$OUT" >"$OUT.log" 2>&1); then
    cat "$OUT.log" >&2
    echo "cdk synth failed (its output is above)" >&2
    exit 1
fi
# What the tests read: the templates, the asset manifest and the asset folders (tree.json and
# the metadata files hold absolute paths of this machine).
mapfile -t KEEP < <(cd "$OUT" && ls -d ./*.template.json ./*.assets.json manifest.json asset.*)
if [ "${1:-}" = --update ]; then
    rm -rf "$FIXTURE" && mkdir -p "$FIXTURE"
    (cd "$OUT" && cp -r "${KEEP[@]}" "$FIXTURE/")
    echo "updated $FIXTURE" >&2
    exit 0
fi
STATUS=0
for f in "${KEEP[@]}"; do
    diff -r "$FIXTURE/$f" "$OUT/$f" >&2 || STATUS=1
done
for f in "$FIXTURE"/*; do
    [ -e "$OUT/$(basename "$f")" ] || { echo "$f is no longer synthesised" >&2; STATUS=1; }
done
if [ "$STATUS" != 0 ]; then
    echo "cdk synth output differs from tests/fixtures/cdk/cdk.out: run scripts/cdk-synth.sh --update and commit" >&2
fi
exit "$STATUS"
