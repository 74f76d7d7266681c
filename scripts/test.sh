#!/usr/bin/env bash
# The test command (README, .ci/run): starts DynamoDB Local and the S3 emulator
# (installing them on first use), runs every test tier, and stops the services by
# PID whether the tests pass or fail. Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-services.sh start
trap 'bash scripts/test-services.sh stop' EXIT
# shellcheck disable=SC1091
source .services/env
log=$(mktemp)
status=0
cargo test --workspace --all-features --lib --bins --tests --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
