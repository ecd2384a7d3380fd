#!/usr/bin/env bash
# Kill -9 at random moments (docs/reliability.md). For several seeds: start
# a run under mpirun with checkpoints, wait until a first checkpoint is
# complete and a random number of aggregations more, and SIGKILL a random
# rank (the server or a worker; Open MPI then ends the job). Sometimes the kill lands while a
# checkpoint is being written. Then resume with a random number of ranks:
# the run must continue from the newest complete checkpoint (never a
# half-written one) and end with metrics.csv (but wall_s) and model.bin
# equal to the run that was never interrupted.
# Seeds divisible by 3 use FedBuff. FEDSIM_KILL_SEEDS overrides the seeds
# (default: 1 2 3 4 5 6).
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_kill.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
args=(--rounds 400 --clients 60 --per-round 10 --seed 3 --run.progress off
      --data.synthetic.samples 6000 --data.synthetic.groups 60
      --compress.up topk --compress.up_ratio 0.1 --ef.method ef14
      --server.optimizer momentum)
fail=0
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
# Seeds divisible by 3 run FedBuff (event queue, buffered returns).
async=(--server.strategy fedbuff --server.buffer 4 --system.dist exponential)
"$FEDSIM" "${args[@]}" --out "$work/ref" > "$work/ref.log" 2>&1 \
  || { echo "FAIL reference run"; cat "$work/ref.log"; exit 1; }
"$FEDSIM" "${args[@]}" "${async[@]}" --out "$work/ref-a" > "$work/ref-a.log" 2>&1 \
  || { echo "FAIL reference run (fedbuff)"; cat "$work/ref-a.log"; exit 1; }

# The ranks' pids come from pgrep (procps; scripts/setup.sh installs it).
command -v pgrep >/dev/null || { echo "FAIL: pgrep is not installed (procps; scripts/setup.sh installs it)"; exit 1; }
for seed in ${FEDSIM_KILL_SEEDS:-1 2 3 4 5 6}; do
  RANDOM=$seed
  out="$work/k$seed"
  every=$(( seed % 2 ? 1 : 7 ))           # every aggregation: kills often hit a write
  P=$(( 3 + RANDOM % 2 ))
  extra=(); ref="$work/ref"; what=fedavg
  if [ $(( seed % 3 )) -eq 0 ]; then extra=("${async[@]}"); ref="$work/ref-a"; what=fedbuff; fi
  "${MPIRUN[@]}" -n $P "$FEDSIM" "${args[@]}" "${extra[@]}" --out "$out" --checkpoint-every $every \
    > "$out.log" 2>&1 &
  mp=$!
  for _ in $(seq 300); do
    ls "$out"/checkpoints/agg-*/MANIFEST > /dev/null 2>&1 && break
    sleep 0.05
  done
  # Then wait for a random number of metrics rows (10..299 of 400), polling
  # every 10 ms: a random moment that does not depend on how fast the
  # machine is (a fixed random sleep sometimes outlived a fast FedBuff run).
  target=$(( 10 + RANDOM % 290 ))
  for _ in $(seq 6000); do
    [ "$(wc -l < "$out/metrics.csv" 2>/dev/null || echo 0)" -ge $target ] && break
    kill -0 $mp 2>/dev/null || break
    sleep 0.01
  done
  victim_rank=$(( RANDOM % P ))
  victim=""
  for c in $(pgrep -P $mp); do
    r=$(tr '\0' '\n' < /proc/$c/environ 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    [ "$r" = "$victim_rank" ] && victim=$c
  done
  if [ -z "$victim" ]; then
    wait $mp
    echo "FAIL seed $seed: rank $victim_rank not found (the run ended before the kill?)"; fail=1; continue
  fi
  kill -KILL "$victim"
  wait $mp; rc=$?
  [ $rc -ne 0 ] || { echo "FAIL seed $seed: mpirun exited 0 after a rank was killed"; fail=1; continue; }
  # A worker lost: Open MPI ends the job with SIGTERM to the others, and the
  # server says at once how to resume.
  if [ "$victim_rank" != 0 ] && ! grep -q "continue from its last complete checkpoint with: fedsim --resume $out" "$out.log"; then
    echo "FAIL seed $seed: no resume hint after worker $victim_rank was killed"; cat "$out.log"; fail=1; continue
  fi
  rows=$(( $(wc -l < "$out/metrics.csv") - 2 ))
  partial=$(for d in "$out"/checkpoints/agg-*; do [ -f "$d/MANIFEST" ] || echo "${d##*agg-}"; done | tr '\n' ' ')
  R=$(( 2 + RANDOM % 4 ))
  "${MPIRUN[@]}" -n $R "$FEDSIM" --resume "$out" > "$out-re.log" 2>&1 \
    || { echo "FAIL seed $seed: resume failed"; cat "$out-re.log"; fail=1; continue; }
  at=$(grep -o "resumed after aggregation [0-9]*" "$out-re.log" | grep -o "[0-9]*$")
  if [ "$(strip "$ref" | md5sum)" = "$(strip "$out" | md5sum)" ] \
     && cmp -s "$ref/model.bin" "$out/model.bin"; then
    echo "ok   seed $seed: $what, P=$P, checkpoint every $every, rank $victim_rank killed after ~$rows rows${partial:+ (cut-short checkpoint: $partial)}; resumed after aggregation $at with P=$R: bit-identical"
  else
    echo "FAIL seed $seed: resumed run differs from the uninterrupted one"
    diff <(strip "$ref") <(strip "$out") | head -4; fail=1
  fi
done
exit $fail
