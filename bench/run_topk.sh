#!/usr/bin/env bash
# Build and run bench/bench_topk.c against build/libfedsim.a (run ninja -C
# build first). Usage: bench/run_topk.sh [reps]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/bench-bin"
mkdir -p "$out"
# shellcheck disable=SC2046
${CC:-gcc} -std=gnu11 -O3 -Wall -Wextra -D_GNU_SOURCE \
  -I"$root/include" -I"$root/compress" -o "$out/bench_topk" \
  "$root/bench/bench_topk.c" "$root/build/libfedsim.a" \
  $(pkg-config --libs libsodium openblas) -lm
"$out/bench_topk" "$@"
