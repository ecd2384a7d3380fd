#!/usr/bin/env bash
# Time per EF21 iteration of the phishing experiment (examples/ef21/phishing.yaml:
# n = 20, TopK k = 1, full local gradients, logreg + non-convex regulariser):
# fedsim (1 process, and mpirun -n 3) against a lean NumPy implementation
# (bench/ef21_numpy.py), and the floor: one read pass over the data
# (11055 x 68 float32 = 3.0 MB) in C; where fedsim's time goes: the same
# rounds without TopK, on 20 rows (the fixed cost of a round), the libm calls
# of the logistic loss, and a callgrind profile. See docs/ef21.md.
#
#   bench/run_ef21.sh            (env: FEDSIM, ROUNDS=5000, REPS=3,
#                                 NUMPY_ITERS=2000, PROFILE=1, QUIET_PCT=90,
#                                 QUIET_MAX=300)
#
# Every timing waits (up to QUIET_MAX seconds) until the machine is at least
# QUIET_PCT % idle over 2 s, takes the best of REPS, and prints the idle
# share it saw before starting.
# fedsim's time per iteration is (wall_s[ROUNDS-1] - wall_s[1]) / (ROUNDS-2)
# from metrics.csv with --eval.every ROUNDS: rounds 2..ROUNDS-1, no
# evaluation, no first (uncompressed) round. Nothing here is a test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
FEDSIM=${FEDSIM:-$root/build/fedsim}
case $FEDSIM in /*) ;; *) FEDSIM=$PWD/$FEDSIM ;; esac
ROUNDS=${ROUNDS:-5000}
REPS=${REPS:-3}
NUMPY_ITERS=${NUMPY_ITERS:-2000}
PROFILE=${PROFILE:-1}
QUIET_PCT=${QUIET_PCT:-90}
QUIET_MAX=${QUIET_MAX:-300}
data=$(cd "$root/../shared/data/libsvm" && pwd)/phishing
[ -x "$FEDSIM" ] || { echo "run_ef21.sh: $FEDSIM not built (scripts/setup.sh, or set FEDSIM)" >&2; exit 2; }
[ -f "$data" ] || { echo "run_ef21.sh: $data missing" >&2; exit 2; }
. "$root/scripts/env.sh"   # OPENBLAS_NUM_THREADS=1, Open MPI as root

need=()
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
command -v valgrind >/dev/null || [ "$PROFILE" = 0 ] || need+=(valgrind)
command -v cc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "run_ef21.sh: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/fedsim_ef21bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

idle_pct() {  # percent idle over the next $1 seconds
  local a b ta=0 tb=0 i
  read -r -a a < <(head -1 /proc/stat); sleep "$1"; read -r -a b < <(head -1 /proc/stat)
  for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
  echo $(( 100 * ((b[4] + b[5]) - (a[4] + a[5])) / (tb - ta > 0 ? tb - ta : 1) ))
}
wait_quiet() {
  local t=0 idle
  while :; do
    idle=$(idle_pct 2)
    if [ "$idle" -ge "$QUIET_PCT" ] || [ $t -ge "$QUIET_MAX" ]; then
      [ "$idle" -ge "$QUIET_PCT" ] || echo "run_ef21.sh: warning: machine only $idle% idle; measuring anyway" >&2
      echo "$idle"; return 0
    fi
    t=$((t + 2))
  done
}
min() { printf '%s\n' "$@" | sort -g | head -1; }

# --- the floor: one read pass over 11055 x 68 float32, in C -----------------
cat > "$work/floor.c" <<'EOF'
/* Floor of one EF21 iteration on phishing: the data (11055 x 68 float32,
 * 3.0 MB) must be read once for the 20 local gradients. 'read' sums every
 * element (16 independent accumulators, vectorised); 'grad' is a plain
 * fused logistic gradient per client (row dot, sigmoid, axpy, in one sweep
 * over the rows): what a hand-written C iteration costs without BLAS. The
 * values are synthetic (the cost does not depend on them). Best of reps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define N 11055
#define D 68
#define C 20
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 2000;
  const long n = (long)N * D;
  float *a = aligned_alloc(64, sizeof(float) * (n + 16)), x[D], g[C][D];
  float *y = malloc(sizeof(float) * N);
  srand(1);
  for (long i = 0; i < n; i++) a[i] = (rand() % 4 == 0) ? 1.0f : (float)(rand() % 3) * 0.5f;
  for (int i = 0; i < N; i++) y[i] = (i % 3) ? 1.0f : -1.0f;
  for (int j = 0; j < D; j++) x[j] = 0.01f * (float)(j % 7);
  double best_read = 1e9, best_grad = 1e9, sink = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    float s[16] = {0};
    long i = 0;
    for (; i + 16 <= n; i += 16)
      for (int l = 0; l < 16; l++) s[l] += a[i + l];
    for (; i < n; i++) s[0] += a[i];
    double t1 = now();
    for (int l = 0; l < 16; l++) sink += s[l];
    if (t1 - t0 < best_read) best_read = t1 - t0;
  }
  int per = N / C;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int c = 0; c < C; c++) {
      int lo = c * per, hi = c == C - 1 ? N : lo + per;
      float inv = 1.0f / (float)(hi - lo);
      for (int j = 0; j < D; j++) g[c][j] = 0.0f;
      for (int i = lo; i < hi; i++) {
        const float *row = a + (long)i * D;
        float z = 0.0f;
        for (int j = 0; j < D; j++) z += row[j] * x[j];
        float w = -y[i] * inv / (1.0f + expf(y[i] * z));
        for (int j = 0; j < D; j++) g[c][j] += w * row[j];
      }
    }
    double t1 = now();
    sink += g[r % C][r % D];
    if (t1 - t0 < best_grad) best_grad = t1 - t0;
  }
  printf("floor_read_s %.6e\nfloor_grad_s %.6e\nsink %g\n", best_read, best_grad, sink);
  return 0;
}
EOF
# -ffast-math lets gcc vectorise the dot products and call the vector expf.
cc -O3 -march=native -ffast-math -o "$work/floor" "$work/floor.c" -lm

cat > "$work/transc.c" <<'EOF'
/* What the transcendental calls of one fedsim iteration cost: for the
 * 11055 rows, the sigmoid's expf (needed) and the loss value's log1pf (only
 * reported), scalar libm calls as in sim/model.c (no -ffast-math). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define N 11055
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 2000;
  float *z = malloc(N * sizeof *z), *s = malloc(N * sizeof *s);
  for (int i = 0; i < N; i++)
    z[i] = 0.002f * (float)(i % 1000) - 1.0f;
  double be = 1e9, bl = 1e9, sink = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int i = 0; i < N; i++)
      s[i] = expf(-fabsf(z[i]));
    double t1 = now();
    double loss = 0;
    for (int i = 0; i < N; i++)
      loss += (double)log1pf(s[i]);
    double t2 = now();
    sink += loss + s[r % N];
    if (t1 - t0 < be) be = t1 - t0;
    if (t2 - t1 < bl) bl = t2 - t1;
  }
  printf("expf_s %.6e\nlog1pf_s %.6e\nsink %g\n", be, bl, sink);
  return 0;
}
EOF
# Compiled as fedsim is (meson's -O3, baseline x86-64, no -ffast-math): scalar libm calls.
cc -O3 -march=x86-64 -o "$work/transc" "$work/transc.c" -lm

echo "== floor: one pass over 11055 x 68 float32 (C, -O3 -march=native -ffast-math, best of 2000)"
idle=$(wait_quiet)
"$work/floor" 2000 > "$work/floor.txt"
floor_read=$(awk '$1=="floor_read_s"{print $2}' "$work/floor.txt")
floor_grad=$(awk '$1=="floor_grad_s"{print $2}' "$work/floor.txt")
printf '   read/sum pass        %8.1f us  (%.1f GB/s)   [idle %s%%]\n' \
  "$(awk -v t="$floor_read" 'BEGIN{print t*1e6}')" "$(awk -v t="$floor_read" 'BEGIN{print 3006960/t/1e9}')" "$idle"
printf '   fused gradient pass  %8.1f us  (20 local logistic gradients, plain C loops)\n' \
  "$(awk -v t="$floor_grad" 'BEGIN{print t*1e6}')"
"$work/transc" 2000 > "$work/transc.txt"
t_exp=$(awk '$1=="expf_s"{print $2}' "$work/transc.txt")
t_log=$(awk '$1=="log1pf_s"{print $2}' "$work/transc.txt")
printf '   11055 scalar expf    %8.1f us  (the sigmoid: fedsim needs it)\n' "$(awk -v t="$t_exp" 'BEGIN{print t*1e6}')"
printf '   11055 scalar log1pf  %8.1f us  (the loss value, which fedsim computes every round to report it)\n' \
  "$(awk -v t="$t_log" 'BEGIN{print t*1e6}')"

# --- fedsim -----------------------------------------------------------------
fedsim_per_iter() {  # metrics.csv -> seconds per round over rounds 2..R-1
  awk -F, -v R="$ROUNDS" '$1==1{a=$3} $1==R-1{b=$3} END{printf "%.6e\n", (b-a)/(R-2)}' "$1"
}
run_fedsim() {  # $1 = label, rest = launcher prefix
  local label=$1; shift
  local ts=() i idle
  idle=$(wait_quiet)
  for i in $(seq "$REPS"); do
    "$@" "$FEDSIM" --config "$root/examples/ef21/phishing.yaml" --data.path "$data" \
      --rounds "$ROUNDS" --eval.every "$ROUNDS" --run.progress off --run.save_model false \
      "${EXTRA[@]}" --out "$work/$label-$i" > "$work/$label-$i.log" 2>&1
    ts+=("$(fedsim_per_iter "$work/$label-$i/metrics.csv")")
  done
  local best; best=$(min "${ts[@]}")
  printf '   %-22s %8.1f us per iteration  (runs: %s us)  [idle %s%%]\n' "$label" \
    "$(awk -v t="$best" 'BEGIN{print t*1e6}')" \
    "$(printf '%s\n' "${ts[@]}" | awk '{printf "%s%.1f", (NR > 1 ? " " : ""), $1 * 1e6}')" "$idle"
  echo "$best" > "$work/$label.best"
}
echo "== fedsim: $ROUNDS EF21 rounds, --eval.every $ROUNDS, best of $REPS"
EXTRA=()
run_fedsim "fedsim 1 process"
run_fedsim "fedsim mpirun -n 3" mpirun -n 3 --bind-to none
# The same rounds without TopK (GD: dense uplink, gamma = 1/L): what TopK costs.
EXTRA=(--compress.up identity)
run_fedsim "fedsim GD, 1 process"
# The fixed cost of a round: the first 20 rows of phishing, one per client.
head -n 20 "$data" > "$work/phishing20"
EXTRA=(--data.path "$work/phishing20")
run_fedsim "fedsim on 20 rows"
EXTRA=(--data.path "$work/phishing20" --compress.up identity)
run_fedsim "fedsim GD on 20 rows"
f1=$(cat "$work/fedsim 1 process.best")
f3=$(cat "$work/fedsim mpirun -n 3.best")
fgd=$(cat "$work/fedsim GD, 1 process.best")
f20=$(cat "$work/fedsim on 20 rows.best")
fgd20=$(cat "$work/fedsim GD on 20 rows.best")
gn=$(python3 -c "import json;print(json.load(open('$work/fedsim 1 process-1/summary.json'))['final']['grad_norm_sq'])")
echo "   (||grad f(x^$ROUNDS)||^2 = $gn)"

# --- NumPy --------------------------------------------------------------------
echo "== NumPy (Debian python3-numpy, OPENBLAS_NUM_THREADS=1), $NUMPY_ITERS iterations, best of $REPS"
/usr/bin/python3 "$root/bench/ef21_numpy.py" --data "$data" --check --iters 1 --repeat 1 | sed -n '1,4p' | sed 's/^/   /'
declare -A np
for dt in float64 float32; do
  idle=$(wait_quiet)
  out=$(/usr/bin/python3 "$root/bench/ef21_numpy.py" --data "$data" --iters "$NUMPY_ITERS" --repeat "$REPS" --dtype $dt)
  np[$dt]=$(awk '$1=="numpy_s_per_iter"{print $2}' <<<"$out")
  printf '   numpy %-8s %8.1f us per iteration  [idle %s%%]\n' $dt "$(awk -v t="${np[$dt]}" 'BEGIN{print t*1e6}')" "$idle"
done
idle=$(wait_quiet)
out=$(env -u OPENBLAS_NUM_THREADS /usr/bin/python3 "$root/bench/ef21_numpy.py" --data "$data" --iters 500 --repeat "$REPS")
npdef=$(awk '$1=="numpy_s_per_iter"{print $2}' <<<"$out")
printf '   numpy float64, OpenBLAS default threads: %.1f us per iteration  [idle %s%%]\n' \
  "$(awk -v t="$npdef" 'BEGIN{print t*1e6}')" "$idle"

echo "== summary (time per EF21 iteration, phishing, n = 20, k = 1)"
awk -v f1="$f1" -v f3="$f3" -v fgd="$fgd" -v f20="$f20" -v fgd20="$fgd20" -v te="$t_exp" -v tl="$t_log" -v n64="${np[float64]}" -v n32="${np[float32]}" -v fr="$floor_read" -v fg="$floor_grad" 'BEGIN{
  printf "   fedsim, 1 process          %8.1f us\n", f1*1e6
  printf "   fedsim, mpirun -n 3        %8.1f us\n", f3*1e6
  printf "   fedsim GD (no TopK)        %8.1f us   (so TopK costs ~%.0f us, %.0f%% of an EF21 round)\n", fgd*1e6, (f1-fgd)*1e6, 100*(f1-fgd)/f1
  printf "   fedsim on 20 rows          %8.1f us   (GD: %.1f us): the fixed cost of a round, frames, RNG streams, 20 jobs\n", f20*1e6, fgd20*1e6
  printf "   an EF21 round, roughly:    fixed %.0f + TopK %.0f + log1pf %.0f + expf %.0f + the rest of the gradients (BLAS, logistic pass) %.0f us\n", fgd20*1e6, (f1-fgd)*1e6, tl*1e6, te*1e6, (fgd-fgd20-tl-te)*1e6
  printf "   numpy float64 / fedsim     %8.1f x   (numpy float32 / fedsim %.1f x; vs mpirun -n 3: %.1f x)\n", n64/f1, n32/f1, n64/f3
  printf "   fedsim / read floor        %8.1f x   (floor %.1f us)\n", f1/fr, fr*1e6
  printf "   fedsim / fused-gradient C  %8.2f x   (plain C %.1f us)\n", f1/fg, fg*1e6
}'

# --- where fedsim's time goes -------------------------------------------------
if [ "$PROFILE" != 0 ]; then
  if perf stat -e instructions true >/dev/null 2>&1 &&
     perf stat -e instructions true 2>&1 | grep -q '[0-9] *instructions'; then
    echo "== perf (hardware counters available)"
    perf record -q -o "$work/perf.data" -- "$FEDSIM" --config "$root/examples/ef21/phishing.yaml" \
      --data.path "$data" --rounds "$ROUNDS" --eval.every "$ROUNDS" --run.progress off \
      --run.save_model false --out "$work/perf-run" >/dev/null 2>&1
    perf report -q -i "$work/perf.data" --stdio --sort symbol 2>/dev/null | head -25
  else
    R=1000
    echo "== callgrind ($R rounds, collection inside fs_server_run only; perf has no hardware counters here)"
    echo "   (under valgrind OpenBLAS sees no AVX-512 and takes its AVX2 kernels)"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --toggle-collect=fs_server_run \
      "$FEDSIM" --config "$root/examples/ef21/phishing.yaml" --data.path "$data" \
      --rounds $R --eval.every $R --run.progress off --run.save_model false \
      --out "$work/cg-run" > "$work/cg.log" 2>&1
    tot=$(callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    echo "   total: $tot instructions, $(awk -v t="$tot" -v r=$R 'BEGIN{printf "%.0f", t/r}') per round"
    echo "   -- self cost, top functions:"
    callgrind_annotate --inclusive=no "$work/cg.out" 2>/dev/null |
      awk '/file:function/ {on = 1; next} on && NF {print} on && !NF && n++ > 0 {exit}' |
      head -16 | sed 's/^/   /'
    echo "   -- inclusive, per round (what the instructions are for):"
    callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null |
      awk -v r=$R -v tot="$tot" '
        function show(label, pat) { for (i in line) if (line[i] ~ pat) {
            v = line[i]; sub(/^ */, "", v); split(v, a, " "); gsub(",", "", a[1]);
            printf "   %-52s %9.0f  (%4.1f%%)\n", label, a[1] / r, 100 * a[1] / tot; return } }
        { line[NR] = $0 }
        END {
          show("local gradient (fs_model_loss_grad)", ":fs_model_loss_grad \\[")
          show("  of which BLAS sgemv (A x, A^T s)", ":cblas_sgemv \\[")
          show("  of which log1pf (the loss value)", "s_log1pf.c:__log1pf")
          show("  of which expf (the sigmoid)", "math_config.h:__expf_fma")
          show("TopK of the EF21 step (fs_compress)", ":fs_compress \\[")
          show("  of which radix select (kth_key)", ":kth_key \\[")
          show("RNG stream set-up (fs_rng_init: ChaCha20, BLAKE2b)", ":fs_rng_init \\[")
          show("payload decoding on the server", ":fs_payload_decode \\[")
        }'
    echo "   (fs_server_run also holds the two evaluations, at rounds 0 and $R)"
  fi
fi
