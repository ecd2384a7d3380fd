#!/usr/bin/env bash
# Memory per virtual client and the wall time of one round as the number of
# virtual clients N grows (10^2 .. 10^5), 10 clients per round, synthetic
# data (dim 60, 10 classes, 100 natural groups, iid partition), softmax,
# E = 1, batch 32, mpirun -n 3 (server + 2 workers).
#
# Two series:
#   rows  - 10 training rows per client: data.synthetic.samples = 12.5 N
#           (test_fraction 0.2 leaves ~10 N training rows). The work of a
#           round is the same for every N, so its wall time must be flat.
#   fixed - 10^6 training rows for every N (samples = 1,250,000): the data
#           is the same for every N, so the growth of peak RSS with N is the
#           per-client memory; a round's work shrinks as N grows.
#
#   bench/run_scale.sh             # SERIES="rows fixed" NS="100 1000 10000 100000" ROUNDS=12
#   SERIES=rows EVAL_EVERY=1 bench/run_scale.sh   # with fedsim's default evaluation
#
# By default the runs evaluate only before round 1 and after the last round
# (eval.every larger than the rounds), so the per-round time is the round
# itself; EVAL_EVERY=1 (fedsim's default) adds the server's evaluation over
# the whole training and test sets to every round.
#
# Per-round wall: mean of the wall_s steps of rounds 2 .. R-1 in metrics.csv
# (round 1 carries the round-0 evaluation, round R the final one). Peak RSS
# per rank: /usr/bin/time -v (rankwrap.sh). Raw lines: $BENCH_OUT/scale.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=${SERIES:-"rows fixed"}
ns=${NS:-"100 1000 10000 100000"}
rounds=${ROUNDS:-12}
eval_every=${EVAL_EVERY:-1000000}
np=${NP:-3}
raw="$BENCH_OUT/scale.txt"
bench_build
fedsim="$bench_root/build/fedsim"

maxrss_mb() { awk '/Maximum resident set size/ {printf "%.1f", $NF / 1024}' "$1"; }

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, np=$np rounds=$rounds eval.every=$eval_every" | tee -a "$raw"
printf '%-6s %-7s %-9s | %-13s %-13s | %-9s %-9s %-9s | %s\n' series N train_rows \
  "round wall ms" "(min..max)" "rank0 MB" "rank1 MB" "rank2 MB" "total wall s"
for s in $series; do
  for n in $ns; do
    if [ "$s" = rows ]; then samples=$((n * 25 / 2)); else samples=1250000; fi
    dir="$BENCH_OUT/scale-$s-$n-e$eval_every"
    rm -rf "$dir"
    mkdir -p "$dir/time"
    bench_wait_quiet
    t0=$(date +%s.%N)
    BENCH_TIME_DIR="$dir/time" mpirun -n "$np" --oversubscribe --bind-to none \
      "$bench_root/bench/rankwrap.sh" "$fedsim" \
      --data synthetic --data.synthetic.samples "$samples" --data.synthetic.groups 100 \
      --partition.method iid --clients "$n" --per-round 10 --model softmax --lr 0.05 \
      --epochs 1 --batch 32 --rounds "$rounds" --eval.every "$eval_every" \
      --run.progress off --out "$dir" >"$dir/stdout.txt" 2>&1
    t1=$(date +%s.%N)
    stats=$(awk -F, -v R="$rounds" 'NR > 1 { w[$1] = $3 }
      END { n = 0; s = 0; mn = 1e30; mx = 0
            for (r = 2; r < R; r++) { d = w[r] - w[r - 1]; s += d; n++; if (d < mn) mn = d; if (d > mx) mx = d }
            printf "%.3f %.3f..%.3f", 1e3 * s / n, 1e3 * mn, 1e3 * mx }' "$dir/metrics.csv")
    train=$(grep -o '"train_rows":[[:space:]]*[0-9]*' "$dir/summary.json" | grep -o '[0-9]*$')
    line=$(printf '%-6s %-7s %-9s | %-13s %-13s | %-9s %-9s %-9s | %.1f' "$s" "$n" "$train" \
      "${stats%% *}" "${stats#* }" "$(maxrss_mb "$dir/time/rank0.txt")" \
      "$(maxrss_mb "$dir/time/rank1.txt")" "$( [ -f "$dir/time/rank2.txt" ] && maxrss_mb "$dir/time/rank2.txt")" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')")
    echo "$line" | tee -a "$raw"
  done
done
