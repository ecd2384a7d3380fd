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
#  4. tampering without sealing is a configuration error;
#  5. secure aggregation sealed (SA_* frames and MASKED_U32 updates): the
#     same model.bin as unsealed on 1, 2 and 3 ranks, exactly 256 bits more
#     per frame in bits_up, bits_down and bits_secagg; with tampering, the
#     refused frames are counted and the run finishes, bit-identical on 1
#     and 3 ranks;
#  6. the same for gradient coding (GC_TASK, GC_RESULT; a refused result is
#     a straggler's).
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

altered() { # log: frames the workers altered, summed over ranks
  sed -n 's/.*tamper_rate altered \([0-9]*\) uplink.*/\1/p' "$work/$1.log" \
    | awk '{s += $1} END {print s + 0}'
}
sa=(--secure.aggregation secagg --secure.clip 0.5 --secure.bits 20
    --secure.dropout 0.2)
gc=(--server.strategy gc --system.dist constant --partition.method iid
    --server.lr 0.5 --gc.scheme cr --gc.s 2 --gc.straggler iid --gc.p 0.1)

# 5. Secure aggregation: every SA_* frame and masked update sealed.
run saplain 1 "${sa[@]}" || true
for P in 1 2 3; do
  run saseal$P $P "${sa[@]}" --secure.seal true || continue
  cmp -s "$work/saplain/model.bin" "$work/saseal$P/model.bin" \
    && ok "secagg sealed on $P rank(s): model.bin identical to the unsealed run" \
    || bad "secagg sealed on $P rank(s): model.bin differs from the unsealed run"
done
# Per round, with K = 5 clients of which S do not drop: up SA_KEYS,
# SA_SHARES (K each), masked UPDATE, SA_REVEAL (S each); down TRAIN,
# SA_ADVERTISE (K), SA_UNMASK (S); SA_* frames 3K + 2S. S is the clients
# column, except in a round aborted after the unmasking requests (clients
# 0): there the downlink gives S and the other two counts must agree.
if python3 - "$work/saplain" "$work/saseal1" <<'EOF'
import csv, json, sys
a = list(csv.DictReader(open(sys.argv[1] + "/metrics.csv")))
b = list(csv.DictReader(open(sys.argv[2] + "/metrics.csv")))
sa = json.load(open(sys.argv[2] + "/summary.json"))["secure_aggregation"]
assert sa["dropped_after_masking"] > 0, sa
assert len(a) == len(b) == 9, (len(a), len(b))
K, full, aborted = 5, 0, 0
for x, y in zip(a[1:], b[1:]):
    d = {c: int(y[c]) - int(x[c]) for c in ("bits_up", "bits_down", "bits_secagg")}
    assert all(v % 256 == 0 for v in d.values()), d
    S = d["bits_down"] // 256 - 2 * K
    assert 2 <= S <= K, (x["round"], S)
    if int(x["clients"]) > 0:
        assert S == int(x["clients"]), (x["round"], S, x["clients"])
        full += 1
    else:
        aborted += 1
    assert d["bits_up"] == 256 * (2 * K + 2 * S), (x["round"], d)
    assert d["bits_secagg"] == 256 * (3 * K + 2 * S), (x["round"], d)
    assert x["clients"] == y["clients"]
    for c in ("test_acc", "train_loss", "test_loss"):
        assert x[c] == y[c], (x["round"], c)
    assert y["rejected_frames"] == "0"
assert aborted == sa["rounds_aborted"] and full > 0, (full, aborted, sa)
EOF
then ok "secagg sealed: 256 bits more per frame (up, down, bits_secagg), metrics otherwise equal"
else bad "secagg sealed vs unsealed metrics"; fi
for P in 1 3; do
  run satamper$P $P "${sa[@]}" --secure.seal true --secure.tamper_rate 0.08 \
    || continue
