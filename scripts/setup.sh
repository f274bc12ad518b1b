#!/usr/bin/env bash
# Installs everything building and testing Pulse needs, and skips whatever is
# already there, so it is safe to run before every build. These machines reach
# only crates.io, npm, PyPI and Debian's apt: every tool comes from one of those
# (see shared/SETUP.md for why these exact versions).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# wasm-opt must be binaryen 132 from npm, found before any system one.
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

LEPTOS_VERSION=0.3.10        # 0.3.11 needs a newer rustc than this machine has
WASM_BINDGEN_VERSION=0.2.130 # must equal the wasm-bindgen crate pinned in Cargo.toml
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

say() { printf 'setup: %s\n' "$*"; }

# Cheap checks and installs first, the long cargo installs last.

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rust target wasm32-unknown-unknown: present"
else
  say "adding rust target wasm32-unknown-unknown (the hydrate bundle is compiled to it)"
  rustup target add wasm32-unknown-unknown
fi

if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  say "rustfmt and clippy: present"
else
  say "adding rustup components rustfmt and clippy (the test task runs both)"
  rustup component add rustfmt clippy
fi

# npm packages: Playwright, TypeScript and binaryen (wasm-opt for release builds).
# npm writes node_modules/.package-lock.json on install; a package-lock.json newer
# than it means the lock changed since.
if ! command -v npm >/dev/null; then
  say "npm not found: install Node.js 20 or newer (Playwright needs it)" >&2
  exit 1
fi
if [[ -f "$ROOT/end2end/node_modules/.package-lock.json" &&
      ! "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]]; then
  say "end2end npm packages: up to date"
else
  say "installing end2end npm packages with npm ci (Playwright, TypeScript, binaryen's wasm-opt)"
  # Browsers come from Debian below; Playwright cannot download its own here.
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# Debian packages the tests drive: Chromium (Playwright), redis-server and nginx (the
# scale-out tests start their own on free ports; a Redis already on 6379 is never touched).
MISSING=()
[[ -x "$CHROMIUM" ]] || MISSING+=(chromium)
command -v redis-server >/dev/null || MISSING+=(redis-server)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || MISSING+=(nginx)
if [[ ${#MISSING[@]} -eq 0 ]]; then
  say "chromium, redis-server, nginx: present"
else
  say "installing Debian packages: ${MISSING[*]}"
  SUDO=""
  if [[ "$(id -u)" -ne 0 ]]; then SUDO=sudo; fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${MISSING[@]}"
  # The nginx package starts a system nginx on port 80; the tests run their own.
  if [[ " ${MISSING[*]} " == *" nginx "* ]]; then
    $SUDO systemctl disable --now nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null || true
  fi
fi

# cargo-leptos finds wasm-bindgen on PATH; if missing it tries GitHub, which fails here.
if wasm-bindgen --version 2>/dev/null | grep -Fqw "$WASM_BINDGEN_VERSION"; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: present"
else
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes on 2 cores)"
  # No --locked: its lockfile names a crate version that crates.io does not serve.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if cargo leptos --version 2>/dev/null | grep -Fqw "$LEPTOS_VERSION"; then
  say "cargo-leptos $LEPTOS_VERSION: present"
else
  say "installing cargo-leptos $LEPTOS_VERSION (several minutes on 2 cores, once per machine)"
  # Its own release profile asks for fat LTO in one codegen unit: most of a 20-minute install
  # on 2 cores, for a build tool whose speed is the tools it calls. Plain release is enough.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$LEPTOS_VERSION" --locked
fi

say "wasm-opt in use: $(command -v wasm-opt) ($(wasm-opt --version))"
say "done"
