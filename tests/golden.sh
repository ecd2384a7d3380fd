#!/usr/bin/env bash
# Behaviour-preserving refactors: run one set of configurations with two
# builds of fedsim and require their outputs to be bit-identical:
# metrics.csv (every column but the measured wall_s and secagg_ms) and
# model.bin. The set covers every strategy, compressor, error-feedback
# method, DP mode, secure aggregation, sealing, robust rule, fault kind,
# gradient-coding scheme, partitioner, system distribution, server optimiser,
# local mode, data source and a checkpoint/resume (docs/architecture.md,
# "Refactoring without changing a bit").
#
#   tests/golden.sh [BASE_REF [NEW_FEDSIM]]
#
# BASE_REF (default: 4341c88, the tree before the architecture redesign) is
# built into build-golden/ from a git worktree; NEW_FEDSIM defaults to
# build/fedsim. Cases that a build refuses (an option the older tree lacks)
# fail loudly. Each case runs on 3 ranks; about two minutes in all.
set -uo pipefail
cd "$(dirname "$0")/.."
base=${1:-4341c88}
new=${2:-build/fedsim}
. scripts/env.sh
MPIRUN=(mpirun --oversubscribe --bind-to none -n 3)
work=$(mktemp -d /tmp/fedsim_golden.XXXXXX)
trap 'rm -rf "$work"; git worktree remove --force "$work/src" 2>/dev/null' EXIT

echo "== building $base into build-golden/"
git worktree add --detach "$work/src" "$base" >/dev/null 2>&1 \
  || { echo "golden: cannot check out $base"; exit 2; }
rm -rf build-golden
meson setup build-golden "$work/src" -Dtests=false >/dev/null \
  && ninja -C build-golden fedsim >/dev/null \
  || { echo "golden: cannot build $base"; exit 2; }
old=build-golden/fedsim

lib=../shared/data/libsvm
common=(--rounds 6 --clients 20 --per-round 5 --seed 3 --run.progress off
        --data.synthetic.samples 3000 --data.synthetic.groups 20)
cases=(
  "fedavg|"
  "mlp|--model mlp --model.hidden 16,8"
  "logreg-libsvm|--data libsvm --data.path $lib/mushrooms --model logreg --partition.method contiguous"
  "steps|--local.mode steps --local.steps 3"
  "fullgrad|--local.mode full_gradient --server.lr 0.5"
  "stochgrad|--local.mode stochastic_gradient"
  "momentum-uniform|--server.optimizer momentum --server.weighting uniform"
  "adam|--server.optimizer adam --server.lr 0.01"
  "async|--server.strategy async --rounds 20"
  "async-plain-stale|--server.strategy async --server.async_weights plain --server.max_staleness 3 --rounds 20"
  "fedbuff|--server.strategy fedbuff --server.buffer 3 --rounds 10"
  "fedfix-fp|--server.strategy fedfix --system.dist fp --server.fedfix_delta 0.4"
  "budget|--server.strategy async --run.time_budget 2 --rounds 50"
  "topk-ef14|--compress.up topk --compress.up_ratio 0.1 --ef.method ef14"
  "topk-ef21|--compress.up topk --compress.up_k 20 --ef.method ef21"
  "randk-ef21|--compress.up randk --compress.up_ratio 0.2 --ef.method ef21"
  "ef21w-libsvm|--data libsvm --data.path $lib/mushrooms --model logreg --partition.method contiguous --per-round 20 --local.mode full_gradient --compress.up topk --compress.up_k 5 --ef.method ef21w --ef.stepsize theory"
  "qsgd|--compress.up qsgd --compress.levels 4"
  "sign-ef14|--compress.up sign --ef.method ef14"
  "natural|--compress.up natural"
  "block8|--compress.up block8 --compress.block 64"
  "ef21bc|--clients 8 --per-round 8 --compress.up topk --compress.up_k 30 --compress.down topk --compress.down_k 40 --ef.method ef21"
  "ef21-theory|--data libsvm --data.path $lib/mushrooms --model logreg --model.bias false --model.nonconvex_lambda 0.1 --partition.method contiguous --per-round 20 --local.mode full_gradient --server.weighting uniform --compress.up topk --compress.up_k 1 --ef.method ef21 --ef.stepsize theory --eval.objective clients --eval.grad_norm on"
  "dp-flat-central|--server.weighting uniform --dp.clip flat --dp.noise central --dp.noise_multiplier 0.8"
  "dp-layer-local|--server.weighting uniform --model mlp --model.hidden 8 --dp.clip per_layer --dp.noise local"
  "dp-dice-poisson|--server.weighting uniform --dp.clip dice --dp.noise central --clients.sampling poisson --dp.conversion classic"
  "dp-target|--server.weighting uniform --dp.clip flat --dp.noise central --dp.target_epsilon 5"
  "seal|--secure.seal true"
  "seal-tamper|--secure.seal true --secure.tamper_rate 0.2"
  "secagg|--secure.aggregation secagg"
  "secagg-drop|--secure.aggregation secagg --secure.dropout 0.2 --secure.degree 4"
  "median-signflip|--faults.fraction 0.2 --faults.kind sign_flip --server.aggregator median --server.robust_f 1"
  "trimmed-scale|--faults.fraction 0.2 --faults.kind scale --server.aggregator trimmed_mean --server.robust_f 1"
  "krum-noise|--faults.fraction 0.2 --faults.kind noise --server.aggregator krum --server.robust_f 1"
  "multikrum-labelflip|--faults.fraction 0.2 --faults.kind label_flip --server.aggregator multikrum --server.robust_f 1"
  "nna-nan|--faults.fraction 0.2 --faults.kind nan --server.aggregator nna --server.robust_f 1"
  "monna-inf|--faults.fraction 0.2 --faults.kind inf --server.aggregator monna --server.robust_f 1 --clients.momentum 0.9"
  "nna-own|--clients 8 --per-round 8 --server.aggregator nna --server.robust_f 1 --server.nna_pivot own"
  "mean-model|--server.aggregator mean --server.nna_pivot model"
  "iid-const-dropout|--partition.method iid --system.dist constant --system.dropout 0.2"
  "dirichlet-uniform|--partition.method dirichlet --partition.alpha 0.3 --system.dist uniform"
  "shards-exp-offline|--partition.method shards --system.dist exponential --system.offline_fraction 0.3"
  "contiguous|--partition.method contiguous --eval.targets 0.3,0.5 --eval.every 2"
  "fmnist|--data fashion-mnist --model softmax --rounds 3 --clients 50 --partition.method iid"
)
for s in none ignore fr cr sr-sgc m-sgc; do
  cases+=("gc-$s|--clients 8 --per-round 8 --partition.method iid --system.dist constant --server.strategy gc --server.lr 0.5 --gc.scheme $s --gc.s 1 --gc.straggler iid --gc.p 0.2")
