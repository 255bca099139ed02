"""Finite pi-nets against the infinite one up to width 2^14, and the cost of a step.

    .venv/bin/python bench/bench_pi.py [--threads 1] [--max-log2 14] [--seeds 8]

The convergence sweep of :func:`mupbook.studies.pi_limit.convergence` (float64, the small
problem of the tests) from width 2^7 to ``2^max-log2``: prints every gap's fitted exponent
with its 95% interval over seeds and exits 1 if one is not within 0.1 of -1/2 (or its
interval misses -1/2 or holds 0). Then times one SGD step of the infinite net against the
number of rows (linear) and prints the calibrated seconds per example x row. Not run by CI;
at 2^14 the finite nets' hidden weights are 2 GiB each in float64.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from mupbook.limits import pi
from mupbook.studies import pi_limit as S


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-log2", type=int, default=14)
    ap.add_argument("--seeds", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    widths = [2**k for k in range(7, args.max_log2 + 1)]
    setup = S.Setup(d=8, classes=3, depth=2, r=8, batch=4, probe=8)
    t0 = time.perf_counter()
    conv = S.convergence(widths, range(args.seeds), steps=10, setup=setup)
    print(
        f"convergence sweep, widths {widths[0]}..{widths[-1]}: {time.perf_counter() - t0:.0f} s"
    )
    bad = 0
    for label, gaps in conv.series().items():
        fit = S.slope_interval(widths, gaps)
        ok = abs(fit.slope + 0.5) < 0.1 or (fit.low < -0.5 < fit.high < 0)
        bad += not ok
        print(f"  {label}: {fit}{'' if ok else '  <- off'}")
    net = pi.init(784, 5, depth=2, r=64, generator=0)
    x = torch.rand(40, 784)
    y = torch.randint(0, 5, (40,))
    for target in (1_000, 10_000, 40_000):
        while net.row_counts()[0] < target:
            net.step(net.gradients(x, S.output_grad(net(x), y)), 0.01)
        t1 = time.perf_counter()
        net.step(net.gradients(x, S.output_grad(net(x), y)), 0.01)
        print(
            f"  one step at {net.row_counts()[0]:6d} rows: {1e3 * (time.perf_counter() - t1):.1f} ms"
        )
    print(f"calibrated: {pi.calibrate(net, 40):.2e} s per example x row")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
