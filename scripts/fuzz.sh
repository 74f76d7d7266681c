#!/usr/bin/env bash
# Bounded fuzzing of the local server with schemathesis against openapi.yaml: every
# operation, with an admin token and with an organisation token, every check on
# (FUZZ_CHECKS to choose): no 5xx, documented status codes, content types and
# headers, bodies that conform to the schemas, schema-valid requests accepted and
# schema-violating ones refused, so the document says what the server does.
# tests/fuzz/ holds its hooks (a strategy for `format: http-date`) and config.
# Failures print the reproducing request (curl). Ends with one line
# "fuzz: N passed, N failed" (one run per token).
set -uo pipefail
cd "$(dirname "$0")/.."
tools=$(bash scripts/tools.sh lint) || exit 1
if [ ! -x "$tools/schemathesis" ]; then
  echo "fuzz: installing schemathesis" >&2
  "$tools/pip" install --quiet --disable-pip-version-check "schemathesis>=4,<5" >&2 || exit 1
fi
examples=${FUZZ_EXAMPLES:-25}
# shellcheck source=scripts/local-server.sh
source scripts/local-server.sh
start_local_server fuzz || exit 1
org=c5de3366-d2fb-5b13-9457-76244d8fd242   # Banco Aurora (demo data)
admin=$(target/debug/directory --data-dir "$data_dir" token --org "$org" --scope directory:admin)
member=$(target/debug/directory --data-dir "$data_dir" token --org "$org" --scope "directory:read directory:write")
checks=${FUZZ_CHECKS:-all}
passed=0; failed=0
for who in admin member; do
  token=${!who}
  echo "== schemathesis as $who ($examples examples per operation)"
  if PYTHONPATH=tests/fuzz SCHEMATHESIS_HOOKS=hooks "$tools/schemathesis" --config-file tests/fuzz/schemathesis.toml \
      run "$base/openapi.yaml" --url "$base" -H "Authorization: Bearer $token" \
      --checks "$checks" --max-examples "$examples" --seed 20261128 --workers 1 \
      --generation-allow-x00 false --suppress-health-check all --warnings off --no-color; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
