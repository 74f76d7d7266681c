#!/usr/bin/env bash
# The directory as OpenID Federation Trust Anchor, checked by an independent library
# (@openid-federation/core under Node, installed on first use into
# tests/federation/node_modules from its lock file): the local server with the demo
# data, one of Banco Aurora's authorisation servers turned into a self-managed entity
# on loopback (served by the test itself), stopped by PID on every path. Ends with
# "federation: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null || { echo "federation: node is not installed"; exit 1; }
if [ ! -d tests/federation/node_modules/@openid-federation/core ]; then
  echo "federation: installing @openid-federation/core (npm ci)" >&2
  (cd tests/federation && npm ci --no-audit --no-fund --silent) || exit 1
fi
cargo build -q -p directory || exit 1
work=$(mktemp -d)
pid=
# shellcheck disable=SC2064  # expand now: the directory is fixed for this run
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
data_dir="$work/data"
org=c5de3366-d2fb-5b13-9457-76244d8fd242      # Banco Aurora
hosted=71760b40-a09a-5d03-b042-f6cc147d9f73   # its server with a FederationId only
self=f09c6925-4945-57b5-bb2a-53520fb17261     # its server with a FederationEndpoint
claim=1f34af8a-3d2e-59ad-8d72-64b8c04e5c12    # its PAGTO claim
authority=a2aa96ec-f48b-5767-b62c-f2e981e14f52
leaf_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
leaf="http://127.0.0.1:$leaf_port"
python3 - "$leaf" "$self" "$work/demo.json" <<'PY'
import json, sys
leaf, server, out = sys.argv[1:]
d = json.load(open("data/demo.json"))
for o in d["Organisations"]:
    for a in o.get("AuthorisationServers", []):
        if a["AuthorisationServerId"] == server:
            a["FederationEndpoint"] = leaf
json.dump(d, open(out, "w"))
PY
target/debug/directory --data-dir "$data_dir" import "$work/demo.json" >"$work/import.log" 2>&1 || { cat "$work/import.log"; exit 1; }
target/debug/directory --data-dir "$data_dir" serve --port 0 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1)
[ -n "$base" ] || { echo "federation: server did not start"; cat "$work/serve.log"; exit 1; }
token() { target/debug/directory --data-dir "$data_dir" token --org "$org" --scope "$1"; }
BASE="$base" ORG="$org" HOSTED_AS="$hosted" SELF_AS="$self" LEAF="$leaf" ROLE=PAGTO CLAIM="$claim" \
  AUTHORITY="$authority" ADMIN="$(token directory:admin)" WRITE="$(token 'directory:read directory:write')" \
  KEY_PEM="$data_dir/federation-signing-key.pem" \
  node tests/federation/trust-chain.mjs
