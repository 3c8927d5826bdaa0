#!/usr/bin/env bash
# The deployable artefacts: `cargo lambda build --release` for every Rust function in
# template.yaml, each leaving target/lambda/<binary>/bootstrap (what `sam build` zips for
# rust-cargolambda). cargo-lambda comes from PyPI (it brings Zig, its cross-linker).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-lambda >/dev/null 2>&1; then
    echo "installing cargo-lambda (PyPI) for the release builds" >&2
    python3 -m pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2
fi

# The functions template.yaml deploys (the test-only ones are not shipped).
FUNCTIONS=(hello profile orders notifications gateway-function jwt-authorizer)
args=()
for f in "${FUNCTIONS[@]}"; do args+=(-p "$f"); done
cargo lambda build --release "${args[@]}" "$@"
ls -l target/lambda/*/bootstrap >&2
