#!/usr/bin/env bash
# Failures of the machine's resources (docs/reliability.md):
#  1. a run whose memory estimate exceeds run.memory_limit, or the memory
#     available on this machine, is refused before it starts, with the figure;
#  2. a run folder on a read-only file system: a clear error, exit 1;
#  3. the disk fills up in the middle of a run (a 400 KiB tmpfs): the
#     checkpoint write fails with "No space left on device", the run stops
#     with the resume command, the complete checkpoints before it are intact,
#     and a resume (once there is room) ends bit-identical to a run that was
#     never interrupted.
# Parts 2 and 3 mount small tmpfs file systems: they need root (CAP_SYS_ADMIN);
# without it they are reported as SKIP and the test exits 77 after part 1.
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_disk.XXXXXX)
mnt="$work/mnt"
mounted=0
cleanup() { [ $mounted = 1 ] && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
small=(--rounds 30 --clients 40 --per-round 7 --seed 4 --run.progress off
       --data.synthetic.samples 4000 --data.synthetic.groups 40 --model mlp
       --model.hidden 64 --compress.up topk --compress.up_ratio 0.1 --ef.method ef14)

# ---- 1. memory ---------------------------------------------------------------
"$FEDSIM" "${small[@]}" --run.memory_limit 1e6 --out "$work/m1" > "$work/m1.log" 2>&1; rc=$?
if [ $rc -eq 2 ] && grep -q "this run needs about .* but run.memory_limit is 976.6 KiB" "$work/m1.log" \
   && [ ! -e "$work/m1/metrics.csv" ]; then
  ok "refused over run.memory_limit: $(grep -o 'this run needs about [^(]*' "$work/m1.log")"
else
  bad "memory limit: rc $rc"; cat "$work/m1.log"
fi
# 20000 clients with EF14 memories of an MLP of 0.58 M parameters: ~46 GB.
"$FEDSIM" --clients 20000 --per-round 10 --model mlp --model.hidden 8192 \
  --data.synthetic.samples 200000 --data.synthetic.groups 20000 --ef.method ef14 \
  --compress.up topk --compress.up_ratio 0.01 --run.progress off --out "$work/m2" \
  > "$work/m2.log" 2>&1; rc=$?
if [ $rc -eq 2 ] && grep -q "but the memory available on this machine is" "$work/m2.log"; then
  ok "refused over the available memory: $(grep -o 'this run needs.*' "$work/m2.log" | cut -c1-150)"
else
  bad "available memory: rc $rc"; cat "$work/m2.log"
fi

# ---- 2, 3: file systems ------------------------------------------------------
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=400k fedsim_ckpt_test "$mnt" 2>/dev/null; then
  echo "SKIP read-only folder and disk full: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)"
  [ $fail = 0 ] && exit 77
  exit $fail
fi
mounted=1
mount -o remount,ro "$mnt"
"$FEDSIM" "${small[@]}" --out "$mnt/run" > "$work/ro.log" 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "cannot create folder $mnt/run: Read-only file system" "$work/ro.log"; then
  ok "read-only run folder: $(grep -o 'cannot create.*' "$work/ro.log")"
else
  bad "read-only folder: rc $rc"; cat "$work/ro.log"
fi
mount -o remount,rw "$mnt"

"$FEDSIM" "${small[@]}" --out "$work/ref" > "$work/ref.log" 2>&1 || bad "reference run failed"
"$FEDSIM" "${small[@]}" --out "$mnt/run" --checkpoint-every 1 > "$work/full.log" 2>&1; rc=$?
last=$(ls -d "$mnt"/run/checkpoints/agg-* 2>/dev/null | tail -1)
if [ $rc -eq 1 ] && grep -q "No space left on device" "$work/full.log" \
   && grep -q "Complete checkpoints written before are intact.*fedsim --resume $mnt/run" "$work/full.log" \
   && [ -n "$last" ] && [ -f "$last/MANIFEST" ] && ! ls "$mnt"/run/checkpoints/*/*.tmp > /dev/null 2>&1; then
  ok "disk full: $(grep -o "checkpoint after aggregation [0-9]* failed: .*No space left on device" "$work/full.log")"
else
  bad "disk full: rc $rc, last checkpoint '${last}'"; cat "$work/full.log"; ls -lR "$mnt"
fi
# Room again (a copy elsewhere), then resume.
cp -r "$mnt/run" "$work/run"
if "$FEDSIM" --resume "$work/run" > "$work/re.log" 2>&1 \
   && [ "$(strip "$work/ref" | md5sum)" = "$(strip "$work/run" | md5sum)" ] \
   && cmp -s "$work/ref/model.bin" "$work/run/model.bin"; then
  ok "resumed $(grep -o 'after aggregation [0-9]*' "$work/re.log") after the disk filled up: bit-identical"
else
  bad "resume after disk full"; cat "$work/re.log"
fi
exit $fail
