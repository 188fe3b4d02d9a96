#!/usr/bin/env bash
# Builds retry-runtime with no default features, then with each feature
# alone, warnings denied: every combination a user may pick compiles clean,
# not only the `--all-features` one the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
features=$(sed -n '/^\[features\]/,/^\[/p' retry-runtime/Cargo.toml | grep -oE '^[a-z0-9_-]+ *=' | tr -d ' =' | grep -v '^default$')

echo "retry-runtime: no default features"
cargo check --quiet -p retry-runtime --no-default-features --lib
for feature in $features; do
  echo "retry-runtime: only \`$feature\`"
  cargo check --quiet -p retry-runtime --no-default-features --features "$feature" --lib
done
