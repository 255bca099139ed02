"""Cost of one first-order MAML meta-step: the muP limit against finite widths.

    MUPBOOK_DATA=... .venv/bin/python bench/bench_maml.py [--threads 1] [--steps 20]
        [--widths 128 512 789 2048 8192] [--kernels]

Real Omniglot tasks at the paper's settings (5-way 1-shot, 32 tasks, float64). For each
model: 3 warm-up steps, then the median over ``--steps`` timed steps. The limit is a
width-(784 + 5) = 789 network, so it must cost no more than a finite width-789 network;
the script prints the ratio and exits 1 if the limit is over 1.25x that (timing noise).
With ``--kernels`` it also times the ReLU NTK limit at a few dictionary sizes. Not run by CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from mupbook.experiments import maml


def ms_per_step(
    cfg: maml.Config, pools: maml.Pools, steps: int, start: int = 0
) -> float:
    learner = maml.build_learner(cfg, pool_size=pools.train.num_classes * 20)
    for s in range(start):  # grow a kernel dictionary first
        learner.meta_step(
            maml.tasks_for_step(pools.train, cfg.resolved(), s), cfg.resolved()
        )
    tasks = [
        maml.tasks_for_step(pools.train, cfg, start + s) for s in range(steps + 3)
    ]
    times = []
    for i, t in enumerate(tasks):
        t0 = time.perf_counter()
        learner.meta_step(t, cfg.resolved())
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument(
        "--widths", type=int, nargs="+", default=[128, 512, 789, 2048, 8192]
    )
    ap.add_argument("--kernels", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pools = maml.load_pools()
    base = maml.config("full")
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), float64, 5-way 1-shot, 32 tasks per step"
    )
    limit = ms_per_step(base.replace(model="limit"), pools, args.steps)
    print(
        f"{'muP limit (width 789)':28s} {limit:8.1f} ms/step   10,000 steps: {limit * 10:6.0f} s"
    )
    finite = {}
    for w in args.widths:
        finite[w] = ms_per_step(
            base.replace(model="finite", width=w), pools, args.steps
        )
        print(
            f"{'finite width ' + str(w):28s} {finite[w]:8.1f} ms/step   10,000 steps: {finite[w] * 10:6.0f} s"
        )
    ok = True
    if 789 in finite:
        ratio = limit / finite[789]
        ok = ratio <= 1.25
        print(
            f"limit / finite width 789: {ratio:.2f} ({'ok' if ok else 'TOO SLOW'}: must be <= 1, 1.25 allows noise)"
        )
    if args.kernels:
        for rows_after in (0, 100, 400):
            ms = ms_per_step(
                base.replace(model="relu-ntk"), pools, 5, start=rows_after
            )
            print(
                f"ReLU NTK limit after {rows_after:4d} steps  {ms:8.1f} ms/step (dictionary grows by <= 160 rows/step)"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
