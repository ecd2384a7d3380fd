#!/usr/bin/env bash
# Robust aggregation and faulty clients, end to end (docs/robust.md):
#  - each robust rule, with faulty clients of some kind, gives bit-identical
#    metrics.csv (but wall_s) and model.bin with P = 1 (no mpirun), 2 and 3;
#  - NaN/Inf updates are rejected and counted (metrics.csv rejected_nonfinite,
#    summary.json) with FedAvg as with the robust rules;
#  - the robust "mean" path agrees with FedAvg under equal weights;
#  - the robust rules resist an attack that breaks FedAvg;
#  - impossible settings are refused with a message naming them.
set -euo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_robust.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 6 --clients 40 --per-round 9 --seed 5 --run.progress off
        --data.synthetic.samples 4000 --data.synthetic.groups 40
        --server.weighting uniform)
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
col() { # col DIR NAME: the values of one metrics.csv column, one a line
  /usr/bin/python3 - "$1/metrics.csv" "$2" <<'EOF'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r[sys.argv[2]])
EOF
}
summ() { # summ DIR KEY.KEY: a value of summary.json
  /usr/bin/python3 - "$1/summary.json" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)
EOF
}

det() {
  local tag=$1; shift
  "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag-p1" > "$work/$tag-p1.log" 2>&1 \
    || { bad "$tag P=1: exit $?"; cat "$work/$tag-p1.log"; return 1; }
  local ref; ref=$(strip "$work/$tag-p1" | md5sum)
  for P in 2 3; do
    "${MPIRUN[@]}" -n $P "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag-p$P" \
      > "$work/$tag-p$P.log" 2>&1 || { bad "$tag P=$P: exit $?"; cat "$work/$tag-p$P.log"; return 1; }
    [ "$(strip "$work/$tag-p$P" | md5sum)" = "$ref" ] \
      || { bad "$tag: metrics differ between P=1 and P=$P"; return 1; }
    cmp -s "$work/$tag-p1/model.bin" "$work/$tag-p$P/model.bin" \
      || { bad "$tag: model.bin differs between P=1 and P=$P"; return 1; }
  done
  ok "$tag: P=2 and P=3 bit-identical to P=1"
}
f2=(--server.robust_f 2 --faults.fraction 0.2)
det median "${f2[@]}" --server.aggregator median --faults.kind sign_flip || true
det trimmed "${f2[@]}" --server.aggregator trimmed_mean --faults.kind noise || true
det krum "${f2[@]}" --server.aggregator krum --faults.kind scale --faults.scale -5 || true
det multikrum "${f2[@]}" --server.aggregator multikrum --faults.kind label_flip \
  --compress.up topk --compress.up_ratio 0.2 --ef.method ef14 || true
det nna "${f2[@]}" --server.aggregator nna --faults.kind nan --system.dropout 0.2 || true
det monna "${f2[@]}" --server.aggregator monna --clients.momentum 0.9 \
  --faults.kind inf --server.nna_pivot model || true
det fedavg-nan --faults.fraction 0.3 --faults.kind nan || true
# Peer-to-peer MoNNA: every client in every round, each with its own model.
det monna-p2p --per-round 40 --server.robust_f 8 --faults.fraction 0.2 \
  --server.aggregator monna --server.nna_pivot own --clients.momentum 0.9 \
  --faults.kind sign_flip || true

# The faulty runs above differ from fault-free ones (the hooks do something).
"$FEDSIM" "${common[@]}" "${f2[@]}" --server.aggregator median --faults.fraction 0 \
  --out "$work/median-clean" > /dev/null 2>&1
[ "$(strip "$work/median-clean" | md5sum)" != "$(strip "$work/median-p1" | md5sum)" ] \
  && ok "sign-flipping clients change the run" || bad "faults.kind sign_flip changed nothing"

# NaN updates: rejected and counted, whatever the aggregator.
for agg in fedavg median; do
  d="$work/allnan-$agg"
  "$FEDSIM" "${common[@]}" --faults.fraction 1 --faults.kind nan --server.aggregator $agg \
    --out "$d" > "$d.log" 2>&1 || { bad "all-NaN $agg: exit $?"; cat "$d.log"; continue; }
  rej=$(col "$d" rejected_nonfinite | tail -n +2 | sort -u | xargs)
  acc=$(col "$d" test_acc | sort -u | wc -l)
  if [ "$rej" = "9" ] && [ "$acc" = 1 ] && [ "$(summ "$d" robustness.rejected_nonfinite)" = 54 ]; then
    ok "all clients NaN ($agg): 9 of 9 rejected every round, 54 in all, the model never moves"
  else
    bad "all clients NaN ($agg): rejected per round '$rej', distinct accuracies $acc"
  fi
  grep -q "rejected the update" "$d.log" || bad "all-NaN $agg: no warning on stderr"
