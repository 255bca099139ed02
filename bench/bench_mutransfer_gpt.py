"""Stacked learning rates (mutransfer_gpt.StackedAdamW) vs a GPT one learning rate at a time.

    .venv/bin/python bench/bench_mutransfer_gpt.py [--widths 64 256] [--lrs 15] [--steps 5]

Same GPT (SP), same minibatches of random characters: trains every learning rate of a
grid three ways: with one StackedAdamW (one vmapped forward and backward pass for all
copies); with a stack of one copy per learning rate, one after another (what the sweep
does when it does not stack, ``mutransfer_gpt.train_lrs(..., group=1)``); and with GPT +
its own ``.adam()`` and autograd, one learning rate after another. Each is warmed up,
then timed ``--repeats`` times (the fastest counts). Prints seconds per step of the
whole grid (wall clock and process CPU time, the fairer measure on a shared machine) and
stacking's speed-ups. Not run by CI; measure side by side on one machine (``--threads``
sets torch's threads).

Measured (``--widths 64 128 256 512 --lrs 12 --steps 3 --batch-size 8 --context 32
--threads 1``, the recorded CPU sweep's grid and batches, on a 2-core CPU shared with
other jobs at a load of about 5, so per-process CPU seconds are the figure to read), CPU
seconds per step of the whole grid:

=====  =======  ============  =============  ===================================
width  stacked  stack of one  one at a time  stacking's speed-up (over the two)
=====  =======  ============  =============  ===================================
64     0.087    0.208         0.210          2.38x, 2.41x
128    0.250    0.312         0.323          1.25x, 1.29x
256    0.870    0.918         0.773          1.05x, 0.89x
512    3.748    2.736         1.987          0.73x, 0.53x
=====  =======  ============  =============  ===================================

On one CPU thread stacking pays where each copy's matrices are small and per-call
overhead dominates; once one copy's matrix products fill the core, the batched products
(``bmm``, over half the time in a profile) gain nothing over separate ones and the
stack's larger working set costs. An earlier run of the same command, without warm-up
or repeats, gave 1.9x at width 64 and 0.79x at 256 (against one at a time): these
ratios move by a few tenths from run to run on a busy machine. So the sweep's
``--stack auto`` (the default) stacks on a CPU up to width
``mutransfer_gpt.CPU_STACK_MAX_WIDTH`` = 256, where stacking is at least even with a
stack of one, and trains wider models one learning rate at a time; on a GPU, where one
narrow copy leaves the device mostly idle, it always stacks (not measured here). The
non-stacked path is a stack of one rather than ``.adam()`` so that the numbers do not
depend on the choice (the tests check both give the same losses); at width 512 that
leaves ``.adam()``'s further 1.4x unused.
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


def stacked_in_groups(model, lrs, xs, ys, group=1):
    # what the sweep does when it does not stack (mg.train_lrs(..., group=1))
    for k in range(0, len(lrs), group):
        stacked(model, lrs[k : k + group], xs, ys)


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
    ap.add_argument("--repeats", type=int, default=2, help="timed runs; the fastest")
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
        modes = (
            ("stacked", stacked),
            ("stack of one", stacked_in_groups),
            ("one at a time", one_at_a_time),
        )
        for name, fn in modes:
            fn(
                model, lrs[:2], xs[:1], ys[:1]
            )  # warm-up: first calls pay set-up costs
            times[name] = cpu[name] = float("inf")
            for _ in range(args.repeats):  # the fastest repeat: least disturbed
                t0, c0 = time.perf_counter(), time.process_time()
                fn(model, lrs, xs, ys)
                times[name] = min(
                    times[name], (time.perf_counter() - t0) / args.steps
                )
                cpu[name] = min(cpu[name], (time.process_time() - c0) / args.steps)
        print(
            f"width {n:5d}: "
            + ", ".join(
                f"{k} {times[k]:.3f} s/step ({cpu[k]:.3f} CPU s)" for k in cpu
            )
            + f"; stacking's speed-up over a stack of one "
            f"{cpu['stack of one'] / cpu['stacked']:.2f}x CPU, over one at a time "
            f"{cpu['one at a time'] / cpu['stacked']:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
