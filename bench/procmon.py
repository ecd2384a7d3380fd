#!/usr/bin/python3
"""procmon.py - run an mpirun fedsim command and sample each rank from /proc.

  /usr/bin/python3 bench/procmon.py --run-dir DIR [--every 0.1] -- mpirun -n 3 ... build/fedsim ... --out DIR

Every `every` seconds it reads, for each fedsim process (its rank from
OMPI_COMM_WORLD_RANK in /proc/PID/environ): utime + stime from /proc/PID/stat
and VmHWM / VmRSS from /proc/PID/status; and the number of rows of
DIR/metrics.csv, which marks the round window: from the row of round 0
(setup and the first evaluation done) to the row of the last round.

Prints one line per rank (key=value): CPU seconds and CPU share over the
whole run and over the round window (and over --window), peak RSS (VmHWM),
and the window's wall time. CPU times come in clock ticks (10 ms), so a
window should last a second or more. The command's own output goes to
stderr.
"""
import argparse
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def ppid_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def descends_from(pid, root):
    for _ in range(32):
        if pid == root:
            return True
        if pid <= 1:
            return False
        pid = ppid_of(pid)
    return False


def fedsim_ranks(exe_name, root):
    """fedsim processes started by our command (other users' are skipped)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            if os.path.basename(argv0) != exe_name or not descends_from(int(pid), root):
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            rank = int(env.get(b"OMPI_COMM_WORLD_RANK", b"0"))
            out[rank] = int(pid)
        except (OSError, ValueError):
            pass
    return out


def sample(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        hwm = rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        return cpu, hwm, rss
    except (OSError, ValueError, IndexError):
        return None


def metrics_rows(run_dir):
    try:
        with open(os.path.join(run_dir, "metrics.csv")) as f:
            return sum(1 for _ in f) - 1  # minus the header
    except OSError:
        return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--exe", default="fedsim")
    ap.add_argument("--window", default="",
                    help="A:B - also report the window from the first sample with A "
                         "metrics rows to the first with B rows (e.g. 11:20 = rounds "
                         "11..19 of a run that evaluates every 10 rounds)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    try:
        os.unlink(os.path.join(a.run_dir, "metrics.csv"))
    except OSError:
        pass
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=sys.stderr)
    last = {}      # rank -> (t, cpu, hwm, rss)
    first = {}     # rank -> (t, cpu) at first sight
    at_rows = {}   # rank -> {rows: (t, cpu)} first time a row count was seen
    rows_seen = {}
    pids, next_scan = {}, 0.0
    while p.poll() is None:
        now = time.monotonic() - t0
        if now >= next_scan:  # finding the ranks reads all of /proc: once a second
            pids = fedsim_ranks(a.exe, p.pid)
            next_scan = now + 1.0
        rows = metrics_rows(a.run_dir)
        for rank, pid in pids.items():
            s = sample(pid)
            if s is None:
                continue
            last[rank] = (now,) + s
            first.setdefault(rank, (now, s[0]))
            at_rows.setdefault(rank, {}).setdefault(rows, (now, s[0]))
        rows_seen[rows] = rows_seen.get(rows, now)
        time.sleep(a.every)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        print(f"procmon: command failed with {p.returncode}", file=sys.stderr)
        sys.exit(p.returncode)
    nrows = metrics_rows(a.run_dir)  # rounds + 1 (round 0)
    for rank in sorted(last):
        t_end, cpu_end, hwm, rss = last[rank]
        marks = at_rows.get(rank, {})
        # Round window: first sample with >= 1 row (round 0 written) to the
        # first sample with all rows (or the last sample).
        w0 = min((v for k, v in marks.items() if k >= 1), default=None)
        w1 = min((v for k, v in marks.items() if k >= nrows), default=None)
        if w1 is None:
            w1 = (t_end, cpu_end)
        line = (f"procmon rank={rank} run_wall_s={wall:.2f} seen_s={t_end - first[rank][0]:.2f} "
                f"cpu_s={cpu_end:.2f} vmhwm_mb={hwm / 1024:.1f}")
        if w0 is not None and w1[0] > w0[0]:
            dt, dc = w1[0] - w0[0], w1[1] - w0[1]
            line += f" rounds_wall_s={dt:.2f} rounds_cpu_s={dc:.2f} rounds_cpu_share={dc / dt:.3f}"
        if a.window:
            wa, wb = (int(v) for v in a.window.split(":"))
            v0 = min((v for k, v in marks.items() if k >= wa), default=None)
            v1 = min((v for k, v in marks.items() if k >= wb), default=None)
            if v0 is not None and v1 is not None and v1[0] > v0[0]:
                dt, dc = v1[0] - v0[0], v1[1] - v0[1]
                line += (f" window={a.window} window_wall_s={dt:.2f} window_cpu_s={dc:.2f}"
                         f" window_cpu_share={dc / dt:.3f}")
        print(line)
    print(f"procmon total_wall_s={wall:.2f} metrics_rows={nrows}")


if __name__ == "__main__":
    main()
