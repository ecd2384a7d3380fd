#!/usr/bin/env bash
# The command line as a user meets it: --help documents every option, bad
# options and bad data give a clear error and a non-zero exit, the run folder
# holds what the docs promise, and the examples' configurations load.
set -uo pipefail
: "${FEDSIM:?}" "${SRCDIR:?}"
work=$(mktemp -d /tmp/fedsim_cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# expect_error NAME NEEDLE ARGS...: fedsim must exit non-zero and say NEEDLE.
expect_error() {
  local name=$1 needle=$2; shift 2
  local out rc
  out=$("$FEDSIM" "$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if ! grep -qF -- "$needle" <<<"$out"; then bad "$name: no '$needle' in: $out"; return; fi
  ok "$name (exit $rc: $(head -1 <<<"$out"))"
}

help=$("$FEDSIM" --help) || bad "--help exits non-zero"
n=$(grep -c '^  --[a-z_]*\.[a-z_.]* ' <<<"$help")
[ "$n" -ge 40 ] && ok "--help lists $n options" || bad "--help lists only $n options"
if diff -q <(sed -n '/^```$/,/^```$/p' "$SRCDIR/docs/options.md" | sed '1d;$d') <("$FEDSIM" --help) >/dev/null; then
  ok "docs/options.md matches --help"
else
  bad "docs/options.md is out of date: run scripts/gen-options-doc.sh"
fi
# The compatibility matrix: generated from the rows' checks, and in sync.
if diff -q <(sed -n '/^| option = value/,$p' "$SRCDIR/docs/compatibility.md") <("$FEDSIM" compat 2>/dev/null) >/dev/null; then
  ok "docs/compatibility.md matches fedsim compat"
else
  bad "docs/compatibility.md is out of date: run scripts/gen-compat-doc.sh"
fi
compat=$("$FEDSIM" compat 2>/dev/null)
grep -q '^| `server.strategy = async` | `ef.method = ef21` | server.strategy: async with ef.method ef21' <<<"$compat" \
  && ok "fedsim compat lists async with ef21 as refused" || bad "fedsim compat misses async with ef21"
"$FEDSIM" --version | grep -q '^fedsim ' && ok "--version" || bad "--version"

expect_error unknown-option "unknown option '--colour'" --colour red
expect_error bad-int "run.rounds: 'ten' is not an integer" --rounds ten
expect_error bad-choice "model.type: 'cnn' is not one of" --model cnn
expect_error per-round "clients.per_round" --clients 5 --per-round 6
printf 'run:\n  rounds: 3\n  colour: red\n' > "$work/bad.yaml"
expect_error yaml-key "bad.yaml:3: unknown option 'run.colour'" --config "$work/bad.yaml"
expect_error missing-config "cannot open" --config "$work/none.yaml"
printf '1 1:0.5\n0 2:x\n' > "$work/bad.svm"
expect_error libsvm-corrupt "bad.svm" --data libsvm --data.path "$work/bad.svm" --model logreg --out "$work/x"
head -c 1000 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz > "$work/trunc.gz"
cp /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz "$work/labels.gz"
expect_error idx-truncated "trunc.gz" --data idx --data.path "$work/trunc.gz" --data.labels_path "$work/labels.gz" --out "$work/y"
expect_error unwritable-out "cannot create folder" --out /proc/fedsim-run --rounds 1

# A good run leaves the promised files, and summary.json echoes the config.
if "$FEDSIM" --rounds 2 --seed 5 --out "$work/good" --run.progress off > "$work/good.log" 2>&1; then
  for f in metrics.csv summary.json model.bin; do
    [ -s "$work/good/$f" ] && ok "run folder has $f" || bad "run folder lacks $f"
  done
  head -1 "$work/good/metrics.csv" | grep -q '^round,vtime_s,wall_s,clients,bits_up,bits_down,bits_up_cum,bits_down_cum,train_loss,test_loss,test_acc,grad_norm_sq,bits_up_paper_cum,staleness_mean,staleness_max,epsilon,rejected_nonfinite,gc_load,gc_stragglers,gc_exact,bits_secagg,secagg_ms,rejected_frames' \
    && ok "metrics.csv columns" || bad "metrics.csv columns"
  grep -q '"seed":[[:space:]]*5' "$work/good/summary.json" && ok "summary.json echoes the seed" || bad "summary.json lacks the seed"
  # Re-running from the echoed config gives the same numbers.
  /usr/bin/python3 - "$work/good/summary.json" "$work/again.yaml" <<'PY' || bad "cannot turn summary.json into YAML"
import json, sys
cfg = json.load(open(sys.argv[1]))["config"]
cfg["run"]["out_dir"] = ""
def emit(d, ind):
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(" " * ind + k + ":"); out += emit(v, ind + 2)
        elif isinstance(v, list):
            out.append(" " * ind + f"{k}: [{', '.join(str(x) for x in v)}]")
        elif isinstance(v, bool):
            out.append(" " * ind + f"{k}: {'true' if v else 'false'}")
        else:
            out.append(" " * ind + f"{k}: {json.dumps(v) if isinstance(v, str) else repr(v)}")
    return out
open(sys.argv[2], "w").write("\n".join(emit(cfg, 0)) + "\n")
PY
  "$FEDSIM" --config "$work/again.yaml" --out "$work/again" > /dev/null 2>&1 || bad "re-run from echoed config failed"
  if cmp -s <(cut -d, -f1,2,4- "$work/good/metrics.csv") <(cut -d, -f1,2,4- "$work/again/metrics.csv"); then
    ok "re-running the echoed configuration reproduces metrics.csv"
  else bad "re-run from summary.json config differs"; fi
else
  bad "default run failed: $(cat "$work/good.log")"
fi

# Privacy: the subcommand reproduces TF Privacy's MNIST tutorial (eps ~ 3.01),
# and a calibrated DP run ends at most at its target epsilon.
out=$("$FEDSIM" privacy --q 0.0042666666666666667 --sigma 1.1 --steps 14062 --delta 1e-5 --conversion classic)
grep -q 'epsilon = 3.008' <<<"$out" && ok "fedsim privacy: MNIST tutorial epsilon ($out)" || bad "fedsim privacy: $out"
expect_error privacy-usage "usage: fedsim privacy" privacy --q 0.01
# Checkpoints refuse what they do not save yet (docs/reliability.md).
expect_error ckpt-gc "checkpoints do not cover server.strategy gc" \
  --config "$SRCDIR/examples/gc/train.yaml" --checkpoint-every 2
expect_error ckpt-wall "checkpoints do not cover the asynchronous strategies on the wall clock" \
  --server.strategy fedbuff --run.clock wall --checkpoint-every 2
if "$FEDSIM" --clients 50 --per-round 10 --clients.sampling poisson --dp.clip flat --dp.noise central \
     --dp.target_epsilon 3 --server.weighting uniform --rounds 5 --out "$work/dp" --run.progress off > "$work/dp.log" 2>&1 \
   && /usr/bin/python3 - "$work/dp/metrics.csv" <<'PY'
import csv, sys
eps = [float(r["epsilon"]) for r in csv.DictReader(open(sys.argv[1]))]
assert eps[0] == 0 and all(a < b for a, b in zip(eps, eps[1:])), eps
assert 2.9 < eps[-1] <= 3.0, eps[-1]
PY
then ok "DP run calibrated to epsilon 3: epsilon grows each round and ends <= 3"
else bad "DP run: $(tail -3 "$work/dp.log")"; fi

# DiceSGD's client-level message bound is C1 + C2 = clip_norm (1 + r), and
# the central noise per coordinate is z B / per_round (docs/privacy.md).
if "$FEDSIM" --clients 20 --per-round 10 --clients.sampling poisson --dp.clip dice --dp.clip_norm 0.4 \
     --dp.dice_ratio 0.5 --dp.noise central --dp.noise_multiplier 1.5 --server.weighting uniform --rounds 2 \
     --out "$work/dice" --run.progress off > "$work/dice.log" 2>&1 \
   && /usr/bin/python3 - "$work/dice/summary.json" <<'PY2'
import json, sys
p = json.load(open(sys.argv[1]))["privacy"]
assert abs(p["message_bound"] - 0.4 * 1.5) < 1e-12, p
assert abs(p["noise_std"] - 1.5 * 0.6 / 10) < 1e-12, p
assert p["clipping"] == "dice" and p["epsilon"] > 0, p
PY2
then ok "DiceSGD: message bound C1 + C2 and central noise z (C1 + C2) / per_round"
else bad "DiceSGD bound: $(tail -3 "$work/dice.log")"; fi

# The range of N: one client, and 10,000 clients on a small data set.
for N in 1 10000; do
  K=$(( N < 10 ? N : 10 ))
  if "$FEDSIM" --clients $N --per-round $K --partition.method iid --data.synthetic.samples 30000 \
       --rounds 2 --out "$work/n$N" --run.progress off > "$work/n$N.log" 2>&1 \
     && [ "$(wc -l < "$work/n$N/metrics.csv")" -eq 4 ]; then
    ok "N=$N clients ($K per round) runs"
  else bad "N=$N: $(tail -2 "$work/n$N.log")"; fi
done

# Every ready configuration in examples/ loads (checked with 0 rounds work:
# parse only, via --help-free dry run of one round on tiny settings).
for y in "$SRCDIR"/examples/*.yaml; do
  [ -e "$y" ] || continue
  out=$("$FEDSIM" --config "$y" --rounds 1 --out "$work/ex-$(basename "$y" .yaml)" --run.progress off --eval.every 1 2>&1)
  if [ $? -eq 0 ]; then ok "examples/$(basename "$y") runs one round"; else bad "examples/$(basename "$y"): $out"; fi
done
exit $fail
