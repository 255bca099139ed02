"""Batched learning-rate training (mutransfer.LrBatch) vs MuMLP one learning rate at a time.

    .venv/bin/python bench/bench_mutransfer.py [--widths 256 1024] [--lrs 7] [--steps 20]

Same model, same minibatches (synthetic sparse 784-pixel inputs, 100 classes), SGD and
Adam: trains every learning rate of a grid with one LrBatch, then with MuMLP + its own
``.sgd()``/``.adam()`` and autograd, one lr after another. Prints ms per step of the
whole grid for each and the speed-up. Not run by CI.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

from mupbook.experiments import mutransfer as mt
from mupbook.nn import MuMLP

CLASSES = 100


def batched(model, optimizer, lrs, x, y, steps):
    b = mt.LrBatch(model, optimizer, lrs)
    for _ in range(steps):
        b.step(x, y)


def one_at_a_time(model, optimizer, lrs, x, y, steps):
    for lr in lrs:
        m = copy.deepcopy(model)
        opt = m.sgd(lr) if optimizer == "sgd" else m.adam(lr)
        for _ in range(steps):
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--lrs", type=int, default=7, help="grid size")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch_size, mt.D_IN, generator=g) < 0.25) * torch.rand(
        args.batch_size, mt.D_IN, generator=g
    )
    y = torch.randint(0, CLASSES, (args.batch_size,), generator=g)
    for n in args.widths:
        for optimizer, lo in (("sgd", -6), ("adam", -12)):
            lrs = [2.0 ** (lo + k) for k in range(args.lrs)]
            model = MuMLP(mt.D_IN, n, CLASSES, "mup", base_width=128, generator=g)
            times = {}
            for name, fn in (("batched", batched), ("one at a time", one_at_a_time)):
                fn(model, optimizer, lrs, x, y, 2)  # warm-up
                start = time.perf_counter()
                fn(model, optimizer, lrs, x, y, args.steps)
                times[name] = (time.perf_counter() - start) / args.steps * 1000
            print(
                f"width {n:5d} {optimizer:4s} {args.lrs} lrs: batched {times['batched']:7.1f} ms/step, "
                f"one at a time {times['one at a time']:7.1f} ms/step, "
                f"speed-up {times['one at a time'] / times['batched']:.1f}x"
            )


if __name__ == "__main__":
    main()
