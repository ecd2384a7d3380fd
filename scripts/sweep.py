#!/usr/bin/python3
"""Run a grid of fedsim configurations over several seeds and compare them.

    scripts/sweep.py --config BASE.yaml --grid 'compress.up=topk,randk' \\
        --grid 'compress.up_ratio=0.01,0.1' --grid 'ef.method=none,ef21' \\
        --seeds 1,2,3 --targets 0.80,0.85 [--grad-targets 1e-4] --out SWEEP_DIR \\
        [--jobs J] [--mpi N] [--set KEY=VALUE ...] [--fedsim PATH] [--skip-invalid]

Every grid point (a "method") runs once per seed, in SWEEP_DIR/runs/<method>-s<seed>.
Then the script writes SWEEP_DIR/table.md and table.csv (bits per client to
reach each target: median and min-max over seeds), accuracy_vs_bits.png,
gradnorm_vs_bits.png (when the runs measured ||grad f||^2) and
bits_to_target.png, and prints the table and the paths. See docs/sweep.md.

Runs with Debian's /usr/bin/python3 and python3-matplotlib; the figures share
the look of scripts/plot.py, whose helpers it imports.
"""

import argparse
import csv
import hashlib
import importlib.util
import itertools
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from bisect import bisect_left

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = "sweep.py"


