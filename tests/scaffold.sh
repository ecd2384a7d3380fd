#!/usr/bin/env bash
# SCAFFOLD (server.strategy scaffold + local.mode scaffold,
# docs/local-methods.md "SCAFFOLD"): a run trains (test loss falls); it is
# bit-identical on 1 and 3 ranks (metrics.csv but wall_s, and model.bin);
# its first round equals FedAvg's (c = c_i = 0 then) except for the bits;
# its frames carry 2d floats each way, so bits_up and bits_down per client
# are about twice FedAvg's; and what it does not support is refused, naming
# both options.
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_scaffold.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 6 --clients 20 --per-round 5 --seed 4 --run.progress off
        --data.synthetic.samples 3000 --data.synthetic.groups 20 --epochs 2)
sc=(--server.strategy scaffold --local.mode scaffold)
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
same() { [ "$(strip "$1" | md5sum)" = "$(strip "$2" | md5sum)" ] && cmp -s "$1/model.bin" "$2/model.bin"; }
run() { local out=$1; shift; "$FEDSIM" "${common[@]}" "$@" --out "$out" > "$out.log" 2>&1 || { bad "fedsim $* exited $?"; cat "$out.log"; }; }
col() { sed -n "$2p" "$1/metrics.csv" | cut -d, -f"$3"; }

run "$work/fedavg"
run "$work/sc" "${sc[@]}"
"${MPIRUN[@]}" -n 3 "$FEDSIM" "${common[@]}" "${sc[@]}" --out "$work/sc3" > "$work/sc3.log" 2>&1 \
  || { bad "scaffold on 3 ranks exited"; cat "$work/sc3.log"; }
same "$work/sc" "$work/sc3" && ok "scaffold: 1 and 3 ranks bit-identical" || bad "scaffold: 1 and 3 ranks differ"
first=$(col "$work/sc" 2 10); last=$(tail -1 "$work/sc/metrics.csv" | cut -d, -f10)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' && ok "scaffold learns: test loss $first -> $last" \
  || bad "scaffold test loss did not fall ($first -> $last)"
# Round 1: the same model as FedAvg (train_loss, test_loss, test_acc).
[ "$(col "$work/sc" 3 9-11)" = "$(col "$work/fedavg" 3 9-11)" ] \
  && ok "round 1 equals FedAvg's (c = c_i = 0)" || bad "round 1 differs from FedAvg's"
[ "$(col "$work/sc" 4 9-11)" != "$(col "$work/fedavg" 4 9-11)" ] \
  && ok "round 2 differs from FedAvg's (the correction acts)" || bad "round 2 equals FedAvg's"
# Bits: 2d floats each way instead of d (plus the same headers).
for c in 5:bits_up 6:bits_down; do
  i=${c%%:*}; s=$(col "$work/sc" 3 "$i"); f=$(col "$work/fedavg" 3 "$i")
  awk -v s="$s" -v f="$f" 'BEGIN { r = s / f; exit !(r > 1.95 && r < 2.0) }' \
    && ok "${c#*:} per round $s = $(awk -v s="$s" -v f="$f" 'BEGIN { printf "%.3f", s / f }') x FedAvg's $f" \
    || bad "${c#*:} $s vs FedAvg's $f"
done
# Refusals, each naming both options.
refuse() {
  local want=$1; shift
  if "$FEDSIM" "${common[@]}" "$@" --out "$work/r" > "$work/r.log" 2>&1; then
    bad "accepted: $*"
  elif grep -q "$want" "$work/r.log" && grep -q scaffold "$work/r.log"; then
    ok "refused: $* ($(grep -m1 -o "$want.*" "$work/r.log" | cut -c1-70))"
  else
    bad "refusal of $*: $(cat "$work/r.log")"
  fi
}
refuse "local.mode scaffold" --server.strategy scaffold
refuse "server.strategy scaffold" --local.mode scaffold
refuse "server.strategy scaffold" --local.mode scaffold --server.strategy fedbuff
refuse "compress.up" "${sc[@]}" --compress.up topk
refuse "ef.method" "${sc[@]}" --ef.method ef14
refuse "dp.clip" "${sc[@]}" --dp.clip flat
refuse "secure.aggregation" "${sc[@]}" --secure.aggregation secagg
refuse "server.aggregator" "${sc[@]}" --server.aggregator median
refuse "run.checkpoint_every" "${sc[@]}" --run.checkpoint_every 2
exit $fail
