#!/usr/bin/python3
"""Draw the figures of one or several fedsim run folders.

    scripts/plot.py RUN_DIR [RUN_DIR ...] [--out DIR] [--labels a,b] [--format png|pdf|svg]

Each run folder holds metrics.csv (one row per aggregation) and summary.json.
The figures show test accuracy, test and train loss and, when the runs have
it, ||grad f||^2 against rounds, virtual time and bits sent per client.
Several runs are overlaid on the same axes. See docs/plots.md.

Runs with Debian's /usr/bin/python3 and python3-matplotlib.
"""

import argparse
import csv
import importlib.util
import json
import math
import os
import re
import sys

COLUMNS = ["round", "vtime_s", "wall_s", "clients", "bits_up", "bits_down",
           "bits_up_cum", "bits_down_cum", "train_loss", "test_loss",
           "test_acc", "grad_norm_sq", "bits_up_paper_cum", "staleness_mean",
           "staleness_max", "epsilon", "rejected_nonfinite", "gc_load",
           "gc_stragglers", "gc_exact", "bits_secagg", "secagg_ms",
           "rejected_frames"]
# Columns added after the first version: older run folders lack them.
OPTIONAL = ["bits_up_paper_cum", "staleness_mean", "staleness_max", "epsilon",
            "rejected_nonfinite", "gc_load", "gc_stragglers", "gc_exact",
            "bits_secagg", "secagg_ms", "rejected_frames"]
# Columns every row must fill; the others may be empty (rows not evaluated,
# or no gradient norm at all).
REQUIRED = COLUMNS[:8]

# Okabe-Ito: tells colours apart for colour-blind readers too.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
           "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
