#!/usr/bin/env bash
# Train with each scheme of examples/gc/train.yaml and print one table row
# per scheme: final train loss, virtual time, stragglers, wait-outs, inexact
# jobs. Usage: examples/gc/train.sh [path/to/fedsim] (runs go to /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."
FEDSIM=${1:-build/fedsim}
out=$(mktemp -d /tmp/fedsim_gctrain.XXXXXX)
echo "| scheme | load | T | final train loss | test acc | virtual time (s) | straggler events | wait-outs | inexact jobs |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for sc in none ignore fr cr sr-sgc m-sgc; do
  "$FEDSIM" --config examples/gc/train.yaml --gc.scheme "$sc" --out "$out/$sc" \
    --run.progress off > "$out/$sc.log"
  /usr/bin/python3 - "$out/$sc" "$sc" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
g, f = s["gc"], s["final"]
print(f"| {sys.argv[2]} | {g['normalised_load']:.4f} | {g['delay_T']} | "
      f"{f['train_loss']:.6f} | {f['test_acc']:.4f} | {f['vtime_s']:.1f} | "
      f"{g['straggler_events']} | {g['rounds_waited_for_all']} | {g['jobs_inexact']} |")
PY
done
