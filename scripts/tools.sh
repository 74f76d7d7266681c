#!/usr/bin/env bash
# Installs (once) the deploy tools into .services/tools: cfn-lint, and cargo-lambda
# (with zig) plus the aarch64 Rust target. Prints the venv's bin directory.
#   scripts/tools.sh lint     cfn-lint only
#   scripts/tools.sh lambda   cfn-lint and cargo-lambda
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.services/tools"
mkdir -p "$root/.services"
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
if [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "tools: installing cfn-lint" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint>=1,<2" >&2
fi
if [ "${1:-lint}" = lambda ]; then
  if [ ! -x "$venv/bin/cargo-lambda" ]; then
    echo "tools: installing cargo-lambda (brings zig)" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda>=1.8,<2" >&2
  fi
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    echo "tools: adding the aarch64-unknown-linux-gnu target" >&2
    rustup target add aarch64-unknown-linux-gnu >&2
  fi
fi
echo "$venv/bin"
