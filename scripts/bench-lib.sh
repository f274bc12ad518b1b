# Shared by the bench-*.sh scripts (sourced, not run): build the peers, start one server at a
# time pinned to core 0 with a pid file, wait for it, stop it. Expects ROOT, PORT and WORK.
PEERS="$ROOT/../shared/peers"
PIDFILE="$WORK/server.pid"

[[ -x "$ROOT/target/release/pulse" ]] || { echo "run cargo leptos build --release first" >&2; exit 1; }
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

# start_server NAME COMMAND...: runs the server on core 0 (taskset and env exec, so the pid is
# the server's own) and waits until it answers on PORT.
start_server() {
  local name="$1"; shift
  taskset -c 0 "$@" >"$WORK/$name.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
    sleep 0.05
  done
  echo "$name did not start on port $PORT" >&2
  return 1
}

# pulse_server DATA_DIR: the command line for a quiet Pulse (simulators and sampler off).
pulse_server() {
  echo env LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD \
    PULSE_DATA_DIR="$1" PULSE_PUBLISH_TOKEN="$TOKEN" PULSE_STOCKS_RATE=0 \
    PULSE_MONITOR_INTERVAL_MS=0 PULSE_SCORES_GAMES=0 RUST_LOG=warn target/release/pulse
}
