#!/usr/bin/env bash
# Local methods (local.mode, sim/local_methods.def): FedProx with mu = 0 is
# exactly local.mode epochs (metrics.csv but wall_s, and model.bin); with
# mu > 0 it differs, still learns, and is bit-identical on 1 and 3 ranks;
# its clients drift less from the model they received (the mean update
# norm, measured from model.bin of one-round runs, is smaller). An unknown
# method is refused with the list of names.
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_local.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 6 --clients 20 --per-round 5 --seed 4 --run.progress off
        --data.synthetic.samples 3000 --data.synthetic.groups 20 --epochs 2)
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
same() { [ "$(strip "$1" | md5sum)" = "$(strip "$2" | md5sum)" ] && cmp -s "$1/model.bin" "$2/model.bin"; }
run() { local out=$1; shift; "$FEDSIM" "${common[@]}" "$@" --out "$out" > "$out.log" 2>&1 || { bad "fedsim $* exited $?"; cat "$out.log"; }; }

run "$work/epochs" --local.mode epochs
run "$work/prox0" --local.mode fedprox --local.prox_mu 0
same "$work/epochs" "$work/prox0" && ok "fedprox with mu = 0 equals epochs bit for bit" \
  || bad "fedprox mu = 0 differs from epochs"
run "$work/prox" --local.mode fedprox --local.prox_mu 0.5
same "$work/epochs" "$work/prox" && bad "fedprox mu = 0.5 equals epochs" || ok "fedprox mu = 0.5 differs from epochs"
"${MPIRUN[@]}" -n 3 "$FEDSIM" "${common[@]}" --local.mode fedprox --local.prox_mu 0.5 \
  --out "$work/prox3" > "$work/prox3.log" 2>&1 || bad "fedprox on 3 ranks exited"
same "$work/prox" "$work/prox3" && ok "fedprox: 1 and 3 ranks bit-identical" || bad "fedprox: 1 and 3 ranks differ"
first=$(sed -n 2p "$work/prox/metrics.csv" | cut -d, -f10); last=$(tail -1 "$work/prox/metrics.csv" | cut -d, -f10)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' && ok "fedprox learns: test loss $first -> $last" \
  || bad "fedprox test loss did not fall ($first -> $last)"
# Drift: one round with large local work; the proximal term pulls each
# client's model toward x0 = 0 (softmax starts at zero), so ||x1|| is smaller.
one=(--rounds 1 --epochs 5 --local.lr 0.2)
run "$work/d-epochs" "${one[@]}" --local.mode epochs
run "$work/d-prox" "${one[@]}" --local.mode fedprox --local.prox_mu 2
# model.bin: "FSMODEL1", u32 version, u64 d, then d little-endian float32s.
norm() { /usr/bin/python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read()[20:]; v=struct.unpack('<%df'%(len(b)//4), b); print(sum(x*x for x in v)**0.5)" "$1/model.bin"; }
ne=$(norm "$work/d-epochs"); np=$(norm "$work/d-prox")
awk -v e="$ne" -v p="$np" 'BEGIN { exit !(p < e) }' && ok "fedprox drifts less: ||x1|| $np < $ne (from x0 = 0)" \
  || bad "fedprox drift $np not below epochs $ne"
"$FEDSIM" --local.mode fedpox > "$work/bad.log" 2>&1 && bad "an unknown local.mode was accepted"
grep -q "not one of epochs|steps|full_gradient|stochastic_gradient|fedprox" "$work/bad.log" \
  && ok "unknown local.mode refused with the names" || { bad "refusal message"; cat "$work/bad.log"; }
exit $fail
