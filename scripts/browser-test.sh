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
cargo build -q -p directory || exit 1
dir=$(mktemp -d)
out=$(mktemp)
target/debug/directory --data-dir "$dir" serve --port 0 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir" "$out"' EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$out" && break; sleep 0.1; done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -1)
[ -n "$base" ] || { echo "browser: server did not start"; exit 1; }
"$tools/python" tests/browser/explorer_test.py "$base" "$(command -v chromium)" "$(command -v chromedriver)"
