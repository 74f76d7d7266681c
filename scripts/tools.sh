#!/usr/bin/env bash
# Installs (once) the deploy tools into .services/tools: cfn-lint, and cargo-lambda
# (with zig) plus the aarch64 Rust target. Prints the venv's bin directory.
#   scripts/tools.sh lint     cfn-lint only
#   scripts/tools.sh lambda   cfn-lint and cargo-lambda
#   scripts/tools.sh browser  cfn-lint, Selenium, and the distribution's chromium and
#                             chromium-driver (apt, as root or with password-less sudo);
#                             exits 3 with the reason on stderr when they cannot be had
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
if [ "${1:-lint}" = browser ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt=(apt-get); elif sudo -n true 2>/dev/null; then apt=(sudo -n apt-get); else
      echo "tools: chromium is not installed and apt needs root (run: sudo apt-get install chromium chromium-driver)" >&2
      exit 3
    fi
    echo "tools: installing chromium and chromium-driver (apt)" >&2
    if ! { "${apt[@]}" update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq chromium chromium-driver >&2; }; then
      echo "tools: apt could not install chromium and chromium-driver" >&2
      exit 3
    fi
  fi
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
    echo "tools: installing selenium" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "selenium>=4.20,<5" >&2
  fi
fi
echo "$venv/bin"
