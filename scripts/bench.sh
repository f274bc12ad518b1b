#!/usr/bin/env bash
# `cargo make bench`: every benchmark scenario against Pulse and the four peer servers in
# bench/peers, in one run, printed as one table with ratios to axum_basic and written to
# bench/results/ (bench.txt, bench.md, bench.csv, bench.json, ratios.png).
#
# Each (scenario, server) pair gets a fresh server pinned to core 0 (`taskset -c 0`) and one
# load process pinned to core 1 (`taskset -c 1`); loopback only; every run is bounded by its
# counts and by BENCH_SECONDS. Sizes come from environment variables (README, "Benchmarks");
# BENCH_SMOKE=1 shrinks every scenario to a few seconds and writes to bench/results/smoke/.
# The scale-out run (`instances`) starts a Redis of its own and several Pulse instances (all on
# core 0) and one load process per instance (all on core 1); `browser` drives Debian's
# Chromium with Playwright (bench/browser/stocks.mjs).
#
# Pulse is built with `cargo leptos build --release` unless PULSE_BIN names a binary; its
# bundle is read from the `site` directory beside the binary's `release` directory
# (target/release/pulse → target/site), or from PULSE_SITE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac

if [[ "${BENCH_SMOKE:-0}" == 1 ]]; then
  : "${BENCH_IDLE:=50}"
  : "${BENCH_FANOUT_SUBS:=50}" "${BENCH_FANOUT_EVENTS:=100}"
  : "${BENCH_LATENCY_SUBS:=50}" "${BENCH_LATENCY_EVENTS:=100}" "${BENCH_LATENCY_RATE:=50}"
  : "${BENCH_WIDE_SUBS:=100}" "${BENCH_WIDE_EVENTS:=20}" "${BENCH_WIDE_RATE:=10}"
  : "${BENCH_STALLED:=5}" "${BENCH_PUBLISH_EVENTS:=1000}" "${BENCH_SETTLE_MS:=500}"
  : "${BENCH_INSTANCES:=1 2}" "${BENCH_INSTANCE_SUBS:=50}" "${BENCH_INSTANCE_EVENTS:=40}"
  : "${BENCH_INSTANCE_RATE:=20}"
  : "${BENCH_STORM_SUBS:=200}" "${BENCH_STORM_EVENTS:=60}" "${BENCH_STORM_RATE:=20}"
  : "${BENCH_SSR_REQUESTS:=300}" "${BENCH_SSR_WARMUP:=30}"
  : "${BENCH_BROWSER_SLOW_TICKS:=100}" "${BENCH_BROWSER_FAST_TICKS:=1000}"
  : "${BENCH_SECONDS:=60}" "${BENCH_OUT:=$ROOT/bench/results/smoke}"
