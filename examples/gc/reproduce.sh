#!/usr/bin/env bash
# Krishnan, Ebrahimi, Khisti (ICLR 2023), total run time of GC, SR-SGC,
# M-SGC and no coding, simulated on the virtual clock without training
# (`fedsim stragglers`): n = 256 workers, J = 100 jobs, the paper's tuned
# parameters (GC s = 15, SR-SGC (2,3,23), M-SGC (1,2,27)), 20 seeds per
# straggler setting. Writes examples/gc/results.csv, then the table and
# the figure (docs/img/stragglers-runtime.png) via plot.py.
# Usage: examples/gc/reproduce.sh [path/to/fedsim]
set -euo pipefail
cd "$(dirname "$0")/../.."
FEDSIM=${1:-build/fedsim}
out=examples/gc/results.csv
n=256 jobs=100 seeds=20
schemes=("none" "gc --s 15" "sr-sgc --B 2 --W 3 --lambda 23" "m-sgc --B 1 --W 2 --lambda 27")
# setting name | straggler model arguments | per-round time arguments
settings=(
  "bursty-1-2-27|--model bursty --mB 1 --mW 2 --mlambda 27 --p 0.05 --slowdown 5|--overhead 1 --job-time 0"
  "bursty-1-2-27-load|--model bursty --mB 1 --mW 2 --mlambda 27 --p 0.05 --slowdown 5|--overhead 1 --job-time 16"
  "bursty-2-3-23|--model bursty --mB 2 --mW 3 --mlambda 23 --p 0.05 --slowdown 5|--overhead 1 --job-time 0"
  "iid-0.05|--model iid --p 0.05 --slowdown 5|--overhead 1 --job-time 0"
  "pareto-3|--model pareto --param 3|--overhead 1 --job-time 0"
)
echo "setting,$("$FEDSIM" stragglers --scheme none --n 2 --jobs 1 | head -1)" > "$out"
for s in "${settings[@]}"; do
  IFS='|' read -r name model timing <<< "$s"
  for sc in "${schemes[@]}"; do
    # shellcheck disable=SC2086
    "$FEDSIM" stragglers --scheme $sc --n $n --jobs $jobs --seeds $seeds $model $timing \
      | tail -n +2 | sed "s/^/$name,/" >> "$out"
  done
done
echo "wrote $out ($(($(wc -l < "$out") - 1)) runs)"
/usr/bin/python3 examples/gc/plot.py "$out" docs/img/stragglers-runtime.png
