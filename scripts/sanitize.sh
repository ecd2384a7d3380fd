#!/usr/bin/env bash
# Build fedsim with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and run every test suite there. Open MPI, hwloc and OpenBLAS
# keep some allocations until exit: tests/lsan.supp names those libraries
# (full stack unwinding is needed for the names to match); any leak or
# undefined behaviour in fedsim's own code fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Db_sanitize=address,undefined -Dbuildtype=debug -Dwerror=true >/dev/null
fi
ninja -C build-asan >/dev/null
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# Under the sanitizers one rank count (3) against one process is enough to
# catch memory errors; the release build checks 2, 3 and 5.
export FEDSIM_DET_RANKS=3
# The cluster tests and the brief libFuzzer run (already built with ASan and
# UBSan) run once, in the release build (scripts/test.sh). By default this
# pass runs every unit suite, the fuzz replays and the MPI tests of suite
# 'asan' (tests/meson.build), which keeps CI within its time budget; with
# FEDSIM_SANITIZE_ALL=1 it runs every MPI test too.
if [ "${FEDSIM_SANITIZE_ALL:-0}" = 1 ]; then
  meson test -C build-asan --print-errorlogs --no-suite cluster --no-suite fuzz-brief "$@"
else
  meson test -C build-asan --print-errorlogs --suite unit --suite fuzz --suite asan \
    --no-suite fuzz-brief --no-suite cluster "$@"
fi
