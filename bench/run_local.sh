#!/usr/bin/env bash
# Client updates per second: fedsim's worker (bench_local) against a lean
# PyTorch loop (torch_local.py) on Fashion-MNIST, 600 rows per client,
# E = 1, batch 32, softmax 784-10 and MLP 784-256-128-10.
#
#   bench/run_local.sh            # 5 s per measurement, best of REPS=3
#   SECONDS_EACH=10 REPS=5 CORETYPES="Haswell SkylakeX" bench/run_local.sh
#
# fedsim: 1 process, and 2 processes at once (one per core; rates summed).
# torch: 1 thread (its default here), 2 threads (torch.set_num_threads(2);
# OpenBLAS keeps one thread, as everywhere), and 2 processes of 1 thread.
# Each figure is the best of REPS runs, each run started when the machine
# is idle (lib.sh). Each cell shows the rate, the CPU share its processes
# got (CPU seconds per wall second per process: 1.00 = a whole core), and
# for one-thread processes the rate per CPU second (rate / share), which is
# what the rate would be on an otherwise idle machine if the only harm of
# other load is time slicing. CORETYPES lists OpenBLAS kernels to force
# (OPENBLAS_CORETYPE); "env" keeps the environment's setting and "auto"
# unsets it. Raw lines go to $BENCH_OUT/local.txt, the table to stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

secs=${SECONDS_EACH:-5}
reps=${REPS:-3}
coretypes=${CORETYPES:-env}
models=${MODELS:-"softmax mlp"}
raw="$BENCH_OUT/local.txt"

bench_build
bench_need python3-torch python3-numpy
fm=(--data fashion-mnist --partition.method iid --clients 100 --per-round 10
  --lr 0.05 --epochs 1 --batch 32)

model_args() {
  if [ "$1" = mlp ]; then echo "--model mlp --model.hidden 256,128"; else echo "--model softmax"; fi
}

# One fedsim measurement with $2 processes at once.
# Prints "rate share[/share] rate_per_cpu_s".
fedsim_once() {
  local model=$1 procs=$2 mode=${3:-worker} start i line rate=0 norm=0 cw="" r c w
  start=$(($(date +%s) + 10))
  local outs=()
  for ((i = 0; i < procs; i++)); do
    outs+=("$(mktemp)")
    # shellcheck disable=SC2046
    "$bench_bin/bench_local" --bench.mode "$mode" --bench.seconds "$secs" \
      --bench.start_at "$start" "${fm[@]}" $(model_args "$model") >"${outs[i]}" &
  done
  wait
  for f in "${outs[@]}"; do
    line=$(grep '^bench_local' "$f")
    echo "coretype=${OPENBLAS_CORETYPE:-auto} procs=$procs $line" >>"$raw"
    r=$(bench_field "$line" updates_per_s)
    c=$(bench_field "$line" cpu_s)
    w=$(bench_field "$line" wall_s)
    rate=$(awk -v a="$rate" -v b="$r" 'BEGIN{print a + b}')
    norm=$(awk -v a="$norm" -v b="$r" -v c="$c" -v w="$w" 'BEGIN{print a + b * w / c}')
    cw="$cw$(awk -v c="$c" -v w="$w" 'BEGIN{printf "%.2f", c / w}')/"
    rm -f "$f"
  done
  echo "$rate ${cw%/} $norm"
}

torch_once() {
  local model=$1 threads=$2 procs=$3 line
  line=$(/usr/bin/python3 "$bench_root/bench/torch_local.py" \
    --model "$model" --threads "$threads" --procs "$procs" --seconds "$secs")
  echo "coretype=${OPENBLAS_CORETYPE:-auto} $line" >>"$raw"
  awk -v r="$(bench_field "$line" updates_per_s)" -v c="$(bench_field "$line" cpu_s)" \
    -v w="$(bench_field "$line" wall_s)" -v p="$procs" -v t="$threads" \
    'BEGIN{s = c / w / p; printf "%s %.2f %s\n", r, s, t == 1 ? r / s : 0}'
}

# Best of $reps runs of "$@" (by the first field, the rate).
best_of() {
  local best="0 - 0" r
  for ((k = 0; k < reps; k++)); do
    bench_wait_quiet
    r=$("$@")
    best=$(awk -v a="$best" -v b="$r" 'BEGIN{split(a,x," "); split(b,y," "); print (y[1]>x[1]) ? b : a}')
  done
  echo "$best"
}

cell() {
  awk -v r="$1" 'BEGIN{split(r,x," "); if (x[3] > 0) printf "%.1f (%s; %.1f)", x[1], x[2], x[3];
                       else printf "%.1f (%s)", x[1], x[2]}'
}

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; secs=$secs reps=$reps" | tee -a "$raw"
echo "# updates/s (CPU share; updates per CPU second)" | tee -a "$raw"
printf '%-10s %-7s | %-24s %-30s %-24s | %-24s %-18s %-24s | %s\n' coretype model \
  "fedsim 1 proc" "fedsim 2 procs" "fedsim model-only" "torch 1 thread" "torch 2 threads" \
  "torch 2 procs" "ratio machine / core (per CPU s)" | tee -a "$raw"
for ct in $coretypes; do
  case $ct in
    env) ;;
    auto) unset OPENBLAS_CORETYPE ;;
    *) export OPENBLAS_CORETYPE=$ct ;;
  esac
  for model in $models; do
    f1=$(best_of fedsim_once "$model" 1)
    f2=$(best_of fedsim_once "$model" 2)
    fm1=$(best_of fedsim_once "$model" 1 model)
    t1=$(best_of torch_once "$model" 1 1)
    t2=$(best_of torch_once "$model" 2 1)
    tp=$(best_of torch_once "$model" 1 2)
    ratio=$(awk -v f1="$f1" -v f2="$f2" -v t1="$t1" -v t2="$t2" -v tp="$tp" 'BEGIN{
      split(f1, a, " "); split(f2, b, " "); split(t1, c, " "); split(t2, d, " "); split(tp, e, " ");
      tb = d[1] > e[1] ? d[1] : e[1]; tb = c[1] > tb ? c[1] : tb; fb = b[1] > a[1] ? b[1] : a[1];
      tn = e[3] > c[3] ? e[3] : c[3]; fn = b[3] > a[3] ? b[3] : a[3];
      printf "%.2fx / %.2fx (%.2fx / %.2fx)", fb / tb, a[1] / c[1], fn / tn, a[3] / c[3]}')
    printf '%-10s %-7s | %-24s %-30s %-24s | %-24s %-18s %-24s | %s\n' \
      "${OPENBLAS_CORETYPE:-auto}" "$model" "$(cell "$f1")" "$(cell "$f2")" "$(cell "$fm1")" \
      "$(cell "$t1")" "$(cell "$t2")" "$(cell "$tp")" "$ratio" | tee -a "$raw"
  done
done
echo "(ratio machine = best fedsim / best torch on the machine; core = fedsim 1 proc / torch 1 thread;"
echo " in brackets the same from updates per CPU second, torch 2 threads left out)"
