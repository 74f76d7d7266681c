# Sourced by the test tiers that need the local server (fuzz.sh, browser-test.sh):
#   start_local_server LABEL
# builds the debug CLI, serves the demo data from a fresh data dir on a free port, and
# sets $base (its URL) and $data_dir; on exit the server is stopped by PID and the
# directory removed.
start_local_server() {
  cargo build -q -p directory || return 1
  local work
  work=$(mktemp -d)
  data_dir="$work/data"
  target/debug/directory --data-dir "$data_dir" serve --port 0 >"$work/serve.log" 2>/dev/null &
  local pid=$!
  # shellcheck disable=SC2064  # expand now: the values are fixed for this server
  trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$work'" EXIT
  for _ in $(seq 1 300); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1)
  [ -n "$base" ] || { echo "$1: server did not start"; return 1; }
}
