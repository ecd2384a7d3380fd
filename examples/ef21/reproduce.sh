#!/usr/bin/env bash
# The EF21 experiment (Richtarik, Sokolov, Fatkhullin 2021) on the four LIBSVM
# data sets of the paper, with a step-size sweep, then its figures and table.
# See docs/ef21.md.
#
#   examples/ef21/reproduce.sh [--quick] [--out DIR] [--jobs J]
#                              [--datasets "a9a mushrooms phishing w8a"]
#                              [--factors "1 4 16 64 256 1024"] [--no-refine]
#                              [--ks "1 2 4 8 16 32 64"] [--rounds-scale S]
#
# For each data set (n = 20 clients, contiguous split, full local gradients,
# logreg with the non-convex regulariser lambda = 0.1, x^0 = 0, from
# examples/ef21/phishing.yaml), each method
#   ef21   TopK k + EF21,   gamma = factor / (L + L_QM sqrt(beta/theta))
#   ef21w  TopK k + EF21-W, gamma = factor / (L + L_AM sqrt(beta/theta))
#   ef14   TopK k + EF14,   the same gamma as ef21
#   gd     no compression (k = d),  gamma = factor / L
# and each k <= d, a chain of fedsim runs looks for the best step-size
# factor (the paper tries 1, 2, 4, ..., 2048):
#   - coarse pass: factor = 1, 4, 16, ..., 1024 in increasing order, stopping
#     at the first factor that diverges (a NaN/inf loss or ||grad f||^2, a
#     rejected update, or a final ||grad f||^2 above the initial one; marked
#     DIVERGED in its run folder) or ends 1000x above the best final
#     ||grad f||^2 so far (marked WORSE): larger factors are not run;
#   - refinement (not with --quick or --no-refine): the best factor's
#     neighbours best/2 and best*2, below where the coarse pass stopped.
# "Best": the smallest final ||grad f||^2, values below 1e-12 (the float32
# floor) counting as equal and then the fewest rounds to reach 1e-12.
# Rounds: T1 at k = 1, T1/k for k = 2, 4 and T1/8 for k >= 8 (the same
# paper-convention bits per client for k <= 8), T1/2 for gd; T1 = 1000
# (phishing, a9a), 1600 (mushrooms), 600 (w8a), times S (an integer,
# default 1) with --rounds-scale S; --quick: T1/4, k in
# {1, 8, 64}. ||grad f||^2 is evaluated about 50 times a run (150 for
# gd, which converges in few rounds). The test
# metrics are no part of the experiment: each run gets a one-row test file
# (the first training row), so that an evaluation is one pass over the data
# instead of three. J fedsim processes run at a time (default 2); a rerun
# with the same --out reuses the finished runs. Then plot_ef21.py draws
# DIR/fig/*.png and writes DIR/table.md and DIR/table_all.csv.
#
# Environment: FEDSIM (default build/fedsim), EF21_DATA (default
# ../shared/data/libsvm next to the project root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# --- one chain: a (data set, method, k) over increasing factors -------------
# Called by the script itself through xargs: --chain DS METHOD K ROUNDS EVERY
if [ "${1:-}" = "--chain" ]; then
  ds=$2 method=$3 k=$4 rounds=$5 every=$6
  args=(--config "$root/examples/ef21/phishing.yaml" --data.path "$EF21_DATA/$ds"
        --data.test_path "$EF21_OUT/test1/$ds"
        --rounds "$rounds" --eval.every "$every" --run.progress off
        --run.save_model false --ef.stepsize theory)
  case $method in
    ef21)  args+=(--compress.up topk --compress.up_k "$k" --ef.method ef21 --ef.l_tilde qm) ;;
    ef21w) args+=(--compress.up topk --compress.up_k "$k" --ef.method ef21w) ;;
    ef14)  args+=(--compress.up topk --compress.up_k "$k" --ef.method ef14 --ef.l_tilde qm) ;;
    gd)    args+=(--compress.up identity --ef.method ef21) ;;
    *) echo "reproduce.sh: unknown method $method" >&2; exit 2 ;;
  esac
  # run F: run fedsim with factor F (unless done before); then classify it:
  # returns 1 when it diverged (a non-finite loss or ||grad f||^2, a
  # rejected update, or a final ||grad f||^2 above the one at x^0; marked
  # DIVERGED), else prints "final floor_round", the sort key of
  # plot_ef21.py (final below 1e-12, the float32 floor, counts as 1e-12;
  # then the first round at or below 1e-12).
  run() {
    local f=$1 dir="$EF21_OUT/runs/$ds/$method-k$k-f$1"
    local try tmp
    for try in 1 2; do
      [ ! -f "$dir/summary.json" ] || break
      rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
      # Open MPI's session directory of its own (see the driver below).
      tmp=$(mktemp -d "${TMPDIR:-/tmp}/ef21-ompi.XXXXXX")
      OMPI_MCA_orte_tmpdir_base=$tmp "$FEDSIM" "${args[@]}" --ef.factor "$f" \
        --run.name "$ds-$method-k$k-f$f" --out "$dir" > "$dir.log" 2>&1 || true
      rm -rf "$tmp"
    done
    [ -f "$dir/summary.json" ] || { echo "reproduce.sh: fedsim failed, see $dir.log" >&2; return 2; }
    if grep -q '"rejected_updates":[[:space:]]*[1-9]' "$dir/summary.json" ||
       ! awk -F, 'function fin(s) { return s ~ /^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ }
                  NR == 2 { g0 = $12 }
                  NR > 1 && $9 != "" { if (!fin($9) || !fin($12)) bad = 1; last = $12 }
                  END { exit (bad || last + 0 > g0 + 0) ? 1 : 0 }' "$dir/metrics.csv"; then
      echo "diverged" > "$dir/DIVERGED"
      return 1
    fi
    awk -F, 'NR > 1 && $12 != "" { g = $12 + 0; if (g <= 1e-12 && fr == "") fr = $1 }
             END { print (g < 1e-12 ? 1e-12 : g), (fr == "" ? 1e18 : fr) }' "$dir/metrics.csv"
  }
  better() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
             exit !(x[1] + 0 < y[1] + 0 || (x[1] + 0 == y[1] + 0 && x[2] + 0 < y[2] + 0)) }'; }
  # Coarse pass over EF21_FACTORS, increasing, stopping at the first factor
  # that diverges or ends 1000x above the best final ||grad f||^2 so far
  # (marked WORSE): larger factors are not run.
  best="" bestf="" stop=""
  for f in $EF21_FACTORS; do
    if key=$(run "$f"); then rc=0; else rc=$?; fi
    [ $rc -ne 2 ] || exit 1
    if [ $rc -ne 0 ]; then stop=$f; break; fi
    if [ -n "$best" ] && awk -v g="${key%% *}" -v b="${best%% *}" 'BEGIN { exit !(g > 1000 * b) }'; then
      echo "final ||grad f||^2 ${key%% *} > 1000 x the best so far (${best%% *})" \
        > "$EF21_OUT/runs/$ds/$method-k$k-f$f/WORSE"
      stop=$f; break
    fi
    if [ -z "$best" ] || better "$key" "$best"; then best=$key bestf=$f; fi
  done
  # Refinement: the neighbours best/2 and best*2 (on the coarse grid of
  # powers of 4 these are the powers of 2 in between), below where the
  # coarse pass stopped.
  if [ -n "$bestf" ] && [ "$EF21_REFINE" = 1 ]; then
    for f in $(( bestf / 2 )) $(( bestf * 2 )); do
      [ "$f" -ge 1 ] && [ "$f" -ne "$bestf" ] || continue
      [ -z "$stop" ] || [ "$f" -lt "$stop" ] || continue
      if key=$(run "$f"); then rc=0; else rc=$?; fi
      [ $rc -ne 2 ] || exit 1
    done
  fi
  echo "  done $ds $method k=$k"
  exit 0
