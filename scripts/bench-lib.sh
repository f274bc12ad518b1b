# Sourced by scripts/bench.sh (not run): builds the load tool and the peer servers in
# bench/peers, prepares the Python venv, and starts/stops one server at a time pinned to
# core 0 with a pid file. Everything it uses is inside the repository.
# Expects ROOT, TARGET, WORK, PORT and TOKEN; PULSE_BIN for Pulse.

PEERS="$ROOT/bench/peers"
VENV="$TARGET/bench-venv"
LOAD="$TARGET/bench-load/release/pulse-load"
AXUM_BASIC="$TARGET/peers/release/axum_basic"
PIDFILE="$WORK/server.pid"
SERVER_LOG="$WORK/server.log"

say() { printf 'bench: %s\n' "$*" >&2; }

# The load tool and axum_basic are crates of their own (own lockfiles, own target dirs), so
# building them never touches Pulse's build.
build_tools() {
  say "building the load tool (bench/load) and axum_basic (bench/peers/axum_basic)"
  cargo build --release --quiet --locked --manifest-path "$ROOT/bench/load/Cargo.toml" \
    --target-dir "$TARGET/bench-load"
  cargo build --release --quiet --locked --manifest-path "$PEERS/axum_basic/Cargo.toml" \
    --target-dir "$TARGET/peers"
}

# target/bench-venv with bench/requirements.txt (the Python peers and matplotlib), made or
# updated when the requirements are newer than the last install.
ensure_venv() {
  local stamp="$VENV/.requirements-installed"
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    if ! python3 -m venv "$VENV" 2>"$WORK/venv.err"; then
      say "python3 -m venv failed; installing python3-venv with apt-get"
      rm -rf "$VENV"
      local sudo=""
      [[ "$(id -u)" -ne 0 ]] && sudo=sudo
      $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  if [[ ! -f "$stamp" || "$ROOT/bench/requirements.txt" -nt "$stamp" ]]; then
    say "installing bench/requirements.txt into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/bench/requirements.txt"
    touch "$stamp"
  fi
}

# server_missing NAME: prints why NAME cannot run here (nothing when it can).
server_missing() {
  case "$1" in
    pulse) [[ -x "$PULSE_BIN" ]] || echo "no Pulse binary at $PULSE_BIN" ;;
    axum_basic) [[ -x "$AXUM_BASIC" ]] || echo "axum_basic not built" ;;
    node_http) command -v node >/dev/null || echo "node not found" ;;
    fastapi_seed | sse_starlette) [[ -x "$VENV/bin/python" ]] || echo "no venv" ;;
    *) echo "unknown server (pulse, axum_basic, node_http, fastapi_seed, sse_starlette)" ;;
  esac
}

stream_url() {
  if [[ "$1" == pulse ]]; then
    echo "http://127.0.0.1:$PORT/api/events?topics=bench"
  else
    echo "http://127.0.0.1:$PORT/events"
  fi
}

publish_url() {
  if [[ "$1" == pulse ]]; then
    echo "http://127.0.0.1:$PORT/api/topics/bench/events"
  else
    echo "http://127.0.0.1:$PORT/publish"
  fi
}

# start_server NAME: a fresh server (for Pulse: a fresh data directory) on core 0, through
# taskset and env exec so the pid file holds the server's own pid; waits until it answers.
start_server() {
  local name="$1" cmd
  case "$name" in
    pulse)
      rm -rf "$WORK/pulse-data"
      # Simulators and the host sampler off: only the benchmark's events flow. Every load
      # comes from one address and one token, so the per-client stream limit and the publish
      # rate are off (the connection cap stays: it is what holds 19,500 streams safely).
      cmd=(env LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_ENV=PROD
        PULSE_DATA_DIR="$WORK/pulse-data" PULSE_PUBLISH_TOKEN="$TOKEN" PULSE_SYNC="$BENCH_PULSE_SYNC"
        PULSE_STOCKS_RATE=0 PULSE_MONITOR_INTERVAL_MS=0 PULSE_SCORES_GAMES=0 RUST_LOG=warn
        PULSE_MAX_STREAMS_PER_CLIENT=0 PULSE_PUBLISH_RATE=0 "$PULSE_BIN") ;;
    axum_basic) cmd=(env PORT="$PORT" "$AXUM_BASIC") ;;
    node_http) cmd=(node "$PEERS/node_http.js" "$PORT") ;;
    fastapi_seed) cmd=("$VENV/bin/python" "$PEERS/fastapi_seed.py" "$PORT") ;;
    sse_starlette) cmd=("$VENV/bin/python" "$PEERS/sse_starlette_peer.py" "$PORT") ;;
  esac
  taskset -c 0 "${cmd[@]}" >>"$SERVER_LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 200); do
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
      return 0
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.05
  done
  say "$name did not start on port $PORT (log: $SERVER_LOG)"
  tail -5 "$SERVER_LOG" >&2 || true
  stop_server
  return 1
}

# stop_server: SIGTERM, then SIGKILL after 10 s.
stop_server() {
  [[ -f "$PIDFILE" ]] || return 0
  local pid
  pid="$(cat "$PIDFILE")"
  rm -f "$PIDFILE"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