fi
: "${BENCH_SERVERS:=pulse axum_basic node_http fastapi_seed sse_starlette}"
: "${BENCH_SCENARIOS:=idle fanout latency wide stalled publish instances storm ssr browser}"
: "${BENCH_IDLE:=10000 19500}"             # 1. idle subscribers held (one run per size)
: "${BENCH_FANOUT_SUBS:=100}"              # 2. subscribers × events, as fast as acknowledged
: "${BENCH_FANOUT_EVENTS:=2000}"
: "${BENCH_FANOUT_PUBLISHERS:=8}"
: "${BENCH_LATENCY_SUBS:=1000}"            # 3. subscribers × events at a fixed rate
: "${BENCH_LATENCY_EVENTS:=200}"
: "${BENCH_LATENCY_RATE:=50}"
: "${BENCH_WIDE_SUBS:=5000}"               # 4. many subscribers, slow rate
: "${BENCH_WIDE_EVENTS:=50}"
: "${BENCH_WIDE_RATE:=10}"
: "${BENCH_STALLED:=50}"                   # 5. scenario 3 plus this many never-reading streams
: "${BENCH_STALLED_RCVBUF:=4096}"          #    their SO_RCVBUF (bytes)
: "${BENCH_RATE_PUBLISHERS:=4}"            # publisher connections for the fixed-rate runs
: "${BENCH_PUBLISH_PUBLISHERS:=16}"        # 6. durable publish, no subscribers
: "${BENCH_PUBLISH_EVENTS:=30000}"
: "${BENCH_PUBLISH_SERVERS:=pulse}"        #    only Pulse stores events (the peers ack at once)
# 7. scale-out (Pulse only): 1, 2, 4 instances on one Redis, BENCH_INSTANCE_SUBS streams each
#    (one load process per instance: one process holds at most 19,500), beside the embedded hub
: "${BENCH_INSTANCES:=1 2 4}"
: "${BENCH_INSTANCE_SUBS:=19000}"
: "${BENCH_INSTANCE_EVENTS:=100}"
: "${BENCH_INSTANCE_RATE:=5}"
: "${BENCH_INSTANCE_EMBEDDED:=1}"          #    also one process without Redis (0: skip it)
: "${BENCH_REDIS_PORT:=$((${BENCH_PORT:-3400} + 100))}"
: "${BENCH_REDIS_PERSIST=--appendonly yes --appendfsync always}" # README, "Durability" (may be empty)
# 8. reconnect storm (Pulse only: the peers have no ids to resume from)
: "${BENCH_STORM_SUBS:=10000}"
: "${BENCH_STORM_EVENTS:=400}"
: "${BENCH_STORM_RATE:=20}"                #    events/s, flowing before, during and after
: "${BENCH_STORM_DROP_MS:=0}"              #    when all drop (0: a third of the way in)
: "${BENCH_STORM_CONCURRENCY:=0}"          #    reconnects in flight at once (0: all)
# 9. server-side rendering (Pulse only)
: "${BENCH_SSR_PATH:=/stocks}"
: "${BENCH_SSR_SYMBOLS:=20}"               #    rows on the page (published before the run)
: "${BENCH_SSR_REQUESTS:=20000}"
: "${BENCH_SSR_CONNECTIONS:=4}"
: "${BENCH_SSR_WARMUP:=500}"
# 10. browser (Pulse only): /stocks in Chromium, ticks over BENCH_BROWSER_SYMBOLS symbols
: "${BENCH_BROWSER_SYMBOLS:=20}"
: "${BENCH_BROWSER_SLOW_RATE:=50}"
: "${BENCH_BROWSER_SLOW_TICKS:=1000}"
: "${BENCH_BROWSER_FAST_RATE:=1000}"
: "${BENCH_BROWSER_FAST_TICKS:=10000}"
: "${BENCH_BROWSER_AMBIENT_SECONDS:=10}"   #    a tab left open at 6 ticks/s, this long
: "${CHROMIUM_PATH:=/usr/bin/chromium}"
: "${BENCH_PAD:=64}"                       # payload padding (bytes)
: "${BENCH_SETTLE_MS:=3000}"               # idle: wait after the last stream opened, then RSS
: "${BENCH_SECONDS:=180}"                  # bound for one (scenario, server) run
: "${BENCH_PULSE_SYNC:=full}"              # Pulse's PULSE_SYNC (full: fsync per group commit)
: "${BENCH_PORT:=3400}"
: "${BENCH_OUT:=$ROOT/bench/results}"
PORT="$BENCH_PORT"
TOKEN="bench-token-$$"
WORK="$(mktemp -d)"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS" # exists even when every run is skipped: the table then lists why

source "$ROOT/scripts/bench-lib.sh"
# Whatever a run left behind when the script stops early (error, Ctrl-C): by pid file only.
cleanup() {
  stop_server
  local f
  for f in "$WORK"/instance.*.pid; do
    [[ -e "$f" ]] && stop_pid "$f"
  done
  stop_redis
  rm -rf "$WORK/pulse-data" "$WORK"/instance-data.*
}
trap cleanup EXIT

ALL_SCENARIOS="idle fanout latency wide stalled publish instances storm ssr browser"
for scenario in $BENCH_SCENARIOS; do
  if [[ " $ALL_SCENARIOS " != *" $scenario "* ]]; then
    say "unknown scenario $scenario ($ALL_SCENARIOS)"
    exit 1
  fi
done

for tool in taskset curl python3 cargo; do
  command -v "$tool" >/dev/null || { say "$tool is needed"; exit 1; }
done
if [[ "$(nproc)" -lt 2 ]]; then
  say "needs two cores (server on core 0, load on core 1); this machine has $(nproc)"
  exit 1
fi
# One load process holds up to 19,500 streams: it needs that many open files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt 19600 ]]; then
  say "open-file limit $(ulimit -n): the largest idle run needs 19,600 (lower BENCH_IDLE)"
