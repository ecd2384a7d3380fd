#!/usr/bin/python3
"""EF21 on LIBSVM phishing in plain NumPy: the yardstick for fedsim's speed.

    bench/ef21_numpy.py [--data PATH] [--iters T] [--dtype float64|float32]
                        [--check] [--repeat R]

The experiment of examples/ef21/phishing.yaml: binary logistic regression
with the non-convex regulariser lambda * sum x^2/(1+x^2), lambda = 0.1, no
bias, n = 20 clients in contiguous unshuffled blocks (floor(N/n) rows each,
the last client takes the rest), x^0 = 0, every client computes its full
local gradient each iteration, TopK k = 1 (np.argpartition on |v|, ties to
the lower index), EF21 with the theoretical step size (L_QM).

A lean implementation, the way one would write it by hand: one loop over the
clients, A_i @ x and A_i.T @ s per client (BLAS gemv through NumPy), the
sigmoid with np.exp. The data are stored dense (N x d), as fedsim does.

--check prints ||grad f(x^t)||^2 at t = 0, 100, 1000 (the reference values
of docs/ef21.md are 7.67680e-3, 2.6305e-3, 1.5248e-6), so the
timed code is known to compute the right thing. The timing runs T
iterations without any evaluation and prints the best of R repeats, in
seconds per iteration, as the last line: 'numpy_s_per_iter <value>'.
"""

import argparse
import os
import time

import numpy as np

LAM = 0.1
N_CLIENTS = 20


def load_libsvm(path, dtype):
    labels, rows, cols, vals = [], [], [], []
    with open(path) as f:
        for i, line in enumerate(f):
            parts = line.split()
            if not parts:
                continue
            labels.append(float(parts[0]))
            for p in parts[1:]:
                j, v = p.split(":")
                rows.append(i)
                cols.append(int(j) - 1)
                vals.append(float(v))
    n, d = len(labels), max(cols) + 1
    A = np.zeros((n, d), dtype=dtype)
    A[rows, cols] = vals
    lab = np.asarray(labels)
    y = np.where(lab == lab.min(), -1.0, 1.0).astype(dtype)  # smallest label -> -1
    return A, y


def split(A, y, n):
    m = A.shape[0] // n
    bounds = [i * m for i in range(n)] + [A.shape[0]]
    return [(A[bounds[i]:bounds[i + 1]], y[bounds[i]:bounds[i + 1]]) for i in range(n)]


def local_grad(Ai, yi, x):
    """Gradient of f_i(x) = mean log(1 + exp(-y a.x)) + LAM sum x^2/(1+x^2)."""
    t = yi * (Ai @ x)
    s = -yi / (1.0 + np.exp(t))  # d/dz log(1+exp(-y z)) = -y sigma(-y z)
    g = Ai.T @ s
    g /= Ai.shape[0]
    q = 1.0 + x * x
    g += (2.0 * LAM) * x / (q * q)
    return g


def topk(v, k):
    """TopK of |v|: indices of the k largest |v_j|, ties to the lower index."""
    a = np.abs(v)
    if k == 1:
        return np.array([np.argmax(a)])  # argmax takes the first maximum
    part = np.argpartition(-a, k - 1)[:k]
    thr = a[part].min()
    above = np.flatnonzero(a > thr)
    ties = np.flatnonzero(a == thr)[:k - above.size]
    return np.concatenate([above, ties])


def step_size(clients, d, k):
    Ls = []
    H = np.zeros((d, d))
    for Ai, _ in clients:
        Ai = Ai.astype(np.float64)
        Gi = Ai.T @ Ai / (4.0 * Ai.shape[0])
        H += Gi / len(clients)
        Ls.append(np.linalg.eigvalsh(Gi)[-1] + 2 * LAM)
    L = np.linalg.eigvalsh(H)[-1] + 2 * LAM
    Lqm = np.sqrt(np.mean(np.square(Ls)))
    alpha = k / d
    theta = 1 - np.sqrt(1 - alpha)
    beta = (1 - alpha) / theta
    return 1.0 / (L + Lqm * np.sqrt(beta / theta)), L, Lqm


def ef21(clients, x, gamma, k, iters, record=None):
    """iters EF21 iterations from g_i^0 = grad f_i(x^0); returns x."""
    gi = [local_grad(Ai, yi, x) for Ai, yi in clients]
    g = sum(gi) / len(clients)
    inv_n = 1.0 / len(clients)
    for t in range(1, iters + 1):
        x = x - gamma * g
        for i, (Ai, yi) in enumerate(clients):
            v = local_grad(Ai, yi, x) - gi[i]
            idx = topk(v, k)
            c = v[idx]
            gi[i][idx] += c
            g[idx] += inv_n * c
        if record is not None and t in record:
            record[t] = grad_norm_sq(clients, x)
    return x


def grad_norm_sq(clients, x):
    g = sum(local_grad(Ai, yi, x) for Ai, yi in clients) / len(clients)
    return float(np.dot(g.astype(np.float64), g.astype(np.float64)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data",
                                                   "libsvm", "phishing"))
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    dtype = np.dtype(a.dtype)
    A, y = load_libsvm(a.data, dtype)
    clients = split(A, y, N_CLIENTS)
    d = A.shape[1]
    gamma, L, Lqm = step_size(clients, d, a.k)
    gamma = dtype.type(gamma)
    print(f"data {a.data}: {A.shape[0]} x {d} ({A.nbytes / 1e6:.2f} MB of {a.dtype}), "
          f"n = {N_CLIENTS}, k = {a.k}, L = {L:.6g}, L_QM = {Lqm:.6g}, gamma = {float(gamma):.6g}")
    x0 = np.zeros(d, dtype=dtype)
    if a.check:
        rec = {100: None, 1000: None}
        print(f"||grad f(x^0)||^2 = {grad_norm_sq(clients, x0):.6g}")
        ef21(clients, x0, gamma, a.k, 1000, rec)
        for t, v in rec.items():
            print(f"||grad f(x^{t})||^2 = {v:.6g}")
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        ef21(clients, x0, gamma, a.k, a.iters)
        best = min(best, (time.perf_counter() - t0) / a.iters)
    print(f"numpy {np.__version__}, {a.dtype}, {a.iters} iterations, best of {a.repeat}: "
          f"{best * 1e6:.1f} us per iteration")
    print(f"numpy_s_per_iter {best:.6e}")


if __name__ == "__main__":
    main()