def _load_plot():
    """scripts/plot.py as a module: its reader, colours and figure style."""
    spec = importlib.util.spec_from_file_location("fedsim_plot", os.path.join(HERE, "plot.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


plot = _load_plot()
UserError = plot.UserError  # one line on stderr, exit 2


class Stopped(Exception):
    """SIGTERM or SIGHUP: stop the runs started, then exit."""


def _on_signal(signum, _frame):
    raise Stopped(signal.Signals(signum).name)


class RunFailed(Exception):
    """A fedsim run failed for another reason than its configuration: exit 1."""


def note(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def warn(msg):
    print(f"{PROG}: warning: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- arguments

KEY_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# Options the sweep sets itself, per run.
OWN_KEYS = {
    "run.seed": "use --seeds",
    "run.out_dir": "each run goes to SWEEP_DIR/runs/<method>-s<seed>; use --out",
    "run.name": "sweep.py names each run <method>-s<seed>",
    "run.progress": "sweep.py runs fedsim with run.progress off",
}


# Options the method label shows in its own words ('topk 1% + ef21'); any
# other grid option is appended as key=value.
LABEL_KEYS = {"compress.up", "compress.up_k", "compress.up_ratio", "compress.levels",
              "compress.block", "compress.down", "compress.down_k", "compress.down_ratio",
              "ef.method"}


def as_int(v):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def relevant(key, known):
    """Whether option `key` changes a run whose options include `known`:
    False for the parameters of a compressor the run does not use (grid
    points that differ only there are the same run, made once), None when
    that is not known (the value comes from the base configuration)."""
    for side in ("up", "down"):
        if key in (f"compress.{side}_k", f"compress.{side}_ratio"):
            comp = known.get(f"compress.{side}")
            if comp is None:
                return None
            if comp not in ("topk", "randk"):
                return False
            if key.endswith("_ratio"):
                k = as_int(known.get(f"compress.{side}_k"))
                return None if k is None else k == 0
            return True
    if key in ("compress.levels", "compress.block"):
        kind = "qsgd" if key == "compress.levels" else "block8"
        up, down = known.get("compress.up"), known.get("compress.down")
        if up is None or down is None:
            return None
        return kind in (up, down)
    return True


def split_values(text):
    """'a,b,[1,2]' -> ['a', 'b', '1,2']: commas inside brackets belong to a
    list value (model.hidden=[256,128],[512,256])."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                return None
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        return None
    out.append(cur)
    vals = []
    for v in out:
        v = v.strip()
        if v.startswith("[") and v.endswith("]"):
            v = ",".join(p.strip() for p in v[1:-1].split(","))
        vals.append(v)
    return vals


def parse_key(opt, spec, key):
    if not KEY_RE.fullmatch(key):
        raise UserError(f"{opt} '{spec}': '{key}' is not an option name like "
                        "compress.up (section.key; fedsim --help lists them)")
    if key in OWN_KEYS:
        raise UserError(f"{opt} '{spec}': {key} is set by sweep.py ({OWN_KEYS[key]})")


def parse_grid(specs):
    grid = []
    for spec in specs:
        key, eq, rest = spec.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UserError(f"--grid '{spec}': expected KEY=V1,V2,... "
                            "(e.g. --grid compress.up=topk,randk)")
        parse_key("--grid", spec, key)
        if key in ("eval.targets", "eval.grad_targets"):
            raise UserError(f"--grid '{spec}': {key} cannot vary within a sweep "
                            "(give --targets / --grad-targets)")
        vals = split_values(rest)
        if vals is None:
            raise UserError(f"--grid '{spec}': unbalanced brackets")
        if any(v == "" for v in vals):
            raise UserError(f"--grid '{spec}': empty value (expected KEY=V1,V2,...)")
        dup = sorted({v for v in vals if vals.count(v) > 1})
        if dup:
            raise UserError(f"--grid '{spec}': value {dup[0]!r} given twice")
        if any(k == key for k, _ in grid):
            raise UserError(f"--grid: {key} given twice (list all its values in one --grid)")
        grid.append((key, vals))
    return grid


def parse_sets(specs, grid):
    sets = []
    gkeys = {k for k, _ in grid}
    for spec in specs:
        key, eq, val = spec.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UserError(f"--set '{spec}': expected KEY=VALUE")
        parse_key("--set", spec, key)
        if key in gkeys:
            raise UserError(f"--set '{spec}': {key} is also in --grid")
        sets.append((key, val.strip()))
    return sets


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise UserError(f"--seeds '{text}': expected seeds like 1,2,3 or 1-5")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise UserError(f"--seeds '{text}': empty range {part}")
        for s in range(a, b + 1):
            if s in seeds:
                raise UserError(f"--seeds '{text}': seed {s} given twice")
            seeds.append(s)
    return seeds


def parse_targets(opt, text, lo, hi):
    out = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            raise UserError(f"{opt} '{text}': {part.strip()!r} is not a number")
        if not (lo < v <= hi) or not math.isfinite(v):
            raise UserError(f"{opt} '{text}': {part.strip()} is not in ({lo:g}, {hi:g}]")
        if v in out:
            raise UserError(f"{opt} '{text}': {part.strip()} given twice")
        out.append(v)
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Run the Cartesian product of --grid values and --seeds with "
                    "fedsim, then tabulate and plot the bits per client each method "
                    "needs to reach the targets. See docs/sweep.md.")
    p.add_argument("--config", metavar="BASE.yaml",
                   help="base configuration of every run (default: fedsim's defaults)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="an option and the values it takes; repeat for a product "
                        "(list values in brackets: model.hidden=[256,128],[64])")
    p.add_argument("--seeds", default="1", metavar="1,2,3",
                   help="run.seed values, e.g. 1,2,3 or 1-5 (default: 1)")
    p.add_argument("--targets", metavar="0.8,0.85",
                   help="test-accuracy targets (eval.targets); the first one sorts "
                        "the table (default: eval.targets of the base configuration)")
    p.add_argument("--grad-targets", metavar="1e-4",
                   help="||grad f||^2 thresholds (eval.grad_targets)")
    p.add_argument("--out", required=True, metavar="SWEEP_DIR",
                   help="folder of the sweep (runs/, table.md, table.csv, figures)")
    p.add_argument("--jobs", type=int, metavar="J",
                   help="runs at a time (default: the number of cores, divided by "
                        "--mpi N when given)")
    p.add_argument("--mpi", type=int, metavar="N",
                   help="run each fedsim with mpirun -n N --oversubscribe")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of every run (after --config)")
    p.add_argument("--fedsim", metavar="PATH",
                   help="the fedsim binary (default: $FEDSIM, else build/fedsim "
                        "next to this script)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="leave out the grid points fedsim rejects (e.g. ef.stepsize "
                        "theory with randk) instead of stopping")
    p.add_argument("--rerun", action="store_true",
                   help="run again the runs already finished in SWEEP_DIR with the "
                        "same command (by default they are reused)")
    return p.parse_args(argv)


# ---------------------------------------------------------------- methods

def pct(r):
    return f"{float(r) * 100:.4g}%"


def ef_part(ef):
    return None if ef in (None, "none") else ef


def compressor_label(d, side="up"):
    """'dense', 'topk 1%', 'randk k=5', 'qsgd s=16', ... from option values
    (None when compress.<side> is unknown)."""
    up = d.get(f"compress.{side}")
    if up is None:
        return None
    if up == "identity":
        return "dense"
    if up in ("topk", "randk"):
        k = as_int(d.get(f"compress.{side}_k"))
        if k is not None and k > 0:
            return f"{up} k={k}"
        r = d.get(f"compress.{side}_ratio")
        return f"{up} {pct(r)}" if r is not None and as_int(r) is not None else up
    if up == "qsgd" and d.get("compress.levels") is not None:
        return f"qsgd s={d['compress.levels']}"
    if up == "block8" and d.get("compress.block") is not None:
        return f"block8 b={d['compress.block']}"
    return up


def fmt_value(v):
    if isinstance(v, list):
        return ",".join(fmt_value(x) for x in v)
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def method_label(d, extra_keys):
    """'topk 1% + ef21', 'dense', 'dense + ef21'; grid keys outside compress.*
    and ef.method follow as 'key=value'."""
    comp = compressor_label(d)
    ef = ef_part(d.get("ef.method"))
    if comp is None:
        head = ef if ef else ("no EF" if "ef.method" in d else "")
    else:
        head = comp + (f" + {ef}" if ef else "")
    down = compressor_label(d, "down")
    if down not in (None, "dense"):
        head += f", down {down}"
    tail = [f"{k}={fmt_value(d[k])}" for k in extra_keys if k in d]
    return "  ·  ".join(p for p in [head] + tail if p) or "base"


def family_label(d, extra_keys):
    """The method without its error feedback: one colour per family."""
    e = dict(d)
    e.pop("ef.method", None)
    return method_label(e, extra_keys)


def slug(label):
    s = label.lower().replace("%", "pct").replace("·", " ").replace("+", " ")
    s = re.sub(r"[^a-z0-9._]+", "-", s.replace("=", ""))
    return re.sub(r"-+", "-", s).strip("-.") or "base"


class Method:
    def __init__(self, point, known, extra_keys):
        self.point = point          # [(key, value)] of the grid
        self.known = known          # option values known before running
        self.label = method_label(known, extra_keys)   # refined from the runs
        self.slug = slug(self.label)
        self.runs = []
        self.invalid = None         # fedsim's message when it rejected this point
        self.resolved = {}


def build_methods(grid, sets, defaults):
    set_d = dict(defaults)
    set_d.update(sets)
    extra = [k for k, _ in grid if k not in LABEL_KEYS]
    methods, seen = [], {}
    keys = [k for k, _ in grid]
    for values in itertools.product(*[v for _, v in grid]):
        point = list(zip(keys, values))
        known = dict(set_d)
        known.update(point)
        # Drop parameters that do not apply to the compressors of this point.
        eff = [(k, v) for k, v in point if relevant(k, known) is not False]
        sig = tuple(eff)
        if sig in seen:
            continue
        for k, v in point:
            if (k, v) not in eff:
                known.pop(k, None)
        seen[sig] = True
        methods.append(Method(eff, known, extra))
    # Folder names must differ.
    used = {}
    for m in methods:
        base = m.slug
        n = used.get(base, 0)
        used[base] = n + 1
        if n:
            m.slug = f"{base}-{n + 1}"
    return methods, extra


# ---------------------------------------------------------------- running

class Run:
    def __init__(self, method, seed, folder):
        self.method, self.seed, self.folder = method, seed, folder
        self.argv = []
        self.key = None
        self.proc = None
        self.started = None
        self.data = None            # plot.Run once finished
        self.reused = False


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_fedsim(arg):
    path = arg or os.environ.get("FEDSIM") or os.path.join(HERE, "..", "build", "fedsim")
    if os.path.sep not in path and shutil.which(path):
        path = shutil.which(path)
    if not os.path.isfile(path):
        where = "--fedsim" if arg else ("$FEDSIM" if os.environ.get("FEDSIM") else "default")
        raise UserError(f"fedsim not found at {path} ({where}); build it with "
                        "'ninja -C build' or give --fedsim PATH")
    if not os.access(path, os.X_OK):
        raise UserError(f"{path}: not executable")
    return os.path.abspath(path)


def fedsim_defaults(fedsim):
    """{key: default} from 'fedsim --help' (which also shows that the binary
    runs)."""
    try:
        p = subprocess.run([fedsim, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"cannot run {fedsim} --help: {getattr(e, 'strerror', None) or e}")
    if p.returncode != 0:
        raise UserError(f"{fedsim} --help failed (exit {p.returncode}): "
                        f"{(p.stderr or p.stdout).strip()[-300:]}")
    out, key = {}, None
    for line in p.stdout.splitlines():
        m = re.match(r"\s+--([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\s", line)
        if m:
            key = m.group(1)
            continue
        m = re.search(r"default: (.*)\]\s*$", line)
        if m and key:
            v = m.group(1)
            out[key] = "" if v == '""' else v
            key = None
    return out


def fedsim_args(run, config, sets, targets, grad_targets):
    a = []
    if config:
        a += ["--config", config]
    for k, v in sets:
        a += ["--set", f"{k}={v}"]
    for k, v in run.method.point:
        a += ["--set", f"{k}={v}"]
    if targets is not None:
        a += ["--set", "eval.targets=" + ",".join(repr(t) for t in targets)]
    if grad_targets is not None:
        a += ["--set", "eval.grad_targets=" + ",".join(repr(t) for t in grad_targets)]
    a += ["--set", f"run.seed={run.seed}",
          "--set", f"run.name={run.method.slug}-s{run.seed}",
          "--set", f"run.out_dir={run.folder}",
          "--set", "run.progress=off"]
    return a


OWN_FILES = ["metrics.csv", "summary.json", "model.bin", "fedsim.log", "fedsim.err",
             "sweep-run.json"]


def finished_before(run):
    """The run folder holds a finished run of exactly this command."""
    try:
        with open(os.path.join(run.folder, "sweep-run.json"), encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        return False
    return (old == run.key and os.path.isfile(os.path.join(run.folder, "summary.json"))
            and os.path.isfile(os.path.join(run.folder, "metrics.csv")))


CONFIG_MSG = re.compile(r"fedsim: (rank \d+: )?[a-z_]+\.[a-z0-9_.]+(, [a-z_]+\.[a-z0-9_.]+)*: ")


def error_message(run):
    """fedsim's error line(s) from the run's stderr (else its last lines)."""
    try:
        with open(os.path.join(run.folder, "fedsim.err"), encoding="utf-8",
                  errors="replace") as f:
            lines = [ln.rstrip() for ln in f if ln.strip()]
    except OSError:
        lines = []
    errs = [ln for ln in lines if ln.startswith("fedsim:") and "warning:" not in ln]
    if errs:
        return errs[-3:]
    if lines:
        return lines[-6:]
    try:   # nothing on stderr: the end of stdout
        with open(os.path.join(run.folder, "fedsim.log"), encoding="utf-8",
                  errors="replace") as f:
            return [ln.rstrip() for ln in f if ln.strip()][-6:]
    except OSError:
        return []


class Scheduler:
    def __init__(self, runs, jobs, prefix, fedsim, skip_invalid, total):
        self.queue = list(runs)
        self.jobs, self.prefix, self.fedsim = jobs, prefix, fedsim
        self.skip_invalid = skip_invalid
        self.running = []
        self.done = 0
        self.total = total

    def start(self, run):
        os.makedirs(run.folder, exist_ok=True)
        for f in OWN_FILES:
            try:
                os.remove(os.path.join(run.folder, f))
            except FileNotFoundError:
                pass
        cmd = self.prefix + [self.fedsim] + run.argv
        env = dict(os.environ)
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        out = open(os.path.join(run.folder, "fedsim.log"), "wb")
        err = open(os.path.join(run.folder, "fedsim.err"), "wb")
        try:
            run.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                        env=env, start_new_session=True)
        except OSError as e:
            raise UserError(f"cannot start {cmd[0]}: {e.strerror or e}")
        finally:
            out.close()
            err.close()
        run.cmd = cmd
        run.started = time.monotonic()
        self.running.append(run)

    def stop_all(self):
        for run in self.running:
            try:
                os.killpg(run.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 5
        for run in self.running:
            try:
                run.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(run.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                run.proc.wait()
        self.running = []

    def finish(self, run, rc):
        m = run.method
        secs = time.monotonic() - run.started
        if rc == 0 and os.path.isfile(os.path.join(run.folder, "summary.json")):
            err = os.path.join(run.folder, "fedsim.err")
            if os.path.getsize(err) == 0:
                os.remove(err)
            with open(os.path.join(run.folder, "sweep-run.json"), "w", encoding="utf-8") as f:
                json.dump(run.key, f, indent=1)
                f.write("\n")
            self.done += 1
            acc = ""
            try:
                with open(os.path.join(run.folder, "summary.json"), encoding="utf-8") as f:
                    acc = f", final accuracy {json.load(f)['final']['test_acc']:.2%}"
            except (OSError, ValueError, KeyError, TypeError):
                pass
            note(f"[{self.done}/{self.total}] {m.label}, seed {run.seed}{acc} "
                 f"({secs:.1f} s)")
            return
        msg = error_message(run)
        text = "\n".join("  " + ln for ln in msg) or "  (no message)"
        first = msg[0] if msg else ""
        config_error = rc == 2 or (bool(CONFIG_MSG.match(first)) and not os.path.isfile(
            os.path.join(run.folder, "summary.json")))
        if config_error and self.skip_invalid and "unknown option" not in first:
            if m.invalid:           # another seed of it was already running
                self.total -= 1
                return
            m.invalid = first.removeprefix("fedsim: ")
            left = [r for r in self.queue if r.method is not m]
            self.total -= 1 + len(self.queue) - len(left)
            self.queue = left
            note(f"skipping {m.label}: fedsim rejected it: {m.invalid}")
            return
        status = (f"exit {rc}" if rc >= 0 else
                  f"killed by {signal.Signals(-rc).name}" if -rc in signal.valid_signals()
                  else f"signal {-rc}")
        where = (f"run {m.label!r}, seed {run.seed} ({status}; log in "
                 f"{os.path.join(run.folder, 'fedsim.err')})\n  command: {shlex.join(run.cmd)}")
        self.stop_all()
        if config_error:
            hint = ""
            if "unknown option" not in first and not self.skip_invalid:
                hint = "\n  (--skip-invalid leaves out the grid points fedsim rejects)"
            raise UserError(f"fedsim rejected the configuration:\n{text}\n  in {where}{hint}")
        raise RunFailed(f"fedsim failed:\n{text}\n  in {where}")

    def run(self):
        try:
            while self.queue or self.running:
                while self.queue and len(self.running) < self.jobs:
                    self.start(self.queue.pop(0))
                time.sleep(0.02)
                for run in list(self.running):
                    rc = run.proc.poll()
                    if rc is None:
                        continue
                    self.running.remove(run)
                    self.finish(run, rc)
        except BaseException:
            self.stop_all()
            raise


# ---------------------------------------------------------------- numbers

def flat(cfg, prefix=""):
    out = {}
    for k, v in (cfg or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat(v, key + "."))
        else:
            out[key] = v
    return out


def spread(vals):
    """(median, min, max) or None."""
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


class Target:
    def __init__(self, kind, value):
        self.kind, self.value = kind, value   # kind: 'test_acc' or 'grad_norm_sq'

    @property
    def field(self):
        return "target" if self.kind == "test_acc" else "threshold"

    @property
    def col(self):
        return f"acc{self.value:g}" if self.kind == "test_acc" else f"gradsq{self.value:g}"

    @property
    def name(self):
        if self.kind == "test_acc":
            return pct(self.value)
        return f"‖∇f‖² ≤ {self.value:g}"

    @property
    def long(self):
        if self.kind == "test_acc":
            return f"{pct(self.value)} test accuracy"
        return f"‖∇f‖² ≤ {self.value:g}"


def target_entry(summary, t):
    for e in (summary.get("bits_to_target") or {}).get(t.kind) or []:
        v = e.get(t.field)
        if isinstance(v, (int, float)) and math.isclose(v, t.value, rel_tol=1e-12):
            return e
    return None


def summarise(m, targets):
    """Per-target and final statistics of a method over its seeds."""
    sums = [r.data.summary for r in m.runs]
    res = {"n": len(sums), "targets": {}}
    for t in targets:
        reached = []
        for s in sums:
            e = target_entry(s, t)
            if e is None:
                raise UserError(f"{m.runs[0].folder}/summary.json: no bits_to_target "
                                f"entry for {t.long}")
            if e.get("reached"):
                reached.append(e)
        res["targets"][t.col] = {
            "reached": len(reached),
            "bits_total": spread([e["bits_total_per_client"] for e in reached]),
            "bits_up": spread([e["bits_up_per_client"] for e in reached]),
            "bits_up_paper": spread([e["bits_up_paper_per_client"] for e in reached
                                     if "bits_up_paper_per_client" in e]),
            "rounds": spread([e["round"] for e in reached]),
            "vtime": spread([e["vtime_s"] for e in reached]),
        }
    accs = [s["final"]["test_acc"] for s in sums]
    res["acc_mean"] = statistics.fmean(accs)
    res["acc_sd"] = statistics.stdev(accs) if len(accs) > 1 else None
    res["acc_min"], res["acc_max"] = min(accs), max(accs)
    res["best_acc_mean"] = statistics.fmean(s["final"]["best_test_acc"] for s in sums)
    res["bits_final"] = statistics.median(
        s["final"]["bits_up_per_client"] + s["final"]["bits_down_per_client"] for s in sums)
    gn = [s["final"]["grad_norm_sq"] for s in sums if "grad_norm_sq" in s["final"]]
    res["gn_final"] = statistics.median(gn) if gn else None
    res["rounds"] = max(s["final"]["round"] for s in sums)
    return res


def sort_key(m, first):
    if first is None:
        return (0, -m.stats["acc_mean"], m.label)
    t = m.stats["targets"][first.col]
    n = m.stats["n"]
    group = 2 if t["reached"] == 0 else (0 if t["reached"] == n else 1)
    return (group, t["bits_total"][0] if t["bits_total"] else math.inf,
            -m.stats["acc_mean"], m.label)


def find_baselines(methods, extra):
    """For each method, the dense run without error feedback that differs from
    it only in compress.* and ef.* (None if the grid has none)."""
    dense = [m for m in methods if m.resolved.get("compress.up") == "identity"
             and m.resolved.get("ef.method") == "none"]
    for m in methods:
        m.baseline = None
        for d in dense:
            if all(d.resolved.get(k) == m.resolved.get(k) for k in extra):
                m.baseline = d
                break


def versus_dense(f):
    if f >= 1.0005:
        return f"{f:.3g}× fewer than dense"
    if f <= 0.9995:
        return f"{1 / f:.3g}× more than dense"
    return "as many as dense"


def fewer(m, t, what):
    b = m.baseline
    if b is None:
        return None
    mine, base = m.stats["targets"][t.col][what], b.stats["targets"][t.col][what]
    if mine is None or base is None or mine[0] <= 0:
        return None
    return base[0] / mine[0]


# ---------------------------------------------------------------- table

def num(v):
    """Exact CSV number: integers as such, else Python's shortest repr."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def bits_text(v, unit_of=None):
    scale, p = plot.si_prefix(unit_of if unit_of is not None else v)
    return f"{v / scale:.3g} {p}bit"


def bits_range(s):
    """'8.48 kbit (5.65–11.3)': median (min–max), the range in the median's
    unit unless it spans another prefix."""
    if s is None:
        return None
    med, lo, hi = s
    if lo == hi:
        return bits_text(med)
    scale, _ = plot.si_prefix(med)
    if f"{lo:.3g}" == f"{hi:.3g}":      # the spread is below the digits shown
        return bits_text(med)
    if plot.si_prefix(lo)[0] == scale and plot.si_prefix(hi)[0] == scale:
        return f"{bits_text(med)} ({lo / scale:.3g}–{hi / scale:.3g})"
    return f"{bits_text(med)} ({bits_text(lo)} – {bits_text(hi)})"


def rounds_range(s):
    med, lo, hi = s
    return f"{med:g}" if lo == hi else f"{med:g} ({lo:g}–{hi:g})"


def acc_text(st):
    if st["acc_sd"] is None:
        return f"{100 * st['acc_mean']:.1f}%"
    return f"{100 * st['acc_mean']:.1f} ± {100 * st['acc_sd']:.1f}%"


def md_table(methods, t, has_base):
    """One row per method: what it took to reach target t (None: final
    numbers only)."""
    head, align = ["method"], ["l"]
    if t is not None:
        head += ["bits/client", "uplink bits/client", "rounds", "seeds reached"]
        align += ["r", "r", "r", "c"]
        if has_base:
            head.append("× fewer bits than dense")
            align.append("r")
    else:
        head.append("bits/client in all")
        align.append("r")
    head.append("final accuracy")
    align.append("r")
    rows = []
    for m in methods:
        row = [m.label]
        n = m.stats["n"]
        if t is not None:
            s = m.stats["targets"][t.col]
            if s["reached"] == 0:
                row += ["not reached", "–", "–", f"0/{n}"]
            else:
                row += [bits_range(s["bits_total"]), bits_range(s["bits_up"]),
                        rounds_range(s["rounds"]), f"{s['reached']}/{n}"]
            if has_base:
                ft, fu = fewer(m, t, "bits_total"), fewer(m, t, "bits_up")
                if m.baseline is m:
                    row.append("baseline")
                else:
                    row.append("–" if ft is None else f"{ft:.3g}× (up {fu:.3g}×)")
        else:
            row.append(bits_text(m.stats["bits_final"]))
        row.append(acc_text(m.stats))
        rows.append(row)
    widths = [max(3, max(len(r[i]) for r in [head] + rows)) for i in range(len(head))]

    def line(cells):
        out = []
        for c, w, a in zip(cells, widths, align):
            out.append(c.ljust(w) if a == "l" else c.rjust(w) if a == "r" else c.center(w))
        return "| " + " | ".join(out) + " |"

    rule = [":" + "-" * (w - 1) if a == "l" else "-" * (w - 1) + ":" if a == "r"
            else ":" + "-" * (w - 2) + ":" for w, a in zip(widths, align)]
    return "\n".join([line(head), "| " + " | ".join(rule) + " |"] + [line(r) for r in rows])


def write_md(path, methods, targets, seeds, has_base, ctx):
    n_seeds = len(seeds)
    lines = [f"# fedsim sweep: {len(methods)} method{'s' if len(methods) != 1 else ''} "
             f"× {n_seeds} seed{'s' if n_seeds != 1 else ''}", ""]
    lines += [ctx["setup"], ""]
    for t in targets or [None]:
        lines += [f"## Bits per client to reach {t.long}" if t else "## Final", ""]
        lines += [md_table(methods, t, has_base), ""]
    expl = []
    if targets:
        expl.append(
            "Bits per client: (bits_up_cum + bits_down_cum) / clients.num at the first "
            "evaluated round that reached the target (summary.json bits_to_target), "
            "uplink: bits_up_cum / clients.num; rounds: that round. Each cell is the "
            "median over the seeds that reached the target, then (min–max) over them; "
            "'seeds reached' counts those seeds.")
        if has_base:
            expl.append("× fewer bits than dense: the dense run's median (no compression, "
                        "no error feedback) divided by this method's median, total bits "
                        "(and uplink only).")
        expl.append(f"Rows are sorted by bits to {targets[0].long}, in every table: "
                    "first the methods that reached it on every seed, then those that "
                    "reached it on some, then those that never did.")
    expl.append(f"Final accuracy: test accuracy after the last round ({ctx['rounds']}), "
                "mean ± sd over the seeds.")
    lines += [" ".join(expl), ""]
    for m in ctx["invalid"]:
        lines.append(f"Left out (fedsim rejected it, --skip-invalid): {m.label}: {m.invalid}  ")
    if ctx["invalid"]:
        lines.append("")
    text = "\n".join(lines)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return text


def write_csv(path, methods, targets, grid_keys, has_base):
    head = ["method"] + grid_keys + ["uplink_k", "seeds", "runs"]
    for t in targets:
        c = t.col
        head += [f"{c}_reached"]
        for what in ("bits_total", "bits_up", "bits_up_paper", "rounds", "vtime_s"):
            head += [f"{c}_{what}_median", f"{c}_{what}_min", f"{c}_{what}_max"]
        if has_base:
            head += [f"{c}_x_fewer_total", f"{c}_x_fewer_up"]
    head += ["final_acc_mean", "final_acc_sd", "final_acc_min", "final_acc_max",
             "best_acc_mean", "final_bits_total_per_client_median",
             "final_grad_norm_sq_median", "run_dirs"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(head)
        for m in methods:
            st = m.stats
            # A parameter its compressor ignores (up_ratio of dense) stays empty.
            row = [m.label] + [fmt_value(m.resolved.get(k, ""))
                               if relevant(k, m.resolved) is not False else ""
                               for k in grid_keys]
            ks = {r.data.summary.get("communication", {}).get("uplink_k") for r in m.runs}
            row += [";".join(num(k) for k in sorted(k for k in ks if k is not None)),
                    ";".join(str(r.seed) for r in m.runs), st["n"]]
            for t in targets:
                s = st["targets"][t.col]
                row.append(s["reached"])
                for what in ("bits_total", "bits_up", "bits_up_paper", "rounds", "vtime"):
                    row += [num(v) for v in (s[what] or (None, None, None))]
                if has_base:
                    row += [num(fewer(m, t, "bits_total")), num(fewer(m, t, "bits_up"))]
            row += [num(st["acc_mean"]), num(st["acc_sd"]), num(st["acc_min"]),
                    num(st["acc_max"]), num(st["best_acc_mean"]), num(st["bits_final"]),
                    num(st["gn_final"]),
                    ";".join(os.path.relpath(r.folder, os.path.dirname(path)) for r in m.runs)]
            w.writerow(row)


# ---------------------------------------------------------------- figures

EF_STYLE = {  # linestyle, hatch
    "none": ("-", ""),
    "ef21": ((0, (5, 2)), "///"),
    "ef14": ((0, (1.2, 1.6)), "..."),
    "ef21w": ((0, (6, 2, 1.2, 2)), "xx"),
}


def assign_styles(methods, extra):
    """One colour per compressor (dense in black), one line style (and bar
    hatch) per error-feedback method, so 'topk 1%' and 'topk 1% + ef21' read
    as a pair."""
    palette = [c for c in plot.COLOURS if c != "#000000"]
    fams = []
    for m in methods:
        fam = family_label(m.resolved, extra)
        if fam not in fams:
            fams.append(fam)
    dense = [f for f in fams if f.startswith("dense")]
    black = dense[0] if len(dense) == 1 else None   # the one dense family: black
    others = [f for f in fams if f != black]
    for m in methods:
        fam = family_label(m.resolved, extra)
        m.colour = "#000000" if fam == black else palette[others.index(fam) % len(palette)]
        m.linestyle, m.hatch = EF_STYLE.get(m.resolved.get("ef.method"), ("-", ""))


def interp(xs, ys, grid, logy):
    """y of the polyline (xs, ys) at each grid point, linear in log10 x (and in
    log10 y for logy), as the curve is drawn on log axes."""
    lx = [math.log10(x) for x in xs]
    ly = [math.log10(y) for y in ys] if logy else ys
    out = []
    for g in grid:
        lg = math.log10(g)
        j = bisect_left(lx, lg)
        if j < len(lx) and lx[j] == lg:
            # The last row at this x (a round without traffic keeps x).
            while j + 1 < len(lx) and lx[j + 1] == lg:
                j += 1
            v = ly[j]
        elif j == 0 or j == len(lx):
            v = None
        else:
            f = (lg - lx[j - 1]) / (lx[j] - lx[j - 1])
            v = ly[j - 1] + f * (ly[j] - ly[j - 1])
        out.append(None if v is None else (10 ** v if logy else v))
    return out


def median_band(runs, yname, logy):
    """Common bits grid (every seed's x inside the range all seeds cover) and
    the median, min and max over seeds there."""
    series = []
    for r in runs:
        xs, ys = r.data.series("bits", yname)
        pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and math.isfinite(y)
               and (y > 0 or not logy)]
        if len(pts) < 1:
            return None
        series.append(([p[0] for p in pts], [p[1] for p in pts]))
    lo = max(s[0][0] for s in series)
    hi = min(s[0][-1] for s in series)
    if lo > hi:
        return None
    grid = sorted({x for s in series for x in s[0] if lo <= x <= hi})
    cols = [interp(xs, ys, grid, logy) for xs, ys in series]
    med, mn, mx = [], [], []
    for i in range(len(grid)):
        vals = [c[i] for c in cols]
        # On a log y axis the median of two seeds is their geometric mean.
        med.append(10 ** statistics.median(math.log10(v) for v in vals) if logy
                   else statistics.median(vals))
        mn.append(min(vals))
        mx.append(max(vals))
    return grid, med, mn, mx


class Figures:
    def __init__(self, methods, out, n_seeds, extra):
        all_runs = [r.data for m in methods for r in m.runs]
        self.pl = plot.Plotter(all_runs, "png", out, "log")
        self.plt, self.ticker = self.pl.plt, self.pl.ticker
        self.methods, self.out, self.extra = methods, out, extra
        self.n_seeds = n_seeds
        self.base_sub = self.pl.subtitle
        self.written = []

    def set_subtitle(self, what):
        """plot.py's subtitle (model · data · clients), then the sweep's shape
        and what the lines or bars show."""
        n = self.n_seeds
        sub = (f"{len(self.methods)} method{'s' if len(self.methods) != 1 else ''} × "
               f"{n} seed{'s' if n != 1 else ''}" + (f" ({what})" if n > 1 else ""))
        base = self.base_sub
        last = base.split("\n")[-1] if base else ""
        if base and len(last) + 5 + len(sub) <= 105:
            self.pl.subtitle = base + "  ·  " + sub
        else:
            self.pl.subtitle = (base + "\n" if base else "") + sub

    def save(self, fig, stem):
        path = os.path.join(self.out, f"{stem}.png")
        try:
            fig.savefig(path, dpi=160, metadata={"Software": "fedsim scripts/sweep.py"})
        except OSError as e:
            raise UserError(f"{path}: cannot write: {e.strerror or e}")
        finally:
            self.plt.close(fig)
        self.written.append(path)

    def target_lines(self, ax, targets, scale):
        import matplotlib.transforms as mtrans
        tr = mtrans.blended_transform_factory(ax.transAxes, ax.transData)
        for t in targets:
            y = t.value * scale
            ax.axhline(y, color="0.3", linestyle=(0, (1, 2.5)), linewidth=1.1, zorder=1)
            ax.text(0.005, y, f" target {t.name}", transform=tr, ha="left", va="bottom",
                    fontsize=8, color="0.3")

    def legend(self, ax, loc):
        """Inside the axes for a few methods; else to their right, in a
        figure made wider by as much."""
        if len(self.methods) > 6:
            ax.figure.set_size_inches(9.6, 4.9)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5)
        else:
            ax.legend(loc=loc)

    def curves(self, yname, stem, title, targets, logy):
        used = [m for m in self.methods if all(r.data.has(yname) for r in m.runs)]
        if not used:
            return
        self.set_subtitle("line: median over seeds, band: min–max")
        fig, ax = self.pl.new(title)
        self.pl.set_x(ax, "bits", [(0, r.data) for m in used for r in m.runs])
        scale = 1.0 if logy else 100.0
        drawn = False
        for m in used:
            mb = median_band(m.runs, yname, logy)
            if mb is None:
                warn(f"{m.label}: the seeds share no range of bits; left out of {stem}.png")
                continue
            grid, med, mn, mx = mb
            if yname == "test_acc":
                extra = f"  ({m.stats['acc_mean']:.1%} final)"
            else:
                extra = ""
            if len(m.runs) > 1:
                ax.fill_between(grid, [v * scale for v in mn], [v * scale for v in mx],
                                color=m.colour, alpha=0.14, linewidth=0, zorder=2)
            ax.plot(grid, [v * scale for v in med], color=m.colour, linestyle=m.linestyle,
                    label=m.label + extra, zorder=3, solid_capstyle="round")
            drawn = True
        if not drawn:
            self.plt.close(fig)
            return
        self.target_lines(ax, targets, scale)
        if logy:
            self.pl.log_y(ax)
            ax.set_ylabel(r"$\Vert\nabla f(x)\Vert^2$ on the training set (log scale)")
            self.legend(ax, "upper right")
        else:
            ax.set_ylabel("test accuracy")
            ax.yaxis.set_major_formatter(self.ticker.PercentFormatter(decimals=0))
            self.legend(ax, "lower right")
        self.save(fig, stem)

    def bars(self, t):
        """Median bits per client to reach t, one bar per method in the
        table's order, whiskers min-max, and what a bar means next to it."""
        import matplotlib.patheffects as pe
        ms = self.methods
        tk = self.ticker
        self.set_subtitle("bar: median over the seeds that reached it, whiskers: min–max")
        fig, ax = self.pl.new(f"Bits per client to reach {t.long}")
        n = len(ms)
        fig.set_size_inches(7.2, max(2.6, 1.4 + 0.42 * n))
        stats = [m.stats["targets"][t.col]["bits_total"] for m in ms]
        vals = [s for s in stats if s is not None]
        lo = min((s[1] for s in vals), default=1e3)
        hi = max((s[2] for s in vals), default=1e4)
        log = hi >= 10 * lo
        if log:
            ax.set_xscale("log")
            # Bars start at the 1-2-5 step at least 1.5 times below the least value.
            e = 10 ** math.floor(math.log10(lo / 1.5))
            left = max(c * e for c in (1, 2, 5) if c * e <= lo / 1.5)
            ax.set_xlim(left, hi * 1.3)
            ax.xaxis.set_minor_formatter(tk.NullFormatter())
        else:
            left = 0
            ax.set_xlim(0, hi * 1.05)
            ax.xaxis.set_major_locator(tk.MaxNLocator(nbins=5))
        ax.xaxis.set_major_formatter(tk.FuncFormatter(plot.bits_tick))
        notes = []   # (text, x it starts from)
        for y, m, s in zip(range(n), ms, stats):
            st = m.stats["targets"][t.col]
            nn = m.stats["n"]
            if s is None:
                what = (f" (best {m.stats['best_acc_mean']:.1%})" if t.kind == "test_acc"
                        else "")
                ax.annotate(f"not reached in {m.stats['rounds']} rounds{what}", (0, y),
                            xycoords=("axes fraction", "data"), xytext=(6, 0),
                            textcoords="offset points", va="center", ha="left",
                            fontsize=8.5, color="0.45", style="italic")
                continue
            med, mn, mx = s
            partial = st["reached"] < nn
            ax.barh(y, med - left, left=left, height=0.62, color=m.colour,
                    alpha=0.45 if partial else 0.85, hatch=m.hatch, edgecolor="white",
                    linewidth=0.6, zorder=2)
            if mn != mx:
                eb = ax.errorbar(med, y, xerr=[[med - mn], [mx - med]], fmt="none",
                                 ecolor="0.1", elinewidth=1.1, capsize=3.5, capthick=1.1,
                                 zorder=3)
                # A white rim keeps the whisker visible over a dark bar.
                for art in eb.lines[1] + eb.lines[2]:
                    art.set_path_effects([pe.Stroke(linewidth=3.2, foreground="white"),
                                          pe.Normal()])
            ann = bits_text(med)
            f = fewer(m, t, "bits_total")
            if m.baseline is m:
                ann += "  ·  baseline"
            elif f is not None:
                ann += "  ·  " + versus_dense(f)
            if partial:
                ann += f"  ·  {st['reached']}/{nn} seeds"
            notes.append((ax.annotate(ann, (mx, y), xytext=(5, 0), textcoords="offset points",
                                      va="center", ha="left", fontsize=8.5, color="0.15",
                                      annotation_clip=False), mx))
        ax.set_yticks(range(n))
        ax.set_yticklabels([m.label for m in ms])
        for lab, m in zip(ax.get_yticklabels(), ms):
            lab.set_color(m.colour if m.colour != "#000000" else "0.1")
        ax.set_ylim(n - 0.4, -0.6)
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("bits sent per client, uplink + downlink" + (" (log scale)" if log else ""))
        self.fit_notes(fig, ax, notes, log)
        if log:
            lo_x, hi_x = ax.get_xlim()
            # Under three decades, label 1, 2 and 5 of each; else decades only.
            subs = (1, 2, 5) if hi_x < 1000 * lo_x else (1.0,)
            ax.xaxis.set_major_locator(tk.LogLocator(base=10, subs=subs))
        self.save(fig, "bits_to_target")

    @staticmethod
    def fit_notes(fig, ax, notes, log):
        """Set the right end of the x axis so that every note right of a
        whisker fits inside (measured: the layout settles over a few draws)."""
        fwd = math.log10 if log else (lambda v: v)
        inv = (lambda v: 10 ** v) if log else (lambda v: v)
        base = fwd(ax.get_xlim()[1])
        for _ in range(5):
            fig.canvas.draw()
            width = ax.get_window_extent().width
            lo, hi = (fwd(v) for v in ax.get_xlim())
            need = base
            for art, x in notes:
                frac = max(0.25, 1 - (art.get_window_extent().width + 12 * fig.dpi / 72) / width)
                need = max(need, lo + (fwd(x) - lo) / frac)
            if abs(need - hi) <= 1e-3 * abs(hi - lo):
                break
            ax.set_xlim(inv(lo), inv(need))


# ---------------------------------------------------------------- main

def main(argv):
    args = parse_args(argv)
    grid = parse_grid(args.grid)
    sets = parse_sets(args.set, grid)
    seeds = parse_seeds(args.seeds)
    targets = parse_targets("--targets", args.targets, 0, 1) if args.targets else None
    grad_targets = (parse_targets("--grad-targets", args.grad_targets, 0, 1e300)
                    if args.grad_targets else None)
    setkeys = {k for k, _ in sets}
    if targets is not None and "eval.targets" in setkeys:
        raise UserError("give the accuracy targets either with --targets or with "
                        "--set eval.targets, not both")
    if grad_targets is not None and "eval.grad_targets" in setkeys:
        raise UserError("give the gradient targets either with --grad-targets or with "
                        "--set eval.grad_targets, not both")
    if args.config is not None:
        if not os.path.exists(args.config):
            raise UserError(f"--config {args.config}: no such file")
        if not os.path.isfile(args.config):
            raise UserError(f"--config {args.config}: not a file")
        try:
            with open(args.config, "rb"):
                pass
        except OSError as e:
            raise UserError(f"--config {args.config}: cannot read: {e.strerror}")
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: must be at least 1")
    if args.mpi is not None and args.mpi < 1:
        raise UserError(f"--mpi {args.mpi}: must be at least 1")
    fedsim = find_fedsim(args.fedsim)
    prefix = []
    if args.mpi:
        mpirun = shutil.which("mpirun")
        if mpirun is None:
            raise UserError("--mpi: mpirun not found (apt-get install openmpi-bin)")
        prefix = [mpirun, "-n", str(args.mpi), "--oversubscribe"]
    if importlib.util.find_spec("matplotlib") is None:
        raise UserError("needs matplotlib: apt-get install python3-matplotlib, and run "
                        "the script with /usr/bin/python3")
    cores = os.cpu_count() or 1
    jobs = args.jobs or max(1, cores // args.mpi if args.mpi else cores)

    out = args.out
    runs_dir = os.path.join(out, "runs")
    try:
        os.makedirs(runs_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create folder: {e.strerror or e}")

    # Without a base file, every option not in --grid or --set has fedsim's
    # default: labels and folder names can say so before the runs.
    defaults = fedsim_defaults(fedsim)
    methods, extra = build_methods(grid, sets, {} if args.config else defaults)
    dropped = math.prod(len(v) for _, v in grid) - len(methods)
    if dropped:
        note(f"{dropped} grid point(s) differ only in a parameter their compressor "
             "ignores (e.g. compress.up_ratio for identity): each such run is made once")

    key_common = {
        "fedsim_sha256": sha256_file(fedsim),
        "config_sha256": sha256_file(args.config) if args.config else None,
    }
    runs = []
    for seed in seeds:          # seed-major: every method's first seed first
        for m in methods:
            r = Run(m, seed, os.path.join(runs_dir, f"{m.slug}-s{seed}"))
            r.argv = fedsim_args(r, args.config, sets, targets, grad_targets)
            r.key = dict(key_common, args=r.argv)
            m.runs.append(r)
            runs.append(r)
    todo = []
    for r in runs:
        if not args.rerun and finished_before(r):
            r.reused = True
        else:
            todo.append(r)
    reused = len(runs) - len(todo)
    note(f"{len(runs)} run{'s' if len(runs) != 1 else ''}: {len(methods)} method{'s' if len(methods) != 1 else ''} "
         f"× {len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
         + (f"; {reused} already finished, reused (--rerun runs them again)" if reused else "")
         + (f"; {min(jobs, len(todo))} at a time" if todo else ""))
    Scheduler(todo, jobs, prefix, fedsim, args.skip_invalid, len(todo)).run()

    invalid = [m for m in methods if m.invalid]
    methods = [m for m in methods if not m.invalid]
    if not methods:
        raise UserError("fedsim rejected every grid point: " + invalid[0].invalid)

    # Read the runs back and label the methods from their resolved configuration.
    for m in methods:
        for r in m.runs:
            r.data = plot.Run(r.folder)
            if r.data.summary is None:
                raise UserError(f"{r.folder}/summary.json: missing")
            if not r.data.clients_num:
                raise UserError(f"{r.folder}/summary.json: no config.clients.num")
        m.resolved = flat(m.runs[0].data.summary.get("config"))
        m.label = method_label(m.resolved, extra)
        for r in m.runs:
            r.data.label = m.label
    groups = {}
    for m in methods:
        groups.setdefault(m.label, []).append(m)
    for same in groups.values():   # grid points with the same label: say what differs
        if len(same) < 2:
            continue
        keys = [k for k, _ in grid
                if len({dict(m.point).get(k) for m in same}) > 1]
        for m in same:
            pt = dict(m.point)
            m.label += "  ·  " + ", ".join(f"{k}={pt.get(k, '(base)')}" for k in keys)

    first_sum = methods[0].runs[0].data.summary
    bt = first_sum.get("bits_to_target") or {}
    tlist = [Target("test_acc", e["target"]) for e in bt.get("test_acc") or []]
    tlist += [Target("grad_norm_sq", e["threshold"]) for e in bt.get("grad_norm_sq") or []]
    has_gn = any(r.data.has("grad_norm_sq") for m in methods for r in m.runs)
    if grad_targets and not has_gn:
        warn("--grad-targets: the runs did not measure ||grad f||^2 "
             "(eval.grad_norm; by default only for small models), so none is reached")
    if not tlist:
        warn("no targets (--targets / --grad-targets): the table has final accuracies only")
    for m in methods:
        m.stats = summarise(m, tlist)
    first = tlist[0] if tlist else None
    methods.sort(key=lambda m: sort_key(m, first))
    find_baselines(methods, extra)
    has_base = any(m.baseline is not None for m in methods)
    assign_styles(methods, extra)

    rounds = sorted({m.stats["rounds"] for m in methods})
    setup = []
    desc = plot.subtitle([r.data for m in methods for r in m.runs]).replace("\n", "  ·  ")
    if desc:
        setup.append(desc + f"  ·  {', '.join(str(int(x)) for x in rounds)} rounds")
    g = "  ×  ".join(f"{k} ∈ {{{', '.join(v)}}}" for k, v in grid) or "(no grid)"
    setup.append(f"Grid: {g}; seeds {', '.join(map(str, seeds))}.")
    cmdline = "Base: " + (f"`{args.config}`" if args.config else "fedsim defaults")
    if sets:
        cmdline += " with " + ", ".join(f"`{k}={v}`" for k, v in sets)
    setup.append(cmdline + ".")
    ctx = {"setup": "  \n".join(setup), "rounds": ", ".join(str(int(x)) for x in rounds),
           "invalid": invalid}
    md_path, csv_path = os.path.join(out, "table.md"), os.path.join(out, "table.csv")
    try:
        text = write_md(md_path, methods, tlist, seeds, has_base, ctx)
        write_csv(csv_path, methods, tlist, [k for k, _ in grid], has_base)
        with open(os.path.join(out, "sweep.json"), "w", encoding="utf-8") as f:
            json.dump({
                "command": [os.path.relpath(sys.argv[0])] + list(argv),
                "fedsim": fedsim, "config": args.config, "set": sets,
                "grid": [[k, v] for k, v in grid], "seeds": seeds,
                "methods": [{"label": m.label, "point": m.point,
                             "runs": [r.folder for r in m.runs]} for m in methods],
                "rejected": [{"label": m.label, "message": m.invalid} for m in invalid],
            }, f, indent=1, ensure_ascii=False)
            f.write("\n")
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror or e}")

    figs = Figures(methods, out, len(seeds), extra)
    acc_t = [t for t in tlist if t.kind == "test_acc"]
    gn_t = [t for t in tlist if t.kind == "grad_norm_sq"]
    figs.curves("test_acc", "accuracy_vs_bits", "Test accuracy vs. bits sent per client",
                acc_t, logy=False)
    if has_gn:
        figs.curves("grad_norm_sq", "gradnorm_vs_bits",
                    r"Squared gradient norm $\Vert\nabla f(x)\Vert^2$ vs. bits sent per client",
                    gn_t, logy=True)
    if first is not None:
        figs.bars(first)

    print(text, end="")
    print()
    for p in [md_path, csv_path] + figs.written:
        print(p)
    return 0


if __name__ == "__main__":
    # The runs live in their own sessions (so that one signal reaches all of
    # mpirun's ranks): on the way out, whatever the cause, they are stopped.
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        sys.exit(main(sys.argv[1:]))
    except UserError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except RunFailed as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the runs it started were stopped", file=sys.stderr)
        sys.exit(130)
    except Stopped as e:
        print(f"{PROG}: {e}; the runs it started were stopped", file=sys.stderr)
        sys.exit(128 + getattr(signal, str(e), signal.SIGTERM))
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
