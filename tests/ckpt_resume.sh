#!/usr/bin/env bash
# Checkpoint and resume (docs/reliability.md). For several kinds of state
# (EF14 memories, EF21 estimates, DiceSGD buffers with local noise, central
# DP noise with its accountant, server momentum and Adam, dropouts, the
# asynchronous strategies, sealed frames, robust aggregation's previous
# aggregate, client momentum, peer-to-peer models, secure aggregation's
# totals) a run checkpointed every K aggregations with
# P = 3 ranks is resumed with P = 5 (and P = 1 with P = 2) from a checkpoint
# in its middle; its metrics.csv (every column but wall_s) and model.bin
# must equal those of the run that was never interrupted. Then the refusals:
# a truncated file, a bad checksum, another format version, a MANIFEST
# missing (a checkpoint cut short is skipped), another configuration on the
# command line; and SIGINT (P = 1) / SIGTERM (mpirun, P = 3): the run stops
# at the next boundary with exit status 3 and the resume command, and the resumed run equals the reference.
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_ckpt.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 8 --clients 40 --per-round 7 --seed 11 --run.progress off
        --data.synthetic.samples 4000 --data.synthetic.groups 40)
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
strip() { cut -d, -f1,2,4-21,23- "$1/metrics.csv"; } # no wall_s, secagg_ms (measured)
same() { # same REF RUN: metrics (but wall_s) and model byte-equal
  [ "$(strip "$1" | md5sum)" = "$(strip "$2" | md5sum)" ] \
    && cmp -s "$1/model.bin" "$2/model.bin"
}
run() { # run P OUT ARGS...
  local P=$1 out=$2; shift 2
  if [ "$P" = 1 ]; then
    "$FEDSIM" "$@" > "$out.log" 2>&1
  else
    "${MPIRUN[@]}" -n "$P" "$FEDSIM" "$@" > "$out.log" 2>&1
  fi
}

# resume_mode TAG P_SAVE P_RESUME AGG ARGS...: reference, checkpointed run,
# and a resume from the checkpoint after aggregation AGG.
resume_mode() {
  local tag=$1 ps=$2 pr=$3 agg=$4; shift 4
  run 1 "$work/$tag-ref" "${common[@]}" "$@" --out "$work/$tag-ref" \
    || { bad "$tag: reference run failed"; cat "$work/$tag-ref.log"; return; }
  run "$ps" "$work/$tag-ck" "${common[@]}" "$@" --out "$work/$tag-ck" \
    --checkpoint-every 2 --run.checkpoint_keep 0 \
    || { bad "$tag: checkpointed run (P=$ps) failed"; cat "$work/$tag-ck.log"; return; }
  same "$work/$tag-ref" "$work/$tag-ck" \
    || { bad "$tag: checkpointing changed the run"; return; }
  local n; n=$(ls "$work/$tag-ck/checkpoints" | wc -l)
  [ "$n" -eq 4 ] || { bad "$tag: $n checkpoints, want 4 (every 2 of 8)"; return; }
  cp -r "$work/$tag-ck" "$work/$tag-re"
  rm -f "$work/$tag-re/model.bin" "$work/$tag-re/summary.json"
  for d in "$work/$tag-re/checkpoints"/agg-*; do
    [ "${d##*agg-}" -gt "$agg" ] && rm -rf "$d"
  done
  run "$pr" "$work/$tag-re" --resume "$work/$tag-re" --run.progress off \
    || { bad "$tag: resume (P=$pr) failed"; cat "$work/$tag-re.log"; return; }
  grep -q "resumed after aggregation $((10#$agg))" "$work/$tag-re.log" \
    || { bad "$tag: did not resume after aggregation $agg"; cat "$work/$tag-re.log"; return; }
  if same "$work/$tag-ref" "$work/$tag-re"; then
    ok "$tag: checkpoint at $((10#$agg)) with P=$ps, resumed with P=$pr: bit-identical"
  else
    bad "$tag: resumed run differs from the uninterrupted one"
    diff <(strip "$work/$tag-ref") <(strip "$work/$tag-re") | head -6
  fi
}

# same_summary TAG: summary.json of TAG-ref and TAG-re equal but for what is
# measured (wall time, secure aggregation's ms), the build and the ranks.
same_summary() { # same_summary TAG: summary.json of TAG-ref and TAG-re
  /usr/bin/python3 - "$work/$1-ref/summary.json" "$work/$1-re/summary.json" "${2:-}" <<'PY'
import json, sys
def load(p):
    d = json.load(open(p))
    for k in ("fedsim", "ranks"):
        d.pop(k, None)
    d["final"].pop("wall_s", None)
    d.get("secure_aggregation", {}).pop("ms", None)
    for k in ("out_dir", "resume", "checkpoint_every", "checkpoint_keep"):
        d["config"]["run"].pop(k, None)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            print("summary.json differs in", k, ":", a.get(k), "vs", b.get(k))
    sys.exit(1)
PY
}

