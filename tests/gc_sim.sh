#!/usr/bin/env bash
# `fedsim stragglers` end to end: docs/stragglers.md's two worked examples as
# straggler traces (healthy 1.0 s, straggling 5.0 s) give 8.0 s (M-SGC n=4,
# (2,3,1), J=3) and 4.0 s (SR-SGC n=4, (1,2,2), J=3) with no wait-out; no
# coding under the same M-SGC trace waits out both rounds (5+5+1 s); bad arguments
# and impossible parameters are refused with a message; --print-code
# prints B and decoding vectors that satisfy a^T B = 1^T.
set -euo pipefail
: "${FEDSIM:?}"
work=$(mktemp -d /tmp/fedsim_gcsim.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
printf 'round,worker,factor\n0,0,5\n1,0,5\n5,0,1\n' > "$work/m.csv"
printf 'round,worker,factor\n0,0,5\n0,1,5\n3,0,1\n' > "$work/sr.csv"
field() { tail -1 | cut -d, -f"$1"; }
check() { # name, expected total, expected waits, args...
  local name=$1 want=$2 waits=$3; shift 3
  local out; out=$("$FEDSIM" stragglers --overhead 1 --job-time 0 "$@")
  local got; got=$(echo "$out" | field 11)
  local w; w=$(echo "$out" | field 13)
  if [ "$got" = "$want" ] && [ "$w" = "$waits" ]; then echo "ok   $name: total $got s, $w wait-outs"
  else echo "FAIL $name: total $got s (want $want), waits $w (want $waits)"; fail=1; fi
}
check m-sgc-example 8 0 --scheme m-sgc --n 4 --B 2 --W 3 --lambda 1 --jobs 3 --model trace --trace "$work/m.csv"
check sr-sgc-example 4 0 --scheme sr-sgc --n 4 --B 1 --W 2 --lambda 2 --jobs 3 --model trace --trace "$work/sr.csv"
check none-waits 11 2 --scheme none --n 4 --jobs 3 --model trace --trace "$work/m.csv"
check gc-one 5 0 --scheme gc --n 4 --s 1 --jobs 3 --model trace --trace "$work/m.csv"
# --print-code: B of FR n=4, s=1 and its decoding vector for survivors {0,3}.
out=$("$FEDSIM" stragglers --print-code --n 4 --s 1 --code fr --survivors 0,3)
if [ "$(echo "$out" | sed -n 2p)" = "1,1,0,0" ] && [ "$(echo "$out" | tail -1)" = "1,0,0,1" ]; then
  echo "ok   print-code: FR B and a = (1,0,0,1)"
else echo "FAIL print-code:"; echo "$out"; fail=1; fi
# CR n=5, s=2: a^T B = 1^T for survivors {0,2,4}, checked here from the printout.
"$FEDSIM" stragglers --print-code --n 5 --s 2 --survivors 0,2,4 > "$work/cr.txt"
if awk -F, '/^#/ {next} { r++; for (j = 1; j <= NF; j++) v[r, j] = $j }
  END { for (j = 1; j <= 5; j++) { s = 0; for (i = 1; i <= 5; i++) s += v[6, i] * v[i, j];
        if (s < 1 - 1e-9 || s > 1 + 1e-9) exit 1 } }' "$work/cr.txt"; then
  echo "ok   print-code: CR a^T B = 1^T"
else echo "FAIL print-code CR:"; cat "$work/cr.txt"; fail=1; fi
expect_refusal() { # name, message, args...
  local name=$1 msg=$2; shift 2
  if "$FEDSIM" stragglers "$@" > "$work/o" 2> "$work/e"; then echo "FAIL $name: accepted"; fail=1
  elif grep -q "$msg" "$work/e"; then echo "ok   $name refused"
  else echo "FAIL $name: message"; cat "$work/e"; fail=1; fi
}
expect_refusal fr-divides "divide n" --scheme gc --code fr --n 10 --s 3
expect_refusal sr-assumption "divide W - 1" --scheme sr-sgc --n 10 --B 2 --W 4 --lambda 1
expect_refusal bad-number "not a number" --scheme gc --n x
expect_refusal unknown "unknown option" --scheme gc --n 4 --frobnicate 1
expect_refusal missing-trace "nonexistent" --scheme gc --n 4 --model trace --trace /nonexistent.csv
expect_refusal undecodable "cannot decode" --print-code --n 4 --s 1 --code fr --survivors 0,1
expect_refusal bad-survivors "not a list" --print-code --n 4 --s 1 --survivors 0,9
exit $fail
