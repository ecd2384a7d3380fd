#!/usr/bin/env bash
# Robust aggregation against faulty clients on Fashion-MNIST (docs/robust.md):
# softmax regression (examples/fmnist-softmax.yaml), 100 clients iid, 50
# rounds, 20% of the clients faulty of one kind per row (none, sign flip,
# scaled x10, Gaussian noise std 1, label flip, NaN).
#   Part 1: 20 clients per round, one column per aggregator (FedAvg, median,
#           trimmed mean, Krum, Multi-Krum, NNA, MoNNA), robust rules f = 6.
#   Part 2: all 100 clients in every round, FedAvg against peer-to-peer MoNNA
#           (server.nna_pivot own, f = 20, clients.momentum 0.9).
# Prints the tables of final test accuracies (and writes them to
# OUT/table.md and OUT/table-p2p.md). Runs one at a time (shared machine).
#   examples/robust/reproduce.sh [--out DIR] [--rounds R] [--seed S] [--part 1|2|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/robust; rounds=50; seed=1; part=all
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --part) part=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--rounds R] [--seed S] [--part 1|2|all]" >&2; exit 2 ;;
  esac
done
. scripts/env.sh
FEDSIM=${FEDSIM:-build/fedsim}
[ -x "$FEDSIM" ] || scripts/setup.sh
mkdir -p "$out"
common=(--config examples/fmnist-softmax.yaml --clients 100 --per-round 20
        --rounds "$rounds" --seed "$seed" --eval.every 10 --run.progress off
        --run.save_model false --server.robust_f 6)
faults=(none sign_flip scale noise label_flip nan)

run() { # run FAULT NAME OPTIONS...: one run into $out/FAULT-NAME
  local fk=$1 name=$2; shift 2
  local fopt=(--faults.kind "$fk" --faults.fraction 0.2 --faults.scale 10 --faults.noise_std 1)
  [ "$fk" = none ] && fopt=()
  local d="$out/$fk-$name"
  "$FEDSIM" "${common[@]}" "${fopt[@]}" "$@" --run.name "$fk-$name" --out "$d" \
    > "$d.log" 2>&1 || echo "failed: $fk $name (see $d.log)" >&2
}

table() { # table NAMES...: markdown table of final test accuracies
  python3 - "$out" "${faults[*]}" "$*" <<'PY'
import json, sys
out, faults, aggs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
fname = {"none": "none", "sign_flip": "sign flip", "scale": "scaled x10",
         "noise": "noise (std 1)", "label_flip": "label flip", "nan": "NaN"}
aname = {"fedavg": "FedAvg", "median": "median", "trimmed_mean": "trimmed mean",
         "krum": "Krum", "multikrum": "Multi-Krum", "nna": "NNA",
         "monna": "MoNNA", "all-fedavg": "FedAvg, 100 per round",
         "p2p-monna": "MoNNA peer-to-peer"}
print("| faulty clients (20%) | " + " | ".join(aname[a] for a in aggs) + " |")
print("| --- |" + " ---: |" * len(aggs))
for f in faults:
    row = []
    for a in aggs:
        try:
            s = json.load(open(f"{out}/{f}-{a}/summary.json"))
            cell = f"{s['final']['test_acc']:.4f}"
            skip = s.get("robustness", {}).get("skipped_rounds", 0)
            if skip:
                cell += f" ({skip:.0f} skipped)"
            row.append(cell)
        except (OSError, KeyError, ValueError):
            row.append("failed")
    print(f"| {fname[f]} | " + " | ".join(row) + " |")
PY
}

if [ "$part" != 2 ]; then
  aggs=(fedavg median trimmed_mean krum multikrum nna monna)
  for fk in "${faults[@]}"; do
    for agg in "${aggs[@]}"; do
      # MoNNA: local Polyak momentum, then NNA keeping k - 2f (pivot: the
      # previous aggregate).
      mom=(); [ "$agg" = monna ] && mom=(--clients.momentum 0.9)
      run "$fk" "$agg" --server.aggregator "$agg" "${mom[@]}"
    done
  done
  table "${aggs[@]}" | tee "$out/table.md"
fi
if [ "$part" != 1 ]; then
  # Every client in every round; peer-to-peer MoNNA keeps N - 2f = 60 of the
  # 100 models around each honest node's own.
  for fk in "${faults[@]}"; do
    run "$fk" all-fedavg --per-round 100
    run "$fk" p2p-monna --per-round 100 --server.aggregator monna \
      --server.nna_pivot own --server.robust_f 20 --clients.momentum 0.9
  done
  table all-fedavg p2p-monna | tee "$out/table-p2p.md"
fi
