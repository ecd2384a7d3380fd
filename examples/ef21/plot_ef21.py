#!/usr/bin/python3
"""Figures and tables of the EF21 reproduction (examples/ef21/reproduce.sh).

    examples/ef21/plot_ef21.py OUT_DIR [--k K]

OUT_DIR/runs/<data set>/<method>-k<k>-f<factor>/ are fedsim run folders
(metrics.csv, summary.json; a file DIVERGED marks a run that diverged, a
file WORSE one after which reproduce.sh stopped trying larger factors).
Per (data set, method, k) the script keeps the factor whose run did not
diverge and has the smallest final ||grad f||^2; values below FLOOR (1e-12,
where float32 arithmetic stops the decrease: the model no longer changes)
count as equal, and then the run that got below FLOOR in fewer rounds wins.

It writes, in OUT_DIR:
  fig/k<K>_<ds>.png        ||grad f(x^t)||^2 against bits per client, the
                           methods at k = K (default 1) and GD, real bits
                           (left) and the paper's convention (right)
  fig/ef21_allk_<ds>.png   EF21 for every k, both conventions
  fig/overview_k<K>.png    all data sets, paper convention (top) and real
                           bits (bottom)
  fig/*_linear.png         the same with a linear bits axis, as in the paper,
                           cut at the compressed methods' budget
  table.md                 best factor, final ||grad f||^2, bits per client to
                           reach 1e-4 and 1e-6 (both conventions), the
                           overhead of real frames over the paper's count
  table_all.csv            the same for every (data set, method, k), with the
                           final value of every factor tried and where the
                           sweep stopped
Runs with Debian's /usr/bin/python3 and python3-matplotlib.
"""

import argparse
import csv
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FLOOR = 1e-12
THRESHOLDS = (1e-4, 1e-6)
METHODS = ["ef21", "ef21w", "ef14", "gd"]
LABEL = {"ef21": "EF21", "ef21w": "EF21-W", "ef14": "EF14", "gd": "GD (no compression)"}
# Okabe-Ito colours, as in scripts/plot.py.
COLOUR = {"ef21": "#0072B2", "ef21w": "#009E73", "ef14": "#D55E00", "gd": "#000000"}
STYLE = {"ef21": "-", "ef21w": "--", "ef14": "-.", "gd": ":"}
K_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
             "#000000", "#F0E442"]
DATASETS = ["a9a", "mushrooms", "phishing", "w8a"]


def num(s):
    try:
        return float(s)
    except ValueError:
        return float("nan")


class Run:
    def __init__(self, folder, method, k, factor):
        self.folder, self.method, self.k, self.factor = folder, method, k, factor
        with open(os.path.join(folder, "summary.json")) as f:
            self.summary = json.load(f)
        self.n = self.summary["config"]["clients"]["num"]
        self.rounds, self.gn, self.real, self.paper = [], [], [], []
        with open(os.path.join(folder, "metrics.csv")) as f:
            for r in csv.DictReader(f):
                if r["grad_norm_sq"] == "":
                    continue
                self.rounds.append(int(r["round"]))
                self.gn.append(num(r["grad_norm_sq"]))
                self.real.append(int(r["bits_up_cum"]) / self.n)
                self.paper.append(int(r["bits_up_paper_cum"]) / self.n)
        self.diverged = os.path.exists(os.path.join(folder, "DIVERGED"))
        self.worse = os.path.exists(os.path.join(folder, "WORSE"))
        self.final = self.gn[-1]
        self.floor_round = next((t for t, g in zip(self.rounds, self.gn) if g <= FLOOR),
                                math.inf)

    def key(self):
        f = self.final if math.isfinite(self.final) else math.inf
        return (max(f, FLOOR), self.floor_round, self.factor)

    def reach(self, thr):
        """(round, real bits, paper bits) per client at the first evaluation
        with ||grad f||^2 <= thr, or None."""
        for t, g, a, b in zip(self.rounds, self.gn, self.real, self.paper):
            if g <= thr:
                return t, a, b
        return None

    def comm(self, name):
        return self.summary["communication"].get(name)


