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
printf '%-32s %12s %12s\n' function "binary (B)" "zipped (B)"
for dir in functions/*/; do
  fn=$(basename "$dir")
  bin="target/lambda/$fn/bootstrap"
  file "$bin" | grep -q "ARM aarch64" || { echo "$bin is not an arm64 binary" >&2; exit 1; }
  zipped=$(python3 -c 'import io,sys,zipfile; b=io.BytesIO(); z=zipfile.ZipFile(b,"w",zipfile.ZIP_DEFLATED); z.write(sys.argv[1],"bootstrap"); z.close(); print(len(b.getvalue()))' "$bin")
  printf '%-32s %12s %12s\n' "$fn" "$(stat -c %s "$bin")" "$zipped"
done
