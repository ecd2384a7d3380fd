#!/usr/bin/env bash
# Robust aggregation against faulty clients on Fashion-MNIST (docs/robust.md):
# softmax regression (examples/fmnist-softmax.yaml), 100 clients iid, 20 per
# round, 50 rounds, 20% of the clients faulty of one kind per row (none, sign
# flip, scaled x10, Gaussian noise std 1, label flip, NaN), one column per
# aggregator (FedAvg, median, trimmed mean, Krum, Multi-Krum, NNA, MoNNA),
# robust rules with f = 6. Prints the table of final test accuracies (and
# writes it to OUT/table.md). Runs one at a time (the machine is shared).
#   examples/robust/reproduce.sh [--out DIR] [--rounds R] [--seed S]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/robust; rounds=50; seed=1
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--rounds R] [--seed S]" >&2; exit 2 ;;
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
aggs=(fedavg median trimmed_mean krum multikrum nna monna)
for fk in "${faults[@]}"; do
  fopt=(--faults.kind "$fk" --faults.fraction 0.2 --faults.scale 10 --faults.noise_std 1)
  [ "$fk" = none ] && fopt=()
  for agg in "${aggs[@]}"; do
    aopt=(--server.aggregator "$agg")
    # MoNNA: local Polyak momentum, then NNA keeping k - 2f (pivot: the
    # previous aggregate).
    [ "$agg" = monna ] && aopt+=(--clients.momentum 0.9)
    d="$out/$fk-$agg"
    "$FEDSIM" "${common[@]}" "${fopt[@]}" "${aopt[@]}" --run.name "$fk-$agg" \
      --out "$d" > "$d.log" 2>&1 || echo "failed: $fk $agg (see $d.log)" >&2
  done
done
python3 - "$out" "${faults[*]}" "${aggs[*]}" <<'EOF' | tee "$out/table.md"
import json, sys
out, faults, aggs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
fname = {"none": "none", "sign_flip": "sign flip", "scale": "scaled x10",
         "noise": "noise (std 1)", "label_flip": "label flip", "nan": "NaN"}
aname = {"fedavg": "FedAvg", "median": "median", "trimmed_mean": "trimmed mean",
         "krum": "Krum", "multikrum": "Multi-Krum", "nna": "NNA",
         "monna": "MoNNA"}
print("| faulty clients (20%) | " + " | ".join(aname[a] for a in aggs) + " |")
print("| --- |" + " ---: |" * len(aggs))
for f in faults:
    row = []
    for a in aggs:
        try:
            s = json.load(open(f"{out}/{f}-{a}/summary.json"))
            acc = s["final"]["test_acc"]
            rej = s.get("robustness", {}).get("rejected_nonfinite", 0)
            skip = s.get("robustness", {}).get("skipped_rounds", 0)
            cell = f"{acc:.4f}"
            if skip:
                cell += f" ({skip:.0f} skipped)"
            row.append(cell)
        except (OSError, KeyError, ValueError):
            row.append("failed")
    print(f"| {fname[f]} | " + " | ".join(row) + " |")
EOF
