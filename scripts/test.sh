#!/usr/bin/env bash
# The test command (README, .ci/run): starts DynamoDB Local and the S3 emulator
# (installing them on first use), runs every test tier, and stops the services by
# PID whether the tests pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-services.sh start
trap 'bash scripts/test-services.sh stop' EXIT
# shellcheck disable=SC1091
source .services/env
cargo test --workspace --all-features "$@"