fi

# --- the driver ---------------------------------------------------------------
quick=0
refine=1
rscale=1
out="$root/runs/ef21-reproduce"
jobs=2
datasets="a9a mushrooms phishing w8a"
factors=""
ks=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --datasets) datasets=$2; shift ;;
    --factors) factors=$2; shift ;;
    --no-refine) refine=0 ;;
    --rounds-scale) rscale=$2; shift ;;
    --ks) ks=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "reproduce.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done
if [ $quick = 1 ]; then
  : "${factors:=1 4 16 64 256 1024}"
  : "${ks:=1 8 64}"
  scale=4   # T1 divided by 4
  refine=0
else
  : "${factors:=1 4 16 64 256 1024}"
  : "${ks:=1 2 4 8 16 32 64}"
  scale=1
fi
# T1: rounds at k = 1 (the cost per round grows with the data set's size).
t1_of() {
  case $1 in
    phishing) echo 1000 ;;
    mushrooms) echo 1600 ;;
    a9a) echo 1000 ;;
    w8a) echo 600 ;;
    *) echo 1000 ;;
  esac
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
export EF21_OUT=$out EF21_FACTORS=$factors EF21_REFINE=$refine
export EF21_DATA=${EF21_DATA:-$root/../shared/data/libsvm}
EF21_DATA=$(cd "$EF21_DATA" && pwd)
FEDSIM=${FEDSIM:-$root/build/fedsim}
case $FEDSIM in /*) ;; *) FEDSIM=$PWD/$FEDSIM ;; esac
export FEDSIM
[ -x "$FEDSIM" ] || { echo "reproduce.sh: $FEDSIM not built (scripts/setup.sh, or set FEDSIM)" >&2; exit 2; }
. "$root/scripts/env.sh"
# Each run is one process: let Open MPI start it without its helper daemon,
# with the shared-memory transport only, and (in run above) with a session
# directory of its own; isolated singletons would otherwise all use the same
# one, /tmp/ompi.<host>.<uid>/jf.0, and two starting at once can fail.
# MPI_Init then takes ~0.05 s instead of ~1 s, most of it idle; with
# hundreds of short runs that is much of the wall time.
export OMPI_MCA_ess_singleton_isolated=${OMPI_MCA_ess_singleton_isolated:-1}
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}

# Jobs, longest first so that the J workers finish together.
joblist=$(mktemp)
trap 'rm -f "$joblist"' EXIT
for ds in $datasets; do
  [ -f "$EF21_DATA/$ds" ] || { echo "reproduce.sh: $EF21_DATA/$ds is missing" >&2; exit 2; }
  # The test metrics are no part of this experiment: a one-row test file
  # (the first training row) keeps each evaluation to one pass over the data.
  mkdir -p "$out/test1"
  head -n 1 "$EF21_DATA/$ds" > "$out/test1/$ds"
  read -r d rows < <(awk '{for (i = 2; i <= NF; i++) { split($i, a, ":"); if (a[1] + 0 > m) m = a[1] + 0 }}
                          END {print m, NR}' "$EF21_DATA/$ds")
  T1=$(( $(t1_of "$ds") * rscale / scale ))
  for k in $ks; do
    [ "$k" -le "$d" ] || continue
    div=$(( k < 8 ? k : 8 ))
    r=$(( T1 / div ))
    for m in ef21 ef21w ef14; do
      echo "$(( r * rows * d / 1000000 )) $ds $m $k $r $(( (r + 49) / 50 ))"
    done
  done
  r=$(( T1 / 2 ))
  # GD converges in few rounds: evaluate it ~150 times.
  echo "$(( r * rows * d / 1000000 )) $ds gd $d $r $(( (r + 149) / 150 ))"
done | sort -k1,1nr | cut -d' ' -f2- > "$joblist"

echo "reproduce.sh: $(wc -l < "$joblist") chains (data set, method, k) over factors {$factors}, $jobs at a time, into $out"
start=$(date +%s)
xargs -P "$jobs" -L 1 bash "$0" --chain < "$joblist"
echo "reproduce.sh: runs done in $(( $(date +%s) - start )) s"
/usr/bin/python3 "$here/plot_ef21.py" "$out"
