#!/usr/bin/env bash
# The promise of the virtual clock: the same seed gives bit-identical
# metrics.csv (every column but wall_s) and model.bin for any number of ranks.
# Runs a small simulation with P = 1 (no mpirun), 2, 3 and 5 ranks, for each
# local-work mode, and compares. Also checks that a different seed differs.
set -euo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_det.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 6 --clients 40 --per-round 7 --seed 11 --run.progress off
        --data.synthetic.samples 4000 --data.synthetic.groups 40)
fail=0
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
check_mode() {
  local tag=$1; shift
  "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag-p1" > "$work/$tag-p1.log" 2>&1 \
    || { echo "FAIL $tag P=1: fedsim exited $?"; cat "$work/$tag-p1.log"; return 1; }
  local ref; ref=$(strip "$work/$tag-p1" | md5sum)
  local rows; rows=$(wc -l < "$work/$tag-p1/metrics.csv")
  [ "$rows" -eq 8 ] || { echo "FAIL $tag: metrics.csv has $rows lines, want 8"; return 1; }
  for P in ${FEDSIM_DET_RANKS:-2 3 5}; do
    "${MPIRUN[@]}" -n $P "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag-p$P" \
      > "$work/$tag-p$P.log" 2>&1 || { echo "FAIL $tag P=$P: exit $?"; cat "$work/$tag-p$P.log"; return 1; }
    if [ "$(strip "$work/$tag-p$P" | md5sum)" != "$ref" ]; then
      echo "FAIL $tag: metrics differ between P=1 and P=$P"
      diff <(strip "$work/$tag-p1") <(strip "$work/$tag-p$P") | head -5
      return 1
    fi
    cmp -s "$work/$tag-p1/model.bin" "$work/$tag-p$P/model.bin" \
      || { echo "FAIL $tag: model.bin differs between P=1 and P=$P"; return 1; }
    echo "ok   $tag: P=$P bit-identical to P=1"
  done
}
check_mode epochs --local.mode epochs --local.epochs 2 || fail=1
check_mode steps --local.mode steps --local.steps 5 --model mlp --model.hidden 16 || fail=1
check_mode fullgrad --local.mode full_gradient --server.lr 0.5 --server.weighting uniform || fail=1
# Compressed uplinks with error feedback (client state lives on the workers).
check_mode topk-ef21 --local.mode full_gradient --server.lr 0.5 \
  --compress.up topk --compress.up_ratio 0.05 --ef.method ef21 || fail=1
check_mode randk-ef14 --compress.up randk --compress.up_ratio 0.1 --ef.method ef14 || fail=1
check_mode qsgd --compress.up qsgd --compress.levels 4 || fail=1
check_mode ef21sgd-w --local.mode stochastic_gradient --server.lr 0.5 \
  --compress.up topk --compress.up_ratio 0.05 --ef.method ef21 --server.weighting samples || fail=1
# Asynchronous strategies: events in virtual-time order, never arrival order.
check_mode async --server.strategy async --server.optimizer momentum || fail=1
check_mode fedbuff --server.strategy fedbuff --server.buffer 5 --server.max_staleness 6 \
  --compress.up topk --compress.up_ratio 0.1 --ef.method ef14 || fail=1
check_mode fedfix-fp --server.strategy fedfix --server.fedfix_delta 0.3 --system.dist fp \
  --server.optimizer adam --server.lr 0.01 || fail=1
# Clients dropping out of jobs (drawn from the seed).
check_mode dropout-sync --system.dropout 0.3 || fail=1
check_mode dropout-fedbuff --server.strategy fedbuff --server.buffer 4 --system.dropout 0.3 \
  --system.dist exponential || fail=1
# Availability: clients offline half of every 2 s.
check_mode offline-async --server.strategy async --system.offline_fraction 0.5 \
  --system.offline_period 2 || fail=1
# Differential privacy: Poisson sampling, clipping, central and local noise.
check_mode dp-central --clients.sampling poisson --dp.clip flat --dp.clip_norm 0.5 \
  --dp.noise central --server.weighting uniform --compress.up topk --compress.up_ratio 0.1 \
  --ef.method ef14 || fail=1
check_mode dp-dice-local --dp.clip dice --dp.dice_ratio 0.5 --dp.noise local \
  --dp.noise_multiplier 0.3 --server.weighting uniform --model mlp --model.hidden 8 || fail=1
# EF21-BC: compressed downlink, every worker rebuilds the model itself.
check_mode ef21bc --local.mode full_gradient --per-round 40 --server.lr 0.5 \
  --compress.up topk --compress.up_ratio 0.05 --ef.method ef21 \
  --compress.down topk --compress.down_ratio 0.1 || fail=1

# A different seed must give different numbers (the test can fail).
"$FEDSIM" "${common[@]}" --seed 12 --out "$work/seed12" > /dev/null 2>&1
if [ "$(strip "$work/seed12" | md5sum)" = "$(strip "$work/epochs-p1" | md5sum)" ]; then
  echo "FAIL: seed 12 gives the same metrics as seed 11"; fail=1
else
  echo "ok   a different seed gives different metrics"
fi
exit $fail
