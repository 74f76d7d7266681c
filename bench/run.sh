#!/usr/bin/env bash
# Benchmarks, on demand (never in CI): prints figures, asserts nothing.
# Starts DynamoDB Local and the S3 emulator like the tests do, stops them at the end.
#   bash bench/run.sh            all benchmarks
#   bash bench/run.sh export     one of: latency http authorizer import export explorer init size feed events federation scale
# (scale: 100,000 organisations on DynamoDB Local + S3 and the embedded store, about 40
# minutes; not part of all)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
if [[ $what == all || $what == size ]]; then
  echo "== arm64 bootstraps, profile lambda (scripts/build-lambdas.sh), against a hello-world lambda_http"
  bash scripts/build-lambdas.sh
  export PATH="$(bash scripts/tools.sh lambda):$PATH"
  cargo lambda build -q --profile lambda --arm64 -p directory-bench --bin hello-lambda --lambda-dir target/lambda-hello
  echo "== the same bootstraps against a hello-world lambda_http built the same way"
  python3 scripts/bootstrap-sizes.py --baseline target/lambda-hello/hello-lambda/bootstrap target/lambda/*/bootstrap
  [[ $what == size ]] && exit 0
fi
bash scripts/test-services.sh start
trap 'bash scripts/test-services.sh stop' EXIT
source .services/env
# Every function package (functions/*/, one per route-table row).
functions=()
for dir in functions/*/; do functions+=(-p "$(basename "$dir")"); done
cargo build -q --release -p directory --features aws -p directory-bench "${functions[@]}"
bin=target/release
work=$(mktemp -d)
py=.services/venv/bin/python
rss() { /usr/bin/time -f "%e s wall, peak RSS %M KiB" "$@"; }

if [[ $what == all || $what == latency ]]; then
  echo "== handler latency and store calls (in process)"
  $bin/bench-latency
fi
if [[ $what == all || $what == feed ]]; then
  echo "== change feed: write contention, commit -> visible, bytes to stay current (in process)"
  $bin/bench-feed
fi
if [[ $what == all || $what == events ]]; then
  echo "== change events: commit -> delivered with 1 and 100 subscribers, SETs/s, signatures per revision (in process)"
  $bin/bench-events
fi
if [[ $what == all || $what == federation ]]; then
  echo "== OpenID Federation: fetch, list, resolve on the local server at 10,000 organisations; signatures per hour"
  $bin/bench-federation $bin/directory $bin/gen-orgs
fi
if [[ $what == all || $what == http ]]; then
  echo "== local server"
  $bin/bench-http $bin/directory 10
fi
if [[ $what == all || $what == authorizer ]]; then
  echo "== authorizer decision (keys cached after the first)"
  $bin/bench-authorizer $bin/directory
fi
if [[ $what == all || $what == import ]]; then
  echo "== import of 10,000 generated organisations"
  $bin/gen-orgs 10000 > "$work/orgs.json"
  ls -l "$work/orgs.json" | awk '{print "file size: " $5 " bytes"}'
  rss $bin/directory --data-dir "$work/embedded" import "$work/orgs.json" 2>&1 | tail -2
  rss $bin/directory --store dynamodb --table bench-import create-table >/dev/null
  rss $bin/directory --store dynamodb --table bench-import import "$work/orgs.json" 2>&1 | tail -2
  echo "== what DynamoDB Local accepts from a client that only writes (the floor under the import above)"
  $py bench/import_floor.py 1000
  echo "== import --participants of the 10,000-organisation export (what an ecosystem publishes)"
  $bin/directory --data-dir "$work/embedded" export --out "$work/published" >/dev/null 2>&1
  ls -l "$work/published/participants" | awk '{print "file size: " $5 " bytes"}'
  rss $bin/directory --data-dir "$work/mirror" import --participants "$work/published/participants" 2>&1 | tail -3
  rss $bin/directory --store dynamodb --table bench-participants create-table >/dev/null
  rss $bin/directory --store dynamodb --table bench-participants import --participants "$work/published/participants" 2>&1 | tail -3
fi
if [[ $what == all || $what == export ]]; then
  for n in 1000 10000; do
    echo "== export of $n organisations (DynamoDB Local -> S3 emulator), against the Python/boto3 baseline"
    $bin/bench-export load "bench-export-$n" "$n"
    rss $bin/bench-export run "bench-export-$n" "bench-rust-$n" 2>&1
    rss .services/venv/bin/python bench/baseline_export.py "bench-export-$n" "bench-python-$n" 2>&1
  done
fi
if [[ $what == scale ]]; then
  n=100000
  echo "== $n organisations: load and sequence, export against the Python/boto3 baseline, the export route (DynamoDB Local -> S3 emulator)"
  rss $bin/bench-export load "bench-scale-$n" "$n"
  rss $bin/bench-export run "bench-scale-$n" "bench-scale-rust" 2>&1
  rss .services/venv/bin/python bench/baseline_export.py "bench-scale-$n" "bench-scale-python" 2>&1
  $bin/bench-export route "bench-scale-$n" "bench-scale-rust"
  echo "== import of $n generated organisations, embedded store"
  $bin/gen-orgs "$n" > "$work/scale.json"
  ls -l "$work/scale.json" | awk '{print "file size: " $5 " bytes"}'
  rss $bin/directory --data-dir "$work/scale" import "$work/scale.json" 2>&1 | tail -2
  rss $bin/directory --data-dir "$work/scale" export --out "$work/scale-out" 2>&1 | tail -1
fi
if [[ $what == all || $what == explorer ]]; then
  echo "== participants explorer over the 10,000-organisation file (headless Chromium)"
  tools=$(bash scripts/tools.sh browser)
  [ -f "$work/orgs.json" ] || $bin/gen-orgs 10000 > "$work/orgs.json"
  [ -d "$work/embedded" ] || $bin/directory --data-dir "$work/embedded" import "$work/orgs.json" >/dev/null 2>&1
  rm -rf "$work/embedded/exports"
  $bin/directory --data-dir "$work/embedded" serve --port 0 > "$work/serve.log" 2>/dev/null &
  serve_pid=$!
  for _ in $(seq 1 600); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1)
  ls -l "$work/embedded/exports/participants" | awk '{print "file size: " $5 " bytes"}'
  "$tools/python" bench/explorer.py "$base" 3 || true
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
fi
if [[ $what == all || $what == init ]]; then
  echo "== init duration (x86_64 release builds; the arm64 ones cannot run here), with the services up"
  $bin/directory --store dynamodb --table bench-init create-table >/dev/null
  $py -c "import boto3; boto3.client('s3').create_bucket(Bucket='bench-init')" 2>/dev/null || true
  key=$($py -c "import boto3; print(boto3.client('kms').create_key(KeySpec='ECC_NIST_P256', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId'])")
  TABLE_NAME=bench-init BUCKET_NAME=bench-init SIGNING_KEY_ID=$key $bin/bench-init $bin
fi
rm -rf "$work"
