#!/usr/bin/env bash
# `cargo make bench`: every benchmark scenario against Pulse and the four peer servers in
# bench/peers, in one run, printed as one table with ratios to axum_basic and written to
# bench/results/ (bench.txt, bench.md, bench.csv, bench.json, ratios.png).
#
# Each (scenario, server) pair gets a fresh server pinned to core 0 (`taskset -c 0`) and one
# load process pinned to core 1 (`taskset -c 1`); loopback only; every run is bounded by its
# counts and by BENCH_SECONDS. Sizes come from environment variables (README, "Benchmarks");
# BENCH_SMOKE=1 shrinks every scenario to a few seconds and writes to bench/results/smoke/.
#
# Pulse is built with `cargo leptos build --release` unless PULSE_BIN names a binary.
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
  : "${BENCH_SECONDS:=60}" "${BENCH_OUT:=$ROOT/bench/results/smoke}"
fi
: "${BENCH_SERVERS:=pulse axum_basic node_http fastapi_seed sse_starlette}"
: "${BENCH_SCENARIOS:=idle fanout latency wide stalled publish}"
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

source "$ROOT/scripts/bench-lib.sh"
cleanup() {
  stop_server
  rm -rf "$WORK/pulse-data"
}
trap cleanup EXIT

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
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then
  say "port $PORT is already in use (set BENCH_PORT)"
  exit 1
fi

# --- builds
if [[ -z "${PULSE_BIN:-}" ]]; then
  if ! command -v cargo-leptos >/dev/null; then
    say "cargo-leptos is missing: run cargo make setup (or set PULSE_BIN to a release binary)"
    exit 1
  fi
  say "building Pulse: cargo leptos build --release"
  cargo leptos build --release
  PULSE_BIN="$TARGET/release/pulse"
fi
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
run() { # server scenario load-args...
  local server="$1" scenario="$2"
  shift 2
  if ! start_server "$server"; then
    printf '{"scenario":"%s","label":"%s","error":"server did not start"}\n' "$scenario" "$server" >>"$RESULTS"
    return 0
  fi
  local auth=()
  [[ "$server" == pulse ]] && auth=(--token "$TOKEN")
  local stream=()
  [[ "$scenario" != publish ]] && stream=(--stream "$(stream_url "$server")")
  local rc=0
  taskset -c 1 "$LOAD" "$scenario" --label "$server" --pid "$(cat "$PIDFILE")" \
    "${stream[@]}" --publish "$(publish_url "$server")" "${auth[@]}" \
    --pad "$BENCH_PAD" --seconds "$BENCH_SECONDS" --clk-tck "$(getconf CLK_TCK)" "$@" \
    >"$WORK/one.json" 2>"$WORK/one.err" || rc=$?
  cat "$WORK/one.err" >&2
  if [[ -s "$WORK/one.json" ]]; then
    cat "$WORK/one.json" >>"$RESULTS"
  else # refused its arguments or crashed: keep the reason for the table's notes
    local why
    why="$(tail -1 "$WORK/one.err" 2>/dev/null | tr -d '"\\' | tr -c '[:print:]' ' ')"
    printf '{"scenario":"%s","label":"%s","error":"load tool exit %s: %s"}\n' \
      "$scenario" "$server" "$rc" "$why" >>"$RESULTS"
  fi
  [[ $rc -eq 0 ]] || say "$server / $scenario: the load tool failed (exit $rc; see the table's notes)"
  stop_server
}

rate_args() { # subscribers events rate
  echo --subscribers "$1" --events "$2" --rate "$3" --publishers "$BENCH_RATE_PUBLISHERS"
}

say "servers: ${SERVERS[*]}; scenarios: $BENCH_SCENARIOS; results in $BENCH_OUT"
for scenario in $BENCH_SCENARIOS; do
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
      *) say "unknown scenario $scenario (idle fanout latency wide stalled publish)"; exit 1 ;;
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
