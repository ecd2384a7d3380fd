#!/usr/bin/env bash
# soak.sh — a long run under AddressSanitizer (LeakSanitizer) or valgrind,
# to show that fedsim neither leaks nor grows (docs/reliability.md). Not a
# CI test: the full soak (10^4 aggregations, 10^4 clients) takes hours under
# a sanitizer. Defaults to that; set ROUNDS for a short look.
#
#   bench/soak.sh                      # ROUNDS=10000 CLIENTS=10000 RANKS=3 SAN=asan
#   ROUNDS=2000 bench/soak.sh          # a few minutes
#   SAN=valgrind ROUNDS=50 RANKS=1 bench/soak.sh
#
# What it does: builds fedsim with -Db_sanitize=address,undefined into
# build-asan/ (SAN=asan; SAN=valgrind uses build/fedsim under valgrind
# --leak-check=full; SAN=none plain build/), runs a FedBuff-free synchronous
# run with EF14 error feedback (persistent per-client state), Poisson-free
# fixed sampling and checkpoints every CKPT aggregations, kills it (SIGTERM)
# halfway and resumes it (so the checkpoint and resume paths soak too),
# samples every rank's VmRSS every SAMPLE seconds into $OUT/rss.csv, and
# reports per rank: peak RSS (VmHWM), RSS at 25%, 50% and 100% of the
# samples, and the growth over the second half (flat memory: about 1). Leaks: LeakSanitizer or valgrind
# reports at exit, which fail the script.
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-10000}
CLIENTS=${CLIENTS:-10000}
RANKS=${RANKS:-3}
SAN=${SAN:-asan}
CKPT=${CKPT:-$(( ROUNDS / 10 > 0 ? ROUNDS / 10 : 1 ))}
SAMPLE=${SAMPLE:-2}
OUT=${OUT:-/tmp/fedsim-soak}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:quarantine_size_mb=16
rm -rf "$OUT"; mkdir -p "$OUT"

case "$SAN" in
  asan)
    if [ ! -d build-asan ]; then
      meson setup build-asan -Db_sanitize=address,undefined -Dbuildtype=debug > /dev/null || exit 1
    fi
    ninja -C build-asan fedsim > "$OUT/build.log" 2>&1 || { tail "$OUT/build.log"; exit 1; }
    CMD=(build-asan/fedsim);;
  valgrind)
    command -v valgrind > /dev/null || { echo "soak: valgrind is not installed (apt-get install valgrind)"; exit 1; }
    CMD=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9
         --suppressions=/usr/share/openmpi/openmpi-valgrind.supp build/fedsim);;
  none) CMD=(build/fedsim);;
  *) echo "soak: SAN must be asan, valgrind or none"; exit 1;;
esac
args=(--rounds "$ROUNDS" --clients "$CLIENTS" --per-round 10 --seed 9 --run.progress off
      --data.synthetic.samples $(( CLIENTS * 20 )) --data.synthetic.groups 100
      --partition.method iid --compress.up topk --compress.up_ratio 0.05 --ef.method ef14
      --eval.every $(( ROUNDS / 20 > 0 ? ROUNDS / 20 : 1 )) --checkpoint-every "$CKPT")
launch() { # launch LOG ARGS...
  local log=$1; shift
  if [ "$RANKS" = 1 ]; then "${CMD[@]}" "$@" > "$log" 2>&1 &
  else mpirun --bind-to none --mca odls_base_sigkill_timeout 30 -n "$RANKS" "${CMD[@]}" "$@" > "$log" 2>&1 &
  fi
  pid=$!
}
# sample PHASE: VmRSS of every fedsim rank (its rank from the environment)
# until the launched command ends; VmHWM kept per rank.
sample() {
  local phase=$1 t0; t0=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    local procs=$pid
    [ "$RANKS" = 1 ] || procs=$(pgrep -P "$pid")   # mpirun's children: the ranks
    for p in $procs; do
      [ -r "/proc/$p/status" ] || continue
      r=$( (tr '\0' '\n' < "/proc/$p/environ") 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
      rss=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null)
      hwm=$(awk '/^VmHWM/{print $2}' "/proc/$p/status" 2>/dev/null)
      [ -n "$rss" ] && echo "$phase,$(( $(date +%s) - t0 )),${r:-0},$rss,$hwm" >> "$OUT/rss.csv"
    done
      sleep "$SAMPLE"
  done
  wait "$pid"
}
echo "phase,t_s,rank,rss_kb,hwm_kb" > "$OUT/rss.csv"
echo "soak: $ROUNDS aggregations, $CLIENTS clients, $RANKS ranks, $SAN, checkpoint every $CKPT; output in $OUT"
launch "$OUT/first.log" "${args[@]}" --out "$OUT/run"
half=$(( ROUNDS / 2 ))
( while kill -0 "$pid" 2>/dev/null; do
    n=$(( $( (wc -l < "$OUT/run/metrics.csv") 2>/dev/null || echo 0) - 2 ))
    if [ "$n" -ge "$half" ]; then
      # SIGTERM to the server rank itself: mpirun would forward it only
      # odls_base_sigkill_timeout (30 s) later, after a fast run has ended.
      victim=$pid
      if [ "$RANKS" != 1 ]; then
        for c in $(pgrep -P "$pid"); do
          [ "$( (tr '\0' '\n' < "/proc/$c/environ") 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')" = 0 ] && victim=$c
        done
      fi
      kill -TERM "$victim"; break
    fi
    sleep 0.1
  done ) &
sample first; rc1=$?
launch "$OUT/resume.log" --resume "$OUT/run" --checkpoint-every "$CKPT" --run.progress off
sample resume; rc2=$?
fail=0
grep -q "stopped by a signal" "$OUT/first.log" || { echo "soak: the first half did not stop at a checkpoint (rc $rc1)"; fail=1; }
[ "$rc2" -eq 0 ] || { echo "soak: the resumed half exited $rc2"; fail=1; }
if grep -l "LeakSanitizer\|definitely lost: [1-9]\|ERROR: AddressSanitizer\|runtime error" "$OUT"/*.log; then
  echo "soak: sanitizer reports above"; fail=1
fi
# Per phase (first half, resumed half) and rank: peak RSS (VmHWM), RSS a quarter and half way
# through the samples and at the end, and the growth over the second half.
# (A worker's RSS grows while clients take part for the first time: their
# error-feedback memory is allocated then; with 10 of 10^4 clients a round,
# 99.3% of them have taken part by aggregation 5000.)
echo "phase,rank,peak_rss_mib,rss_25pct_mib,rss_50pct_mib,rss_end_mib,growth_2nd_half"
awk -F, 'NR > 1 { k = $1 "," $3; n[k]++; v[k, n[k]] = $4; if ($5 > h[k]) h[k] = $5 }
  END { for (r in n) { q = int(n[r] / 4); if (q < 1) q = 1; m = int(n[r] / 2); if (m < 1) m = 1;
          printf "%s,%.1f,%.1f,%.1f,%.1f,%.3f\n", r, h[r] / 1024, v[r, q] / 1024, v[r, m] / 1024,
                 v[r, n[r]] / 1024, v[r, n[r]] / v[r, m] } }' "$OUT/rss.csv" | sort -t, -k1,1r -k2,2n
tail -3 "$OUT/resume.log"
exit $fail
