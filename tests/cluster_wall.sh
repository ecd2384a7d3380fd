#!/usr/bin/env bash
# Wall-clock mode across machines, with one machine really slow. Three
# network-namespace "hosts" (node1..node3, as in tests/cluster.sh, from the
# fake-cluster recipes in ../shared/cluster); 6 ranks with
# mpirun --hostfile examples/slurm/hostfile.example --map-by node (server on
# node1, two workers on node2, two on node3, one on node1). node3 is made slow
# for real, twice over:
#   - its ranks sleep FEDSIM_SLEEP_FACTOR = 6 times longer than the others for
#     the same job (each rank starts through a wrapper that sets the variable
#     on node3 only, and records where it runs and what it set);
#   - its link to the switch is rate-limited with tc tbf (1 Mbit/s each way),
#     if the kernel has tbf (without it the test says so and goes on).
# 20 clients in Fraboni et al.'s F-P scenario (a job lasts 4-20 ms of real
# sleep, ×6 on node3), run with run.clock: wall for 20 aggregations by
# synchronous FedAvg, FedBuff (K = 5) and FedFix (δ = 0.05 wall seconds).
# Checks: the ranks ran where they say (hostname and network namespace of each
# rank's own process), node3 and only node3 was slowed (the factor, the tc
# counters, and sync FedAvg lasting at least what node3's sleeps imply); every
# run made 20 aggregations and says it is not reproducible; FedBuff and FedFix
# took clearly less wall time than sync FedAvg (< 0.5×); for both, every
# update received is accounted for (aggregated + dropped as too stale +
# unused at the end). Tears everything down on exit.
#
# Needs root (network namespaces); installs iproute2 and Open MPI with apt-get
# if missing. Without the rights to make network namespaces it FAILS, unless
# FEDSIM_SKIP_CLUSTER=1, which skips it (exit 77). FEDSIM_CLUSTER_KEEP=1 keeps
# the work folder.
set -uo pipefail
. "$SRCDIR/tests/cluster_common.sh"
PY=/usr/bin/python3
[ -x $PY ] || die "needs $PY (to read summary.json)"

# --- 1. what it needs -------------------------------------------------------
need=(ip:iproute2 tc:iproute2 nsenter:util-linux unshare:util-linux mpirun:openmpi-bin)
cluster_need "${need[@]}"
T_READY=$(el)

cluster_probe

