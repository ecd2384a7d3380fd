#!/usr/bin/env bash
# Checkpoints on a cluster (docs/reliability.md), on the three
# network-namespace hosts of ../shared/cluster (node1..3 = netns fns1..3):
#   1. a host dies: mpirun --hostfile over node1..3 (5 ranks), checkpoints
#      every 5 aggregations; once one is complete every process of node3
#      (its Open MPI daemon and its ranks) is SIGKILLed, Open MPI ends the
#      job; the run is resumed with mpirun on node1 and node2 only (3 ranks);
#   2. a Slurm time limit: sbatch -N3 -n4 -t 1 examples/slurm/fedsim_resumable.sbatch
#      (srun --mpi=pmix); Slurm sends SIGTERM at the limit, fedsim checkpoints
#      at the next boundary and stops (the job ends TIMEOUT); the job is
#      requeued (scontrol requeue) and the requeued run finishes it with
#      --resume.
# Both final metrics.csv (every column but wall_s) and model.bin must equal
# those of the uninterrupted single-process run. The runs are slowed down
# without using the CPU: system.sleep_scale = 1 (workers sleep each job's
# simulated time), FEDSIM_SLEEP_FACTOR = 0 for the reference and the resumed
# runs (sleeping changes nothing but the wall time).
#
# Needs root (network namespaces, Slurm daemons); installs what is missing as
# tests/cluster.sh does. FEDSIM_SKIP_CLUSTER=1 skips it (exit 77); without the
# rights to make network namespaces it FAILS. Takes about 2 minutes (the
# Slurm time limit is 1 minute, enforced within 30 s after; Slurm would start
# a requeued job only about 2 minutes after the requeue, so the test releases
# it at once with scontrol update StartTime=now).
set -uo pipefail
. "$SRCDIR/tests/cluster_common.sh"

need=(ip:iproute2 nsenter:util-linux unshare:util-linux mpirun:openmpi-bin
      slurmctld:slurmctld slurmd:slurmd srun:slurm-client sbatch:slurm-client
      scontrol:slurm-client munged:munge mungekey:munge)
cluster_need "${need[@]}"
cluster_probe

