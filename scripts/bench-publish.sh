#!/usr/bin/env bash
# Durable publish benchmark: Pulse (sync=full and sync=normal) against the peer SSE servers'
# non-durable POST /publish, in one run. Server pinned to core 0, load to core 1; each
# scenario gets a fresh server (and for Pulse a fresh data dir). Loopback only; every run is
# bounded by the count and 30 s.
#   scripts/bench-publish.sh [publishers=16] [count=20000] [rounds=3]
# Needs a release build (cargo leptos build --release); node for the Node peer; the peers in
# ../shared/peers (skipped when absent). Prints one line per scenario and round.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PUBLISHERS="${1:-16}"; COUNT="${2:-20000}"; ROUNDS="${3:-3}"
PORT=3400
TOKEN=bench-token
WORK="$(mktemp -d)"
cargo build --release --example publish_bench -q
BENCH="$ROOT/target/release/examples/publish_bench"
source "$ROOT/scripts/bench-lib.sh"

run() { # name url token -- server command...
  local name="$1" url="$2" token="$3"; shift 3
  start_server "$name" "$@"
  local auth=()
  [[ -n "$token" ]] && auth=(--token "$token")
  printf '%-14s ' "$name"
  taskset -c 1 "$BENCH" --url "$url" "${auth[@]}" --publishers "$PUBLISHERS" --count "$COUNT" --seconds 30
  stop_server
}

for round in $(seq 1 "$ROUNDS"); do
  echo "--- round $round: $PUBLISHERS publishers, $COUNT events"
  for sync in full normal; do
    rm -rf "$WORK/data"
    # shellcheck disable=SC2046 # the command line is split on purpose
    run "pulse-$sync" "http://127.0.0.1:$PORT/api/topics/bench/events" "$TOKEN" \
      env PULSE_SYNC="$sync" $(pulse_server "$WORK/data")
  done
  if [[ -x target/peers/release/axum_basic ]]; then
    run axum_basic "http://127.0.0.1:$PORT/publish" "" env PORT=$PORT target/peers/release/axum_basic
  fi
  if [[ -f "$PEERS/node_http.js" ]] && command -v node >/dev/null; then
    run node_http "http://127.0.0.1:$PORT/publish" "" node "$PEERS/node_http.js" $PORT
  fi
done