def load(out):
    runs = {}  # (ds, method, k) -> [Run]
    base = os.path.join(out, "runs")
    if not os.path.isdir(base):
        sys.exit(f"plot_ef21.py: {base}: no such folder (run reproduce.sh first)")
    pat = re.compile(r"(ef21|ef21w|ef14|gd)-k(\d+)-f([0-9.]+)$")
    for ds in sorted(os.listdir(base)):
        for name in sorted(os.listdir(os.path.join(base, ds))):
            m = pat.match(name)
            folder = os.path.join(base, ds, name)
            if not m or not os.path.isfile(os.path.join(folder, "summary.json")):
                continue
            r = Run(folder, m.group(1), int(m.group(2)), float(m.group(3)))
            runs.setdefault((ds, r.method, r.k), []).append(r)
    if not runs:
        sys.exit(f"plot_ef21.py: no finished runs under {base}")
    return runs


def best_of(runs):
    ok = [r for r in runs if not r.diverged]
    return min(ok, key=Run.key) if ok else None


def fmt_f(f):
    return f"{f:g}"


def fmt_bits(x):
    if x is None:
        return "—"
    return f"{x:.3g}"


XSCALE = "log"
SUFFIX = ""


def positive(xs, ys):
    xmin = 0 if XSCALE == "linear" else 1e-300
    pts = [(x, y) for x, y in zip(xs, ys) if x >= xmin and y > 0 and math.isfinite(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


YMIN = 1e-14  # the figures' floor: below, float32 noise (see FLOOR)


def draw(ax, run, conv, label, colour, style):
    xs = run.real if conv == "real" else run.paper
    x, y = positive(xs, run.gn)
    ax.plot(x, y, style, color=colour, label=label, lw=1.6)
    # How far right the curve is worth showing: until it drops below YMIN.
    end = next((a for a, b in zip(x, y) if b < YMIN), x[-1] if x else 0)
    ax._ef21_right = max(getattr(ax, "_ef21_right", 0), end)


def setup_axes(ax, conv, title):
    ax.set_xscale(XSCALE)
    ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.1)
    if conv == "real":
        ax.set_xlabel("bits sent per client, real frames (bits_up_cum / n)")
    else:
        ax.set_xlabel("bits sent per client, paper's count (t·k·32)")
    ax.set_ylabel(r"$\|\nabla f(x^t)\|^2$")
    ax.set_title(title, fontsize=10)


def xlim_linear(ax, runs, conv):
    """Linear axes: stop at the largest budget among runs (as the paper's
    figures stop at the compressed methods' budget)."""
    if XSCALE == "linear":
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    if XSCALE == "linear" and runs:
        right = max((r.real if conv == "real" else r.paper)[-1] for r in runs)
        ax.set_xlim(0, right * 1.02)


def legend_loc():
    """Where the curves are not: they fall from the upper left."""
    return "lower left" if XSCALE == "log" else "upper right"


def ylim_of(ax, lo_cap=YMIN):
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, lo_cap), hi)
    if XSCALE == "log" and getattr(ax, "_ef21_right", 0) > 0:
        left, right = ax.get_xlim()
        ax.set_xlim(left, min(right, ax._ef21_right * 1.5))


