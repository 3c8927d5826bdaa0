#!/usr/bin/env bash
# The whole test suite, as the README documents it. Builds the binaries the end-to-end tests
# spawn, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --workspace --bins
cargo test --workspace "$@"
