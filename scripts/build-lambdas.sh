#!/usr/bin/env bash
# Builds every Lambda function for arm64 with cargo-lambda in the `lambda` profile
# (Cargo.toml: fat LTO, one codegen unit, size-optimised) and prints each binary's
# size, stripped and zipped. Artefacts: target/lambda/<function>/bootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(bash scripts/tools.sh lambda)
export PATH="$tools:$PATH"
packages=()
for dir in functions/*/; do packages+=(--package "$(basename "$dir")"); done
start=$(date +%s)
cargo lambda build --profile lambda --arm64 "${packages[@]}"
echo "lambda build: $(( $(date +%s) - start )) s"
bootstraps=()
for dir in functions/*/; do
  bin="target/lambda/$(basename "$dir")/bootstrap"
  file "$bin" | grep -q "ARM aarch64" || { echo "$bin is not an arm64 binary" >&2; exit 1; }
  bootstraps+=("$bin")
done
python3 scripts/bootstrap-sizes.py "${bootstraps[@]}"
