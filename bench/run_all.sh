#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md, in order: install what is missing,
# build the bench programs, then local training (run_local.sh), the floor
# (run_floor.sh), the waiting server (run_server.sh) and the growth in N
# (run_scale.sh). About 40 minutes on an idle 2-core machine (longer when
# the machine is busy: each measurement waits for it to be idle). Results:
# the tables on stdout, raw lines in $BENCH_OUT (default /tmp/fedsim-bench).
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh
bench_build
bench_need python3-torch python3-numpy linux-perf valgrind time
echo "== 1. client updates per second (run_local.sh)"
./run_local.sh
echo "== 2. the floor (run_floor.sh)"
./run_floor.sh
echo "== 3. the waiting server (run_server.sh)"
./run_server.sh
echo "== 4. growth in N (run_scale.sh)"
./run_scale.sh