resume_mode ef14 3 5 00000004 --compress.up randk --compress.up_ratio 0.1 --ef.method ef14
resume_mode ef21 3 5 00000002 --local.mode full_gradient --server.lr 0.5 \
  --compress.up topk --compress.up_ratio 0.05 --ef.method ef21
resume_mode local1to2 1 2 00000006 --compress.up topk --compress.up_ratio 0.1 --ef.method ef14 \
  --server.optimizer momentum
resume_mode dice-local 3 5 00000004 --dp.clip dice --dp.dice_ratio 0.5 --dp.noise local \
  --dp.noise_multiplier 0.3 --server.weighting uniform --model mlp --model.hidden 8
resume_mode dp-central 3 2 00000004 --clients.sampling poisson --dp.clip flat \
  --dp.clip_norm 0.5 --dp.noise central --server.weighting uniform \
  --compress.up topk --compress.up_ratio 0.1 --ef.method ef14
resume_mode adam-dropout 3 5 00000006 --server.optimizer adam --server.lr 0.01 \
  --system.dropout 0.3 --eval.targets 0.2,0.3,0.99

# EF21-BC: the compressed downlink (server b and next message, each worker's
# copy of x and b).
resume_mode ef21bc 3 5 00000004 --local.mode full_gradient --per-round 40 --server.lr 0.5 \
  --compress.up topk --compress.up_ratio 0.05 --ef.method ef21 \
  --compress.down topk --compress.down_ratio 0.1

# Asynchronous strategies: the event queue, buffered returns, in-flight jobs
# (collected at the checkpoint), staleness drops, dropouts, FedFix's timer.
resume_mode async 3 5 00000004 --server.strategy async --server.optimizer momentum
resume_mode fedbuff 3 4 00000006 --server.strategy fedbuff --server.buffer 5 \
  --server.max_staleness 3 --compress.up topk --compress.up_ratio 0.1 --ef.method ef14 \
  --system.dropout 0.3 --system.dist exponential
resume_mode fedfix 3 5 00000002 --server.strategy fedfix --server.fedfix_delta 0.3 \
  --system.dist fp --server.optimizer adam --server.lr 0.01 --system.offline_fraction 0.3 \
  --system.offline_period 2

# Sealed frames (secure.seal): the resumed run seals under fresh keys (a new
# key epoch), the CHECKPOINT frames and their replies are sealed too; the
# sealer's refusal counts are saved.
resume_mode sealed 3 5 00000004 --secure.seal true --compress.up topk \
  --compress.up_ratio 0.1 --ef.method ef14

# Robust aggregation: NNA's previous aggregate (server.nna_pivot previous,
# the default) on the server; the clients' momentum buffers on their workers
# (keyed by client id); peer-to-peer MoNNA's models of every client.
rob=(--server.robust_f 2 --faults.fraction 0.2)
# (12 a round, f = 4: round 5 keeps other updates around a zero pivot, so
# the case fails if the previous aggregate is not restored; checked.)
resume_mode nna-previous 3 5 00000004 --per-round 12 --server.robust_f 4 \
  --faults.fraction 0.3 --server.aggregator nna --faults.kind sign_flip
resume_mode client-momentum 3 5 00000004 "${rob[@]}" --server.aggregator monna \
  --server.nna_pivot model --clients.momentum 0.9 --faults.kind noise
resume_mode p2p 3 5 00000004 --per-round 40 --server.robust_f 8 --faults.fraction 0.2 \
  --server.aggregator monna --server.nna_pivot own --clients.momentum 0.9 \
  --faults.kind sign_flip

# Secure aggregation: keys are derived per round from the seed (nothing per
# client to save); the server's running totals (rounds aborted, clients
# dropped after masking, SA_* bits and time) are saved.
resume_mode secagg 3 5 00000004 --secure.aggregation secagg --secure.dropout 0.4 \
  --per-round 6
# Both at once: sealed secure aggregation.
resume_mode sealed-secagg 3 5 00000004 --secure.seal true --secure.aggregation secagg \
  --secure.dropout 0.4 --per-round 6
# summary.json too (the sealer's counts, robust skipped rounds, secure
# aggregation's totals).
for tag in sealed nna-previous client-momentum p2p secagg sealed-secagg; do
  if same_summary $tag; then
    ok "$tag: summary.json equal after the resume"
  else
    bad "$tag: summary.json differs after the resume"
  fi
done

# ---- refusals ---------------------------------------------------------------
base="$work/ef14-ck"
refuse() { # refuse TAG PATTERN: the last resume must fail and say PATTERN
  if [ "$rc" -ne 0 ] && grep -q -- "$2" "$work/r.log"; then
    ok "refused $1: $(grep -o -- "$2.*" "$work/r.log" | head -1 | cut -c1-110)"
  else
    bad "$1: rc $rc, expected a refusal naming '$2'"; cat "$work/r.log"
  fi
}
fresh() { rm -rf "$work/r"; cp -r "$base" "$work/r"; }
last="$work/r/checkpoints/agg-00000008"

fresh; truncate -s 100 "$last/server.bin"
"$FEDSIM" --resume "$work/r" > "$work/r.log" 2>&1; rc=$?
refuse "a truncated server.bin" "server.bin: truncated"

