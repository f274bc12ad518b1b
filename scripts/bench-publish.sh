#!/usr/bin/env bash
# Durable publish benchmark: Pulse (sync=full and sync=normal) against the peer SSE servers'
# non-durable POST /publish, in one run. Server pinned to core 0, load to core 1; each
# scenario gets a fresh server (and for Pulse a fresh data dir). Loopback only; every run is
# bounded by --count and --seconds.
#   scripts/bench-publish.sh [publishers=16] [count=20000] [rounds=3]
# Needs: a release build (cargo leptos build --release), node for the Node peer; the peers
# in ../shared/peers (skipped when absent). Prints one line per scenario and round.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PUBLISHERS="${1:-16}"
COUNT="${2:-20000}"
ROUNDS="${3:-3}"
PEERS="$ROOT/../shared/peers"
PORT=3400
TOKEN=bench-token
WORK="$(mktemp -d)"
PIDFILE="$WORK/server.pid"

cargo build --release --example publish_bench -q
BENCH="$ROOT/target/release/examples/publish_bench"
[[ -x target/release/pulse ]] || { echo "run cargo leptos build --release first" >&2; exit 1; }
if [[ -d "$PEERS/axum_basic" ]]; then
  cargo build --release -q --manifest-path "$PEERS/axum_basic/Cargo.toml" --target-dir "$ROOT/target/peers"
fi

stop_server() {
  if [[ -f "$PIDFILE" ]]; then
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
    wait "$(cat "$PIDFILE")" 2>/dev/null || true
    rm -f "$PIDFILE"
  fi
}
trap stop_server EXIT

wait_up() { # url
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "server did not start: $1" >&2
  return 1
}

run() { # name url token? -- server command...
  local name="$1" url="$2" token="$3"; shift 3
  taskset -c 0 "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$PIDFILE"
  wait_up "http://127.0.0.1:$PORT/"
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
    run "pulse-$sync" "http://127.0.0.1:$PORT/api/topics/bench/events" "$TOKEN" \
      env LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD \
      PULSE_DATA_DIR="$WORK/data" PULSE_PUBLISH_TOKEN="$TOKEN" PULSE_STOCKS_RATE=0 \
      PULSE_SYNC="$sync" RUST_LOG=warn target/release/pulse
  done
  if [[ -x target/peers/release/axum_basic ]]; then
    run axum_basic "http://127.0.0.1:$PORT/publish" "" env PORT=$PORT target/peers/release/axum_basic
  fi
  if [[ -f "$PEERS/node_http.js" ]] && command -v node >/dev/null; then
    run node_http "http://127.0.0.1:$PORT/publish" "" node "$PEERS/node_http.js" $PORT
  fi
done
