#!/usr/bin/env bash
# The floor of local training: one-thread OpenBLAS sgemm rate (a large
# square product, and the exact calls of one minibatch) for each OpenBLAS
# kernel in CORETYPES, the GEMM floor of one client update, and where a
# client update's time goes (perf record on bench_local, cpu-clock samples;
# callgrind instead when perf cannot sample).
#
#   bench/run_floor.sh      # CORETYPES="env Haswell SkylakeX auto" PROFILE=1
#
# "env" keeps the environment's OPENBLAS_CORETYPE, "auto" unsets it (OpenBLAS
# picks by cpuid). Raw output: $BENCH_OUT/floor.txt and perf-*.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

coretypes=${CORETYPES:-"env Haswell SkylakeX auto"}
raw="$BENCH_OUT/floor.txt"
bench_build
bench_need linux-perf valgrind
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; env OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" | tee -a "$raw"
lscpu | grep -o -w -E 'avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx_vnni' | tr '\n' ' ' | sed 's/^/# cpu flags: /;s/$/\n/' | tee -a "$raw"

envct=${OPENBLAS_CORETYPE:-}
for ct in $coretypes; do
  case $ct in
    env) if [ -n "$envct" ]; then export OPENBLAS_CORETYPE=$envct; else unset OPENBLAS_CORETYPE; fi ;;
    auto) unset OPENBLAS_CORETYPE ;;
    *) export OPENBLAS_CORETYPE=$ct ;;
  esac
  for w in 784,10 784,256,128,10; do
    bench_wait_quiet
    "$bench_bin/bench_sgemm" --widths "$w" --rows 600 --batch 32 | tee -a "$raw"
  done
done
if [ -n "$envct" ]; then export OPENBLAS_CORETYPE=$envct; else unset OPENBLAS_CORETYPE; fi

[ "${PROFILE:-1}" = 1 ] || exit 0
set +o pipefail # the reports below are cut with head
fm=(--data fashion-mnist --partition.method iid --clients 100 --lr 0.05 --epochs 1 --batch 32)
for model in softmax mlp; do
  margs=(--model softmax)
  [ "$model" = mlp ] && margs=(--model mlp --model.hidden 256,128)
  rep="$BENCH_OUT/perf-$model.txt"
  bench_wait_quiet
  if perf record -e cpu-clock -F 4000 -D 4000 -o "$BENCH_OUT/perf-$model.data" \
    "$bench_bin/bench_local" --bench.seconds 6 --bench.warmup 50 "${fm[@]}" "${margs[@]}" \
    >"$rep.run" 2>/dev/null; then
    { cat "$rep.run"; perf report -i "$BENCH_OUT/perf-$model.data" --no-children \
        --sort dso,symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25; } >"$rep"
  else
    # No sampling here: count instructions of the timed handler instead.
    valgrind --tool=callgrind --callgrind-out-file="$BENCH_OUT/callgrind-$model.out" \
      --toggle-collect=fs_worker_handle "$bench_bin/bench_local" --bench.seconds 10 \
      --bench.warmup 2 "${fm[@]}" "${margs[@]}" >"$rep.run" 2>&1
    { cat "$rep.run"; callgrind_annotate --inclusive=no "$BENCH_OUT/callgrind-$model.out" |
        sed -n '/file:function/,$p' | head -25; } >"$rep"
  fi
  echo "== where the time of a $model client update goes ($rep)"
  head -24 "$rep"
done
