"""Stacked learning rates (mutransfer_gpt.StackedAdamW) vs a GPT one learning rate at a time.

    .venv/bin/python bench/bench_mutransfer_gpt.py [--widths 64 256] [--lrs 15] [--steps 5]

Same GPT (SP), same minibatches of random characters: trains every learning rate of a
grid with one StackedAdamW (one vmapped forward and backward pass for all copies), then
with GPT + its own ``.adam()`` and autograd, one learning rate after another. Prints
seconds per step of the whole grid for each (wall clock and process CPU time, the
fairer measure on a shared machine) and the speed-ups. Not run by CI; measure side by
side on one machine (``--threads`` sets torch's threads).

Measured (``--widths 64 256 --lrs 12 --steps 3 --batch-size 8 --context 32 --threads 1``,
the recorded CPU sweep's grid and batches, on a 2-core CPU shared with a dozen other
processes, so per-process CPU seconds are the figure to read): at width 64 the stacked
grid took 0.30 CPU s per step against 0.59 one at a time, 1.9x faster; at width 256 it
took 0.85 against 0.67, 0.79x, i.e. slower. On one CPU thread stacking pays where each
copy's matrices are small and per-call overhead dominates; once one copy's matrix
products fill the core, the batched products (``bmm``, over half the time in a profile)
gain nothing over separate ones. The CPU sweep stacks all the same (its narrow widths
gain, its widest loses about a fifth); on a GPU, where one narrow copy leaves the device
mostly idle, stacking should help more (not measured here).
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from mupbook.data import chars
from mupbook.experiments import mutransfer_gpt as mg
from mupbook.transformer import GPT


def stacked(model, lrs, xs, ys):
    st = mg.StackedAdamW(model, lrs)
    for x, y in zip(xs, ys):
        st.step(x, y)


def one_at_a_time(model, lrs, xs, ys):
    for lr in lrs:
        m = copy.deepcopy(model)
        opt = m.adam(lr)
        for x, y in zip(xs, ys):
            loss = m.loss(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--lrs", type=int, default=15, help="grid size")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    shape = (args.steps, args.batch_size, args.context)
    xs = torch.randint(0, chars.VOCAB, shape, generator=g)
    ys = torch.randint(0, chars.VOCAB, shape, generator=g)
    lrs = [2.0 ** (-12 + 0.5 * k) for k in range(args.lrs)]
    print(
        f"{args.lrs} learning rates, {args.steps} steps of {args.batch_size} x "
        f"{args.context} tokens, {args.threads} thread(s)"
    )
    for n in args.widths:
        model = GPT(
            chars.VOCAB, n, "sp", n_heads=2, context=args.context, generator=g
        )
        times, cpu = {}, {}
        for name, fn in (("stacked", stacked), ("one at a time", one_at_a_time)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(model, lrs, xs, ys)
            times[name] = (time.perf_counter() - t0) / args.steps
            cpu[name] = (time.process_time() - c0) / args.steps
        print(
            f"width {n:5d}: stacked {times['stacked']:.3f} s/step "
            f"({cpu['stacked']:.3f} CPU s), one at a time {times['one at a time']:.3f} "
            f"s/step ({cpu['one at a time']:.3f} CPU s), speed-up "
            f"{times['one at a time'] / times['stacked']:.2f}x wall, "
            f"{cpu['one at a time'] / cpu['stacked']:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
