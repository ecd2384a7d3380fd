#!/usr/bin/python3
"""torch_local.py - the PyTorch baseline of bench_local: client updates per second.

One client update: load the global model into the client's model, one epoch
(E=1) of minibatch SGD over the client's 600 Fashion-MNIST rows in a fresh
random order, batches of 32 taken by tensor indexing of a preloaded float32
tensor, plain SGD (torch.no_grad parameter updates), then the update
Delta = x_global - x_local. The same work fedsim's client does.

Models: softmax = Linear(784, 10); mlp = Linear(784, 256) ReLU Linear(256,
128) ReLU Linear(128, 10); cross-entropy loss, float32.

  /usr/bin/python3 bench/torch_local.py --model mlp --threads 1 --seconds 5
  /usr/bin/python3 bench/torch_local.py --model mlp --procs 2   # 2 processes, 1 thread each

--procs P runs P independent processes (1 thread each unless --threads)
that time the same window; the reported rate is their sum.
Output: one line of key=value pairs, like bench_local.
"""
import argparse
import gzip
import multiprocessing as mp
import os
import struct
import sys
import time


def load_fashion_mnist(d):
    import numpy as np
    with gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz")) as f:
        magic, n, r, c = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, r * c)
    with gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz")) as f:
        magic, n2 = struct.unpack(">II", f.read(8))
        y = np.frombuffer(f.read(), dtype=np.uint8)
    assert n == n2
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def make_model(torch, kind, hidden):
    nn = torch.nn
    if kind == "softmax":
        return nn.Linear(784, 10)
    layers, w = [], 784
    for h in hidden:
        layers += [nn.Linear(w, h), nn.ReLU()]
        w = h
    layers.append(nn.Linear(w, 10))
    return nn.Sequential(*layers)


def worker(args, start_at, q):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_np, y_np = load_fashion_mnist(args.data_dir)
    X = torch.from_numpy(x_np)
    Y = torch.from_numpy(y_np)
    N, rows, B, lr = args.clients, args.rows, args.batch, args.lr
    perm = torch.randperm(X.shape[0])[: N * rows]
    X = X[perm].contiguous()  # client c owns rows [c*rows, (c+1)*rows)
    Y = Y[perm].contiguous()
    model = make_model(torch, args.model, args.hidden)
    params = list(model.parameters())
    glob = [p.detach().clone() for p in params]  # the global model
    delta = [torch.empty_like(p) for p in params]
    opt = torch.optim.SGD(params, lr=lr) if args.optim == "sgd" else None

    def update(c):
        with torch.no_grad():
            for p, g in zip(params, glob):
                p.copy_(g)
        Xc = X[c * rows:(c + 1) * rows]
        Yc = Y[c * rows:(c + 1) * rows]
        for _ in range(args.epochs):
            order = torch.randperm(rows)
            for s in range(0, rows, B):
                idx = order[s:s + B]
                loss = F.cross_entropy(model(Xc[idx]), Yc[idx])
                if opt is not None:
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                else:
                    for p in params:
                        p.grad = None
                    loss.backward()
                    with torch.no_grad():
                        for p in params:
                            p.add_(p.grad, alpha=-lr)
        with torch.no_grad():
            for d, g, p in zip(delta, glob, params):
                torch.sub(g, p, out=d)

    i = 0
    for _ in range(args.warmup):
        update(i % N)
        i += 1
    left = start_at - time.time()
    if left > 0:
        time.sleep(left)
    else:
        print(f"torch_local: setup ended {-left:.2f} s after the common start",
              file=sys.stderr)
    t0, c0 = time.perf_counter(), time.process_time()
    done = 0
    while time.perf_counter() - t0 < args.seconds:
        update(i % N)
        i += 1
        done += 1
    q.put((done, time.perf_counter() - t0, time.process_time() - c0,
           torch.__version__, torch.get_num_threads()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["softmax", "mlp"], default="softmax")
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads (0: leave torch's default)")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--optim", choices=["manual", "sgd"], default="manual",
                    help="manual: p -= lr*grad under no_grad; sgd: torch.optim.SGD")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    args.hidden = [int(h) for h in args.hidden.split(",") if h]
    if args.threads == 0:
        import torch
        args.threads = torch.get_num_threads()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 8.0 + 2.0 * args.procs  # after loading and warm-up
    ps = [ctx.Process(target=worker, args=(args, start_at, q))
          for _ in range(args.procs)]
    for p in ps:
        p.start()
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    ups = sum(d / w for d, w, _, _, _ in res)
    cpu = sum(c for _, _, c, _, _ in res)
    wall = max(w for _, w, _, _, _ in res)
    updates = sum(d for d, _, _, _, _ in res)
    print(f"torch_local model={args.model} procs={args.procs} "
          f"threads={res[0][4]} optim={args.optim} rows_per_client={args.rows} "
          f"batch={args.batch} epochs={args.epochs} updates={updates} "
          f"wall_s={wall:.4f} cpu_s={cpu:.4f} updates_per_s={ups:.3f} "
          f"ms_per_update={1e3 / ups:.4f} torch={res[0][3]} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}")


if __name__ == "__main__":
    main()
