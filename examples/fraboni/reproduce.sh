#!/usr/bin/env bash
# Fraboni, Vidal, Kameni, Lorenzi (JMLR 2023), "A General Theory for Federated
# Optimization with Asynchronous and Heterogeneous Clients Updates": their
# comparison of synchronous FedAvg, asynchronous FedAvg, FedFix-delta and
# FedBuff-c, here on Fashion-MNIST (they use CIFAR10 with a small CNN and
# Shakespeare with an LSTM; we use an MLP 784-64-10 and plain local SGD, no
# local momentum). M clients, Dirichlet(0.1) partition, scenario F-P (job of
# client i lasts 1 - i P/(100(M-1)) time units), 10 local steps of batch 64,
# time budget T. Output: one folder per scenario with a run per strategy, and
# accuracy-against-virtual-time plots (scripts/plot.py).
#   examples/fraboni/reproduce.sh [--out DIR] [--T 60] [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/fraboni; T=60; Ms="20 50"; Ps="0 80"
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --T) T=$2; shift 2 ;;
    --quick) T=20; Ms=20; shift ;;
    *) echo "usage: $0 [--out DIR] [--T time] [--quick]" >&2; exit 2 ;;
  esac
done
. scripts/env.sh
FEDSIM=${FEDSIM:-build/fedsim}
[ -x "$FEDSIM" ] || scripts/setup.sh
common=(--data fashion-mnist --partition.method dirichlet --partition.alpha 0.1
        --model mlp --model.hidden 64 --local.mode steps --local.steps 10
        --local.batch_size 64 --local.lr 0.05 --system.dist fp --run.time_budget "$T"
        --rounds 1000000 --run.progress off --run.save_model false --seed 1)
jobs=()
for M in $Ms; do for P in $Ps; do
  d="$out/M$M-F$P"; mkdir -p "$d"
  # Evaluate about 60 times over the budget whatever the aggregation rate.
  jobs+=("--clients $M --per-round $M --system.fp $P --server.strategy fedavg --eval.every 1 --run.name sync --out $d/sync")
  jobs+=("--clients $M --per-round $M --system.fp $P --server.strategy async --eval.every $((M * T / 30 + 1)) --run.name async --out $d/async")
  jobs+=("--clients $M --per-round $M --system.fp $P --server.strategy fedfix --server.fedfix_delta 0.5 --eval.every 2 --run.name fedfix-0.5 --out $d/fedfix")
  jobs+=("--clients $M --per-round $M --system.fp $P --server.strategy fedbuff --server.buffer 5 --server.staleness_exponent 0 --eval.every $((M / 4 + 1)) --run.name fedbuff-5 --out $d/fedbuff5")
  jobs+=("--clients $M --per-round $M --system.fp $P --server.strategy fedbuff --server.buffer 10 --server.staleness_exponent 0 --eval.every $((M / 8 + 1)) --run.name fedbuff-10 --out $d/fedbuff10")
done; done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} sh -c "\"$FEDSIM\" ${common[*]} {} > /dev/null 2>&1 || echo 'failed: {}'"
for d in "$out"/M*-F*; do
  /usr/bin/python3 scripts/plot.py "$d"/sync "$d"/async "$d"/fedfix "$d"/fedbuff5 "$d"/fedbuff10 --out "$d" > /dev/null
  echo "== $(basename "$d"): final test accuracy (aggregations) within T = $T"
  for r in sync async fedfix fedbuff5 fedbuff10; do
    /usr/bin/python3 -c "import json,sys; s=json.load(open('$d/$r/summary.json')); f=s['final']; print(f'  {sys.argv[1]:10s} acc {f[\"test_acc\"]:.4f}  best {f[\"best_test_acc\"]:.4f}  aggregations {f[\"round\"]:.0f}')" "$r"
  done
  echo "  plots: $d/acc_vs_time.png"
done
