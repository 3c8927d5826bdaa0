#!/usr/bin/env bash
# The deployable artefacts: `cargo lambda build --release` for every Rust function in
# template.yaml, each leaving target/lambda/<binary>/bootstrap (what `sam build` zips for
# rust-cargolambda). cargo-lambda and Zig, its cross-linker, come from PyPI into a virtual
# environment under target/tools. Not part of the test command (a release build of the
# deployed functions takes about twelve minutes on two cores); the test command packages the
# same functions from its own build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=$PWD/target/tools/venv-package
if [ ! -x "$VENV/bin/cargo-lambda" ]; then
    echo "installing cargo-lambda and Zig (PyPI) into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2
fi
export PATH="$VENV/bin:$PATH"

# The functions template.yaml deploys (the test-only ones are not shipped).
FUNCTIONS=(hello profile orders notifications gateway-function jwt-authorizer)
args=()
for f in "${FUNCTIONS[@]}"; do args+=(-p "$f"); done
cargo lambda build --release "${args[@]}" "$@"
ls -l target/lambda/*/bootstrap >&2
