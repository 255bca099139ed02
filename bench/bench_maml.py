"""Cost of one first-order MAML meta-step: the muP limit against finite widths.

    MUPBOOK_DATA=... .venv/bin/python bench/bench_maml.py [--threads 1] [--steps 20]
        [--widths 128 512 789 2048 8192] [--kernels [--rows 10000 40000 82240]]

Real Omniglot tasks at the paper's settings (5-way 1-shot, 32 tasks, float64). For each
model: 3 warm-up steps, then the median over ``--steps`` timed steps. The limit is a
width-(784 + 5) = 789 network, so it must cost no more than a finite width-789 network;
the script prints the ratio and exits 1 if the limit is over 1.25x that (timing noise).
With ``--kernels`` it times the ReLU NTK limit instead, side by side in one run: a meta-step
and a validation (320 tasks, 15 queries per class, 20 inner steps) at a few dictionary
sizes (rows of real training images with random coefficients; 82,240 = every image of the
training pool, where a long run ends up), three ways: ``before`` (the algorithm of the code
before the fast path, kept here: float64 kernels of 16,384-row chunks against all points
at once, two dictionary reads per step, per-task kernels cut out of the whole meta-batch's
kernel, every task's images evaluated), ``float64`` and ``float32`` (the library now:
blocked, one read per step, batched per-task kernels, each pool image evaluated once at
validation; float32 kernel values, float64 coefficients and sums). Times are the process's
CPU time, which other jobs on a shared machine disturb less than wall time. Not run by CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from mupbook.experiments import maml
from mupbook.limits import kernel_sgd


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
    ap.add_argument(
        "--kernels",
        action="store_true",
        help="time the ReLU NTK limit (before/after) instead",
    )
    ap.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[10_000, 40_000, 82_240],
        help="dictionary sizes for --kernels (at most 82,240, the training pool)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pools = maml.load_pools()
    if args.kernels:
        print(
            f"torch {torch.__version__}, {args.threads} thread(s), 5-way 1-shot, 32 tasks per step"
        )
        bench_kernels(pools, args.rows, min(args.steps, 5))
        return 0
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
    return 0 if ok else 1


# ---------------------------------------------------------------------------- kernel limits


class BeforeLearner(maml.KernelLearner):
    """The kernel learner's algorithm before the fast path (same results, old cost)."""

    def _f(self, x: torch.Tensor) -> torch.Tensor:
        m = self.machine
        flat = x.reshape(-1, m.d).double()
        out = torch.zeros(flat.shape[0], m.c, dtype=torch.float64)
        for start in range(0, m.count, 16384):
            stop = min(m.count, start + 16384)
            out += m.kernel(flat, m.Z[start:stop]) @ m.A[start:stop]
        return out.reshape(*x.shape[:-1], m.c)

    def _blocks(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        B, N, _ = x.shape
        full = self.kernel(x.reshape(B * N, -1), z.reshape(-1, z.shape[-1])).reshape(
            B, N, B, -1
        )
        t = torch.arange(B)
        return full[t, :, t, :]

    def _f0(self, xs, xq):
        return self._f(xs), self._f(xq)

    def _adapt(self, xs, ys, xq, fs0, fq0, steps, lr, first_order):
        kss, kqs = self._blocks(xs, xs), self._blocks(xq, xs)
        fs, gsum = fs0, torch.zeros_like(fs0)
        for _ in range(steps):
            g = maml._output_grad(fs, ys, self.c).detach()
            fs = fs - lr * kss @ g
            gsum = gsum + g
        return fq0 - lr * kqs @ gsum

    def pool_outputs(self, pool):  # the code before evaluated every task's images
        return None

    def task_logits(self, tasks, outputs, k_shot, steps, lr):
        return self.query_logits(
            tasks.support_x, tasks.support_y, tasks.query_x, steps, lr
        )


def kernel_learner(kind: str, cfg: maml.Config, pool_size: int) -> maml.KernelLearner:
    kernel = kernel_sgd.Kernel(cfg.model, cfg.sigma_w, cfg.sigma_b, cfg.sigma_v)
    if kind == "before":
        return BeforeLearner(
            kernel,
            784,
            cfg.n_way,
            capacity=pool_size,
            num_ids=pool_size,
            dtype=torch.float64,
        )
    return maml.KernelLearner(
        kernel,
        784,
        cfg.n_way,
        capacity=pool_size,
        num_ids=pool_size,
        dtype=getattr(torch, kind),
    )


def fill(learner: maml.KernelLearner, images: torch.Tensor, rows: int) -> None:
    """``rows`` dictionary rows: training-pool images with random coefficients."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(rows, learner.c, dtype=torch.float64, generator=gen) * 0.01
    learner.machine.add(images[:rows], a, torch.arange(rows))


def bench_kernels(pools: maml.Pools, rows: list[int], steps: int) -> None:
    cfg = maml.config("full", model="relu-ntk", q_eval=15, val_tasks=320).resolved()
    pool_size = pools.train.num_classes * 20
    order = torch.randperm(pool_size, generator=torch.Generator().manual_seed(1))
    images = torch.cat(
        [
            pools.train.class_images(c, dtype=torch.float64).reshape(20, -1)
            for c in range(pools.train.num_classes)
        ]
    )[order]
    kinds = ("before", "float64", "float32")
    print(
        f"ReLU NTK limit, one meta-step (32 tasks) and one validation (320 tasks x 80 images, 20 inner steps); "
        f"CPU time of this process (one thread: the wall time of an idle machine), median of {steps} steps"
    )
    print(
        f"{'rows':>7s} "
        + " ".join(f"{k + ' step':>14s}" for k in kinds)
        + "  "
        + " ".join(f"{k + ' val':>13s}" for k in kinds)
        + "   step before/f32   val before/f32"
    )
    tasks = [
        maml.tasks_for_step(pools.train, cfg, 10_000 + s) for s in range(steps + 1)
    ]
    for n in rows:
        step_ms, val_s, losses = {}, {}, {}
        for kind in kinds:
            learner = kernel_learner(kind, cfg, pool_size)
            fill(learner, images, n)
            times = []
            for i, t in enumerate(tasks):
                t0 = time.process_time()
                losses.setdefault(kind, learner.meta_step(t, cfg)[0])
                if i:
                    times.append(time.process_time() - t0)
            step_ms[kind] = 1e3 * statistics.median(times)
            t0 = time.process_time()
            acc = maml.task_accuracies(
                learner,
                pools.val,
                cfg,
                tasks=cfg.val_tasks,
                inner_steps=20,
                stream=1,
                queries=cfg.q_eval,
            )
            val_s[kind] = time.process_time() - t0
            losses[kind + " val"] = float(acc.mean())
        assert abs(losses["float64"] - losses["before"]) < 1e-9 * abs(
            losses["before"]
        ), losses
        assert abs(losses["float32"] - losses["before"]) < 1e-6 * abs(
            losses["before"]
        ), losses
        print(
            f"{n:7d} "
            + " ".join(f"{step_ms[k]:11.0f} ms" for k in kinds)
            + "  "
            + " ".join(f"{val_s[k]:11.1f} s" for k in kinds)
            + f"   {step_ms['before'] / step_ms['float32']:14.1f}x {val_s['before'] / val_s['float32']:15.1f}x",
            flush=True,
        )
        print(
            "        validation accuracy: "
            + ", ".join(f"{k} {100 * losses[k + ' val']:.2f}%" for k in kinds)
        )


if __name__ == "__main__":
    sys.exit(main())
