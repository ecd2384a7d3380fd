#!/usr/bin/env bash
# fedsim across machines, on one machine: three network-namespace "hosts"
# (node1..node3 = netns fns1..fns3, 10.200.0.1-3/24 on a bridge in netns fsw,
# each with its own hostname), built by the fake-cluster recipes in
# ../shared/cluster. Runs the default simulation
#   1. in one process (the reference),
#   2. with mpirun --hostfile examples/slurm/hostfile.example (5 ranks, TCP only
#      over 10.200.0.0/24, remote daemons started through nsrsh.sh as with ssh),
#   3. with Slurm: srun --mpi=pmix -N3 -n6 (one slurmd per host),
#   4. with Slurm: sbatch examples/slurm/fedsim.sbatch (-N3 -n4),
# checks from each rank's own process (hostname and network namespace, taken
# by a wrapper that then execs fedsim) that the ranks really ran on all three
# hosts, and that metrics.csv (every column but wall_s) and model.bin are
# bit-identical to the single-process run. Tears everything down on exit.
#
# Needs root (network namespaces, Slurm daemons); installs iproute2, Open MPI,
# slurmd, slurmctld, slurm-client and munge with apt-get if missing. Without
# the rights to make network namespaces it FAILS, unless FEDSIM_SKIP_CLUSTER=1,
# which skips it (exit 77). FEDSIM_CLUSTER_KEEP=1 keeps the work folder.
set -uo pipefail
. "$SRCDIR/tests/cluster_common.sh"

# --- 1. what it needs -------------------------------------------------------
need=(ip:iproute2 nsenter:util-linux unshare:util-linux mpirun:openmpi-bin
      slurmctld:slurmctld slurmd:slurmd srun:slurm-client sbatch:slurm-client
      sinfo:slurm-client munged:munge mungekey:munge)
cluster_need "${need[@]}"
T_READY=$(el)

cluster_probe