done
cases+=("gc-bursty-k2|--clients 8 --per-round 8 --partition.method iid --system.dist constant --server.strategy gc --gc.scheme m-sgc --gc.models 2 --gc.straggler bursty")

strip() { # metrics.csv without the measured columns, chosen by name
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) keep[i] = ($i != "wall_s" && $i != "secagg_ms") }
           { s = ""; for (i = 1; i <= NF; i++) if (keep[i]) s = s $i ","; print s }' "$1/metrics.csv"
}
run() { # run BIN OUT ARGS...
  local bin=$1 out=$2; shift 2
  "${MPIRUN[@]}" "$bin" "${common[@]}" "$@" --out "$out" > "$out.log" 2>&1
}
fail=0
n=0
compare() { # compare TAG: old and new outputs
  local tag=$1
  if [ "$(strip "$work/old-$tag" | md5sum)" != "$(strip "$work/new-$tag" | md5sum)" ]; then
    echo "FAIL $tag: metrics.csv differs"; diff <(strip "$work/old-$tag") <(strip "$work/new-$tag") | head -4; fail=1
  elif ! cmp -s "$work/old-$tag/model.bin" "$work/new-$tag/model.bin"; then
    echo "FAIL $tag: model.bin differs"; fail=1
  else
    echo "ok   $tag ($(($(wc -l < "$work/new-$tag/metrics.csv") - 1)) rows)"; n=$((n + 1))
  fi
}
for c in "${cases[@]}"; do
  tag=${c%%|*}; args=${c#*|}
  # shellcheck disable=SC2086
  run "$old" "$work/old-$tag" $args || { echo "FAIL $tag: base build exited $?"; tail -3 "$work/old-$tag.log"; fail=1; continue; }
  # shellcheck disable=SC2086
  run "$new" "$work/new-$tag" $args || { echo "FAIL $tag: new build exited $?"; tail -3 "$work/new-$tag.log"; fail=1; continue; }
  compare "$tag"
done

# Checkpoint and resume: EF14 with central DP and Adam, checkpointed every 2
# aggregations by each build, resumed by the new build from aggregation 4.
ck=(--compress.up topk --compress.up_ratio 0.1 --ef.method ef14 --dp.clip flat
    --dp.noise central --server.weighting uniform --server.optimizer adam --server.lr 0.01 --rounds 8
    --checkpoint-every 2 --run.checkpoint_keep 0)
for who in old new; do
  bin=$old; [ $who = new ] && bin=$new
  run "$bin" "$work/$who-ckpt" "${ck[@]}" || { echo "FAIL ckpt: $who build exited"; fail=1; }
done
compare ckpt
rm -rf "$work/new-ckpt/checkpoints/agg-00000006" "$work/new-ckpt/checkpoints/agg-00000008" \
  "$work/new-ckpt/model.bin" "$work/new-ckpt/summary.json"
"${MPIRUN[@]}" "$new" --resume "$work/new-ckpt" --run.progress off > "$work/new-ckpt.log" 2>&1 \
  && grep -q "resumed after aggregation 4" "$work/new-ckpt.log" \
  || { echo "FAIL ckpt: resume by the new build"; tail -3 "$work/new-ckpt.log"; fail=1; }
compare ckpt

echo "golden: $n cases bit-identical to $base, $([ $fail = 0 ] && echo none || echo some) differ"
exit $fail
