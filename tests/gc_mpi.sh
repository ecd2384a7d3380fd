#!/usr/bin/env bash
# Gradient coding runs (server.strategy gc) under mpirun: for each scheme,
# metrics.csv (every column but wall_s) and model.bin are bit-identical for P = 1 (no
# mpirun), 2 and 3 ranks; the coded schemes reach the same model as no
# coding (exact gradients: train loss equal to 1e-6 relative) while
# ignore-stragglers does not and reports inexact rounds; SR-SGC and M-SGC
# with two concurrent models give model 0 exactly no coding's steps; stragglers,
# wait-outs and the gc columns are really exercised.
set -euo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_gc.XXXXXX)
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --oversubscribe --bind-to none)
common=(--rounds 12 --clients 12 --per-round 12 --seed 5 --run.progress off
        --data.synthetic.samples 3000 --data.synthetic.groups 12 --partition.method iid
        --system.dist constant --server.strategy gc --server.lr 0.5
        --gc.s 2 --gc.B 1 --gc.W 2 --gc.lambda 2 --gc.straggler iid --gc.p 0.1)
fail=0
strip() { cut -d, -f1,2,4- "$1/metrics.csv"; }
final_loss() { tail -1 "$1/metrics.csv" | cut -d, -f9; }
json() { grep -o "\"$2\":[[:space:]]*[0-9.e+-]*" "$1/summary.json" | head -1 | sed 's/.*:[[:space:]]*//'; }
run_scheme() {
  local tag=$1; shift
  "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag-p1" > "$work/$tag-p1.log" 2>&1 \
    || { echo "FAIL $tag P=1: fedsim exited $?"; cat "$work/$tag-p1.log"; return 1; }
  head -1 "$work/$tag-p1/metrics.csv" | grep -q ',gc_load,gc_stragglers,gc_exact,' \
    || { echo "FAIL $tag: metrics.csv lacks the gc columns"; return 1; }
  local ref; ref=$(strip "$work/$tag-p1" | md5sum)
  for P in 2 3; do
    "${MPIRUN[@]}" -n $P "$FEDSIM" "${common[@]}" "$@" --out "$work/$tag-p$P" \
      > "$work/$tag-p$P.log" 2>&1 || { echo "FAIL $tag P=$P: exit $?"; cat "$work/$tag-p$P.log"; return 1; }
    if [ "$(strip "$work/$tag-p$P" | md5sum)" != "$ref" ]; then
      echo "FAIL $tag: metrics differ between P=1 and P=$P"
      diff <(strip "$work/$tag-p1") <(strip "$work/$tag-p$P") | head -5
      return 1
    fi
    cmp -s "$work/$tag-p1/model.bin" "$work/$tag-p$P/model.bin" \
      || { echo "FAIL $tag: model.bin differs between P=1 and P=$P"; return 1; }
    echo "ok   $tag: P=$P bit-identical to P=1"
  done
}
for s in none cr fr ignore sr-sgc m-sgc; do
  run_scheme "$s" --gc.scheme "$s" || fail=1
done
# Two models trained concurrently (gc.models 2 >= T + 1): model 0 gets the
# even jobs, every gradient fresh, so it must follow 6 steps of no coding.
run_scheme m-sgc-k2 --gc.scheme m-sgc --gc.models 2 || fail=1
run_scheme sr-sgc-k2 --gc.scheme sr-sgc --gc.models 2 || fail=1
run_scheme none-6 --gc.scheme none --rounds 6 || fail=1
[ $fail -eq 0 ] || exit 1
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-6 * (a < 0 ? -a : a)) }'; }
ref=$(final_loss "$work/none-p1")
for s in cr fr; do
  close "$(final_loss "$work/$s-p1")" "$ref" \
    && echo "ok   $s: train loss $(final_loss "$work/$s-p1") = no coding's $ref (exact gradients)" \
    || { echo "FAIL $s: train loss $(final_loss "$work/$s-p1") vs no coding $ref"; fail=1; }
  [ "$(json "$work/$s-p1" straggler_events)" -gt 0 ] \
    && echo "ok   $s: $(json "$work/$s-p1" straggler_events) straggler events decoded around" \
    || { echo "FAIL $s: no stragglers"; fail=1; }
  [ "$(json "$work/$s-p1" jobs_inexact)" -eq 0 ] || { echo "FAIL $s: inexact jobs"; fail=1; }
done
[ "$(json "$work/ignore-p1" jobs_inexact)" -gt 0 ] && ! close "$(final_loss "$work/ignore-p1")" "$ref" \
  && echo "ok   ignore: $(json "$work/ignore-p1" jobs_inexact) inexact jobs, a different model" \
  || { echo "FAIL ignore: should be inexact and differ"; fail=1; }
[ "$(json "$work/none-p1" rounds_waited_for_all)" -gt 0 ] \
  && echo "ok   none: waited for all in $(json "$work/none-p1" rounds_waited_for_all) rounds" \
  || { echo "FAIL none: never waited"; fail=1; }
ref6=$(final_loss "$work/none-6-p1")
for s in m-sgc-k2 sr-sgc-k2; do
  close "$(final_loss "$work/$s-p1")" "$ref6" \
    && echo "ok   $s: model 0's train loss $(final_loss "$work/$s-p1") = 6 steps of no coding ($ref6)" \
    || { echo "FAIL $s: model 0's loss $(final_loss "$work/$s-p1") vs $ref6"; fail=1; }
  [ "$(json "$work/$s-p1" straggler_events)" -gt 0 ] \
    && echo "ok   $s: $(json "$work/$s-p1" straggler_events) straggler events decoded around" \
    || { echo "FAIL $s: no stragglers"; fail=1; }
done
for s in sr-sgc m-sgc; do
  [ "$(json "$work/$s-p1" jobs_decoded)" -eq 12 ] && [ "$(json "$work/$s-p1" jobs_failed)" -eq 0 ] \
    && echo "ok   $s: 12 jobs decoded, none failed" || { echo "FAIL $s: jobs"; fail=1; }
done
# Impossible parameters are refused with the reason.
if "$FEDSIM" "${common[@]}" --gc.scheme fr --gc.s 4 --out "$work/bad" > "$work/bad.log" 2>&1; then
  echo "FAIL fr with 5 not dividing 12 ran"; fail=1
elif grep -q "divide n" "$work/bad.log"; then echo "ok   fr with (s+1) not dividing n refused"
else echo "FAIL fr refusal message:"; cat "$work/bad.log"; fail=1; fi
exit $fail