fi
# The ports this run listens on: PORT, and for the scale-out run PORT+1… and its Redis.
ports=("$PORT")
if [[ " $BENCH_SCENARIOS " == *" instances "* ]]; then
  max=1
  for n in $BENCH_INSTANCES; do
    if ((n > max)); then max=$n; fi
  done
  for ((k = 1; k < max; k++)); do ports+=($((PORT + k))); done
  ports+=("$BENCH_REDIS_PORT")
  for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { say "$tool is needed for the instances run (cargo make setup)"; exit 1; }
  done
fi
for p in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    say "port $p is already in use (set BENCH_PORT / BENCH_REDIS_PORT)"
    exit 1
  fi
done

# --- builds
if [[ -z "${PULSE_BIN:-}" ]]; then
  if ! command -v cargo-leptos >/dev/null; then
    say "cargo-leptos is missing: run cargo make setup (or set PULSE_BIN to a release binary)"
    exit 1
  fi
  say "building Pulse: cargo leptos build --release --precompress"
  cargo leptos build --release --precompress
  PULSE_BIN="$TARGET/release/pulse"
fi
# The bundle beside the binary: …/target/release/pulse → …/target/site.
: "${PULSE_SITE:=$(cd "$(dirname "$PULSE_BIN")/.." 2>/dev/null && pwd)/site}"
build_tools
ensure_venv

SERVERS=()
SKIPPED=""
for s in $BENCH_SERVERS; do
  why="$(server_missing "$s")"
  if [[ -n "$why" ]]; then
    say "skipping $s: $why"
    SKIPPED+="$s: $why"$'\n'
  else
    SERVERS+=("$s")
  fi
done

# --- one (scenario, server) run: fresh server, one load process, one JSON line of results

# error_record SCENARIO LABEL REASON [EXTRA_JSON_FIELDS]: a run that could not happen, so the
# table's notes say so.
error_record() {
  local why
  why="$(printf '%s' "$3" | tr -d '"\\' | tr -c '[:print:]' ' ')"
  printf '{"scenario":"%s","label":"%s"%s,"error":"%s"}\n' "$1" "$2" "${4:+,$4}" "$why" >>"$RESULTS"
}

# collect SCENARIO LABEL RC OUT ERR: the run's JSON line into the results, or why there is none.
collect() {
  local scenario="$1" label="$2" rc="$3" out="$4" err="$5"
  cat "$err" >&2
  if [[ -s "$out" ]]; then
    cat "$out" >>"$RESULTS"
  else # refused its arguments or crashed: keep the reason for the table's notes
    error_record "$scenario" "$label" "exit $rc: $(tail -1 "$err" 2>/dev/null)"
  fi
  [[ $rc -eq 0 ]] || say "$label / $scenario: the run failed (exit $rc; see the table's notes)"
}

run() { # server scenario load-args...
  local server="$1" scenario="$2"
  shift 2
  if ! start_server "$server"; then
    error_record "$scenario" "$server" "server did not start"
    return 0
  fi
  local auth=()
  [[ "$server" == pulse ]] && auth=(--token "$TOKEN")
  local target=()
  case "$scenario" in
    publish) ;;
    ssr) target=(--get "http://127.0.0.1:$PORT$BENCH_SSR_PATH") ;;
    *) target=(--stream "$(stream_url "$server")") ;;
  esac
  [[ "$scenario" == ssr ]] && seed_stocks "$BENCH_SSR_SYMBOLS"
  local rc=0
  taskset -c 1 "$LOAD" "$scenario" --label "$server" --pid "$(cat "$PIDFILE")" \
    "${target[@]}" --publish "$(publish_url "$server")" "${auth[@]}" \
    --pad "$BENCH_PAD" --seconds "$BENCH_SECONDS" --clk-tck "$(getconf CLK_TCK)" "$@" \
    >"$WORK/one.json" 2>"$WORK/one.err" || rc=$?
  collect "$scenario" "$server" "$rc" "$WORK/one.json" "$WORK/one.err"
  stop_server
}

rate_args() { # subscribers events rate
  echo --subscribers "$1" --events "$2" --rate "$3" --publishers "$BENCH_RATE_PUBLISHERS"
}

# cpu_ticks PID: utime + stime of a process, in clock ticks.
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  stat="${stat##*) }"
  # shellcheck disable=SC2086 # the fields after the command name, split on spaces
  set -- $stat
  echo $((${12} + ${13}))
}

