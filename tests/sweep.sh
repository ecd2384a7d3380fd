#!/usr/bin/env bash
# scripts/sweep.py as a user meets it: a tiny real sweep (dense and TopK 10%,
# each with and without EF21, two seeds) gives table.md and table.csv with one
# row per method, whose numbers are those of the runs' summary.json, and the
# three figures as real PNG files; running it again reuses the finished runs;
# bad input (grid syntax, unknown option, missing config) gives a one-line
# error, exit status 2 and no Python traceback; --skip-invalid leaves out the
# grid points fedsim rejects.
set -uo pipefail
: "${FEDSIM:?}" "${SRCDIR:?}"
PYTHON=${PYTHON:-/usr/bin/python3}
SWEEP="$SRCDIR/scripts/sweep.py"
work=$(mktemp -d /tmp/fedsim_sweep.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

if ! "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
  echo "SKIP $PYTHON has no matplotlib (apt-get install python3-matplotlib)"
  exit 77
fi

tiny=(--fedsim "$FEDSIM" --set clients.num=20 --set clients.per_round=5
      --set data.synthetic.samples=2000 --set data.synthetic.groups=20
      --set run.rounds=8 --set run.save_model=false)
sweep=("${tiny[@]}" --grid compress.up=identity,topk --grid ef.method=none,ef21
       --set compress.up_ratio=0.1 --seeds 1,2 --targets 0.3 --jobs 2)

# expect_error NAME NEEDLE ARGS...: sweep.py must exit 2, say NEEDLE, and not
# dump a traceback.
expect_error() {
  local name=$1 needle=$2; shift 2
  local out rc
  out=$("$PYTHON" "$SWEEP" "$@" 2>&1); rc=$?
  if [ $rc -ne 2 ]; then bad "$name: exit $rc, expected 2: $out"; return; fi
  if grep -q 'Traceback' <<<"$out"; then bad "$name: traceback: $out"; return; fi
  if ! grep -qF -- "$needle" <<<"$out"; then bad "$name: no '$needle' in: $out"; return; fi
  ok "$name (exit 2: $(grep -m1 'error' <<<"$out"))"
}

# ---- the sweep
t0=$(date +%s)
if "$PYTHON" "$SWEEP" "${sweep[@]}" --out "$work/s" > "$work/out" 2> "$work/err"; then
  ok "sweep of 4 methods x 2 seeds ran ($(( $(date +%s) - t0 )) s)"
else
  bad "sweep exit non-zero: $(cat "$work/err")"
fi
grep -q 'Traceback' "$work/err" && bad "sweep: traceback on stderr: $(cat "$work/err")"

n=$(ls -d "$work"/s/runs/*-s[12] 2>/dev/null | wc -l)
[ "$n" -eq 8 ] && ok "8 run folders in runs/" || bad "$n run folders in runs/, expected 8"

# table.md: one row per method (header and rule excepted), the dense baseline.
rows=$(grep -c '^| [a-z]' "$work/s/table.md")
want_labels=("dense" "dense + ef21" "topk 10%" "topk 10% + ef21")
[ "$rows" -eq 5 ] && ok "table.md: 4 method rows" || bad "table.md: $((rows - 1)) method rows, expected 4"
for l in "${want_labels[@]}"; do
  grep -qE "^\| $(sed 's/[+%]/\\&/g' <<<"$l") +\|" "$work/s/table.md" || bad "table.md: no row '$l'"
done
grep -q '| *baseline *|' "$work/s/table.md" && grep -q '× fewer bits than dense' "$work/s/table.md" \
  && ok "table.md: dense baseline and the '× fewer bits than dense' column" \
  || bad "table.md: no baseline / × fewer column"
# stdout: the table, then the paths written.
grep -qF '## Bits per client to reach 30% test accuracy' "$work/out" \
  && grep -qx "$work/s/table.csv" "$work/out" && grep -qx "$work/s/bits_to_target.png" "$work/out" \
  && ok "stdout: the table and the paths" || bad "stdout lacks the table or the paths: $(cat "$work/out")"

# table.csv: 4 rows; each method's numbers are those of its runs' summary.json.
if "$PYTHON" - "$work/s" > "$work/check" 2>&1 <<'EOF'
import csv, json, math, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "table.csv"))))
assert len(rows) == 4, f"{len(rows)} rows, expected 4"
labels = sorted(r["method"] for r in rows)
assert labels == ["dense", "dense + ef21", "topk 10%", "topk 10% + ef21"], labels
by = {r["method"]: r for r in rows}

def med(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

def load(label, seed):
    slug = label.replace("%", "pct").replace(" + ", "-").replace(" ", "-")
    with open(os.path.join(d, "runs", f"{slug}-s{seed}", "summary.json")) as f:
        return json.load(f)

def same(a, b):
    return float(a) == float(b) or math.isclose(float(a), float(b), rel_tol=1e-12)

checked = 0
for label in ("topk 10%", "dense"):
    r = by[label]
    sums = [load(label, s) for s in (1, 2)]
    ents = [s["bits_to_target"]["test_acc"][0] for s in sums]
    assert all(e["target"] == 0.3 for e in ents)
    hit = [e for e in ents if e["reached"]]
    assert int(r["acc0.3_reached"]) == len(hit), (label, r["acc0.3_reached"], len(hit))
    for col, key in (("bits_total", "bits_total_per_client"), ("bits_up", "bits_up_per_client"),
                     ("rounds", "round")):
        v = [e[key] for e in hit]
        for stat, want in (("median", med(v)), ("min", min(v)), ("max", max(v))):
            got = r[f"acc0.3_{col}_{stat}"]
            assert same(got, want), (label, col, stat, got, want)
            checked += 1
    # Total = up + down, per client = totals / clients.num.
    for s, e in zip(sums, ents):
        if e["reached"]:
            assert same(e["bits_total_per_client"], e["bits_up_per_client"] + e["bits_down_per_client"])
    accs = [s["final"]["test_acc"] for s in sums]
    mean = sum(accs) / 2
    sd = math.sqrt(sum((a - mean) ** 2 for a in accs) / 1)
    assert same(r["final_acc_mean"], mean), (label, r["final_acc_mean"], mean)
    assert math.isclose(float(r["final_acc_sd"]), sd, rel_tol=1e-9, abs_tol=1e-15), (r["final_acc_sd"], sd)
    checked += 2
# x fewer = dense median / this median.
t, dn = by["topk 10%"], by["dense"]
for col, key in (("total", "bits_total"), ("up", "bits_up")):
    want = float(dn[f"acc0.3_{key}_median"]) / float(t[f"acc0.3_{key}_median"])
    assert same(t[f"acc0.3_x_fewer_{col}"], want), (col, t[f"acc0.3_x_fewer_{col}"], want)
    checked += 1
assert float(dn["acc0.3_x_fewer_total"]) == 1.0
# Sorted by the median bits to the first target (every method reached it on both seeds here).
order = [float(r["acc0.3_bits_total_median"]) for r in rows if r["acc0.3_reached"] == "2"]
assert order == sorted(order), order
print(f"{checked} numbers of 'topk 10%' and 'dense' match their summary.json")
EOF
then ok "table.csv: $(cat "$work/check")"
else
  bad "table.csv vs summary.json: $(cat "$work/check")"
fi

# The figures: real PNG files of some substance.
for f in accuracy_vs_bits gradnorm_vs_bits bits_to_target; do
  p="$work/s/$f.png"
  if [ ! -f "$p" ]; then bad "$f.png not written"; continue; fi
  magic=$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')
  size=$(stat -c %s "$p")
  if [ "$magic" != "89504e470d0a1a0a" ]; then bad "$f.png is not a PNG ($magic)"
  elif [ "$size" -lt 10000 ]; then bad "$f.png is only $size bytes"
  else ok "$f.png: a PNG of $size bytes"; fi
done

# Running the same sweep again reuses the finished runs and gives the same table.
cp "$work/s/table.csv" "$work/table1.csv"
if "$PYTHON" "$SWEEP" "${sweep[@]}" --out "$work/s" > /dev/null 2> "$work/err2"; then
  grep -q '8 already finished, reused' "$work/err2" && cmp -s "$work/table1.csv" "$work/s/table.csv" \
    && ok "a second run reuses the 8 finished runs, same table.csv" \
    || bad "second run: $(cat "$work/err2")"
else
  bad "second run exit non-zero: $(cat "$work/err2")"
fi

# ---- errors a user can make
expect_error bad-grid "--grid 'compress.up': expected KEY=V1,V2" \
  "${tiny[@]}" --grid compress.up --out "$work/e"
expect_error grid-empty-value "empty value" "${tiny[@]}" --grid 'compress.up=topk,' --out "$work/e"
expect_error grid-not-a-key "'ratio' is not an option name" "${tiny[@]}" --grid ratio=0.1,0.2 --out "$work/e"
expect_error grid-seed "use --seeds" "${tiny[@]}" --grid run.seed=1,2 --out "$work/e"
expect_error unknown-option "fedsim: unknown option 'compress.nope'" \
  "${tiny[@]}" --grid compress.nope=1,2 --out "$work/e"
expect_error bad-value "fedsim: compress.up: 'zip' is not one of" \
  "${tiny[@]}" --grid compress.up=topk,zip --out "$work/e"
expect_error missing-config "--config $work/none.yaml: no such file" \
  "${tiny[@]}" --config "$work/none.yaml" --grid compress.up=topk --out "$work/e"
expect_error bad-seeds "--seeds 'a': expected seeds" "${tiny[@]}" --seeds a --out "$work/e"
expect_error bad-target "--targets '1.5': 1.5 is not in (0, 1]" "${tiny[@]}" --targets 1.5 --out "$work/e"

# --skip-invalid: the rejected grid point is left out and named in table.md.
if "$PYTHON" "$SWEEP" "${tiny[@]}" --grid compress.up=identity,zip --targets 0.3 --skip-invalid \
     --out "$work/k" > /dev/null 2> "$work/err3"; then
  rows=$(grep -c '^| [a-z]' "$work/k/table.md")
  [ "$rows" -eq 2 ] && grep -q "Left out.*zip" "$work/k/table.md" \
    && ok "--skip-invalid: 1 method left, the rejected one named in table.md" \
    || bad "--skip-invalid: $((rows - 1)) rows; $(cat "$work/k/table.md")"
else
  bad "--skip-invalid exit non-zero: $(cat "$work/err3")"
fi

exit $fail
