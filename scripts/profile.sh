#!/usr/bin/env bash
# Where Pulse's CPU goes during one benchmark scenario: `perf record` (the kernel's software
# clock, which works where hardware counters are not exposed, as on these VMs) attached to a
# benchmark Pulse pinned to core 0 while `pulse-load` drives it from core 1, then a flat
# report by symbol (user space and kernel) into target/profile/.
#
#   scripts/profile.sh [scenario] [pulse-load arguments…]
#   scripts/profile.sh fanout --subscribers 100 --events 20000 --publishers 8     # the default
#   scripts/profile.sh idle --subscribers 10000 --settle-ms 3000
#   scripts/profile.sh ssr --requests 20000 --connections 4 --warmup 500   # GET /stocks
#   PROFILE_SERVER=axum_basic scripts/profile.sh fanout …   # the same run against the peer
#
# Needs `perf` (Debian's linux-perf) and a release build (PULSE_BIN, default
# target/release/pulse); builds the load tool and axum_basic like `cargo make bench`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/profile"
WORK="$(mktemp -d)"
PORT="${BENCH_PORT:-3480}"
TOKEN="profile-$(date +%s)"
PULSE_BIN="${PULSE_BIN:-$TARGET/release/pulse}"
PULSE_SITE="${PULSE_SITE:-$TARGET/site}"
: "${BENCH_PULSE_SYNC:=full}"
SERVER="${PROFILE_SERVER:-pulse}"
SCENARIO="${1:-fanout}"
shift || true
ARGS=("$@")
if [[ ${#ARGS[@]} -eq 0 ]]; then
  ARGS=(--subscribers 100 --events 20000 --publishers 8)
fi

command -v perf >/dev/null || { echo "profile: perf is missing: apt-get install linux-perf" >&2; exit 1; }
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"
trap 'stop_pid "$PIDFILE"; rm -rf "$WORK"' EXIT

build_tools
mkdir -p "$OUT"
start_server "$SERVER" || exit 1
pid="$(cat "$PIDFILE")"
data="$OUT/$SERVER-$SCENARIO.perf.data"
perf record -q -e cpu-clock -F 4999 -g -p "$pid" -o "$data" 2>"$WORK/perf.err" &
perf_pid=$!
# How many writes the server makes (each is a trip through the kernel's TCP stack, which is
# most of the CPU per delivery on loopback): writes per delivery is the coalescing factor.
perf stat -x, -e syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_sendto \
  -e syscalls:sys_enter_epoll_wait -p "$pid" -o "$WORK/syscalls.csv" &
stat_pid=$!
sleep 0.5
auth=()
[[ "$SERVER" == pulse ]] && auth=(--token "$TOKEN")
target=(--stream "$(stream_url "$SERVER")")
if [[ "$SCENARIO" == ssr ]]; then # the page bench.sh measures, with its 20 rows
  target=(--get "http://127.0.0.1:$PORT${BENCH_SSR_PATH:-/stocks}")
  seed_stocks 20
fi
taskset -c 1 "$LOAD" "$SCENARIO" --label "$SERVER" --pid "$pid" "${target[@]}" \
  --publish "$(publish_url "$SERVER")" "${auth[@]}" --pad 64 --seconds 120 \
  --clk-tck "$(getconf CLK_TCK)" "${ARGS[@]}" >"$OUT/$SERVER-$SCENARIO.json"
kill -INT "$perf_pid" "$stat_pid"
wait "$perf_pid" "$stat_pid" || true
report="$OUT/$SERVER-$SCENARIO.txt"
{
  echo "# $SERVER, $SCENARIO ${ARGS[*]}: $(cat "$OUT/$SERVER-$SCENARIO.json")"
  echo "## system calls (count, event)"
  grep -v '^#' "$WORK/syscalls.csv" | grep . | cut -d, -f1,3 || true
  echo "## by shared object"
  perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 || true
  echo "## by symbol (self)"
  perf report -i "$data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 || true
} >"$report"
echo "profile: report: $report (raw: $data; perf report -i it for call graphs)"
cat "$report"
