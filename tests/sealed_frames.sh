#!/usr/bin/env bash
# Sealed frames end to end (secure.seal, docs/sealed-frames.md):
#  1. sealing does not change training: the sealed run's model.bin equals the
#     unsealed run's bit for bit on 1, 2 and 3 ranks, and each frame costs
#     exactly 32 bytes (256 bits) more, uplink and downlink, every round;
#  2. with secure.tamper_rate, altered, forged and replayed uplink frames are
#     refused and counted (rejected_frames in metrics.csv and summary.json,
#     by status), every frame the workers altered is refused, the run
#     finishes all its rounds, and it is bit-identical on 1, 2 and 3 ranks;
#  3. the same for an asynchronous strategy (FedBuff);
#  4. tampering without sealing is a configuration error.
set -euo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_seal.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 8 --clients 12 --per-round 5 --seed 5 --run.progress off
        --data.synthetic.samples 2000 --data.synthetic.groups 12)
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

run() { # tag P args...
  local tag=$1 P=$2; shift 2
  if [ "$P" -eq 1 ]; then
    "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag" > "$work/$tag.log" 2>&1
  else
    "${MPIRUN[@]}" -n "$P" "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag" \
      > "$work/$tag.log" 2>&1
  fi || { bad "$tag: fedsim exited $?"; cat "$work/$tag.log"; return 1; }
}
col() { # run column: the values of one metrics.csv column
  python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])): print(r[sys.argv[2]])' \
    "$work/$1/metrics.csv" "$2"
}
final() { # run key: a number from summary.json's "final"
  python3 -c 'import json,sys
f=json.load(open(sys.argv[1]))["final"]
v=f
for k in sys.argv[2].split("."): v=v.get(k,0) if isinstance(v,dict) else 0
print(int(v))' "$work/$1/summary.json" "$2"
}

# 1. Sealing without tampering changes the bytes, not the training.
run plain 1
for P in 1 2 3; do
  run seal$P $P --secure.seal true || continue
  if cmp -s "$work/plain/model.bin" "$work/seal$P/model.bin"; then
    ok "sealed run on $P rank(s): model.bin identical to the unsealed run"
  else
    bad "sealed run on $P rank(s): model.bin differs from the unsealed run"
  fi
done
if python3 - "$work/plain/metrics.csv" "$work/seal1/metrics.csv" <<'EOF'
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))
b = list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b) == 9, (len(a), len(b))
for x, y in zip(a[1:], b[1:]):
    k = int(x["clients"])
    assert k == 5 and int(y["clients"]) == k
    for c in ("bits_up", "bits_down"):
        d = int(y[c]) - int(x[c])
        assert d == 256 * k, (x["round"], c, d)
    for c in ("test_acc", "train_loss", "test_loss"):
        assert x[c] == y[c], (x["round"], c)
    assert y["rejected_frames"] == "0"
EOF
then ok "sealed frames cost 256 bits more each (up and down), metrics otherwise equal"
else bad "sealed vs unsealed metrics"; fi

# 2. Tampering: refused, counted, every altered frame caught, run finishes.
for P in 1 2 3; do
  run tamper$P $P --secure.seal true --secure.tamper_rate 0.35 || continue
  rows=$(col tamper$P round | wc -l)
  [ "$rows" -eq 9 ] && ok "tampered run on $P rank(s) finished its 8 rounds" \
    || bad "tampered run on $P rank(s): $rows rows, want 9"
  rej=$(final tamper$P rejected_frames)
  alt=$(sed -n 's/.*tamper_rate altered \([0-9]*\) uplink.*/\1/p' "$work/tamper$P.log" \
        | awk '{s += $1} END {print s + 0}')
  last=$(col tamper$P rejected_frames | tail -1)
  if [ "$rej" -gt 0 ] && [ "$rej" -eq "$alt" ] && [ "$last" -eq "$rej" ]; then
    ok "P=$P: the workers altered $alt frames and the server refused all $rej (metrics.csv agrees)"
  else
    bad "P=$P: altered $alt, refused $rej (summary) / $last (metrics.csv)"
  fi
  grep -q 'refused the sealed update of client' "$work/tamper$P.log" \
    && ok "P=$P: a clear warning names the refused frame" \
    || bad "P=$P: no warning about the refused frame"
done
auth=$(final tamper1 rejected_frames_by_status.EAUTH)
replay=$(final tamper1 rejected_frames_by_status.EREPLAY)
[ "$auth" -gt 0 ] && [ "$replay" -gt 0 ] \
  && ok "refusals by status: EAUTH $auth (altered, forged), EREPLAY $replay (replayed)" \
  || bad "refusals by status: EAUTH $auth, EREPLAY $replay (want both > 0)"
if python3 - "$work/tamper1/metrics.csv" <<'EOF'
import csv, sys
v = [int(r["rejected_frames"]) for r in csv.DictReader(open(sys.argv[1]))]
assert v == sorted(v) and v[0] == 0 and v[-1] > 0, v
EOF
then ok "rejected_frames counts up from 0"; else bad "rejected_frames column"; fi
for P in 2 3; do
  [ -f "$work/tamper$P/model.bin" ] || continue
  cmp -s "$work/tamper1/model.bin" "$work/tamper$P/model.bin" \
    && ok "tampered run: P=$P bit-identical to P=1" \
    || bad "tampered run: P=$P differs from P=1"
done
cmp -s "$work/tamper1/model.bin" "$work/plain/model.bin" \
  && bad "tampered run equals the clean run (were any updates dropped?)" \
  || ok "refused updates were left out (model differs from the clean run)"

# 3. An asynchronous strategy.
for P in 1 3; do
  run fedbuff$P $P --server.strategy fedbuff --server.buffer 4 \
    --secure.seal true --secure.tamper_rate 0.3 || continue
done
if [ -f "$work/fedbuff1/model.bin" ] && [ -f "$work/fedbuff3/model.bin" ]; then
  rej=$(final fedbuff1 rejected_frames)
  alt=$(sed -n 's/.*tamper_rate altered \([0-9]*\) uplink.*/\1/p' "$work/fedbuff3.log" \
        | awk '{s += $1} END {print s + 0}')
  [ "$rej" -gt 0 ] && [ "$rej" -eq "$alt" ] \
    && ok "FedBuff: $rej frames refused of $alt altered, run finished" \
    || bad "FedBuff: refused $rej, altered $alt"
  cmp -s "$work/fedbuff1/model.bin" "$work/fedbuff3/model.bin" \
    && ok "FedBuff tampered: P=3 bit-identical to P=1" \
    || bad "FedBuff tampered: P=3 differs from P=1"
fi

# 4. Tampering needs sealing.
if "$FEDSIM" "${common[@]}" --secure.tamper_rate 0.1 --out "$work/bad" > "$work/bad.log" 2>&1; then
  bad "secure.tamper_rate without secure.seal was accepted"
else
  grep -q 'secure.tamper_rate: .*secure.seal: true' "$work/bad.log" \
    && ok "secure.tamper_rate without secure.seal: clear error" \
    || { bad "unclear error:"; cat "$work/bad.log"; }
fi
exit $fail