done
[ "$(summ "$work/allnan-median" robustness.skipped_rounds)" = 6 ] \
  && ok "median with no update left skips (and counts) all 6 rounds" \
  || bad "median all-NaN: skipped_rounds $(summ "$work/allnan-median" robustness.skipped_rounds)"
tot=$(col "$work/fedavg-nan-p1" rejected_nonfinite | awk '{s += $1} END {print s + 0}')
if [ "$tot" -gt 0 ] && [ "$tot" -lt 54 ] && [ "$tot" = "$(summ "$work/fedavg-nan-p1" robustness.rejected_nonfinite)" ]; then
  ok "30% NaN clients with FedAvg: $tot updates rejected, the same in metrics.csv and summary.json"
else
  bad "30% NaN clients with FedAvg: rejected $tot"
fi
grep -q nan "$work/fedavg-nan-p1/metrics.csv" && bad "fedavg-nan: NaN in metrics.csv" || true

# The robust "mean" is FedAvg with equal weights, through the separate-update path.
"$FEDSIM" "${common[@]}" --out "$work/fedavg" > /dev/null 2>&1
"$FEDSIM" "${common[@]}" --server.aggregator mean --out "$work/mean" > /dev/null 2>&1
if /usr/bin/python3 - "$work/fedavg/metrics.csv" "$work/mean/metrics.csv" <<'EOF'
import csv, sys
a = [float(r["test_loss"]) for r in csv.DictReader(open(sys.argv[1]))]
b = [float(r["test_loss"]) for r in csv.DictReader(open(sys.argv[2]))]
sys.exit(0 if len(a) == len(b) == 7 and all(abs(x - y) <= 1e-5 * abs(x) for x, y in zip(a, b)) else 1)
EOF
then ok "aggregator mean matches fedavg (uniform weights) to 1e-5 in test loss"
else bad "aggregator mean differs from fedavg"; fi

# An attack that breaks FedAvg (20% of clients send -20 times their update)
# and that the robust rules resist, on iid data (with the natural non-iid
# split of the synthetic data, selecting few updates costs accuracy by
# itself: docs/robust.md).
att=(--rounds 15 --partition.method iid --faults.fraction 0.2 --faults.kind scale
     --faults.scale -20 --server.robust_f 3)
"$FEDSIM" "${common[@]}" "${att[@]}" --out "$work/att-fedavg" > /dev/null 2>&1
"$FEDSIM" "${common[@]}" --rounds 15 --partition.method iid --out "$work/att-clean" > /dev/null 2>&1
clean=$(summ "$work/att-clean" final.test_acc)
broken=$(summ "$work/att-fedavg" final.test_acc)
for agg in median trimmed_mean krum multikrum nna monna monna-p2p; do
  extra=(--server.aggregator $agg)
  [ $agg = monna-p2p ] && extra=(--server.aggregator monna --server.nna_pivot own
                                 --per-round 40 --server.robust_f 8 --clients.momentum 0.9)
  "$FEDSIM" "${common[@]}" "${att[@]}" "${extra[@]}" --out "$work/att-$agg" > /dev/null 2>&1
  a=$(summ "$work/att-$agg" final.test_acc)
  if /usr/bin/python3 -c "import sys; c,b,a=map(float,sys.argv[1:]); sys.exit(0 if a > b + 0.1 and a > c - 0.1 else 1)" "$clean" "$broken" "$a"; then
    ok "$agg under attack: accuracy $a (FedAvg $broken, no attack $clean)"
  else
    bad "$agg under attack: accuracy $a (FedAvg $broken, no attack $clean)"
  fi
done

# Refusals, with messages naming what is wrong.
refuse() {
  local want=$1; shift
  local out
  if out=$("$FEDSIM" "${common[@]}" --rounds 1 --out "$work/refused" "$@" 2>&1); then
    bad "accepted: $*"
  elif grep -qF -- "$want" <<<"$out"; then
    ok "refused ($want)"
  else
    bad "refused without '$want': $out"
  fi
}
refuse "krum needs k > 2f + 2, got k = 6, f = 2" --per-round 6 --server.aggregator krum --server.robust_f 2
refuse "trimmed_mean needs k > 2f" --per-round 6 --server.aggregator trimmed_mean --server.robust_f 3
refuse "multikrum averages m <= k - f" --server.aggregator multikrum --server.robust_f 2 --server.multikrum_m 8
refuse "server.aggregator: median aggregates the separate updates of a synchronous round" \
  --server.aggregator median --server.strategy fedbuff
refuse "EF21 messages are increments" --server.aggregator krum --ef.method ef21 --local.mode full_gradient
refuse "faults.kind: faults.fraction is 0.2 but faults.kind is none" --faults.fraction 0.2
refuse "server.aggregator: 'geomedian' is not one of" --server.aggregator geomedian
refuse "faults.fraction" --faults.fraction 1.5 --faults.kind nan
refuse "server.nna_pivot: own (peer-to-peer) needs" --server.aggregator monna --server.nna_pivot own
exit $fail
