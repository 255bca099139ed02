"""One coordinate check, mupbook.studies.coord_check vs the mup package's get_coord_data.

    .venv/bin/python bench/bench_coord.py [--widths 64 128 ... ] [--steps 5] [--repeats 3]

Same MLP (2 hidden ReLU layers, muP Table 8, base width 16, biases), same widths,
steps, seeds and batch, SGD, cross-entropy; both record the mean |coordinate| of every
layer. Prints the median wall time of each and their ratio (mup / mupbook), and checks
that the two agree on the recorded sizes. Not run by CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mup.coord_check import get_coord_data  # noqa: E402
from mup_reference import copy_into_mup_package, mup_package_model  # noqa: E402

from mupbook import runtime  # noqa: E402
from mupbook.nn import MuMLP  # noqa: E402
from mupbook.studies import coord_check as coord  # noqa: E402

D_IN, D_OUT, BASE, BATCH = 32, 10, 16, 64


def ours(widths, steps, seeds, x, y):
    make = lambda n, g: MuMLP(D_IN, n, D_OUT, "mup", base_width=BASE, generator=g)  # noqa: E731
    return coord.coord_check(
        make,
        widths,
        x,
        y,
        steps=steps,
        loss="xent",
        lr=0.1,
        seeds=range(seeds),
        progress=False,
    )


def theirs(widths, steps, seeds, x, y):
    def lazy(n):
        def build():
            net = mup_package_model(D_IN, n, D_OUT, BASE, dtype=torch.float32)
            copy_into_mup_package(
                MuMLP(
                    D_IN,
                    n,
                    D_OUT,
                    "mup",
                    base_width=BASE,
                    generator=runtime.generator(n),
                ),
                net,
            )
            return net

        return build

    return get_coord_data(
        {n: lazy(n) for n in widths},
        [(x, y)],
        optimizer="sgd",
        lr=0.1,
        nsteps=steps,
        nseeds=seeds,
        cuda=False,
        show_progress=False,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--widths", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048]
    )
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(BATCH, D_IN, generator=runtime.generator(0))
    y = torch.arange(BATCH) % D_OUT
    times = {"mupbook": [], "mup": []}
    for _ in range(args.repeats):
        for name, fn in (("mupbook", ours), ("mup", theirs)):
            start = time.perf_counter()
            result = fn(args.widths, args.steps, args.seeds, x, y)
            times[name].append(time.perf_counter() - start)
    # Agreement at init (step 1 of mup = the first forward pass = our step 0), seed-free.
    ref = result.query("t == 1 and module == 'readout'").groupby("width")["l1"].mean()
    ours_init = ours(args.widths, 1, 1, x, y)
    mine = ours_init.size[0, :, 0, -1]
    print(
        f"widths {args.widths}, {args.steps} steps, {args.seeds} seeds, {args.threads} threads"
    )
    for name, ts in times.items():
        print(
            f"  {name:8s} median {statistics.median(ts):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in ts)})"
        )
    ratio = statistics.median(times["mup"]) / statistics.median(times["mupbook"])
    print(f"  ratio mup / mupbook = {ratio:.2f}  (> 1: mupbook is faster)")
    print(
        f"  readout |coordinate| at init, mupbook vs mup (width {args.widths[-1]}): "
        f"{mine[-1]:.4g} vs {ref.iloc[-1]:.4g}"
    )


if __name__ == "__main__":
    main()
