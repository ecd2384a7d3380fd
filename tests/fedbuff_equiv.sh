#!/usr/bin/env bash
# FedBuff against the checks of FLSim's own tests (docs/async.md):
#  1. K clients with one example each, one local step, buffer K: one FedBuff
#     aggregation equals one step of full-batch gradient descent with rate lr
#     when server.lr = lr / (K * local.lr);
#  2. all clients in parallel (equal durations), buffer = N, server SGD:
#     FedBuff equals synchronous FedAvg when fedbuff lr = sync lr / N;
#  3. K = 1 with equal durations: FedBuff equals asynchronous FedAvg with the
#     same rates (plain weights, no staleness discount) — bit for bit.
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_fedbuff.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
# 40 training rows (50 generated, 20% held out), one per client.
data=(--data.synthetic.samples 50 --data.synthetic.groups 5 --data.synthetic.dim 8
      --data.synthetic.classes 3 --partition.method iid --clients 40 --per-round 40
      --system.dist constant --run.progress off --eval.every 1000)
run() { local out=$1; shift; "$FEDSIM" "${data[@]}" "$@" --out "$work/$out" > "$work/$out.log" 2>&1 \
          || { echo "FAIL $out: $(tail -2 "$work/$out.log")"; fail=1; }; }
# close NAME A B RELTOL: the two model.bin agree to RELTOL (max abs diff
# relative to the largest parameter).
close() {
  if /usr/bin/python3 - "$work/$2/model.bin" "$work/$3/model.bin" "$4" <<'PY'
import struct, sys
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[12:20])[0]
    return struct.unpack("<%df" % n, b[20:20 + 4 * n])
a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
scale = max(max(abs(x) for x in a), 1e-30)
d = max(abs(x - y) for x, y in zip(a, b))
print(f"max |diff| = {d:.3g}, largest |w| = {scale:.3g}")
sys.exit(0 if d <= tol * scale and scale > 1e-6 else 1)
PY
  then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
lr=0.5; llr=0.1; K=40
# 1. One FedBuff aggregation = one full-batch GD step.
run gd --local.mode full_gradient --server.weighting uniform --server.lr $lr --rounds 1
run fb1 --server.strategy fedbuff --server.buffer $K --server.async_weights plain \
  --server.staleness_exponent 0 --local.mode steps --local.steps 1 --local.batch_size 1 \
  --local.lr $llr --server.lr "$(/usr/bin/python3 -c "print($lr/($K*$llr))")" --rounds 1
close "FedBuff(K=$K, one step each) = one GD step" gd fb1 1e-5
# 2. Parallel clients, buffer = N: FedBuff = synchronous FedAvg, lr / N.
run sync --server.weighting uniform --server.lr 1.0 --local.lr 0.2 --rounds 5
run fb2 --server.strategy fedbuff --server.buffer $K --server.async_weights plain \
  --server.staleness_exponent 0 --local.lr 0.2 \
  --server.lr "$(/usr/bin/python3 -c "print(1.0/$K)")" --rounds 5
close "FedBuff(K=N) = sync FedAvg over 5 rounds" sync fb2 1e-5
# 3. Buffer 1 with equal durations = asynchronous FedAvg, bit for bit.
run async --server.strategy async --server.async_weights plain --local.lr 0.2 --server.lr 0.05 --rounds 60
run fb3 --server.strategy fedbuff --server.buffer 1 --server.async_weights plain \
  --server.staleness_exponent 0 --local.lr 0.2 --server.lr 0.05 --rounds 60
if cmp -s "$work/async/model.bin" "$work/fb3/model.bin" && \
   cmp -s <(cut -d, -f1,2,4- "$work/async/metrics.csv") <(cut -d, -f1,2,4- "$work/fb3/metrics.csv"); then
  echo "ok   FedBuff(K=1) = async FedAvg, bit for bit (60 aggregations)"
else echo "FAIL FedBuff(K=1) differs from async FedAvg"; fail=1; fi
exit $fail
