#!/usr/bin/env bash
# The README's first command: set everything up, run the default federated
# simulation on 3 MPI ranks (1 server + 2 client workers), and draw its plots.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
out="runs/quickstart-$(date -u +%Y%m%d-%H%M%S)"
mpirun -n 3 --bind-to none build/fedsim --config examples/default.yaml --out "$out"
/usr/bin/python3 scripts/plot.py "$out" --out "$out" >/dev/null && echo "quickstart: plots in $out/*.png"
