#!/usr/bin/env bash
# Does the server burn a core while it waits? Whole Fashion-MNIST runs
# (the reference configs: MLP for 20 rounds, softmax for 100 because its
# rounds are short; evaluation twice, at R/2 and R) under mpirun -n 2
# (server + 1 worker) and -n 3 (server + 2 workers: 3 processes on 2 cores),
# with the CPU time of each rank sampled from /proc every 20 ms
# (procmon.py), /usr/bin/time -v per rank (rankwrap.sh), and the total wall
# time.
#
#   bench/run_server.sh   # MODELS="mlp softmax" NPS="2 3" REPS=1 ROUNDS_MLP=20 ROUNDS_SOFTMAX=100
#
# Columns: "round": mean wall time of a round without evaluation (rounds
# 2..R-1 except R/2; from metrics.csv) and the client updates per second it
# implies (10 per round); "rank 0, 2nd half": CPU seconds / wall seconds of
# the server over rounds R/2+1 .. R-1, which have no evaluation, so this is
# the server's cost of sending, waiting, receiving and averaging; "all
# rounds": the same from round 1 to R, evaluations included; workers: each
# worker's CPU share over the second half; time -v: the server process from
# start to end (setup included). Raw lines go to $BENCH_OUT/server.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

models=${MODELS:-"mlp softmax"}
nps=${NPS:-"2 3"}
reps=${REPS:-1}
raw="$BENCH_OUT/server.txt"
bench_build
bench_need time
fedsim=${FEDSIM:-$bench_root/build/fedsim} # FEDSIM=path: another build to compare

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-auto}, $fedsim" | tee -a "$raw"
printf '%-8s %-3s | %-10s | %-19s | %-28s | %-20s | %-14s | %s\n' model np "total wall" \
  "round, updates/s" "rank 0, 2nd half" "rank 0, all rounds" "workers 2nd h." \
  "rank 0 whole run (time -v)" | tee -a "$raw"
for model in $models; do
  margs=(--model softmax)
  rounds=${ROUNDS_SOFTMAX:-100}
  if [ "$model" = mlp ]; then
    margs=(--model mlp --model.hidden 256,128)
    rounds=${ROUNDS_MLP:-20}
  fi
  half=$((rounds / 2))
  for np in $nps; do
    for ((k = 0; k < reps; k++)); do
      dir="$BENCH_OUT/server-$model-np$np"
      tdir="$dir/time"
      rm -rf "$dir"
      mkdir -p "$tdir"
      bench_wait_quiet
      out=$(BENCH_TIME_DIR="$tdir" /usr/bin/python3 "$bench_root/bench/procmon.py" --every 0.02 --exe "$(basename "$fedsim")" \
        --window "$((half + 1)):$rounds" --run-dir "$dir" -- \
        mpirun -n "$np" --oversubscribe --bind-to none "$bench_root/bench/rankwrap.sh" "$fedsim" \
        --data fashion-mnist --partition.method iid --clients 100 --per-round 10 "${margs[@]}" \
        --lr 0.05 --epochs 1 --batch 32 --rounds "$rounds" --eval.every "$half" --run.progress off \
        --out "$dir" 2>/dev/null)
      sed "s/^/model=$model np=$np /" <<<"$out" >>"$raw"
      r0=$(grep 'procmon rank=0 ' <<<"$out")
      total=$(bench_field "$(grep 'total_wall_s' <<<"$out")" total_wall_s)
      workers=$(grep -v 'rank=0 ' <<<"$out" | grep 'procmon rank=' |
        awk '{for(i=1;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]} printf "%s%.2f", (NR>1?" ":""), v["window_cpu_share"]}')
      # Rounds without an evaluation (2..R-1 but R/2): mean wall step.
      step=$(awk -F, -v h="$half" 'NR > 3 && $1 % h != 0 { s += $3 - p; n++ } NR > 1 { p = $3 }
        END { printf "%.1f", 1e3 * s / n }' "$dir/metrics.csv")
      tv="$tdir/rank0.txt"
      u=$(sed -n 's/.*User time (seconds): //p' "$tv")
      s=$(sed -n 's/.*System time (seconds): //p' "$tv")
      e=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv")
      printf '%-8s %-3s | %8.2fs | %6s ms %6.1f/s | %-28s | %-20s | %-14s | user %ss sys %ss of %s\n' \
        "$model" "$np" "$total" "$step" "$(awk -v s="$step" 'BEGIN{print 1e4 / s}')" \
        "$(bench_field "$r0" window_cpu_s)s / $(bench_field "$r0" window_wall_s)s = $(bench_field "$r0" window_cpu_share)" \
        "$(bench_field "$r0" rounds_cpu_s)s / $(bench_field "$r0" rounds_wall_s)s" \
        "$workers" "$u" "$s" "$e" | tee -a "$raw"
    done
  done
done