fresh; printf '\x01' | dd of="$last/worker-0002.bin" bs=1 seek=60 conv=notrunc 2>/dev/null
"${MPIRUN[@]}" -n 3 "$FEDSIM" --resume "$work/r" > "$work/r.log" 2>&1; rc=$?
refuse "a corrupt worker file" "worker-0002.bin: bad checksum"

fresh; printf '\x09' | dd of="$last/MANIFEST" bs=1 seek=8 conv=notrunc 2>/dev/null
"$FEDSIM" --resume "$work/r" > "$work/r.log" 2>&1; rc=$?
refuse "another format version" "format version 9, this fedsim reads version 1"

fresh
"$FEDSIM" --resume "$work/r" --local.lr 0.1 --clients 41 > "$work/r.log" 2>&1; rc=$?
refuse "another configuration" "changes 2 settings of the checkpointed run: clients.num (40 in the checkpoint, 41 now), local.lr (0.05 in the checkpoint, 0.1 now)"

fresh; rm -rf "$work/r/checkpoints"
"$FEDSIM" --resume "$work/r" > "$work/r.log" 2>&1; rc=$?
refuse "a run without checkpoints" "no complete checkpoint"

fresh; mv "$work/r/metrics.csv" "$work/r/m"; head -c 300 "$work/r/m" > "$work/r/metrics.csv"
"$FEDSIM" --resume "$work/r" > "$work/r.log" 2>&1; rc=$?
refuse "metrics.csv cut short" "metrics.csv: its first"

# A checkpoint cut short (no MANIFEST) is skipped: the one before is used,
# and the run still ends bit-identical.
fresh; rm -f "$last/MANIFEST" "$work/r/model.bin"
if "${MPIRUN[@]}" -n 4 "$FEDSIM" --resume "$work/r" > "$work/r.log" 2>&1 \
   && grep -q "agg-00000008 has no MANIFEST (a checkpoint cut short): not used" "$work/r.log" \
   && grep -q "resumed after aggregation 6" "$work/r.log" && same "$work/ef14-ref" "$work/r" \
   && grep -q "checkpoint after aggregation 8 in" "$work/r.log" && [ -f "$last/MANIFEST" ]; then
  ok "a checkpoint without MANIFEST is skipped; resumed from the one before, bit-identical, checkpointing every 2 again"
else
  bad "half-written checkpoint"; cat "$work/r.log"
fi

# ---- SIGTERM: stop at the next boundary, resume -------------------------------
long=(--rounds 5000 --clients 40 --per-round 7 --seed 5 --run.progress off
      --data.synthetic.samples 4000 --data.synthetic.groups 40
      --compress.up topk --compress.up_ratio 0.1 --ef.method ef21 --local.mode full_gradient)
run 1 "$work/long-ref" "${long[@]}" --out "$work/long-ref" || bad "long reference failed"
for P in 1 3; do
  out="$work/sig$P"
  if [ "$P" = 1 ]; then
    # Ctrl-C's signal; a background job of a script starts with SIGINT
    # ignored, hence env --default-signal.
    sig=INT
    env --default-signal=INT "$FEDSIM" "${long[@]}" --out "$out" > "$out.log" 2>&1 &
  else
    sig=TERM
    # mpirun (Open MPI 4.1) sends the ranks SIGCONT, SIGTERM T seconds
    # later, and SIGKILL T seconds after that, T = odls_base_sigkill_timeout
    # (1 by default): T = 3 leaves them time to reach the boundary.
    "${MPIRUN[@]}" --mca odls_base_sigkill_timeout 3 -n $P "$FEDSIM" "${long[@]}" \
      --out "$out" > "$out.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do
    [ "$(wc -l < "$out/metrics.csv" 2>/dev/null || echo 0)" -gt 20 ] && break
    sleep 0.1
  done
  kill -$sig $pid; wait $pid; rc=$?
  if [ "$P" = 1 ] && [ $rc -ne 3 ]; then bad "SIGINT P=1: exit status $rc, want 3"; cat "$out.log"; continue; fi
  [ $rc -ne 0 ] || { bad "SIGTERM P=$P: exit status 0 (the run finished before the signal?)"; continue; }
  grep -q "stopped by a signal after aggregation .*Continue with: fedsim --resume $out" "$out.log" \
    || { bad "SIGTERM P=$P: no resume message"; cat "$out.log"; continue; }
  at=$(grep -o "stopped by a signal after aggregation [0-9]*" "$out.log" | grep -o "[0-9]*$")
  [ -f "$out/summary.json" ] && { bad "SIGTERM P=$P: wrote a summary as if finished"; continue; }
  run 2 "$out-re" --resume "$out" || { bad "SIGTERM P=$P: resume failed"; cat "$out-re.log"; continue; }
  if same "$work/long-ref" "$out"; then
    ok "SIG$sig (P=$P): stopped after aggregation $at with exit $rc, resumed with P=2: bit-identical"
  else
    bad "SIGTERM P=$P: resumed run differs"
  fi
done
exit $fail
