#!/usr/bin/env bash
# The test command (README, .ci/run): starts DynamoDB Local and the S3 emulator
# (installing them on first use), runs every cargo test tier, then the Lambda
# functions in the real runtime loop under `cargo lambda watch`, then the bounded
# schemathesis run against openapi.yaml, then the explorer page in headless Chromium,
# then the Trust Anchor against an independent OpenID Federation library (Node), and
# stops the
# services by PID whether the tests pass or fail. Ends with one "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-services.sh start
trap 'bash scripts/test-services.sh stop' EXIT
# shellcheck disable=SC1091
source .services/env
log=$(mktemp)
status=0
cargo test --workspace --all-features --lib --bins --tests --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
bash scripts/lambda-runtime-test.sh 2>&1 | tee -a "$log" || status=1
bash scripts/fuzz.sh 2>&1 | tee -a "$log" || status=1
bash scripts/browser-test.sh 2>&1 | tee -a "$log" || status=1
bash scripts/federation-test.sh 2>&1 | tee -a "$log" || status=1
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^lambda runtime:/ { p += $3; f += $5 }
     /^fuzz:/ { p += $2; f += $4 }
     /^browser: [0-9]/ { p += $2; f += $4 }
     /^federation: [0-9]/ { p += $2; f += $4 }
     /^browser: skipped/ { s += 1 }
     END { printf "tests: %d passed, %d failed%s\n", p, f, (s ? sprintf(", %d skipped (see the browser line)", s) : "") }' "$log"
rm -f "$log"
exit "$status"