done
if [ -f "$work/satamper1/model.bin" ] && [ -f "$work/satamper3/model.bin" ]; then
  rows=$(col satamper1 round | wc -l)
  rej=$(final satamper1 rejected_frames)
  alt=$(altered satamper3)
  last=$(col satamper1 rejected_frames | tail -1)
  [ "$rows" -eq 9 ] && [ "$rej" -gt 0 ] && [ "$rej" -eq "$alt" ] && [ "$last" -eq "$rej" ] \
    && ok "secagg tampered: finished 8 rounds, the server refused all $rej of the $alt altered frames" \
    || bad "secagg tampered: $rows rows, refused $rej (metrics.csv $last), altered $alt"
  # Refusals by protocol step (server's stderr): every step is hit at this
  # seed and rate, and they add up to the sealer's count.
  steps=$(sed -n 's/.*refused sealed frames: SA_KEYS \([0-9]*\) .*SA_SHARES \([0-9]*\) .*masked updates \([0-9]*\) .*SA_REVEAL \([0-9]*\) .*/\1 \2 \3 \4/p' \
    "$work/satamper1.log")
  read -r nk ns nu nr <<< "${steps:-0 0 0 0}"
  if [ "$nk" -gt 0 ] && [ "$ns" -gt 0 ] && [ "$nu" -gt 0 ] && [ "$nr" -gt 0 ] \
     && [ $((nk + ns + nu + nr)) -eq "$rej" ]; then
    ok "secagg tampered: refused SA_KEYS $nk, SA_SHARES $ns, masked updates $nu, SA_REVEAL $nr (= $rej)"
  else
    bad "secagg tampered: refusals by step '$steps', total $rej"
  fi
  ab=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secure_aggregation"]["rounds_aborted"])' \
       "$work/satamper1/summary.json")
  [ "$ab" -gt 0 ] && ok "secagg tampered: $ab rounds aborted (a refused SA_SHARES aborts its round)" \
    || bad "secagg tampered: no round aborted, $ns SA_SHARES refused"
  grep -q 'secure aggregation: refused a sealed frame of client' "$work/satamper1.log" \
    && ok "secagg tampered: a clear warning names the refused frame" \
    || bad "secagg tampered: no warning about the refused frame"
  cmp -s "$work/satamper1/model.bin" "$work/satamper3/model.bin" \
    && ok "secagg tampered: P=3 bit-identical to P=1" \
    || bad "secagg tampered: P=3 differs from P=1"
  cmp -s "$work/satamper1/model.bin" "$work/saplain/model.bin" \
    && bad "secagg tampered run equals the clean run (were refusals ignored?)" \
    || ok "secagg tampered: refused clients left out (model differs from the clean run)"
fi

# 6. Gradient coding: GC_TASK and GC_RESULT sealed.
run gcplain 1 "${gc[@]}" || true
for P in 1 2 3; do
  run gcseal$P $P "${gc[@]}" --secure.seal true || continue
  cmp -s "$work/gcplain/model.bin" "$work/gcseal$P/model.bin" \
    && ok "gc sealed on $P rank(s): model.bin identical to the unsealed run" \
    || bad "gc sealed on $P rank(s): model.bin differs from the unsealed run"
done
# cr (T = 0): each of the 12 workers gets one GC_TASK and sends one
# GC_RESULT every round.
if python3 - "$work/gcplain/metrics.csv" "$work/gcseal1/metrics.csv" <<'EOF'
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))
b = list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b) == 9, (len(a), len(b))
strag = 0
for x, y in zip(a[1:], b[1:]):
    for c in ("bits_up", "bits_down"):
        d = int(y[c]) - int(x[c])
        assert d == 256 * 12, (x["round"], c, d)
    for c in ("train_loss", "gc_stragglers", "gc_exact", "clients"):
        assert x[c] == y[c], (x["round"], c)
    strag += int(x["gc_stragglers"])
    assert y["rejected_frames"] == "0"
assert strag > 0  # the straggler model did act
EOF
then ok "gc sealed: 256 bits more per frame each way, stragglers and losses equal"
else bad "gc sealed vs unsealed metrics"; fi
for P in 1 3; do
  run gctamper$P $P "${gc[@]}" --secure.seal true --secure.tamper_rate 0.1 \
    || continue
done
if [ -f "$work/gctamper1/model.bin" ] && [ -f "$work/gctamper3/model.bin" ]; then
  rows=$(col gctamper1 round | wc -l)
  rej=$(final gctamper1 rejected_frames)
  alt=$(altered gctamper3)
  [ "$rows" -eq 9 ] && [ "$rej" -gt 0 ] && [ "$rej" -eq "$alt" ] \
    && ok "gc tampered: finished 8 rounds, the server refused all $rej of the $alt altered results" \
    || bad "gc tampered: $rows rows, refused $rej, altered $alt"
  if python3 - "$work/gcplain/metrics.csv" "$work/gctamper1/metrics.csv" <<'EOF'
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))[1:]
b = list(csv.DictReader(open(sys.argv[2])))[1:]
prev = 0
for x, y in zip(a, b):
    now = int(y["rejected_frames"])
    # each refused result is one more lost result that round
    assert int(y["gc_stragglers"]) >= now - prev, (y["round"], now - prev)
    prev = now
assert sum(int(r["gc_stragglers"]) for r in b) > sum(int(r["gc_stragglers"]) for r in a)
EOF
  then ok "gc tampered: each refused result counted as a lost (straggler's) result"
  else bad "gc tampered: refused results not counted as stragglers"; fi
  grep -q 'gc: refused the sealed result of worker' "$work/gctamper1.log" \
    && ok "gc tampered: a clear warning names the refused result" \
    || bad "gc tampered: no warning about the refused result"
  cmp -s "$work/gctamper1/model.bin" "$work/gctamper3/model.bin" \
    && ok "gc tampered: P=3 bit-identical to P=1" \
    || bad "gc tampered: P=3 differs from P=1"
fi
exit $fail
