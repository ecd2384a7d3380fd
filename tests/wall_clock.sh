#!/usr/bin/env bash
# Wall-clock mode on this machine (3 ranks): every strategy runs, says it is
# not reproducible, and accounts for every update it received (aggregated,
# dropped as too stale, or unused when the run stopped). With workers that
# sleep for their clients' simulated time, FedBuff reaches the same number of
# aggregations in less wall time than synchronous FedAvg.
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_wall.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
MPIRUN=(mpirun --oversubscribe --bind-to none -n 3)
common=(--run.clock wall --clients 20 --per-round 20 --rounds 20 --run.progress off
        --data.synthetic.samples 2000 --data.synthetic.groups 20
        --system.dist fp --system.fp 80 --system.sleep_scale 0.05 --eval.every 1000)
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
for st in fedavg async fedbuff fedfix; do
  out="$work/$st"
  if ! "${MPIRUN[@]}" "$FEDSIM" "${common[@]}" --server.strategy $st --server.buffer 5 \
       --server.fedfix_delta 0.02 --server.max_staleness 8 --out "$out" > "$out.log" 2>&1; then
    echo "FAIL $st: $(tail -3 "$out.log")"; fail=1; continue
  fi
  grep -q 'not reproducible by nature' "$out.log" || { echo "FAIL $st: no 'not reproducible' note"; fail=1; }
  [ "$(json "$out/summary.json" "['reproducible'][:2]")" = "no" ] || { echo "FAIL $st: summary says reproducible"; fail=1; }
  rows=$(($(wc -l < "$out/metrics.csv") - 2))
  [ "$rows" -eq 20 ] || { echo "FAIL $st: $rows aggregations, want 20"; fail=1; }
  if [ "$st" != fedavg ]; then
    r=$(json "$out/summary.json" "['updates']['received']")
    a=$(json "$out/summary.json" "['updates']['aggregated']")
    d=$(json "$out/summary.json" "['updates']['dropped_stale']")
    u=$(json "$out/summary.json" "['updates']['unused_at_end']")
    if [ $((a + d + u)) -eq "$r" ] && [ "$a" -gt 0 ]; then
      echo "ok   $st: 20 aggregations, $r updates = $a aggregated + $d dropped + $u unused"
    else
      echo "FAIL $st: updates do not add up: $r received, $a + $d + $u"; fail=1
    fi
  else
    echo "ok   $st: 20 rounds in wall-clock mode"
  fi
done
sync=$(json "$work/fedavg/summary.json" "['final']['wall_s']")
buff=$(json "$work/fedbuff/summary.json" "['final']['wall_s']")
if /usr/bin/python3 -c "import sys; sys.exit(0 if $buff < $sync else 1)"; then
  echo "ok   FedBuff took ${buff}s of wall time for 20 aggregations, sync FedAvg ${sync}s"
else
  echo "FAIL FedBuff ${buff}s is not faster than sync FedAvg ${sync}s"; fail=1
fi
exit $fail