work=$(mktemp -d /tmp/fedsim_cluster_ckpt.XXXXXX)
export FAKECLUSTER=$work/fc
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
net_up=0 slurm_up=0
# shellcheck disable=SC2317  # (called by the trap)
teardown() {
  local rc=$?
  trap - EXIT INT TERM HUP
  exec 1>&3 2>&4
  [ $rc -eq 0 ] || fail=1
  if [ $slurm_up = 1 ]; then
    local f p pids=()
    for f in "$FAKECLUSTER"/slurm_netns/run/*.bgpid; do
      [ -f "$f" ] && p=$(cat "$f") && kill -TERM "$p" 2>/dev/null && pids+=("$p")
    done
    for _ in $(seq 80); do
      local alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break; sleep 0.1
    done
    "$CL/slurm_netns/slurm_netns_down.sh" --wipe > /dev/null 2>&1
  fi
  if [ $net_up = 1 ]; then
    local k pids=()
    for k in 1 2 3; do
      [ -e /run/netns/fns$k ] && mapfile -t -O ${#pids[@]} pids < <(ip netns pids fns$k 2>/dev/null)
    done
    if [ ${#pids[@]} -gt 0 ]; then
      kill -TERM "${pids[@]}" 2>/dev/null; sleep 1
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    fi
    "$CL/netns/netns_cluster.sh" down 3 > /dev/null 2>&1
  fi
  local left
  left=$(ip netns list 2>/dev/null | grep -E '^(fsw|fns[123])( |$)')
  [ -z "$left" ] || { echo "FAIL teardown left network namespaces: $left"; fail=1; }
  if [ "${FEDSIM_CLUSTER_KEEP:-0}" = 1 ]; then echo "     kept $work"; else rm -rf "$work"; fi
  echo "     total $(el) s"
  exit $fail
}
exec 3>&1 4>&2
trap teardown EXIT
trap 'exec 1>&3 2>&4; echo "FAIL interrupted"; fail=1; exit 1' INT TERM HUP
bg() { "$@" & wait $!; }

strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
same() {
  [ "$(strip "$1" | md5sum)" = "$(strip "$2" | md5sum)" ] && cmp -s "$1/model.bin" "$2/model.bin"
}
args=(--config "$SRCDIR/examples/default.yaml" --rounds 400 --run.progress off
      --compress.up topk --compress.up_ratio 0.1 --ef.method ef14 --system.sleep_scale 1)
FEDSIM_SLEEP_FACTOR=0 "$FEDSIM" "${args[@]}" --out "$work/ref" > "$work/ref.log" 2>&1 \
  || { cat "$work/ref.log"; die "reference run failed"; }
ok "single-process reference run (400 aggregations)"

net_up=1
"$CL/netns/netns_cluster.sh" up 3 > "$work/netns.log" 2>&1 \
  || { cat "$work/netns.log"; die "could not bring up the network namespaces"; }
ok "3 netns hosts up"

# --- 1. a host dies -----------------------------------------------------------
printf 'node1 slots=2\nnode2 slots=2\n' > "$work/hosts12"
"$CL/netns/nsmpirun.sh" --hostfile "$SRCDIR/examples/slurm/hostfile.example" -n 5 \
  --map-by node --bind-to none -x OPENBLAS_NUM_THREADS=1 -x FEDSIM_SLEEP_FACTOR=1 \
  "$FEDSIM" "${args[@]}" --out "$work/host" --checkpoint-every 5 > "$work/host.log" 2>&1 &
mp=$!
for _ in $(seq 600); do
  ls "$work"/host/checkpoints/agg-*/MANIFEST > /dev/null 2>&1 && break
  sleep 0.1
done
sleep 1.5
mapfile -t victims < <(ip netns pids fns3 2>/dev/null)
if [ ${#victims[@]} -eq 0 ]; then
  bad "host kill: nothing runs on node3"
else
  kill -KILL "${victims[@]}" 2>/dev/null
  timeout 60 tail --pid=$mp -f /dev/null; wait $mp; rc=$?
  rows=$(( $(wc -l < "$work/host/metrics.csv") - 2 ))
  if [ $rc -eq 0 ]; then
    bad "host kill: mpirun exited 0 after node3 died"
  elif bg timeout -k 5 120 "$CL/netns/nsmpirun.sh" --hostfile "$work/hosts12" -n 3 --map-by node \
         --bind-to none -x OPENBLAS_NUM_THREADS=1 -x FEDSIM_SLEEP_FACTOR=0 \
         "$FEDSIM" --resume "$work/host" --run.progress off > "$work/host-re.log" 2>&1; then
    at=$(grep -o "resumed after aggregation [0-9]*" "$work/host-re.log" | grep -o "[0-9]*$")
    if same "$work/ref" "$work/host"; then
      ok "node3 killed (${#victims[@]} processes) after ~$rows rows, mpirun exited $rc; resumed after aggregation $at on node1+node2 (3 ranks): bit-identical"
    else
      bad "host kill: the resumed run differs from the reference"; diff <(strip "$work/ref") <(strip "$work/host") | head -4
    fi
  else
    bad "host kill: resume on node1+node2 failed"; tail -20 "$work/host-re.log"
  fi
fi

# --- 2. a Slurm time limit, then a requeue ------------------------------------
slurm_up=1
bg timeout -k 5 60 "$CL/slurm_netns/slurm_netns_up.sh" 3 > "$work/slurm.log" 2>&1 \
  || { cat "$work/slurm.log"; die "Slurm did not come up"; }
ok "Slurm up (slurmctld on node1, slurmd on node1..3)"
SR=$CL/slurm_netns/sr.sh
q() { printf '%q ' "$@"; }
# The first run sleeps each job's simulated time (it would take minutes); the
# requeued run (SLURM_RESTART_COUNT > 0) does not.
cat > "$work/wrap.sh" <<EOF
#!/bin/sh
if [ "\${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then export FEDSIM_SLEEP_FACTOR=0; else export FEDSIM_SLEEP_FACTOR=1; fi
exec '$FEDSIM' "\$@"
EOF
chmod +x "$work/wrap.sh"
job=$(timeout -k 5 30 "$SR" "cd $(q "$SRCDIR") && RUN=$(q "$work/slurm") EVERY=0 FEDSIM=$(q "$work/wrap.sh") \
     sbatch --parsable -N3 -n4 -t 1 -o $(q "$work/slurm-%j.out") examples/slurm/fedsim_resumable.sbatch \
     $(q "${args[@]}")" 2> "$work/sbatch.log")
state() { "$SR" "scontrol show job -o $job" 2>> "$work/sbatch.log" | tr ' ' '\n' | grep -E '^(JobState|ExitCode|Restarts)=' | paste -sd' '; }
if ! [[ "$job" =~ ^[0-9]+$ ]]; then
  bad "sbatch: no job id ('$job')"; cat "$work/sbatch.log"; exit 1
fi
st=
for _ in $(seq 900); do   # 180 s
  st=$(state)
  case "$st" in JobState=PENDING*|JobState=RUNNING*|JobState=CONFIGURING*|JobState=COMPLETING*|"") sleep 0.2;; *) break;; esac
done
out="$work/slurm-$job.out"
if [[ "$st" == JobState=TIMEOUT* ]] && grep -q "stopped by a signal after aggregation" "$out" \
   && ls "$work"/slurm/checkpoints/agg-*/MANIFEST > /dev/null 2>&1 && [ ! -f "$work/slurm/summary.json" ]; then
  at=$(grep -o "stopped by a signal after aggregation [0-9]*" "$out" | grep -o "[0-9]*$")
  ok "job $job hit its 1-minute limit ($st): fedsim checkpointed after aggregation $at and stopped"
else
  bad "time limit: job $job ended with '$st'"; cat "$out" "$work/sbatch.log" 2>/dev/null | tail -30; exit 1
fi
"$SR" "scontrol requeue $job" >> "$work/sbatch.log" 2>&1 || { bad "scontrol requeue $job failed"; cat "$work/sbatch.log"; exit 1; }
# slurmctld holds a requeued job for about 2 minutes (its begin time); a user
# in a hurry, and this test, release it at once.
"$SR" "scontrol update JobId=$job StartTime=now" >> "$work/sbatch.log" 2>&1 || true
for _ in $(seq 1500); do   # 300 s
  st=$(state)
  case "$st" in JobState=COMPLETED*|JobState=FAILED*|JobState=CANCELLED*|JobState=NODE_FAIL*) break;; *) sleep 0.2;; esac
done
if [[ "$st" == "JobState=COMPLETED"*"ExitCode=0:0"* ]] && grep -q "resumed after aggregation $at" "$out" \
   && same "$work/ref" "$work/slurm"; then
  ok "requeued job $job ($st) resumed after aggregation $at and finished: bit-identical to the uninterrupted run"
else
  bad "requeued job $job ended with '$st'"; tail -30 "$out"
  [ -f "$work/slurm/metrics.csv" ] && diff <(strip "$work/ref") <(strip "$work/slurm") | head -4
fi
exit $fail