# --- teardown, whatever happens ---------------------------------------------
work=$(mktemp -d /tmp/fedsim_cluster_wall.XXXXXX)
export FAKECLUSTER=$work/fc
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
unset FEDSIM_SLEEP_FACTOR   # set by the rank wrapper, on node3 only
net_up=0
# shellcheck disable=SC2317  # (called by the trap)
teardown() {
  local rc=$?
  trap - EXIT INT TERM HUP
  exec 1>&3 2>&4   # a signal may arrive inside a step whose output goes to a log
  [ $rc -eq 0 ] || fail=1
  local t; t=$(el)
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
    "$CL/netns/netns_cluster.sh" down 3   # the tc qdiscs go with the links
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
bg() { "$@" & wait $!; }   # long steps: let TERM/INT reach the trap at once

# --- the hosts, node3 slow ----------------------------------------------------
SLOW=6          # FEDSIM_SLEEP_FACTOR on node3
RATE=1mbit      # tc tbf on node3's link, both ways
SCALE=0.02      # system.sleep_scale: F-P jobs of 0.2-1 s sleep 4-20 ms
ROUNDS=20 N=20 P=6 K=5 DELTA=0.05
RATIO=0.5       # FedBuff and FedFix must take < RATIO × sync FedAvg's wall time

net_up=1
"$CL/netns/netns_cluster.sh" up 3 > "$work/netns.log" 2>&1 \
  || { cat "$work/netns.log"; die "could not bring up the network namespaces"; }
ok "3 netns hosts up (node1..3 = 10.200.0.1..3)"

# node3's end of its veth pair (cl0 in fns3) shapes what node3 sends, the
# switch's end (swp3 in fsw) what it receives. burst 4 kB (more than a 1500 B
# packet), latency 1 s: queue, do not drop.
tbf=0
if ip netns exec fns3 tc qdisc add dev cl0 root tbf rate $RATE burst 4kb latency 1s 2> "$work/tc.log" \
   && ip netns exec fsw tc qdisc add dev swp3 root tbf rate $RATE burst 4kb latency 1s 2>> "$work/tc.log"; then
  tbf=1
  ok "node3's link rate-limited to $RATE each way (tc tbf)"
else
  echo "     note: tc tbf unavailable here ($(head -1 "$work/tc.log")); node3 is slowed by FEDSIM_SLEEP_FACTOR alone"
fi

# wrap-NAME.sh: each rank records its host, network namespace and sleep
# factor in $work/where-NAME/rankR, then execs fedsim (same process).
mkwrap() {
  mkdir -p "$work/where-$1"
  cat > "$work/wrap-$1.sh" <<EOF
#!/bin/sh
if [ "\$(hostname)" = node3 ]; then export FEDSIM_SLEEP_FACTOR=$SLOW; else unset FEDSIM_SLEEP_FACTOR; fi
echo "\$(hostname) \$(readlink /proc/self/ns/net) \${FEDSIM_SLEEP_FACTOR:-1}" > '$work/where-$1/rank'\${OMPI_COMM_WORLD_RANK:-x}
exec '$FEDSIM' "\$@"
EOF
  chmod +x "$work/wrap-$1.sh"
}

# where NAME: P ranks, on all of node1..3 in their own namespaces, rank 0 on
# node1, the sleep factor on node3's ranks only.
where() {
  local name=$1 f host ns sf want n r
  n=$(ls "$work/where-$name" | wc -l)
  [ "$n" -eq $P ] || { bad "$name: $n ranks reported where they ran, want $P"; return 1; }
  for f in "$work/where-$name"/rank*; do
    read -r host ns sf < "$f"; r=$(basename "$f")
    case "$host" in node[123]) ;; *) bad "$name: $r ran on '$host', not node1..3"; return 1;; esac
    want="net:[$(stat -L -c %i /run/netns/fns${host#node})]"
    [ "$ns" = "$want" ] || { bad "$name: $r on $host in netns $ns, not fns${host#node} ($want)"; return 1; }
    [ "$sf" = "$([ "$host" = node3 ] && echo $SLOW || echo 1)" ] \
      || { bad "$name: $r on $host has FEDSIM_SLEEP_FACTOR=$sf"; return 1; }
  done
  [ "$(cut -d' ' -f1 "$work/where-$name"/rank0)" = node1 ] || { bad "$name: rank 0 not on node1"; return 1; }
  [ "$(cut -d' ' -f1 "$work/where-$name"/rank* | sort -u | wc -l)" -eq 3 ] \
    || { bad "$name: ranks ran on only $(cut -d' ' -f1 "$work/where-$name"/rank* | sort | uniq -c | xargs)"; return 1; }
}

json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
common=(--run.clock wall --clients "$N" --per-round "$N" --rounds "$ROUNDS" --run.progress off
        --data.synthetic.samples 2000 --data.synthetic.groups "$N" --eval.every 1000
        --system.dist fp --system.fp 80 --system.sleep_scale "$SCALE"
        --server.buffer "$K" --server.fedfix_delta "$DELTA" --server.max_staleness 8)

# run NAME STRATEGY: 20 aggregations across the three hosts, not reproducible.
run() {
  local name=$1 st=$2 out=$work/$1 rows
  mkwrap "$name"
  if ! bg timeout -k 5 60 "$CL/netns/nsmpirun.sh" --hostfile "$SRCDIR/examples/slurm/hostfile.example" \
       -n $P --map-by node --bind-to none -x OPENBLAS_NUM_THREADS=1 \
       "$work/wrap-$name.sh" "${common[@]}" --server.strategy "$st" --out "$out" > "$out.log" 2>&1; then
    bad "$name: mpirun --hostfile -n $P exited $?"; tail -20 "$out.log"; return 1
  fi
  where "$name" || return 1
  grep -q 'not reproducible by nature' "$out.log" || { bad "$name: no 'not reproducible' note"; return 1; }
  [ "$(json "$out/summary.json" "['reproducible'][:2]")" = no ] || { bad "$name: summary.json says reproducible"; return 1; }
  [ "$(json "$out/summary.json" "['clock']")" = wall ] || { bad "$name: summary.json clock is not wall"; return 1; }
  rows=$(($(wc -l < "$out/metrics.csv") - 2))
  [ "$rows" -eq $ROUNDS ] || { bad "$name: $rows aggregations, want $ROUNDS"; return 1; }
}

