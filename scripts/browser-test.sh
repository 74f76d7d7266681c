#!/usr/bin/env bash
# The participants explorer in a real headless Chromium (Selenium driving the
# distribution's chromium and chromium-driver, installed on first use by
# scripts/tools.sh browser): the local server with the demo data, stopped by PID on
# every path. Ends with "browser: N passed, N failed", or "browser: skipped (reason)"
# when the browser cannot be installed here (counted as skipped, never as passed).
set -uo pipefail
cd "$(dirname "$0")/.."
reason=$(mktemp)
tools=$(bash scripts/tools.sh browser 2>"$reason")
status=$?
if [ "$status" -eq 3 ]; then
  echo "browser: skipped ($(tail -1 "$reason"))"; rm -f "$reason"; exit 0
fi
cat "$reason" >&2; rm -f "$reason"
[ "$status" -eq 0 ] || exit 1
# shellcheck source=scripts/local-server.sh
source scripts/local-server.sh
start_local_server browser || exit 1
"$tools/python" tests/browser/explorer_test.py "$base" "$(command -v chromium)" "$(command -v chromedriver)" "$data_dir"
