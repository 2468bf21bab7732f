#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20): `fuzz/run.sh 20`.
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The committed seeds in
# fuzz/corpus/TARGET are read but never written: new inputs go to a scratch directory that is
# removed afterwards. A crash stops the script with libFuzzer's report, and the input is kept
# in fuzz/artifacts/TARGET: fix the bug and add the input as a regression unit test.
#
# FUZZ_SANITIZER (default none: authcli has no unsafe code, and panics and overflow checks do
# not need a sanitizer; `address` for memory errors in C dependencies) and FUZZ_JOBS.
set -euo pipefail
secs=${1:-20}
case "$secs" in '' | *[!0-9]*) echo "usage: fuzz/run.sh SECONDS" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
toolchain=${FUZZ_TOOLCHAIN:-nightly}
sanitizer=${FUZZ_SANITIZER:-none}
fuzz=(cargo "+$toolchain" fuzz)
# Debug assertions: integer overflow is a crash too.
build_flags=(--sanitizer "$sanitizer" --debug-assertions)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"${fuzz[@]}" build "${build_flags[@]}"
for target in $("${fuzz[@]}" list); do
  echo "== fuzz target $target: ${secs}s" >&2
  mkdir -p "$scratch/$target" "fuzz/corpus/$target"
  # libFuzzer reports every new coverage unit: keep that in a log, print its verdict.
  log="$scratch/$target.log"
  if ! "${fuzz[@]}" run "${build_flags[@]}" "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    > "$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target FAILED: the input is in fuzz/artifacts/$target" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" >&2 || true
done
echo "fuzzing done: no crash in any target (${secs}s each)" >&2
