#!/usr/bin/env bash
# Differential privacy on Fashion-MNIST: accuracy against epsilon (delta =
# 1e-5) for flat, per-layer and DiceSGD-style clipping, 100 clients, Poisson
# sampling q = 0.1, central noise calibrated to each target epsilon; and the
# clipping-bias effect the DiceSGD paper is about: without noise, a small
# clipping threshold hurts flat clipping much more than DiceSGD.
#   examples/dp/reproduce.sh [--out DIR] [--model softmax|mlp] [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/dp; model=softmax; rounds=100; eps_list="1 2 4 8"
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --quick) rounds=30; eps_list="2 8"; shift ;;
    *) echo "usage: $0 [--out DIR] [--model softmax|mlp] [--quick]" >&2; exit 2 ;;
  esac
done
. scripts/env.sh
FEDSIM=${FEDSIM:-build/fedsim}
[ -x "$FEDSIM" ] || scripts/setup.sh
mkdir -p "$out"
hidden=(); [ "$model" = mlp ] && hidden=(--model.hidden 256,128)
common=(--data fashion-mnist --partition.method iid --clients 100 --per-round 10
        --clients.sampling poisson --server.weighting uniform --model "$model" "${hidden[@]}"
        --local.epochs 1 --local.batch_size 32 --local.lr 0.1 --rounds "$rounds"
        --eval.every 10 --run.progress off --run.save_model false --seed 1 --dp.delta 1e-5)
jobs=()
for clip in flat per_layer dice; do
  for e in $eps_list; do
    jobs+=("--dp.clip $clip --dp.clip_norm 0.5 --dp.dice_ratio 1 --dp.noise central --dp.target_epsilon $e --run.name $clip-eps$e --out $out/$clip-eps$e")
  done
done
# Clipping bias: no noise, a threshold far below the updates' norms.
for S in 0.05 0.5; do
  jobs+=("--dp.clip flat --dp.clip_norm $S --run.name bias-flat-S$S --out $out/bias-flat-S$S")
  jobs+=("--dp.clip dice --dp.clip_norm $S --dp.dice_ratio 1 --run.name bias-dice-S$S --out $out/bias-dice-S$S")
done
jobs+=("--run.name nodp --out $out/nodp --server.weighting uniform")
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} sh -c "\"$FEDSIM\" ${common[*]} {} > /dev/null 2>&1 || echo 'failed: {}'"
/usr/bin/python3 - "$out" "$eps_list" <<'PY'
import json, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
out, eps_list = sys.argv[1], [float(e) for e in sys.argv[2].split()]
def final(name):
    s = json.load(open(os.path.join(out, name, "summary.json")))
    return s["final"]["test_acc"], s.get("privacy", {}).get("epsilon")
rows = ["| clipping | " + " | ".join(f"eps = {e:g}" for e in eps_list) + " |",
        "| --- |" + " --- |" * len(eps_list)]
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for clip, mark in (("flat", "o"), ("per_layer", "s"), ("dice", "^")):
    accs = [final(f"{clip}-eps{e:g}")[0] for e in eps_list]
    rows.append(f"| {clip} | " + " | ".join(f"{a:.4f}" for a in accs) + " |")
    ax.plot(eps_list, accs, marker=mark, label=clip)
nodp = final("nodp")[0]
ax.axhline(nodp, ls=":", color="grey", label=f"no DP ({nodp:.3f})")
ax.set_xscale("log", base=2); ax.set_xlabel("epsilon (delta = 1e-5)"); ax.set_ylabel("test accuracy")
ax.set_title("Fashion-MNIST, 100 clients, Poisson q = 0.1, S = 0.5"); ax.grid(alpha=.3); ax.legend()
fig.tight_layout(); fig.savefig(os.path.join(out, "acc_vs_epsilon.png"), dpi=130)
bias = ["", "| no noise, threshold S | flat | DiceSGD (C2 = C1) |", "| --- | --- | --- |"]
for S in ("0.05", "0.5"):
    bias.append(f"| {S} | {final('bias-flat-S' + S)[0]:.4f} | {final('bias-dice-S' + S)[0]:.4f} |")
text = "\n".join(rows + [f"\nno DP: {nodp:.4f}"] + bias)
open(os.path.join(out, "table.md"), "w").write(text + "\n")
print(text); print("plot:", os.path.join(out, "acc_vs_epsilon.png"))
PY
