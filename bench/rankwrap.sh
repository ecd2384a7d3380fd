#!/bin/sh
# Per-rank /usr/bin/time -v under mpirun:
#   BENCH_TIME_DIR=DIR mpirun -n P bench/rankwrap.sh build/fedsim ...
# writes DIR/rank<r>.txt (CPU user/system, wall, maximum resident set size).
d=${BENCH_TIME_DIR:-/tmp}
exec /usr/bin/time -v -o "$d/rank${OMPI_COMM_WORLD_RANK:-0}.txt" "$@"
