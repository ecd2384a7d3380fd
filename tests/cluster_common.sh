# Sourced by the cluster tests (cluster.sh, cluster_wall.sh, cluster_ckpt.sh):
# their shared start. Timestamps for ok/bad lines, the skip switch
# (FEDSIM_SKIP_CLUSTER=1: exit 77), the fake-cluster recipes in CL, root, and
# two functions: cluster_need (install what is missing) and cluster_probe
# (network namespaces possible, no fake cluster already up).
: "${FEDSIM:?}" "${SRCDIR:?}"
T0=$(date +%s.%N)
el() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{printf "%.1f", a-b}'; }
fail=0
ok() { echo "ok   $* [$(el) s]"; }
bad() { echo "FAIL $* [$(el) s]"; fail=1; }
die() { echo "FAIL $*"; exit 1; }

if [ "${FEDSIM_SKIP_CLUSTER:-0}" = 1 ]; then
  echo "SKIP: cluster test disabled by FEDSIM_SKIP_CLUSTER"
  exit 77
fi
CL=$(cd "$SRCDIR/../shared/cluster" 2>/dev/null && pwd) \
  || die "no fake-cluster recipes at $SRCDIR/../shared/cluster (set FEDSIM_SKIP_CLUSTER=1 to skip this test)"
[ "$(id -u)" -eq 0 ] \
  || die "the cluster test needs root (network namespaces, Slurm daemons, apt-get); set FEDSIM_SKIP_CLUSTER=1 to skip it"

# cluster_need CMD:PACKAGE...: apt-get install the packages of the commands
# that are missing.
cluster_need() {
  local missing=() nb aptlog
  for nb in "$@"; do
    command -v "${nb%%:*}" >/dev/null 2>&1 || missing+=("${nb#*:}")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "     installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  aptlog=$(mktemp /tmp/fedsim_cluster_apt.XXXXXX)
  { apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && apt-get -o DPkg::Lock::Timeout=300 -y -q --no-install-recommends install "${missing[@]}"; } \
    > "$aptlog" 2>&1 \
    || { tail -20 "$aptlog"; rm -f "$aptlog"; die "apt-get install ${missing[*]} failed"; }
  rm -f "$aptlog"
  ok "installed ${missing[*]}"
}

# cluster_probe: the machine must be able to make network namespaces and veth
# pairs (root alone is not enough in an unprivileged container): try in a
# throwaway namespace that vanishes with the probe; and no fake cluster may be
# up already.
cluster_probe() {
  local ns
  unshare --net sh -c 'ip link set lo up && ip link add fsprobe0 type veth peer name fsprobe1' 2>/dev/null \
    || die "this machine cannot create network namespaces with veth links (needs CAP_SYS_ADMIN and CAP_NET_ADMIN; an unprivileged container has neither); the cluster test cannot run here. Set FEDSIM_SKIP_CLUSTER=1 to skip it."
  for ns in fsw fns1 fns2 fns3; do
    [ ! -e /run/netns/$ns ] \
      || die "network namespace $ns already exists: another fake cluster is up (or a killed run left it; remove it with $CL/netns/netns_cluster.sh down 3)"
  done
}
