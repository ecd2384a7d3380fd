#!/usr/bin/env python3
"""Table (markdown, stdout) and bar chart of examples/gc/results.csv.

usage: plot.py results.csv out.png
"""
import csv
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["none", "gc", "sr-sgc", "m-sgc"]
LABEL = {"none": "no coding", "gc": "GC (s=15)", "sr-sgc": "SR-SGC (2,3,23)",
         "m-sgc": "M-SGC (1,2,27)"}


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    tot = defaultdict(list)
    waits = defaultdict(list)
    settings = []
    for r in rows:
        key = (r["setting"], r["scheme"])
        if r["setting"] not in settings:
            settings.append(r["setting"])
        tot[key].append(float(r["total_s"]))
        waits[key].append(int(r["waits"]))
        if int(r["failed"]) != 0:
            raise SystemExit(f"failed jobs in {key}")
    print("| setting | " + " | ".join(LABEL[s] for s in ORDER) +
          " | M-SGC vs GC |")
    print("| --- |" + " --- |" * (len(ORDER) + 1))
    for st in settings:
        cells = []
        for s in ORDER:
            v = tot[(st, s)]
            cells.append(f"{statistics.mean(v):.1f} ± {statistics.stdev(v):.1f}"
                         f" ({statistics.mean(waits[(st, s)]):.0f} waits)")
        m, g = statistics.mean(tot[(st, "m-sgc")]), statistics.mean(tot[(st, "gc")])
        print(f"| {st} | " + " | ".join(cells) + f" | {100 * (m - g) / g:+.1f}% |")
    fig, ax = plt.subplots(figsize=(9, 4))
    w = 0.2
    colours = ["#000000", "#0072B2", "#E69F00", "#009E73"]
    for k, s in enumerate(ORDER):
        xs = [i + (k - 1.5) * w for i in range(len(settings))]
        ys = [statistics.mean(tot[(st, s)]) for st in settings]
        es = [statistics.stdev(tot[(st, s)]) for st in settings]
        ax.bar(xs, ys, w, yerr=es, label=LABEL[s], color=colours[k])
    ax.set_xticks(range(len(settings)))
    ax.set_xticklabels(settings, fontsize=8)
    ax.set_ylabel("total run time, virtual s (100 jobs)")
    ax.set_title("n = 256 workers, simulated stragglers, 20 seeds (mean ± sd)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)
    print(f"\nwrote {sys.argv[2]}", file=sys.stderr)


main()
