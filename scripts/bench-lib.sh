# Sourced by scripts/bench.sh (not run): builds the load tool and the peer servers in
# bench/peers, prepares the Python venv, and starts/stops one server at a time pinned to
# core 0 with a pid file; for the scale-out run, a Redis of its own and several Pulse
# instances, each with its own pid file. Everything it uses is inside the repository.
# Expects ROOT, TARGET, WORK, PORT and TOKEN; PULSE_BIN (and PULSE_SITE) for Pulse.

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

stream_url() { # server [port]
  if [[ "$1" == pulse ]]; then
    echo "http://127.0.0.1:${2:-$PORT}/api/events?topics=bench"
  else
    echo "http://127.0.0.1:${2:-$PORT}/events"
  fi
}

publish_url() { # server [port]
  if [[ "$1" == pulse ]]; then
    echo "http://127.0.0.1:${2:-$PORT}/api/topics/bench/events"
  else
    echo "http://127.0.0.1:${2:-$PORT}/publish"
  fi
}

# pulse_cmd PORT DATA_DIR [NAME=VALUE...]: sets CMD to a benchmark Pulse's command line.
# Simulators and the host sampler off, so only the benchmark's events flow.
# Every load comes from one address and one token, so the per-client stream limit and the
# publish rate are off (the connection cap stays: it is what holds 19,500 streams safely).
pulse_cmd() {
  local port="$1" data="$2"
  shift 2
  CMD=(env LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$PULSE_SITE" LEPTOS_ENV=PROD
    PULSE_DATA_DIR="$data" PULSE_PUBLISH_TOKEN="$TOKEN" PULSE_SYNC="$BENCH_PULSE_SYNC"
    PULSE_STOCKS_RATE=0 PULSE_MONITOR_INTERVAL_MS=0 PULSE_SCORES_GAMES=0 RUST_LOG=warn
    PULSE_MAX_STREAMS_PER_CLIENT=0 PULSE_PUBLISH_RATE=0 "$@" "$PULSE_BIN")
}

# wait_http PORT PID: until something answers on PORT (true) or PID is gone / 10 s pass.
wait_http() {
  for _ in $(seq 1 200); do
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# stop_pid PIDFILE: SIGTERM, then SIGKILL after 10 s; removes the pid file.
stop_pid() {
  [[ -f "$1" ]] || return 0
  local pid
  pid="$(cat "$1")"
  rm -f "$1"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# --- the scale-out run: one Redis of our own, several Pulse instances

REDIS_PIDFILE="$WORK/redis.pid"
REDIS_DIR="$WORK/redis"

# start_redis: a fresh redis-server on BENCH_REDIS_PORT (loopback, files in a temp dir, no
# RDB snapshots, BENCH_REDIS_PERSIST for the append-only file), pinned to core 0 beside the
# instances. Never the machine's own Redis: its own port, its own directory.
start_redis() {
  rm -rf "$REDIS_DIR"
  mkdir -p "$REDIS_DIR"
  # shellcheck disable=SC2086 # BENCH_REDIS_PERSIST is a list of arguments
  taskset -c 0 redis-server --port "$BENCH_REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
    --dir "$REDIS_DIR" --save "" $BENCH_REDIS_PERSIST --daemonize no --loglevel warning \
    >>"$WORK/redis.log" 2>&1 &
  echo $! >"$REDIS_PIDFILE"
  for _ in $(seq 1 200); do
    [[ "$(redis-cli -h 127.0.0.1 -p "$BENCH_REDIS_PORT" ping 2>/dev/null)" == PONG ]] && return 0
    kill -0 "$(cat "$REDIS_PIDFILE")" 2>/dev/null || break
    sleep 0.05
  done
  say "redis-server did not start on port $BENCH_REDIS_PORT (log: $WORK/redis.log)"
  tail -5 "$WORK/redis.log" >&2 || true
  stop_redis
  return 1
}

stop_redis() {
  stop_pid "$REDIS_PIDFILE"
  rm -rf "$REDIS_DIR"
}

# start_instances N: N Pulse instances on PORT..PORT+N-1 on core 0, each with its own data
# directory and pid file ($WORK/instance.K.pid), all on our Redis with the same token; with
# BENCH_EMBEDDED=1 a single instance with the embedded hub (no Redis) instead.
start_instances() {
  local n="$1" k port pidfile extra=()
  for ((k = 0; k < n; k++)); do
    port=$((PORT + k))
    pidfile="$WORK/instance.$k.pid"
    rm -rf "$WORK/instance-data.$k"
    extra=(PULSE_INSTANCE="i$k")
    [[ "${BENCH_EMBEDDED:-0}" == 1 ]] ||
      extra+=(PULSE_REDIS_URL="redis://127.0.0.1:$BENCH_REDIS_PORT/0")
    pulse_cmd "$port" "$WORK/instance-data.$k" "${extra[@]}"
    taskset -c 0 "${CMD[@]}" >>"$WORK/instance.$k.log" 2>&1 &
    echo $! >"$pidfile"
  done
  for ((k = 0; k < n; k++)); do
    if ! wait_http $((PORT + k)) "$(cat "$WORK/instance.$k.pid")"; then
      say "instance i$k did not start on port $((PORT + k)) (log: $WORK/instance.$k.log)"
      tail -5 "$WORK/instance.$k.log" >&2 || true
      stop_instances "$n"
      return 1
    fi
  done
}

stop_instances() {
  local k
  for ((k = 0; k < $1; k++)); do
    stop_pid "$WORK/instance.$k.pid"
    rm -rf "$WORK/instance-data.$k"
  done
}

# start_server NAME: a fresh server (for Pulse: a fresh data directory) on core 0, through
# taskset and env exec so the pid file holds the server's own pid; waits until it answers.
start_server() {
  local name="$1" cmd
  case "$name" in
    pulse)
      rm -rf "$WORK/pulse-data"
      pulse_cmd "$PORT" "$WORK/pulse-data"
      cmd=("${CMD[@]}") ;;
    axum_basic) cmd=(env PORT="$PORT" "$AXUM_BASIC") ;;
    node_http) cmd=(node "$PEERS/node_http.js" "$PORT") ;;
    fastapi_seed) cmd=("$VENV/bin/python" "$PEERS/fastapi_seed.py" "$PORT") ;;
    sse_starlette) cmd=("$VENV/bin/python" "$PEERS/sse_starlette_peer.py" "$PORT") ;;
  esac
  taskset -c 0 "${cmd[@]}" >>"$SERVER_LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_http "$PORT" "$(cat "$PIDFILE")" && return 0
  say "$name did not start on port $PORT (log: $SERVER_LOG)"
  tail -5 "$SERVER_LOG" >&2 || true
  stop_server
  return 1
}

# stop_server: SIGTERM, then SIGKILL after 10 s.
stop_server() {
  stop_pid "$PIDFILE"
}

# seed_stocks N: N stocks rows on the running server (the SSR scenario's page), published
# with $TOKEN to $PORT.
seed_stocks() {
  local i
  for ((i = 0; i < $1; i++)); do
    curl -s -o /dev/null --max-time 5 -H "Authorization: Bearer $TOKEN" \
      -d "{\"symbol\":\"SYM$(printf %02d "$i")\",\"price\":$((100 + i)).25}" \
      "http://127.0.0.1:$PORT/api/topics/stocks/events" || true
  done
}