# --- teardown, whatever happens ---------------------------------------------
work=$(mktemp -d /tmp/fedsim_cluster.XXXXXX)
export FAKECLUSTER=$work/fc
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
net_up=0 slurm_up=0
# shellcheck disable=SC2317  # (called by the trap)
teardown() {
  local rc=$?
  trap - EXIT INT TERM HUP
  exec 1>&3 2>&4   # a signal may arrive inside a step whose output goes to a log
  [ $rc -eq 0 ] || fail=1
  local t; t=$(el)
  if [ $slurm_up = 1 ]; then
    # slurm_netns_down.sh stops the daemons one after the other (up to 5 s
    # each); ask all of them (by their recorded PIDs) to stop at once first.
    local f p alive pids=()
    for f in "$FAKECLUSTER"/slurm_netns/run/*.bgpid; do
      [ -f "$f" ] && p=$(cat "$f") && kill -TERM "$p" 2>/dev/null && pids+=("$p")
    done
    for _ in $(seq 80); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break; sleep 0.1
    done
    "$CL/slurm_netns/slurm_netns_down.sh" --wipe > /dev/null 2>&1
  fi
  if [ $net_up = 1 ]; then
    # anything still running inside our namespaces (a rank after a timeout) is ours
    local k p pids=()
    for k in 1 2 3; do
      [ -e /run/netns/fns$k ] && mapfile -t -O ${#pids[@]} pids < <(ip netns pids fns$k 2>/dev/null)
    done
    if [ ${#pids[@]} -gt 0 ]; then
      echo "     teardown: ending leftover processes ${pids[*]}"
      kill -TERM "${pids[@]}" 2>/dev/null; sleep 1
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    fi
    "$CL/netns/netns_cluster.sh" down 3
  fi
  local left
  left=$(ip netns list 2>/dev/null | grep -E '^(fsw|fns[123])( |$)')
  [ -z "$left" ] || { echo "FAIL teardown left network namespaces: $left"; fail=1; }
  if [ "${FEDSIM_CLUSTER_KEEP:-0}" = 1 ]; then echo "     kept $work"; else rm -rf "$work"; fi
  echo "     teardown took $(awk -v a="$(el)" -v b="$t" 'BEGIN{printf "%.1f", a-b}') s; total $(el) s (of which $T_READY s installing)"
  exit $fail
}
exec 3>&1 4>&2
trap teardown EXIT
trap 'exec 1>&3 2>&4; echo "FAIL interrupted"; fail=1; exit 1' INT TERM HUP

# Long steps run in the background and are waited for, so that TERM or INT
# reaches the trap (and the teardown) at once, not when the step ends.
bg() { "$@" & wait $!; }

# --- the runs ---------------------------------------------------------------
cfg=(--config "$SRCDIR/examples/default.yaml" --rounds 10 --run.progress off)
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }

"$FEDSIM" "${cfg[@]}" --out "$work/single" > "$work/single.log" 2>&1 \
  || { cat "$work/single.log"; die "single-process run failed"; }
rows=$(wc -l < "$work/single/metrics.csv")
[ "$rows" -eq 12 ] || die "single run: metrics.csv has $rows lines, want 12"
ok "single-process reference run"

# mkwrap NAME: $work/wrap-NAME.sh records where each rank runs (host name and
# network namespace of the rank's own process) in $work/where-NAME/, then
# becomes fedsim (exec: same process, same namespaces).
mkwrap() {
  mkdir -p "$work/where-$1"
  cat > "$work/wrap-$1.sh" <<EOF
#!/bin/sh
r=\${OMPI_COMM_WORLD_RANK:-\${PMIX_RANK:-\${SLURM_PROCID:-x}}}
echo "\$(hostname) \$(readlink /proc/self/ns/net)" > '$work/where-$1/rank'\$r
exec '$FEDSIM' "\$@"
EOF
  chmod +x "$work/wrap-$1.sh"
}

# check NAME P: P ranks, on all of node1..3, each in its host's namespace;
# results bit-identical to the single run.
check() {
  local name=$1 P=$2 d=$work/$1 f host ns want n
  n=$(ls "$work/where-$name" | wc -l)
  [ "$n" -eq "$P" ] || { bad "$name: $n ranks reported where they ran, want $P"; return; }
  for f in "$work/where-$name"/rank*; do
    read -r host ns < "$f"
    case "$host" in node[123]) ;; *) bad "$name: $(basename "$f") ran on '$host', not node1..3"; return;; esac
    want="net:[$(stat -L -c %i /run/netns/fns${host#node})]"
    [ "$ns" = "$want" ] || { bad "$name: $(basename "$f") on $host in netns $ns, not fns${host#node} ($want)"; return; }
  done
  local hosts
  hosts=$(cut -d' ' -f1 "$work/where-$name"/rank* | sort | uniq -c | awk '{printf "%s%s:%s", s, $2, $1; s=" "}')
  [ "$(cut -d' ' -f1 "$work/where-$name"/rank* | sort -u | wc -l)" -eq 3 ] \
    || { bad "$name: ranks ran on only $hosts"; return; }
  grep -Eq "\"ranks\":[[:space:]]*$P," "$d/summary.json" \
    || { bad "$name: summary.json does not say $P ranks"; return; }
  if [ "$(strip "$d" | md5sum)" != "$(strip "$work/single" | md5sum)" ]; then
    bad "$name: metrics.csv differs from the single-process run"
    diff <(strip "$work/single") <(strip "$d") | head -5; return
  fi
  cmp -s "$work/single/model.bin" "$d/model.bin" \
    || { bad "$name: model.bin differs from the single-process run"; return; }
  ok "$name: $P ranks on 3 hosts ($hosts), metrics.csv and model.bin bit-identical to 1 process"
}

net_up=1
"$CL/netns/netns_cluster.sh" up 3 > "$work/netns.log" 2>&1 \
  || { cat "$work/netns.log"; die "could not bring up the network namespaces"; }
ok "3 netns hosts up (node1..3 = 10.200.0.1..3)"

# mpirun --hostfile, launched from node1; nsmpirun.sh restricts Open MPI's
# TCP to 10.200.0.0/24 and starts the daemons on node2, node3 with nsrsh.sh.
mkwrap mpirun
if bg timeout -k 5 90 "$CL/netns/nsmpirun.sh" --hostfile "$SRCDIR/examples/slurm/hostfile.example" \
     -n 5 --map-by node --bind-to none -x OPENBLAS_NUM_THREADS=1 \
     "$work/wrap-mpirun.sh" "${cfg[@]}" --out "$work/mpirun" > "$work/mpirun.log" 2>&1; then
  check mpirun 5
else
  bad "mpirun --hostfile across 3 hosts exited $?"; tail -20 "$work/mpirun.log"
fi

# Slurm: slurmctld on node1, one slurmd per host; clients run on node1 (sr.sh).
slurm_up=1
if ! bg timeout -k 5 60 "$CL/slurm_netns/slurm_netns_up.sh" 3 > "$work/slurm.log" 2>&1; then
  bad "Slurm did not come up"; cat "$work/slurm.log"; exit 1
fi
ok "Slurm up (slurmctld on node1, slurmd on node1..3)"
SR=$CL/slurm_netns/sr.sh
q() { printf '%q ' "$@"; }

mkwrap srun
if bg timeout -k 5 90 "$SR" "srun -N3 -n6 --mpi=pmix $(q "$work/wrap-srun.sh" "${cfg[@]}" --out "$work/srun")" \
     > "$work/srun.log" 2>&1; then
  check srun 6
else
  bad "srun --mpi=pmix -N3 -n6 exited $?"; tail -20 "$work/srun.log"
fi

# The example batch script as users submit it (options on sbatch's command
# line override its #SBATCH lines; FEDSIM and CONFIG are read from the env).
# Not sbatch --wait: it polls after 2 s and then 8 s more; scontrol every 0.2 s.
mkwrap sbatch
job=$(timeout -k 5 30 "$SR" "cd $(q "$SRCDIR") && FEDSIM=$(q "$work/wrap-sbatch.sh") \
     sbatch --parsable -N3 -n4 -t 2 -o $(q "$work/sbatch-%j.out") examples/slurm/fedsim.sbatch \
     $(q --rounds 10 --run.progress off --out "$work/sbatch")" 2> "$work/sbatch.log")
if [[ "$job" =~ ^[0-9]+$ ]]; then
  st=
  for _ in $(seq 450); do   # 90 s
    st=$("$SR" "scontrol show job -o $job" 2>> "$work/sbatch.log" | tr ' ' '\n' | grep -E '^(JobState|ExitCode)=' | paste -sd' ')
    case "$st" in JobState=PENDING*|JobState=RUNNING*|JobState=CONFIGURING*|JobState=COMPLETING*|"") sleep 0.2;; *) break;; esac
  done
  if [ "$st" = "JobState=COMPLETED ExitCode=0:0" ]; then
    check sbatch 4
  else
    bad "sbatch examples/slurm/fedsim.sbatch: job $job ended with '${st:-no state in 90 s}'"
    cat "$work/sbatch.log" "$work/sbatch-$job.out" 2>/dev/null | tail -20
  fi
else
  bad "sbatch examples/slurm/fedsim.sbatch: no job id ('$job')"; cat "$work/sbatch.log"
fi
exit $fail