MAX_MARKERS = 50  # per line; with more evaluated rows, markers are thinned (thin_marks)


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit 2."""


def warn(msg):
    print(f"plot.py: warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------- reading

class Run:
    def __init__(self, folder):
        self.folder = folder
        self.metrics_path = os.path.join(folder, "metrics.csv")
        self.summary_path = os.path.join(folder, "summary.json")
        self.rows = read_metrics(self.metrics_path)
        self.summary = read_summary(self.summary_path)
        cfg = self.summary.get("config", {}) if self.summary else {}
        self.name = str(cfg.get("run", {}).get("name") or "")
        self.clients_num = None
        n = cfg.get("clients", {}).get("num")
        if isinstance(n, (int, float)) and n > 0:
            self.clients_num = n
        elif self.summary is not None:
            warn(f"{self.summary_path}: no config.clients.num; "
                 "this run is left out of the figures against bits")
        self.label = None

    def col(self, name):
        return [r[name] for r in self.rows]

    def series(self, xname, yname):
        """(x, y) over the rows where y was recorded."""
        xs, ys = [], []
        for r in self.rows:
            y = r[yname]
            if y is None:
                continue
            x = self.x_of(r, xname)
            if x is None:
                continue
            xs.append(x)
            ys.append(y)
        return xs, ys

    def x_of(self, r, xname):
        if xname == "round":
            return r["round"]
        if xname == "time":
            return r["vtime_s"]
        if self.clients_num is None:
            return None
        if xname == "bits":
            return (r["bits_up_cum"] + r["bits_down_cum"]) / self.clients_num
        if xname == "bits_up":
            return r["bits_up_cum"] / self.clients_num
        raise ValueError(xname)

    def has(self, yname):
        return any(r[yname] is not None for r in self.rows)

    def describe(self):
        """Model, data and clients for the subtitle (None when unknown)."""
        s = self.summary or {}
        cfg = s.get("config", {})
        model = data = clients = None
        m = s.get("model", {})
        if m.get("type"):
            model = str(m["type"])
            if isinstance(m.get("parameters"), (int, float)):
                model += f" ({int(m['parameters']):,} parameters)"
        d = s.get("data", {})
        if d.get("source"):
            data = short_source(str(d["source"]))
        c = cfg.get("clients", {})
        if c.get("num") is not None:
            clients = f"{c['num']} clients"
            if c.get("per_round") is not None:
                clients += f", {c['per_round']} per round"
        return model, data, clients


def short_source(src):
    """'libsvm (/data/a9a.txt)' -> 'libsvm (a9a.txt)';
    'fashion-mnist (/usr/share/datasets/fashion-mnist)' -> 'fashion-mnist'."""
    m = re.fullmatch(r"(fashion-mnist|libsvm|idx) \((.*)\)", src)
    if not m:
        return src
    kind, base = m.group(1), os.path.basename(m.group(2).rstrip("/"))
    return kind if base in ("", kind) else f"{kind} ({base})"


def read_metrics(path):
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UserError(f"{folder}: no such folder")
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file (is {folder} a fedsim run folder?)")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror}")
    if not raw.strip():
        raise UserError(f"{path}: file is empty")
    if b"\0" in raw:
        raise UserError(f"{path}: not a CSV text file (it holds NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a CSV text file (not UTF-8)")
    lines = text.splitlines()
    # The run may still be going: a last line without its newline is a row
    # being written, which is ignored if it does not parse.
    partial_last = not text.endswith("\n")
    try:
        table = list(csv.reader(lines))
    except csv.Error as e:
        raise UserError(f"{path}: not a valid CSV file: {e}")
    header = [h.strip() for h in table[0]]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        # Newer fedsim versions add columns (epsilon, staleness, ...): plot
        # what this script knows and say what it leaves out.
        warn(f"{path}: ignoring column(s) {', '.join(repr(u) for u in unknown)} "
             f"that this script does not plot")
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL]
    if missing:
        raise UserError(f"{path}: header lacks column(s) {', '.join(missing)}; "
                        f"expected: {','.join(COLUMNS)}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise UserError(f"{path}: column(s) {', '.join(dup)} appear twice in the header")
    index = {h: i for i, h in enumerate(header) if h in COLUMNS}
    rows = []
    body = table[1:]
    for n, fields in enumerate(body, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue  # blank line
        try:
            rows.append(parse_row(fields, index, len(header)))
        except ValueError as e:
            if partial_last and n == len(table):
                warn(f"{path}: ignoring the unfinished last line {n}")
                break
            raise UserError(f"{path}: line {n}: {e}")
        if len(rows) > 1 and rows[-1]["round"] <= rows[-2]["round"]:
            raise UserError(f"{path}: line {n}: round {rows[-1]['round']:g} "
                            f"does not follow round {rows[-2]['round']:g}")
    if not rows:
        raise UserError(f"{path}: no rows after the header")
    return rows


def parse_row(fields, index, width):
    if len(fields) != width:
        raise ValueError(f"{len(fields)} fields, expected {width}")
    row = {}
    for name, i in index.items():
        v = fields[i].strip()
        if v == "":
            if name in REQUIRED:
                raise ValueError(f"column {name} is empty")
            row[name] = None
            continue
        try:
            x = float(v)
        except ValueError:
            raise ValueError(f"column {name}: {v!r} is not a number")
        if name in REQUIRED and not math.isfinite(x):
            raise ValueError(f"column {name}: {v!r} is not a finite number")
        row[name] = x
    return row


def read_summary(path):
    if not os.path.exists(path):
        warn(f"{path}: no such file (run not finished?); no bits per client "
             "and no model/data in the subtitle for this run")
        return None
    try:
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}")
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON: {e}")
    if not isinstance(s, dict):
        raise UserError(f"{path}: not a fedsim summary (expected a JSON object)")
    for key in ("config", "model", "data", "final"):
        if key in s and not isinstance(s[key], dict):
            raise UserError(f"{path}: '{key}' is not a JSON object")
    return s


def run_folder(arg):
    """A run folder from the command line (metrics.csv itself is accepted)."""
    if os.path.isfile(arg) and os.path.basename(arg) == "metrics.csv":
        return os.path.dirname(arg) or "."
    if not os.path.exists(arg):
        raise UserError(f"{arg}: no such folder")
    if not os.path.isdir(arg):
        raise UserError(f"{arg}: not a folder (give the run folder that holds metrics.csv)")
    return arg


def make_labels(runs, labels_arg):
    if labels_arg is not None:
        labels = [s.strip() for s in labels_arg.split(",")]
        if len(labels) != len(runs):
            raise UserError(f"--labels: {len(labels)} label(s) for {len(runs)} run(s)")
        return labels
    names = [r.name or os.path.basename(os.path.normpath(r.folder)) for r in runs]
    if len(set(names)) == len(names):
        return names
    # Same run names (e.g. the default 'fedsim'): tell them apart by folder.
    base = [os.path.basename(os.path.abspath(r.folder)) for r in runs]
    if len(set(base)) == len(base):
        return base
    return [os.path.normpath(r.folder) for r in runs]


# ---------------------------------------------------------------- units

SI = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")]


def si_prefix(v):
    for scale, p in SI:
        if abs(v) >= scale:
            return scale, p
    return 1, ""


def bits_tick(v, _pos=None):
    if v == 0:
        return "0"
    scale, p = si_prefix(v)
    return f"{v / scale:.3g} {p}bit"


def time_unit(tmax):
    if tmax >= 2 * 3600:
        return 3600.0, "h"
    if tmax >= 120:
        return 60.0, "min"
    return 1.0, "s"


# ---------------------------------------------------------------- figures

XAXES = {
    "round": "round",
    "time": "virtual time",
    "bits": "bits sent per client, uplink + downlink",
    "bits_up": "bits sent per client, uplink only",
}
XTITLE = {
    "round": "rounds",
    "time": "virtual time",
    "bits": "communication",
    "bits_up": "uplink communication",
}


class Plotter:
    def __init__(self, runs, fmt, out, bits_axis):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
        self.plt, self.ticker = plt, ticker
        self.runs, self.fmt, self.out = runs, fmt, out
        self.bits_axis = bits_axis
        self.subtitle = subtitle(runs)
        self.written = []
        plt.rcParams.update({
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "0.88",
            "grid.linewidth": 0.7,
            "axes.axisbelow": True,
            "legend.frameon": True,
            "legend.framealpha": 0.85,
            "legend.edgecolor": "none",
            "legend.fontsize": 9,
            "lines.linewidth": 1.8,
            "lines.markersize": 5,
            "svg.hashsalt": "fedsim",
        })

    def style(self, i):
        return COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]

    def new(self, title):
        fig, ax = self.plt.subplots(figsize=(7.2, 4.6), layout="constrained")
        fig.suptitle(title, x=0.02, ha="left", fontsize=12, fontweight="bold")
        if self.subtitle:
            ax.set_title(self.subtitle, loc="left", color="0.35", fontsize=9, pad=8)
        return fig, ax

    def runs_for(self, xname, yname):
        return [(i, r) for i, r in enumerate(self.runs)
                if r.has(yname) and (xname in ("round", "time") or r.clients_num)]

    def set_x(self, ax, xname, used):
        """Scale, ticks and label of the x axis; returns a transform of x."""
        t = self.ticker
        if xname == "round":
            ax.set_xlabel("round")
            ax.xaxis.set_major_locator(t.MaxNLocator(integer=True))
            return lambda x: x, False
        if xname == "time":
            tmax = max((max(r.col("vtime_s")) for _, r in used), default=1.0)
            scale, unit = time_unit(tmax)
            ax.set_xlabel(f"virtual time ({unit})")
            return (lambda x: x / scale), False
        # bits
        finals = []
        for _, r in used:
            xs = [r.x_of(row, xname) for row in r.rows]
            pos = [x for x in xs if x > 0]
            if pos:
                finals.append((min(pos), max(pos)))
        log = False
        if self.bits_axis == "log":
            log = True
        elif self.bits_axis == "auto" and len(finals) > 1:
            # Log when the runs' communication differs by an order of
            # magnitude: on a linear axis the frugal run would hug zero.
            ends = [hi for _, hi in finals]
            log = max(ends) >= 10 * min(ends)
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(t.FuncFormatter(bits_tick))
            lo = min((lo for lo, _ in finals), default=1)
            hi = max((hi for _, hi in finals), default=10)
            if hi < 1000 * lo:  # under three decades: label 1, 2, 5 too
                ax.xaxis.set_major_locator(t.LogLocator(base=10, subs=(1, 2, 5)))
                ax.xaxis.set_minor_formatter(t.NullFormatter())
            ax.set_xlabel(XAXES[xname] + " (log scale)")
            return (lambda x: x), True
        hi = max((hi for _, hi in finals), default=1)
        scale, p = si_prefix(hi)
        ax.set_xlabel(f"{XAXES[xname]} ({p}bit)")
        return (lambda x: x / scale), False

    def log_y(self, ax):
        """Log y axis; under three decades, ticks read 0.3, 0.5, 1, not 3e-1."""
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        if lo > 0 and hi < 1000 * lo:
            t = self.ticker

            class Plain(t.LogFormatter):
                def _num_to_string(self, x, vmin, vmax):
                    return f"{x:.3g}"

            ax.yaxis.set_major_formatter(Plain())
            ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False,
                                               minor_thresholds=(3, 1)))

    def plot_line(self, ax, i, xs, ys, xf, logx, label, dashed=False, marker=True):
        colour, mk = self.style(i)
        pts = [(xf(x), y) for x, y in zip(xs, ys) if not (logx and x <= 0)]
        if not pts:
            return None
        px, py = zip(*pts)
        marks = thin_marks(px, logx)
        # clip_on=False: the round-0 marker sits on the y axis, drawn whole.
        kw = dict(color=colour, label=label, clip_on=False)
        if marker:
            kw.update(marker=mk, markevery=marks, markeredgecolor="white",
                      markeredgewidth=0.6)
        if dashed:
            kw.update(linestyle=(0, (4, 2)), linewidth=1.4, alpha=0.85)
        (line,) = ax.plot(px, py, **kw)
        return line

    def accuracy(self, xname):
        used = self.runs_for(xname, "test_acc")
        if not used:
            return
        fig, ax = self.new(f"Test accuracy vs. {XTITLE[xname]}")
        xf, logx = self.set_x(ax, xname, used)
        for i, r in used:
            xs, ys = r.series(xname, "test_acc")
            final = ys[-1] if ys else float("nan")
            self.plot_line(ax, i, xs, [100 * y for y in ys], xf, logx,
                           f"{r.label}  ({final:.1%} final)")
        ax.set_ylabel("test accuracy")
        ax.yaxis.set_major_formatter(self.ticker.PercentFormatter(decimals=0))
        ax.legend(loc="best")
        self.save(fig, f"acc_vs_{xname}")

    def loss(self, xname):
        used = self.runs_for(xname, "test_loss")
        if not used:
            return
        fig, ax = self.new(f"Loss vs. {XTITLE[xname]}")
        xf, logx = self.set_x(ax, xname, used)
        lo, hi = math.inf, 0.0
        for i, r in used:
            xs, ys = r.series(xname, "test_loss")
            self.plot_line(ax, i, xs, ys, xf, logx, r.label)
            tx, ty = r.series(xname, "train_loss")
            self.plot_line(ax, i, tx, ty, xf, logx, None, dashed=True, marker=False)
            for v in ys + ty:
                if math.isfinite(v) and v > 0:
                    lo, hi = min(lo, v), max(hi, v)
        if lo < math.inf and hi > 30 * lo:
            self.log_y(ax)
            ax.set_ylabel("loss (log scale)")
        else:
            ax.set_ylabel("loss")
        # Runs by colour, then what solid and dashed mean.
        Line2D = self.plt.Line2D
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.3", marker="o", markersize=4),
                    Line2D([], [], color="0.3", linestyle=(0, (4, 2)), linewidth=1.4)]
        labels += ["test loss", "train loss"]
        ax.legend(handles, labels, loc="best")
        self.save(fig, f"loss_vs_{xname}")

    def grad_norm(self, xname):
        used = self.runs_for(xname, "grad_norm_sq")
        if not used:
            return
        fig, ax = self.new(r"Squared gradient norm $\Vert\nabla f(x)\Vert^2$ vs. " + XTITLE[xname])
        xf, logx = self.set_x(ax, xname, used)
        for i, r in used:
            xs, ys = r.series(xname, "grad_norm_sq")
            self.plot_line(ax, i, xs, ys, xf, logx, r.label)
        self.log_y(ax)
        ax.set_ylabel(r"$\Vert\nabla f(x)\Vert^2$ on the training set (log scale)")
        ax.legend(loc="best")
        self.save(fig, f"gradnorm_vs_{xname}")

    def save(self, fig, stem):
        for ax in fig.axes:
            if ax.get_xscale() == "linear":
                ax.set_xlim(left=0)
        path = os.path.join(self.out, f"{stem}.{self.fmt}")
        meta = {"Creator": "fedsim scripts/plot.py"}
        if self.fmt == "png":
            meta["Software"] = meta.pop("Creator")
        elif self.fmt in ("pdf", "svg"):
            meta["Date"] = None
        try:
            fig.savefig(path, dpi=160, metadata=meta)
        except OSError as e:
            raise UserError(f"{path}: cannot write: {e.strerror or e}")
        finally:
            self.plt.close(fig)
        self.written.append(path)


def thin_marks(xs, logx):
    """Indices of the points that get a marker: all of them, or on a long
    run about MAX_MARKERS spread evenly along the x axis as drawn (log or
    not), always with the first and the last."""
    n = len(xs)
    if n <= MAX_MARKERS:
        return list(range(n))
    t = [math.log10(x) for x in xs] if logx else list(xs)
    step = (t[-1] - t[0]) / MAX_MARKERS
    marks = [0]
    for i in range(1, n - 1):
        if t[i] - t[marks[-1]] >= step and t[-1] - t[i] >= step / 2:
            marks.append(i)
    marks.append(n - 1)
    return marks


def subtitle(runs):
    """Model · data · clients; a part that differs between runs lists each value."""
    parts = []
    descs = [r.describe() for r in runs]
    for k in range(3):
        vals = []
        for d in descs:
            if d[k] is not None and d[k] not in vals:
                vals.append(d[k])
        if not vals:
            continue
        if len(vals) > 3:
            parts.append(["various models", "various data", "various client counts"][k])
        else:
            parts.append(" / ".join(vals))
    # One line if it fits the figure, else break between parts.
    lines = []
    for p in parts:
        if lines and len(lines[-1]) + 5 + len(p) <= 105:
            lines[-1] += "  ·  " + p
        else:
            lines.append(p)
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="plot.py",
        description="Draw accuracy, loss and gradient-norm figures of fedsim run "
                    "folders, against rounds, virtual time and bits per client. "
                    "Several runs are overlaid. See docs/plots.md.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR",
                   help="run folder(s) holding metrics.csv and summary.json")
    p.add_argument("--out", metavar="DIR",
                   help="where to write the figures (default: the run folder "
                        "for one run, else the current folder)")
    p.add_argument("--labels", metavar="A,B,...",
                   help="legend labels, one per run (default: each run's name)")
    p.add_argument("--format", default="png", choices=["png", "pdf", "svg"],
                   help="file format (default: png)")
    p.add_argument("--bits-axis", default="auto", choices=["auto", "log", "linear"],
                   help="x scale of the figures against bits (auto: log when "
                        "the runs' communication differs tenfold or more)")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    folders = [run_folder(a) for a in args.runs]
    runs = [Run(f) for f in folders]
    for r, lab in zip(runs, make_labels(runs, args.labels)):
        r.label = lab
    out = args.out or (folders[0] if len(folders) == 1 else ".")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create folder: {e.strerror or e}")
    if not os.path.isdir(out):
        raise UserError(f"{out}: not a folder")
    if importlib.util.find_spec("matplotlib") is None:
        print("plot.py: needs matplotlib: apt-get install python3-matplotlib, "
              "and run the script with /usr/bin/python3", file=sys.stderr)
        return 1
    pl = Plotter(runs, args.format, out, args.bits_axis)
    xaxes = ["round", "time", "bits", "bits_up"]
    for x in xaxes:
        pl.accuracy(x)
    for x in xaxes:
        pl.loss(x)
    for x in ["round", "bits"]:
        pl.grad_norm(x)
    if not any(r.clients_num for r in runs):
        warn("no run has summary.json with config.clients.num: no figures against bits")
    for path in pl.written:
        print(path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UserError as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
