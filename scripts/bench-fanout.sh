#!/usr/bin/env bash
# Fan-out benchmark: server CPU per delivered event and RSS per idle connection, Pulse against
# the peer SSE servers in one run. Server pinned to core 0, load to core 1, a fresh server per
# scenario. Loopback only; bounded by the counts given and 60 s per phase.
#   scripts/bench-fanout.sh [subscribers=100] [events=2000] [idle=1000] [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUBS="${1:-100}"; EVENTS="${2:-2000}"; IDLE="${3:-1000}"; ROUNDS="${4:-3}"
PEERS="$ROOT/../shared/peers"
PORT=3401
TOKEN=bench-token
WORK="$(mktemp -d)"
PIDFILE="$WORK/server.pid"

cargo build --release --example fanout_bench -q
BENCH="$ROOT/target/release/examples/fanout_bench"
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

run() { # name stream publish token -- command...
  local name="$1" stream="$2" publish="$3" token="$4"; shift 4
  taskset -c 0 "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
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
  # exec: the pid is the server's own, not a wrapper's.
  run pulse "http://127.0.0.1:$PORT/api/events?topics=bench" "http://127.0.0.1:$PORT/api/topics/bench/events" "$TOKEN" \
    env LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD \
    PULSE_DATA_DIR="$WORK/data" PULSE_PUBLISH_TOKEN="$TOKEN" PULSE_STOCKS_RATE=0 \
    PULSE_SYNC=normal RUST_LOG=warn target/release/pulse
  if [[ -x target/peers/release/axum_basic ]]; then
    run axum_basic "http://127.0.0.1:$PORT/events" "http://127.0.0.1:$PORT/publish" "" \
      env PORT=$PORT target/peers/release/axum_basic
  fi
  if [[ -f "$PEERS/node_http.js" ]] && command -v node >/dev/null; then
    run node_http "http://127.0.0.1:$PORT/events" "http://127.0.0.1:$PORT/publish" "" node "$PEERS/node_http.js" $PORT
  fi
done
