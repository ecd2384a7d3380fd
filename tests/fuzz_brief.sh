#!/usr/bin/env bash
# A brief libFuzzer run of every proto/ decoder (FEDSIM_FUZZ_SECONDS each,
# default 5: 15 targets x 5 s keep the run, build included, within about
# 2 minutes of CI's budget; docs/fuzzing.md) through scripts/fuzz.sh, which installs clang and
# libclang-rt-14-dev if missing, builds the targets with
# -fsanitize=fuzzer,address,undefined and fails on any crash. Longer runs:
# scripts/fuzz.sh 600 (docs/fuzzing.md).
set -euo pipefail
: "${SRCDIR:?}"
exec bash "$SRCDIR/scripts/fuzz.sh" "${FEDSIM_FUZZ_SECONDS:-5}"
