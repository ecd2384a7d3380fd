#!/usr/bin/env bash
# The asynchronous strategies end to end, on Fraboni et al.'s F-80 scenario
# (M = 20 clients, job of client i lasts 1 - 80 i/1900 s) with a time budget
# T = 50: fedsim must make exactly the aggregations the definitions give
# (docs/async.md; the same model in Python below, in integer ticks).
set -uo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_async.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
T=50
common=(--clients 20 --per-round 20 --system.dist fp --system.fp 80 --run.time_budget $T
        --rounds 1000000 --eval.every 1000000 --run.progress off --run.save_model false
        --data.synthetic.samples 1000 --data.synthetic.groups 20 --local.mode steps --local.steps 1)
expect=$(/usr/bin/python3 - "$T" <<'PY'
import sys
T = int(sys.argv[1]); M = 20; D = 100 * (M - 1); B = T * D
tau = [D - 80 * i for i in range(M)]
asy = sum(B // t for t in tau)
def fedbuff(c):
    ret = sorted((tau[i], i) for i in range(M)); n = 0
    while ret[0][0] <= B:
        S = ret[:c]; t = S[-1][0]; n += 1
        ret = sorted(ret[c:] + [(t + tau[i], i) for _, i in S])
    return n
print(T, asy, fedbuff(5), T * 2)   # sync, async, fedbuff-5, fedfix-0.5
PY
)
read -r want_sync want_async want_fb5 want_ff <<<"$expect"
run() {  # NAME WANT ARGS...
  local name=$1 want=$2; shift 2
  if ! "$FEDSIM" "${common[@]}" "$@" --out "$work/$name" > "$work/$name.log" 2>&1; then
    echo "FAIL $name: fedsim failed: $(tail -2 "$work/$name.log")"; fail=1; return
  fi
  local got; got=$(($(wc -l < "$work/$name/metrics.csv") - 2))
  if [ "$got" -eq "$want" ]; then echo "ok   $name: $got aggregations within T = $T"
  else echo "FAIL $name: $got aggregations, want $want"; fail=1; fi
}
run sync "$want_sync" --server.strategy fedavg
run async "$want_async" --server.strategy async
run fedbuff5 "$want_fb5" --server.strategy fedbuff --server.buffer 5
run fedfix05 "$want_ff" --server.strategy fedfix --server.fedfix_delta 0.5
# The last FedFix aggregation happens at t = T exactly.
last=$(tail -1 "$work/fedfix05/metrics.csv" | cut -d, -f2)
/usr/bin/python3 -c "import sys; sys.exit(0 if abs(float('$last') - $T) < 1e-9 else 1)" \
  && echo "ok   fedfix: last aggregation at vtime $last" || { echo "FAIL fedfix: last aggregation at $last"; fail=1; }
exit $fail