# run_instances N EMBEDDED: the scale-out run. With EMBEDDED=0, a fresh Redis and N instances
# on it; with 1, one instance on the embedded hub (the baseline). One load process per
# instance, all on core 1, meeting through files in a directory of their own; the parts'
# results are merged into one line by bench/merge_parts.py.
run_instances() {
  local n="$1" embedded="$2" backend=redis k rc
  [[ "$embedded" == 1 ]] && backend=embedded
  local fields="\"backend\":\"$backend\",\"instances\":$n"
  if [[ "$embedded" == 0 ]] && ! start_redis; then
    error_record instances pulse "redis-server did not start" "$fields"
    return 0
  fi
  if ! BENCH_EMBEDDED="$embedded" start_instances "$n"; then
    error_record instances pulse "an instance did not start" "$fields"
    stop_redis
    return 0
  fi
  local sync="$WORK/sync.$backend.$n" publish=() pids=()
  rm -rf "$sync"
  mkdir -p "$sync"
  for ((k = 0; k < n; k++)); do
    publish+=(--publish "$(publish_url pulse $((PORT + k)))")
  done
  local redis_pid="" redis_cpu0=0
  if [[ "$embedded" == 0 ]]; then
    redis_pid="$(cat "$REDIS_PIDFILE")"
    redis_cpu0="$(cpu_ticks "$redis_pid")"
  fi
  for ((k = 0; k < n; k++)); do
    taskset -c 1 "$LOAD" instances --label pulse --pid "$(cat "$WORK/instance.$k.pid")" \
      --stream "$(stream_url pulse $((PORT + k)))" "${publish[@]}" --token "$TOKEN" \
      --part "$k" --parts "$n" --sync-dir "$sync" --subscribers "$BENCH_INSTANCE_SUBS" \
      --events "$BENCH_INSTANCE_EVENTS" --rate "$BENCH_INSTANCE_RATE" \
      --publishers "$BENCH_RATE_PUBLISHERS" --pad "$BENCH_PAD" --seconds "$BENCH_SECONDS" \
      --clk-tck "$(getconf CLK_TCK)" >"$sync/part.$k.json" 2>"$sync/part.$k.err" &
    pids+=($!)
  done
  for k in "${!pids[@]}"; do
    rc=0
    wait "${pids[$k]}" || rc=$?
    cat "$sync/part.$k.err" >&2
    [[ $rc -eq 0 ]] || say "instances ($backend, $n): part $k failed (exit $rc)"
  done
  local redis_cpu=""
  [[ -n "$redis_pid" ]] && redis_cpu="$(( $(cpu_ticks "$redis_pid") - redis_cpu0 ))"
  python3 "$ROOT/bench/merge_parts.py" --backend "$backend" --instances "$n" \
    --redis-persist "$([[ "$embedded" == 0 ]] && echo "$BENCH_REDIS_PERSIST")" \
    --redis-cpu-ticks "$redis_cpu" --clk-tck "$(getconf CLK_TCK)" "$sync" >>"$RESULTS" ||
    error_record instances pulse "merging the parts failed" "$fields"
  stop_instances "$n"
  stop_redis
}

# run_browser: bench/browser/stocks.mjs (Playwright, Debian's Chromium) against a fresh
# Pulse: the browser on core 1; its publisher, a child process, on core 0 beside the server,
# so the tab under test has a core to itself.
run_browser() {
  local why=""
  command -v node >/dev/null || why="node not found"
  [[ -d "$ROOT/end2end/node_modules/@playwright/test" ]] ||
    why="${why:+$why; }no Playwright in end2end/node_modules (cargo make setup)"
  [[ -x "$CHROMIUM_PATH" ]] || why="${why:+$why; }no Chromium at $CHROMIUM_PATH"
  if [[ -n "$why" ]]; then
    say "skipping browser: $why"
    error_record browser pulse "skipped: $why"
    return 0
  fi
  if ! start_server pulse; then
    error_record browser pulse "server did not start"
    return 0
  fi
  local rc=0
  # The script bounds itself by BENCH_SECONDS; timeout is the backstop (browser hung).
  timeout -k 10 $((BENCH_SECONDS + 60)) taskset -c 1 node "$ROOT/bench/browser/stocks.mjs" \
    --base "http://127.0.0.1:$PORT" --token "$TOKEN" --pid "$(cat "$PIDFILE")" \
    --chromium "$CHROMIUM_PATH" --symbols "$BENCH_BROWSER_SYMBOLS" \
    --slow-rate "$BENCH_BROWSER_SLOW_RATE" --slow-ticks "$BENCH_BROWSER_SLOW_TICKS" \
    --fast-rate "$BENCH_BROWSER_FAST_RATE" --fast-ticks "$BENCH_BROWSER_FAST_TICKS" \
    --ambient-seconds "$BENCH_BROWSER_AMBIENT_SECONDS" \
    --seconds "$BENCH_SECONDS" --clk-tck "$(getconf CLK_TCK)" --publisher-cpu 0 \
    >"$WORK/one.json" 2>"$WORK/one.err" || rc=$?
  collect browser pulse "$rc" "$WORK/one.json" "$WORK/one.err"
  stop_server
}

