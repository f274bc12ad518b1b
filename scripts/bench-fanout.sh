#!/usr/bin/env bash
# Fan-out benchmark: server CPU per delivered event and RSS per idle connection, Pulse against
# the peer SSE servers in one run. Server pinned to core 0, load to core 1, a fresh server per
# scenario. Loopback only; bounded by the counts given and 60 s per phase.
#   scripts/bench-fanout.sh [subscribers=100] [events=2000] [idle=1000] [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUBS="${1:-100}"; EVENTS="${2:-2000}"; IDLE="${3:-1000}"; ROUNDS="${4:-3}"
PORT=3401
TOKEN=bench-token
WORK="$(mktemp -d)"
cargo build --release --example fanout_bench -q
BENCH="$ROOT/target/release/examples/fanout_bench"
source "$ROOT/scripts/bench-lib.sh"

run() { # name stream-url publish-url token -- server command...
  local name="$1" stream="$2" publish="$3" token="$4"; shift 4
  start_server "$name" "$@"
  local auth=()
  [[ -n "$token" ]] && auth=(--token "$token")
  echo "[$name]"
  taskset -c 1 "$BENCH" --pid "$(cat "$PIDFILE")" --stream "$stream" --publish "$publish" "${auth[@]}" \
    --subscribers "$SUBS" --events "$EVENTS" --publishers 8 --idle "$IDLE"
  stop_server
}

for round in $(seq 1 "$ROUNDS"); do
  echo "--- round $round"
  rm -rf "$WORK/data"
  # shellcheck disable=SC2046 # the command line is split on purpose
  run pulse "http://127.0.0.1:$PORT/api/events?topics=bench" "http://127.0.0.1:$PORT/api/topics/bench/events" \
    "$TOKEN" env PULSE_SYNC=normal $(pulse_server "$WORK/data")
  if [[ -x target/peers/release/axum_basic ]]; then
    run axum_basic "http://127.0.0.1:$PORT/events" "http://127.0.0.1:$PORT/publish" "" \
      env PORT=$PORT target/peers/release/axum_basic
  fi
  if [[ -f "$PEERS/node_http.js" ]] && command -v node >/dev/null; then
    run node_http "http://127.0.0.1:$PORT/events" "http://127.0.0.1:$PORT/publish" "" node "$PEERS/node_http.js" $PORT
  fi
done
