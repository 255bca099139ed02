"""Benchmark of mupbook.kernels.mlp_kernels (not a test).

1. NNGP + NTK of a depth-3 ReLU network on 2,000 x 784 float64 inputs: median wall time.
2. The same with neural-tangents' jitted ``kernel_fn`` (float64), either in this interpreter
   or, with ``--nt-python``, in another one that has neural-tangents (JAX stays out of
   mupbook's environment); prints the ratio.
3. The blocked computation at N = 20,000 in a fresh subprocess: wall time and peak memory
   (peak resident set size on CPU, peak allocated CUDA memory on a GPU).

    python bench/bench_kernels.py [--nt-python PATH] [--device cpu|cuda] [--scale-n 20000]

Both libraries get the same inputs (numpy RandomState(0) normal draws) and the machine's
default thread settings.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def inputs(n: int, d: int) -> np.ndarray:
    return np.random.RandomState(0).randn(n, d)


def time_mupbook(
    n: int, d: int, depth: int, repeats: int, device: str, block_size: int | None
) -> list[float]:
    import torch

    sys.path.insert(0, str(REPO))
    from mupbook.kernels import mlp_kernels

    x = torch.from_numpy(inputs(n, d)).to(device)

    def run() -> None:
        k = mlp_kernels(
            x,
            depth=depth,
            activation="relu",
            w_std=1.0,
            b_std=0.0,
            block_size=block_size,
        )
        if k.ntk.is_cuda:
            torch.cuda.synchronize()

    run()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def time_neural_tangents(n: int, d: int, depth: int, repeats: int) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import neural_tangents as nt
    from neural_tangents import stax

    layers = []
    for _ in range(depth):
        layers += [stax.Dense(1, 1.0, 0.0, parameterization="ntk"), stax.Relu()]
    layers += [stax.Dense(1, 1.0, 0.0, parameterization="ntk")]
    kernel_fn = jax.jit(stax.serial(*layers)[2], static_argnames="get")
    x = jax.numpy.asarray(inputs(n, d))

    def run() -> None:
        k = kernel_fn(x, None, ("nngp", "ntk"))
        k.ntk.block_until_ready()

    run()  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return {
        "times": times,
        "version": f"neural-tangents {nt.__version__}, jax {jax.__version__}",
    }


def scale_run(
    n: int, d: int, depth: int, device: str, block_size: int | None
) -> dict:
    """One blocked N x N computation; peak memory of this (fresh) process."""
    import torch

    sys.path.insert(0, str(REPO))
    from mupbook.kernels import mlp_kernels

    x = torch.from_numpy(inputs(n, d)).to(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    k = mlp_kernels(x, depth=depth, activation="relu", block_size=block_size)
    if k.ntk.is_cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    out = {
        "seconds": seconds,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    if device.startswith("cuda"):
        out["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2**30
    # checked after the peak was read (the check itself allocates), row block by row block
    out["finite"] = all(
        bool(torch.isfinite(m[i : i + 1024]).all())
        for m in k
        for i in range(0, n, 1024)
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--block-size", type=int, default=None)
    parser.add_argument(
        "--scale-n", type=int, default=20000, help="0 skips the large run"
    )
    parser.add_argument(
        "--nt-python", default=None, help="interpreter with neural-tangents installed"
    )
    parser.add_argument("--nt-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.nt_only:
        print(
            json.dumps(time_neural_tangents(args.n, args.d, args.depth, args.repeats))
        )
        return
    if args.scale_only:
        print(
            json.dumps(
                scale_run(
                    args.scale_n, args.d, args.depth, args.device, args.block_size
                )
            )
        )
        return

    import torch

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
    )
    ours = time_mupbook(
        args.n, args.d, args.depth, args.repeats, args.device, args.block_size
    )
    ours_med = statistics.median(ours)
    print(
        f"mupbook mlp_kernels, depth {args.depth} ReLU, {args.n} x {args.d} float64: "
        f"median {ours_med:.3f} s (min {min(ours):.3f}, max {max(ours):.3f}, {args.repeats} runs)"
    )

    nt_result = None
    try:
        import neural_tangents  # noqa: F401

        nt_result = time_neural_tangents(args.n, args.d, args.depth, args.repeats)
    except ImportError:
        if args.nt_python:
            cmd = [
                args.nt_python,
                __file__,
                "--nt-only",
                "--n",
                str(args.n),
                "--d",
                str(args.d),
                "--depth",
                str(args.depth),
                "--repeats",
                str(args.repeats),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            nt_result = json.loads(done.stdout.strip().splitlines()[-1])
    if nt_result is None:
        print("neural-tangents: not available (pass --nt-python PATH to compare)")
    else:
        nt_med = statistics.median(nt_result["times"])
        print(
            f"{nt_result['version']} jitted kernel_fn: median {nt_med:.3f} s "
            f"(min {min(nt_result['times']):.3f}, max {max(nt_result['times']):.3f})"
        )
        print(
            f"ratio neural-tangents / mupbook = {nt_med / ours_med:.2f} (> 1: mupbook is faster)"
        )

    if args.scale_n > 0:
        cmd = [
            sys.executable,
            __file__,
            "--scale-only",
            "--scale-n",
            str(args.scale_n),
            "--d",
            str(args.d),
            "--depth",
            str(args.depth),
            "--device",
            args.device,
        ]
        if args.block_size is not None:
            cmd += ["--block-size", str(args.block_size)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res = json.loads(done.stdout.strip().splitlines()[-1])
        outputs_gb = 2 * args.scale_n**2 * 8 / 2**30
        line = (
            f"N = {args.scale_n} blocked: {res['seconds']:.1f} s, peak RSS {res['peak_rss_gb']:.2f} GiB "
            f"(the two float64 outputs alone: {outputs_gb:.2f} GiB), finite: {res['finite']}"
        )
        if "peak_cuda_gb" in res:
            line += f", peak CUDA memory {res['peak_cuda_gb']:.2f} GiB"
        print(line)


if __name__ == "__main__":
    main()
