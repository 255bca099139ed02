"""Benchmark of mupbook.limits.one_hidden (not a test): nodes per second of the limit's SGD.

    python bench/bench_nonlinear_limit.py [--device cpu|cuda] [--threads N] [--nodes 2**18]

Trains the 1-D limit of the chapter "Computing the feature-learning limit" (8 inputs,
sigma_b = 1, RQMC nodes) for 20 full-batch steps and prints node-steps per second
(node x input x step per second too) per second of wall time and per CPU-second (on a
shared machine the second is the steadier number), with the torch thread count and
device stated. On a GPU it also times 2^22 nodes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mupbook.limits import one_hidden as oh  # noqa: E402


def rate(nodes: int, steps: int, device: str, n_in: int = 8) -> tuple[float, float]:
    """Node-steps per second of wall time and of this process's CPU time."""
    x = torch.linspace(-1, 1, n_in, dtype=torch.float64)[:, None]
    y = torch.sin(3 * x)
    lim = oh.mup_limit(1, span=x, sigma_b=1.0, size=nodes, device=device)
    lim.train(x, y, oh.Training(2, 1.0))  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    lim.train(x, y, oh.Training(steps, 1.0))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return nodes * steps / wall, nodes * steps / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--nodes", type=int, default=2**18)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device={args.device}, torch threads={torch.get_num_threads()}")
    sizes = [args.nodes] + ([2**22] if args.device.startswith("cuda") else [])
    for nodes in sizes:
        r, r_cpu = rate(nodes, args.steps, args.device)
        print(
            f"{nodes:>9,} nodes: {r:.3g} node-steps/s of wall time ({8 * r:.3g} "
            f"node-input-steps/s); {r_cpu:.3g} per CPU-second (all threads)"
        )


if __name__ == "__main__":
    main()
