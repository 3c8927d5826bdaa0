#!/usr/bin/env bash
# The whole test suite, as the README documents it. Builds the binaries the end-to-end tests
# spawn, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python handlers run through AWS's runtime interface client, from PyPI.
if ! python3 -c "import awslambdaric" 2>/dev/null; then
    echo "installing awslambdaric (PyPI) for the Python Lambda tests" >&2
    python3 -m pip install --quiet --disable-pip-version-check awslambdaric==4.2.2
fi

cargo build --workspace --bins
cargo test --workspace "$@"
