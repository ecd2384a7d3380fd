# Shared by the bench scripts (source it): environment, extras, and a wait
# for a quiet machine. Benchmarks on a shared 2-core machine are only as
# good as the idle CPU they get, so every figure is taken when the machine
# is idle and every script prints the CPU time its processes got.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_bin="$bench_root/build/bench-bin"
BENCH_OUT=${BENCH_OUT:-/tmp/fedsim-bench}
mkdir -p "$BENCH_OUT"

export OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# Install Debian packages that are missing (check first, then install).
bench_need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Percent of the machine's CPU that was idle over the next $1 seconds.
bench_idle_pct() {
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep "${1:-1}"
  read -r -a b < <(head -1 /proc/stat)
  local ta=0 tb=0 i
  for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  echo $(( 100 * idle / (tb - ta > 0 ? tb - ta : 1) ))
}

# Wait (up to BENCH_QUIET_MAX seconds, default 600) until the machine is at
# least BENCH_QUIET_PCT (default 90) percent idle over 2 s.
bench_wait_quiet() {
  local max=${BENCH_QUIET_MAX:-600} need=${BENCH_QUIET_PCT:-90} t=0 idle
  while :; do
    idle=$(bench_idle_pct 2)
    [ "$idle" -ge "$need" ] && return 0
    t=$((t + 2))
    if [ "$t" -ge "$max" ]; then
      echo "bench: warning: machine only ${idle}% idle after ${max}s of waiting; measuring anyway" >&2
      return 0
    fi
  done
}

# The value of key=value field $2 in line $1.
bench_field() { awk -v k="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' <<<"$1"; }

bench_build() {
  bench_need build-essential pkg-config meson ninja-build libopenmpi-dev openmpi-bin \
    libopenblas-dev libsodium-dev libyaml-dev libcjson-dev zlib1g-dev dataset-fashion-mnist
  [ -f "$bench_root/build/build.ninja" ] || (cd "$bench_root" && meson setup build >/dev/null)
  "$bench_root/bench/build.sh" >&2
}
