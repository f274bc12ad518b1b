#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for a bounded time, one after another, one job each,
# and prints per target the executions, the corpus size and whether it crashed.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]     (default 600, every target)
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if it is
# missing. Built without a sanitizer: the code fuzzed is safe Rust, so ASan would only slow it;
# debug assertions and overflow checks are on. The committed seeds are read from
# fuzz/corpus/<target>/; what the fuzzer adds goes to fuzz/corpus-run/<target>/ and crashes to
# fuzz/artifacts/<target>/ (both ignored by git).
set -u
secs="${1:-600}"
shift || true
cd "$(dirname "$0")/../fuzz"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked || exit 1
fi
cargo +nightly fuzz build --sanitizer none || exit 1

failed=0
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
for target in "${targets[@]}"; do
  log="artifacts/$target.log"
  mkdir -p "artifacts/$target" "corpus-run/$target"
  start=$(date +%s)
  cargo +nightly fuzz run --sanitizer none "$target" "corpus-run/$target" "corpus/$target" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  files=$(find "corpus-run/$target" "corpus/$target" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    verdict="no crash"
  else
    verdict="CRASHED (exit $rc; see fuzz/$log and fuzz/artifacts/$target/)"
    failed=1
  fi
  echo "$target: ${took}s, ${execs:-?} execs, ${speed:-?} exec/s, corpus $files files, $verdict"
done
exit "$failed"