have_pulse=0
[[ " ${SERVERS[*]} " == *" pulse "* ]] && have_pulse=1
say "servers: ${SERVERS[*]}; scenarios: $BENCH_SCENARIOS; results in $BENCH_OUT"
for scenario in $BENCH_SCENARIOS; do
  # Pulse-only scenarios run once, not per server: the peers have no Redis scale-out, no ids
  # to resume from, no pages.
  case "$scenario" in
    instances | storm | ssr | browser)
      if [[ $have_pulse == 0 ]]; then
        SKIPPED+="$scenario: Pulse only, and pulse is not among the servers run"$'\n'
        continue
      fi ;;
  esac
  case "$scenario" in
    instances)
      [[ "$BENCH_INSTANCE_EMBEDDED" == 1 ]] && run_instances 1 1
      for n in $BENCH_INSTANCES; do
        run_instances "$n" 0
      done
      continue ;;
    storm)
      run pulse storm --subscribers "$BENCH_STORM_SUBS" --events "$BENCH_STORM_EVENTS" \
        --rate "$BENCH_STORM_RATE" --publishers "$BENCH_RATE_PUBLISHERS" \
        --drop-after-ms "$BENCH_STORM_DROP_MS" --reconnect-concurrency "$BENCH_STORM_CONCURRENCY"
      continue ;;
    ssr)
      run pulse ssr --requests "$BENCH_SSR_REQUESTS" --connections "$BENCH_SSR_CONNECTIONS" \
        --warmup "$BENCH_SSR_WARMUP"
      continue ;;
    browser)
      run_browser
      continue ;;
  esac
  for server in "${SERVERS[@]}"; do
    case "$scenario" in
      idle)
        for n in $BENCH_IDLE; do
          run "$server" idle --subscribers "$n" --settle-ms "$BENCH_SETTLE_MS"
        done ;;
      fanout)
        run "$server" fanout --subscribers "$BENCH_FANOUT_SUBS" --events "$BENCH_FANOUT_EVENTS" \
          --publishers "$BENCH_FANOUT_PUBLISHERS" ;;
      latency)
        # shellcheck disable=SC2046 # word splitting of the argument list is intended
        run "$server" latency $(rate_args "$BENCH_LATENCY_SUBS" "$BENCH_LATENCY_EVENTS" "$BENCH_LATENCY_RATE") ;;
      wide)
        # shellcheck disable=SC2046
        run "$server" wide $(rate_args "$BENCH_WIDE_SUBS" "$BENCH_WIDE_EVENTS" "$BENCH_WIDE_RATE") ;;
      stalled)
        # shellcheck disable=SC2046
        run "$server" stalled $(rate_args "$BENCH_LATENCY_SUBS" "$BENCH_LATENCY_EVENTS" "$BENCH_LATENCY_RATE") \
          --stalled "$BENCH_STALLED" --stalled-rcvbuf "$BENCH_STALLED_RCVBUF" ;;
      publish)
        if [[ " $BENCH_PUBLISH_SERVERS " == *" $server "* ]]; then
          run "$server" publish --publishers "$BENCH_PUBLISH_PUBLISHERS" --events "$BENCH_PUBLISH_EVENTS"
        fi ;;
    esac
  done
done

# --- the table, its files and the chart
mkdir -p "$BENCH_OUT"
cp "$RESULTS" "$BENCH_OUT/results.jsonl"
export BENCH_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo +changes)"
export BENCH_SERVERS_RUN="${SERVERS[*]}" BENCH_SKIPPED="$SKIPPED" BENCH_PULSE_SYNC BENCH_SMOKE="${BENCH_SMOKE:-0}"
"$VENV/bin/python" "$ROOT/bench/report.py" "$RESULTS" "$BENCH_OUT"
"$VENV/bin/python" "$ROOT/bench/chart.py" "$BENCH_OUT/bench.json" "$BENCH_OUT/ratios.png"