# updates NAME: received = aggregated + dropped_stale + unused_at_end, some aggregated.
updates() {
  local s=$work/$1/summary.json r a d u
  r=$(json "$s" "['updates']['received']"); a=$(json "$s" "['updates']['aggregated']")
  d=$(json "$s" "['updates']['dropped_stale']"); u=$(json "$s" "['updates']['unused_at_end']")
  [ "$d" = "$(json "$s" "['final']['dropped_stale_updates']")" ] \
    || { bad "$1: updates.dropped_stale $d != final.dropped_stale_updates"; return 1; }
  if [ $((a + d + u)) -eq "$r" ] && [ "$a" -gt 0 ]; then
    UPD="$r updates = $a aggregated + $d dropped stale + $u unused at the end"
  else
    bad "$1: updates do not add up: $r received, $a aggregated + $d dropped + $u unused"; return 1
  fi
}

wall=()
if run sync fedavg; then
  sync=$(json "$work/sync/summary.json" "['final']['wall_s']")
  # What node3's sleeps alone impose on a synchronous round: its worker with
  # the longest queue sleeps SLOW × SCALE × Σ of its clients' F-P durations
  # (client c on rank 1 + c mod (P-1); d_c = 1 - 0.8 c/(N-1)). The run must
  # last at least ROUNDS times that, and that must be well above what the
  # fastest hosts would need.
  read -r need fastneed < <($PY - "$work/where-sync" $N $P $SCALE $SLOW $ROUNDS <<'EOF'
import sys, os
d, N, P, s, slow, R = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
host = {int(f[4:]): open(os.path.join(d, f)).read().split()[0] for f in os.listdir(d)}
per = {r: sum(1 - 0.8 * c / (N - 1) for c in range(N) if 1 + c % (P - 1) == r) * s for r in range(1, P)}
print(R * max(per[r] * slow for r in per if host[r] == "node3"), R * max(per[r] for r in per if host[r] != "node3"))
EOF
)
  if $PY -c "import sys; sys.exit(0 if $sync >= 0.95 * $need and $need > 3 * $fastneed else 1)"; then
    ok "sync FedAvg: $ROUNDS rounds in ${sync} s of wall time (node3's sleeps alone: $(printf %.2f "$need") s, the other hosts' $(printf %.2f "$fastneed") s)"
  else
    bad "sync FedAvg took ${sync} s: node3 does not look $SLOW× slow (its sleeps alone need $need s, the others' $fastneed s)"
  fi
fi
for st in fedbuff fedfix; do
  run $st $st || continue
  updates $st || continue
  w=$(json "$work/$st/summary.json" "['final']['wall_s']")
  ms=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="staleness_max") c=i; next} c && $c>m{m=$c} END{print m+0}' "$work/$st/metrics.csv")
  ok "$st: $ROUNDS aggregations in ${w} s; $UPD; staleness up to $ms"
  wall+=("$st $w")
done
if [ $tbf = 1 ]; then
  # the shaper must have held packets back (overlimits) on both ends, dropping none
  for l in "fns3 cl0" "fsw swp3"; do
    set -- $l
    st=$(ip netns exec "$1" tc -s qdisc show dev "$2" | grep -m1 'Sent')
    ov=$(sed -n 's/.*overlimits \([0-9]*\).*/\1/p' <<< "$st"); dr=$(sed -n 's/.*dropped \([0-9]*\).*/\1/p' <<< "$st")
    if [ "${ov:-0}" -gt 0 ] && [ "${dr:-1}" -eq 0 ]; then
      ok "tc tbf on $1/$2 shaped node3's traffic: $st"
    else
      bad "tc tbf on $1/$2 did not shape (or dropped): $st"
    fi
  done
fi
if [ -n "${sync:-}" ]; then
  for sw in "${wall[@]}"; do
    set -- $sw
    r=$($PY -c "print('%.2f' % ($2 / $sync))")
    if $PY -c "import sys; sys.exit(0 if $2 < $RATIO * $sync else 1)"; then
      ok "$1 took $r× the wall time of sync FedAvg for $ROUNDS aggregations ($2 s vs $sync s; must be < $RATIO×)"
    else
      bad "$1 took $r× the wall time of sync FedAvg ($2 s vs $sync s), not < $RATIO×"
    fi
  done
fi
exit $fail
