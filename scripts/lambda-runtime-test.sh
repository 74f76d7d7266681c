#!/usr/bin/env bash
# The real Lambda runtime loop, locally: the function binaries run against
# `cargo lambda watch --only-lambda-apis` (the Runtime API emulator; the binaries are
# built here and started by this script, one process per function, as Lambda starts a
# bootstrap), against DynamoDB Local and the S3 emulator (and its KMS: the export
# functions sign), and `cargo lambda invoke` sends each tests/events fixture; the expected
# status is the file name's prefix (for the authorizer: allow or deny, its keys
# fetched over HTTP from a loopback server of tests/fixtures/authorizer). Needs the
# services (scripts/test.sh starts them).
# Ends with one "lambda runtime: N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
tools=$(bash scripts/tools.sh lambda) || exit 1
export PATH="$tools:$PATH"
[ -f .services/env ] || { echo "start the services first: scripts/test-services.sh start" >&2; exit 1; }
# shellcheck disable=SC1091
source .services/env
py=.services/venv/bin/python
suffix=$(date +%s)$RANDOM
table="lambda-runtime-$suffix"
bucket="lambda-runtime-$suffix"
cargo build -q -p directory --features aws || exit 1
# Every function, from the route table (tests hold it equal to functions/*/).
mapfile -t rows < <(target/debug/directory routes)
functions=(); scheduled=" "; streams=" "; authorizers=" "; deliverers=" "
for row in "${rows[@]}"; do
  set -- $row
  functions+=("$1")
  [ "$2" = schedule ] && scheduled+="$1 "
  [ "$2" = stream ] && streams+="$1 "
  [ "$2" = authorizer ] && authorizers+="$1 "
  [ "$2" = events ] && deliverers+="$1 "
done
target/debug/directory --store dynamodb --table "$table" create-table >/dev/null || exit 1
target/debug/directory --store dynamodb --table "$table" import data/demo.json 2>/dev/null || exit 1
$py -c "import boto3,sys; boto3.client('s3').create_bucket(Bucket=sys.argv[1])" "$bucket" || exit 1
# The export functions sign with a KMS key, as deployed (template.yaml).
signing_key=$($py -c "import boto3; print(boto3.client('kms').create_key(KeySpec='ECC_NIST_P256', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId'])") || exit 1
# The Trust Anchor signs with its own key (template.yaml: FederationSigningKey).
federation_key=$($py -c "import boto3; print(boto3.client('kms').create_key(KeySpec='ECC_NIST_P256', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId'])") || exit 1
# Build the functions first so the emulator starts them without compiling on the clock.
cargo build -q $(printf -- '-p %s ' "${functions[@]}") || exit 1

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
# The authorizer's issuer keys, served over loopback HTTP (the only plain-HTTP
# source the authorizer accepts).
jwks_port=$(free_port)
log=$(mktemp)
watch_pid=""; function_pids=()
cleanup() {
  for pid in "${function_pids[@]}"; do kill "$pid" 2>/dev/null; done
  [ -n "$watch_pid" ] && { kill "$watch_pid" 2>/dev/null; pkill -P "$watch_pid" 2>/dev/null; }
  kill "$jwks_pid" 2>/dev/null
  wait $watch_pid "$jwks_pid" "${function_pids[@]}" 2>/dev/null; rm -f "$log"
}
trap cleanup EXIT
$py -m http.server "$jwks_port" --bind 127.0.0.1 --directory tests/fixtures/authorizer >/dev/null 2>&1 &
jwks_pid=$!
# The functions are not default workspace members (`cargo run --release` at the root
# builds the local CLI alone, without the functions' features), so the emulator does not
# start them with `cargo run --bin`: each runs as its built binary, as Lambda runs a
# bootstrap, polling the emulator's Runtime API at its own path.
cargo lambda watch --only-lambda-apis --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" >"$log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 240); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$watch_pid" 2>/dev/null || { echo "cargo lambda watch died:"; cat "$log"; exit 1; }
  sleep 0.25
done
for fn in "${functions[@]}"; do
  env TABLE_NAME="$table" BUCKET_NAME="$bucket" SIGNING_KEY_ID="$signing_key" FEDERATION_KEY_ID="$federation_key" \
      AWS_EC2_METADATA_DISABLED=true \
      ISSUER=https://auth.directory.example.com AUDIENCE=directory-api MTLS_REQUIRED=true \
      JWKS_URL="http://127.0.0.1:$jwks_port/jwks.json" \
      EVENTS_ISSUER=https://directory.example.com \
      AWS_LAMBDA_FUNCTION_NAME="$fn" AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
      AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt/$fn" \
      "target/debug/$fn" >>"$log" 2>&1 &
  function_pids+=($!)
done

passed=0; failed=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: expected $2, got $3"; fi
}
for fn in "${functions[@]}"; do
  for event in tests/events/"$fn"/*.json; do
    name=$(basename "$event" .json)
    out=$(timeout 180 cargo lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$event" --output-format json 2>&1)
    if [[ $authorizers == *" $fn "* ]]; then
      got=$(echo "$out" | $py -c 'import json,sys; print("allow" if json.load(sys.stdin)["isAuthorized"] else "deny")' 2>/dev/null || echo "$out")
      check "$fn/$name" "${name%%-*}" "$got"
    elif [[ $deliverers == *" $fn "* ]]; then
      # Wakes the delivery; the fixtures' subscriptions made before (the subscriptions
      # function's) have a receiver nobody runs: the run records failed attempts.
      got=$(echo "$out" | $py -c 'import json,sys; d=json.load(sys.stdin); print("ok" if "accepted" in d and "failed" in d else d)' 2>/dev/null || echo "$out")
      check "$fn/$name" ok "$got"
    elif [[ $scheduled == *" $fn "* ]]; then
      got=$(echo "$out" | $py -c 'import json,sys; print(json.load(sys.stdin)["organisations"])' 2>/dev/null || echo "$out")
      check "$fn/$name" 13 "$got"
    elif [[ $streams == *" $fn "* ]]; then
      # The import gave each demo organisation its revision, the PUT fixtures before
      # may have added some: the head is at least 13, and the outbox is left empty
      # (the same event again finds nothing to do).
      got=$(echo "$out" | $py -c 'import json,sys; h=json.load(sys.stdin)["head"]; print("ok" if h >= 13 else h)' 2>/dev/null || echo "$out")
      check "$fn/$name" ok "$got"
      out=$(timeout 180 cargo lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$event" --output-format json 2>&1)
      got=$(echo "$out" | $py -c 'import json,sys; d=json.load(sys.stdin); print("idle" if d["revisions"] == 0 and d["settled"] == 0 else d)' 2>/dev/null || echo "$out")
      check "$fn/$name again" idle "$got"
    else
      got=$(echo "$out" | $py -c 'import json,sys; print(json.load(sys.stdin)["statusCode"])' 2>/dev/null || echo "$out")
      check "$fn/$name" "${name%%-*}" "$got"
    fi
  done
done
if [ "$failed" -gt 0 ]; then echo "--- cargo lambda watch and function log"; tail -50 "$log"; fi
echo "lambda runtime: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