def fig_methods(runs, best, ds, K, out):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    d = None
    for conv, ax in zip(("real", "paper"), axes):
        for m in METHODS:
            if m == "gd":
                keys = [key for key in best if key[0] == ds and key[1] == "gd"]
                r = best[keys[0]] if keys else None
                d = keys[0][2] if keys else d
            else:
                r = best.get((ds, m, K))
            if r is None:
                continue
            lab = f"{LABEL[m]}, ×{fmt_f(r.factor)}"
            draw(ax, r, conv, lab, COLOUR[m], STYLE[m])
        setup_axes(ax, conv, "real bits: frames with headers, indices and the "
                   "first full round" if conv == "real" else
                   "paper's convention: 32 bits per value, no first round")
        xlim_linear(ax, [best[(ds, m, K)] for m in METHODS if (ds, m, K) in best], conv)
        ylim_of(ax)
        ax.legend(fontsize=8, loc=legend_loc())
    fig.suptitle(f"{ds}: TopK k = {K} (GD: k = d = {d}), n = 20, best step-size factor "
                 "(× the theoretical γ) per method", fontsize=11)
    fig.tight_layout()
    path = os.path.join(out, f"k{K}_{ds}{SUFFIX}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fig_allk(runs, best, ds, out):
    ks = sorted(k for (d, m, k) in best if d == ds and m == "ef21")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for conv, ax in zip(("real", "paper"), axes):
        for i, k in enumerate(ks):
            r = best[(ds, "ef21", k)]
            draw(ax, r, conv, f"k = {k}, ×{fmt_f(r.factor)}", K_COLOURS[i % 8], "-")
        gd = [key for key in best if key[0] == ds and key[1] == "gd"]
        if gd:
            r = best[gd[0]]
            draw(ax, r, conv, f"GD, ×{fmt_f(r.factor)}", "#777777", ":")
        setup_axes(ax, conv, "real bits" if conv == "real" else "paper's convention")
        xlim_linear(ax, [best[(ds, "ef21", k)] for k in ks if k <= 8], conv)
        ylim_of(ax)
        ax.legend(fontsize=8, loc=legend_loc(), ncol=2)
    fig.suptitle(f"{ds}: EF21 with TopK k, best step-size factor per k", fontsize=11)
    fig.tight_layout()
    path = os.path.join(out, f"ef21_allk_{ds}{SUFFIX}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fig_overview(best, dss, K, out):
    fig, axes = plt.subplots(2, len(dss), figsize=(4.2 * len(dss), 7.6), squeeze=False)
    for j, ds in enumerate(dss):
        for i, conv in enumerate(("paper", "real")):
            ax = axes[i][j]
            for m in METHODS:
                if m == "gd":
                    keys = [key for key in best if key[0] == ds and key[1] == "gd"]
                    r = best[keys[0]] if keys else None
                else:
                    r = best.get((ds, m, K))
                if r is not None:
                    draw(ax, r, conv, f"{LABEL[m].split(' ')[0]} ×{fmt_f(r.factor)}",
                         COLOUR[m], STYLE[m])
            setup_axes(ax, conv, f"{ds} ({'paper' if conv == 'paper' else 'real'} bits)")
            ax.set_xlabel("bits per client" + (" (t·k·32)" if conv == "paper" else " (real frames)"))
            if j:
                ax.set_ylabel("")
            xlim_linear(ax, [best[(ds, m, K)] for m in METHODS if (ds, m, K) in best], conv)
            ylim_of(ax)
            ax.legend(fontsize=7, loc=legend_loc())
    fig.suptitle(f"EF21 experiment, TopK k = {K}, n = 20: ||∇f(x^t)||² against bits per client",
                 fontsize=11)
    fig.tight_layout()
    path = os.path.join(out, f"overview_k{K}{SUFFIX}.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def row_cells(r):
    cells = [fmt_f(r.factor), f"{r.comm('server_step'):.4g}", f"{r.final:.3g}",
             str(r.rounds[-1])]
    for thr in THRESHOLDS:
        hit = r.reach(thr)
        cells += [fmt_bits(hit[1]) if hit else "—", fmt_bits(hit[2]) if hit else "—"]
    return cells


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="the folder given to reproduce.sh --out")
    ap.add_argument("--k", type=int, default=1, help="k of the per-method figures and table")
    a = ap.parse_args()
    global XSCALE, SUFFIX
    runs = load(a.out)
    best = {key: b for key, rs in runs.items() if (b := best_of(rs)) is not None}
    dss = [d for d in DATASETS if any(k[0] == d for k in runs)] + \
        sorted({k[0] for k in runs} - set(DATASETS))
    fig_dir = os.path.join(a.out, "fig")
    os.makedirs(fig_dir, exist_ok=True)
    paths = []
    for XSCALE, SUFFIX in (("log", ""), ("linear", "_linear")):
        for ds in dss:
            paths.append(fig_methods(runs, best, ds, a.k, fig_dir))
            paths.append(fig_allk(runs, best, ds, fig_dir))
        paths.append(fig_overview(best, dss, a.k, fig_dir))

    head = ("| data set | method | k | best factor | γ | final ‖∇f‖² | rounds | "
            "real bits/client to 1e-4 | paper bits/client to 1e-4 | "
            "real bits/client to 1e-6 | paper bits/client to 1e-6 |")
    sep = "|" + "---|" * 11
    lines = [f"# EF21 reproduction: results in {os.path.abspath(a.out)}", "",
             "Best factor: the non-divergent factor (× the theoretical step size) with "
             f"the smallest final ‖∇f‖² (values below {FLOOR:g} count as equal; then "
             "the fewest rounds to get there). Bits per client: uplink, at the first "
             "evaluation at or below the threshold (— : not reached); real = "
             "bits_up_cum / n (frames with headers, indices and the first full round), "
             "paper = bits_up_paper_cum / n (t·k·32).", "",
             f"## Methods at k = {a.k}, and GD", "", head, sep]
    for ds in dss:
        for m in METHODS:
            if m == "gd":
                keys = [key for key in best if key[0] == ds and key[1] == "gd"]
                if not keys:
                    continue
                key = keys[0]
            else:
                key = (ds, m, a.k)
            r = best.get(key)
            if r is None:
                if key in runs:
                    lines.append(f"| {ds} | {LABEL[m]} | {key[2]} | every factor diverged |" + " |" * 7)
                continue
            lines.append(f"| {ds} | {LABEL[m]} | {key[2]} | " + " | ".join(row_cells(r)) + " |")
    lines += ["", "## EF21 for every k", "", head, sep]
    for ds in dss:
        for k in sorted(k for (d, m, k) in best if d == ds and m == "ef21"):
            r = best[(ds, "ef21", k)]
            lines.append(f"| {ds} | EF21 | {k} | " + " | ".join(row_cells(r)) + " |")
    lines += ["", "## Bits: real frames against the paper's count (EF21, best factor)", "",
              "| data set | k | rounds | real bits/client | paper bits/client | ideal bits/client | "
              "real / ideal | real / paper |", "|" + "---|" * 8]
    for ds in dss:
        for k in sorted(k for (d, m, k) in best if d == ds and m == "ef21"):
            r = best[(ds, "ef21", k)]
            real, ideal, paper = (r.comm("bits_up_real"), r.comm("bits_up_ideal"),
                                  r.comm("bits_up_paper"))
            n = r.n
            lines.append(f"| {ds} | {k} | {r.rounds[-1]} | {real / n:.4g} | {paper / n:.4g} | "
                         f"{ideal / n:.4g} | {real / ideal:.2f} | {real / paper:.2f} |")
    lines += ["", "Figures:", ""] + [f"- {os.path.relpath(p, a.out)}" for p in paths]
    table = os.path.join(a.out, "table.md")
    with open(table, "w") as f:
        f.write("\n".join(lines) + "\n")

    with open(os.path.join(a.out, "table_all.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "method", "k", "best_factor", "gamma", "final_grad_norm_sq",
                    "rounds", "real_bits_1e-4", "paper_bits_1e-4", "real_bits_1e-6",
                    "paper_bits_1e-6", "factors_tried", "final_per_factor", "diverged_at",
                    "stopped_1000x_worse_at"])
        for key in sorted(runs):
            rs = sorted(runs[key], key=lambda r: r.factor)
            b = best.get(key)
            cells = row_cells(b) if b else [""] * 8
            div = [fmt_f(r.factor) for r in rs if r.diverged]
            w.writerow([*key, *cells, " ".join(fmt_f(r.factor) for r in rs),
                        " ".join(f"{r.final:.3g}" for r in rs), " ".join(div),
                        " ".join(fmt_f(r.factor) for r in rs if r.worse)])
    print("\n".join(lines))
    print(f"\nplot_ef21.py: wrote {table}, {os.path.join(a.out, 'table_all.csv')}")


if __name__ == "__main__":
    main()
