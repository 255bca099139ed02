"""Time Omniglot task sampling: batches of 32 tasks from the Vinyals train split.

    MUPBOOK_DATA=<offline data folder> python bench/bench_omniglot.py [cpu|cuda]

Prints the median time of one :func:`mupbook.data.omniglot.sample_tasks` call for
a few task shapes (the device defaults to MUPBOOK_DEVICE / auto). A benchmark, not
a test: it is not run by CI.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from mupbook import runtime
from mupbook.data import omniglot

SHAPES = [(5, 1, 15), (5, 5, 15), (20, 1, 5), (20, 5, 15)]  # (n_way, k_shot, q_query)
BATCH = 32
REPEATS = 20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_sampling(
    pool: omniglot.FewShotPool, n: int, k: int, q: int, device: torch.device
) -> float:
    """Median seconds of one call for a batch of BATCH tasks."""
    gen = runtime.generator(0)
    omniglot.sample_tasks(pool, n, k, q, BATCH, generator=gen)  # warm-up
    times = []
    for _ in range(REPEATS):
        _sync(device)
        start = time.perf_counter()
        omniglot.sample_tasks(pool, n, k, q, BATCH, generator=gen)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    device = runtime.device(argv[0] if argv else None)
    start = time.perf_counter()
    data = omniglot.load_omniglot(progress=True)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    pool = omniglot.few_shot_pool(data, "train", device=device)
    pooled = time.perf_counter() - start
    print(
        f"device={device}, torch threads={torch.get_num_threads()}, "
        f"load {loaded:.2f} s, train pool ({pool.num_classes} classes) {pooled:.2f} s"
    )
    for n, k, q in SHAPES:
        seconds = time_sampling(pool, n, k, q, device)
        print(
            f"{BATCH} tasks of {n:2d}-way {k}-shot {q:2d}-query: {1e3 * seconds:7.2f} ms"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
