#!/usr/bin/env bash
# What secure aggregation costs: Fashion-MNIST softmax (d = 7850), every
# client in every round (clients.num = clients.per_round = n), n = 10, 100,
# 1000, with 0% and 30% of the clients dropping after masking; plus the
# plain run for each n. Prints one table row per run: the secure-aggregation
# bits per client per round (bits_secagg / n, both directions), the whole
# traffic per client per round, the secure-aggregation wall ms per round
# (secagg_ms: from the last SA_KEYS to the unmasked sum), the round's wall
# time and the final accuracy.
#
#   FEDSIM=build/fedsim RANKS=3 ROUNDS=3 bench/run_secagg.sh [n ...]
set -euo pipefail
FEDSIM=${FEDSIM:-build/fedsim}
RANKS=${RANKS:-3}
ROUNDS=${ROUNDS:-3}
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(10 100 1000)
work=${WORK:-$(mktemp -d /tmp/fedsim_sabench.XXXXXX)}
mkdir -p "$work"
run() { # tag n extra-args...
  local tag=$1 n=$2; shift 2
  local launch=("$FEDSIM")
  [ "$RANKS" -gt 1 ] && launch=(mpirun --oversubscribe --bind-to none -n "$RANKS" "$FEDSIM")
  "${launch[@]}" --data.source fashion-mnist --model softmax --clients "$n" \
    --per-round "$n" --rounds "$ROUNDS" --seed 1 --run.progress off \
    --eval.every "$ROUNDS" --out "$work/$tag" "$@" > "$work/$tag.log" 2>&1
  awk -F, -v n="$n" -v tag="$tag" 'NR>2 {
      up += $5; down += $6; sab += $17; ms += $18; r++
      w[r] = $3 }
    END {
      acc = $11
      wall = (w[r] - w[1]) / (r > 1 ? r - 1 : 1)
      printf "| %-16s | %5d | %12.0f | %12.0f | %9.1f | %8.3f | %.4f |\n",
        tag, n, sab / r / n, (up + down) / r / n, ms / r, wall, acc }' \
    "$work/$tag/metrics.csv"
}
echo "| run              |     n | SA bits/cl/r | all bits/cl/r | SA ms/r | round s | accuracy |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${ns[@]}"; do
  run "plain-$n" "$n"
  run "secagg-$n" "$n" --secure.aggregation secagg --secure.bits 16 --secure.clip 1
  run "secagg-$n-d30" "$n" --secure.aggregation secagg --secure.bits 16 \
    --secure.clip 1 --secure.dropout 0.3
done
echo "(runs in $work)"
