#!/usr/bin/env bash
# Pulse's whole check, in order, stopping at the first failure:
# format, lints (server and browser builds), unit/integration tests, release
# build, then the Playwright suite against the release server.
#   scripts/test.sh       everything
#   scripts/test.sh e2e   only the release build and Playwright
# Expects scripts/setup.sh to have run (cargo make test does that first).
# -E: the ERR trap below also fires inside step().
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# wasm-opt must be binaryen 132 from npm, found before any system one.
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

START=$SECONDS
CURRENT=""
STEP_START=$SECONDS
trap 'printf "\n=== FAILED: %s (%ds in step, %ds total) ===\n" "$CURRENT" $((SECONDS - STEP_START)) $((SECONDS - START))' ERR

# step NAME COMMAND...: runs one step between banners that show its duration.
step() {
  CURRENT="$1"
  shift
  STEP_START=$SECONDS
  printf '\n=== %s: %s ===\n' "$CURRENT" "$*"
  "$@"
  printf '=== ok: %s (%ds) ===\n' "$CURRENT" $((SECONDS - STEP_START))
}

if [[ "${1:-}" != "e2e" ]]; then
  step "format" cargo fmt --check
  step "clippy (server)" cargo clippy --features ssr --all-targets -- -D warnings
  step "clippy (browser)" cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
  step "cargo test" cargo test --features ssr
fi
step "release build" cargo leptos build --release --precompress
# Playwright starts target/release/pulse itself (see end2end/playwright.config.ts).
step "playwright" bash -c 'cd end2end && npx playwright test'

printf '\n=== all steps passed (%ds total) ===\n' $((SECONDS - START))
