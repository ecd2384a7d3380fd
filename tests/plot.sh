#!/usr/bin/env bash
# scripts/plot.py as a user meets it: one run folder and two overlaid runs
# give the promised figures as real PNG files, and bad input (no folder,
# corrupt or empty metrics.csv, unknown columns) gives a one-line error that
# names the file, a non-zero exit and no Python traceback.
set -uo pipefail
: "${FEDSIM:?}" "${SRCDIR:?}"
PYTHON=${PYTHON:-/usr/bin/python3}
PLOT="$SRCDIR/scripts/plot.py"
work=$(mktemp -d /tmp/fedsim_plot.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

if ! "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
  echo "SKIP $PYTHON has no matplotlib (apt-get install python3-matplotlib)"
  exit 77
fi

# check_pngs NAME DIR FILE...: each FILE in DIR is a PNG of some substance.
check_pngs() {
  local name=$1 dir=$2; shift 2
  local f size magic n=0
  for f in "$@"; do
    if [ ! -f "$dir/$f" ]; then bad "$name: $f not written"; continue; fi
    magic=$(head -c 8 "$dir/$f" | od -An -tx1 | tr -d ' \n')
    if [ "$magic" != "89504e470d0a1a0a" ]; then bad "$name: $f is not a PNG ($magic)"; continue; fi
    size=$(stat -c %s "$dir/$f")
    if [ "$size" -lt 10000 ]; then bad "$name: $f is only $size bytes"; continue; fi
    n=$((n + 1))
  done
  [ "$n" -eq $# ] && ok "$name: $n PNG files, each a valid PNG over 10 kB"
}

# expect_error NAME NEEDLE ARGS...: plot.py must exit non-zero, say NEEDLE,
# and not dump a traceback.
expect_error() {
  local name=$1 needle=$2; shift 2
  local out rc
  out=$("$PYTHON" "$PLOT" "$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if grep -q 'Traceback' <<<"$out"; then bad "$name: traceback: $out"; return; fi
  if ! grep -qF -- "$needle" <<<"$out"; then bad "$name: no '$needle' in: $out"; return; fi
  ok "$name (exit $rc: $(tail -1 <<<"$out"))"
}

tiny=(--rounds 4 --data.synthetic.samples 2000 --data.synthetic.groups 20
      --clients 20 --per-round 5 --run.progress off --run.save_model false)
# Run a: every row evaluated, with ||grad f||^2. Run b: evaluated every
# other round, no gradient norm.
"$FEDSIM" "${tiny[@]}" --out "$work/a" > "$work/a.log" 2>&1 || bad "fedsim run a: $(cat "$work/a.log")"
"$FEDSIM" "${tiny[@]}" --lr 0.2 --run.name lr0.2 --eval.every 2 --eval.grad_norm off \
  --out "$work/b" > "$work/b.log" 2>&1 || bad "fedsim run b: $(cat "$work/b.log")"

figs=(acc_vs_round acc_vs_time acc_vs_bits acc_vs_bits_up
      loss_vs_round loss_vs_time loss_vs_bits loss_vs_bits_up)
grad=(gradnorm_vs_round gradnorm_vs_bits)
png() { local s; for s in "$@"; do echo "$s.png"; done; }

# One run: the figures land in the run folder, and their paths are printed.
if out=$("$PYTHON" "$PLOT" "$work/a" 2>"$work/err"); then
  mapfile -t want < <(png "${figs[@]}" "${grad[@]}")
  check_pngs "one run" "$work/a" "${want[@]}"
  n=$(grep -c '\.png$' <<<"$out")
  [ "$n" -eq "${#want[@]}" ] && ok "one run: prints the $n paths written" \
    || bad "one run: printed $n paths, expected ${#want[@]}: $out"
  [ -s "$work/err" ] && bad "one run: unexpected stderr: $(cat "$work/err")"
else
  bad "one run: exit non-zero: $(cat "$work/err")"
fi

# A run without ||grad f||^2 has no gradient-norm figures.
if "$PYTHON" "$PLOT" "$work/b" > /dev/null 2>"$work/err"; then
  mapfile -t want < <(png "${figs[@]}")
  check_pngs "run without grad norm" "$work/b" "${want[@]}"
  [ ! -e "$work/b/gradnorm_vs_round.png" ] && ok "run without grad norm: no gradnorm figure" \
    || bad "run without grad norm: wrote gradnorm_vs_round.png"
else
  bad "run without grad norm: exit non-zero: $(cat "$work/err")"
fi

# Two runs overlaid: by default in the current folder; also with --labels.
mkdir -p "$work/cwd"
if (cd "$work/cwd" && "$PYTHON" "$PLOT" "$work/a" "$work/b" > /dev/null 2>"$work/err"); then
  mapfile -t want < <(png "${figs[@]}" "${grad[@]}")
  check_pngs "two runs" "$work/cwd" "${want[@]}"
else
  bad "two runs: exit non-zero: $(cat "$work/err")"
fi
if "$PYTHON" "$PLOT" "$work/a" "$work/b" --labels "lr 0.05,lr 0.2" --format svg \
     --out "$work/svg" > /dev/null 2>"$work/err"; then
  grep -q '<svg' "$work/svg/acc_vs_bits.svg" 2>/dev/null && ok "--labels and --format svg" \
    || bad "--format svg: acc_vs_bits.svg missing or not SVG"
else
  bad "--labels/--format svg: exit non-zero: $(cat "$work/err")"
fi

# Errors a user can make.
expect_error missing-folder "$work/none: no such folder" "$work/none"
mkdir -p "$work/nometrics"
expect_error no-metrics "$work/nometrics/metrics.csv: no such file" "$work/nometrics"
mkdir -p "$work/corrupt" && cp "$work/a/summary.json" "$work/corrupt/"
{ head -3 "$work/a/metrics.csv"; echo "3,0.5,0.1,5,x,y"; echo "4,1,0.2,5,1,1,1,1,,,,"; } > "$work/corrupt/metrics.csv"
expect_error corrupt-metrics "$work/corrupt/metrics.csv: line 4" "$work/corrupt"
: > "$work/corrupt/metrics.csv"
expect_error empty-metrics "$work/corrupt/metrics.csv: file is empty" "$work/corrupt"
head -1 "$work/a/metrics.csv" > "$work/corrupt/metrics.csv"
expect_error header-only "$work/corrupt/metrics.csv: no rows" "$work/corrupt"
sed '1s/test_acc/accuracy/' "$work/a/metrics.csv" > "$work/corrupt/metrics.csv"
expect_error renamed-column "$work/corrupt/metrics.csv: header lacks column(s) test_acc" "$work/corrupt"
# A column this script does not know (a newer fedsim) is ignored with a warning.
mkdir -p "$work/extra" && cp "$work/a/summary.json" "$work/extra/"
awk -F, 'BEGIN{OFS=","} {print $0, (NR==1 ? "future_column" : "x" NR)}' "$work/a/metrics.csv" > "$work/extra/metrics.csv"
if out=$(/usr/bin/python3 "$SRCDIR/scripts/plot.py" "$work/extra" --out "$work/extra" 2>&1) && grep -q "ignoring column(s) 'future_column'" <<<"$out"; then
  ok "an unknown extra column is ignored with a warning"
else
  bad "extra column: $out"
fi
head -c 4096 "$FEDSIM" > "$work/corrupt/metrics.csv"
expect_error binary-metrics "$work/corrupt/metrics.csv: not a CSV text file" "$work/corrupt"
cp "$work/a/metrics.csv" "$work/corrupt/metrics.csv"; echo '{"config": ' > "$work/corrupt/summary.json"
expect_error corrupt-summary "$work/corrupt/summary.json: not valid JSON" "$work/corrupt"
expect_error label-count "--labels: 1 label(s) for 2 run(s)" "$work/a" "$work/b" --labels one

exit $fail
