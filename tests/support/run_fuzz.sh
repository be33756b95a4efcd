#!/usr/bin/env bash
# run_fuzz.sh FUZZER SECONDS SEED_DIR: runs a libFuzzer target for a bounded time, starting
# from the checked-in seeds. New inputs go to a scratch corpus in the build tree, never into
# the source tree. A crash leaves its reproducer in the build directory and fails the test
# (-error_exitcode=1: libFuzzer's default, 77, would read as "skipped" to meson).
set -euo pipefail
fuzzer=$(readlink -f "$1"); seconds=$2; seeds=$(readlink -f "$3")
work="$(dirname "$fuzzer")/$(basename "$fuzzer").corpus"
mkdir -p "$work"
cd "$(dirname "$fuzzer")"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -error_exitcode=1 -print_final_stats=1 \
  "$work" "$seeds"
