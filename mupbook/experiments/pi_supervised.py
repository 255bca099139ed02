"""Supervised classification of Omniglot characters from a few drawings each: the infinite
pi-net, finite pi-nets sampled from it, and the NNGP/NTK limits of the same depth.

A new experiment of this book (no paper number sits beside it: the pi-limit paper's image
task is CIFAR-10, which is not in the offline data). ``classes`` characters of the
background set, ``train_drawers`` drawings of each to train on and the other drawers'
drawings to test on (:func:`mupbook.data.omniglot.background_classification`: test
drawings come from people never seen in training); pixels standardized with the training
set's mean and standard deviation. Models:

* ``pi-limit``: the infinite pi-net (:mod:`mupbook.limits.pi`), minibatch SGD on the
  cross-entropy for ``epochs`` epochs, one row per training example and step appended to
  every layer 2..L+1;
* ``pi-finite-N``: width-N pi-nets sampled from the same initial net and trained by the same
  steps with projected gradients (optional, ``widths``);
* ``relu-nngp``, ``relu-ntk``: kernel regression with the depth-L kernels
  (:class:`mupbook.limits.kernel_sgd.Kernel`) on the centred one-hot labels, with a small
  ridge (the pi-limit paper's kernel protocol, regularization 1e-4), i.e. the kernel
  limits trained to convergence: their strongest form.

Accuracies are counts of correct test drawings with Wilson 95% intervals; the pi-limit
and the NTK are compared on the *same* drawings by the paired difference of their
accuracies (:func:`paired_difference`)::

    python -m mupbook.experiments.pi_supervised --scale full
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .. import _checks, predict, results, runtime, stats
from ..data import omniglot
from ..limits import kernel_sgd, pi
from ..studies.pi_limit import output_grad
from . import _common


@dataclass(frozen=True)
class Config(_common.ConfigBase):
    """One run (module docstring); ``storage`` is the dtype of the pi-net's rows. The
    defaults are a small set (20 characters); :data:`QUICK` and :data:`FULL` use 100."""

    classes: int = 20
    train_drawers: int = 15
    split_seed: int = 0
    depth: int = 2
    r: int = 32
    epochs: int = 15
    batch: int = 10
    lr: float = 1.0
    clip: float = 0.5
    weight_decay: float = 0.0
    bias_alpha: float = 1.0
    first_lr_mult: float = 1.0
    readout_lr_mult: float = 1.0
    widths: tuple[int, ...] = ()
    kernel_reg: float = 1e-4
    sigma_w: float = 1.0
    sigma_b: float = 1.0
    seed: int = 0
    storage: str = "float32"

    def check(self) -> Config:
        _checks.integer(self.classes, "classes", minimum=2, maximum=964)
        _checks.integer(self.train_drawers, "train_drawers", minimum=1, maximum=19)
        _checks.integer(self.depth, "depth", minimum=2)
        for what in ("r", "epochs", "batch"):
            _checks.positive_int(getattr(self, what), what)
        for what in ("lr", "clip", "kernel_reg"):
            _checks.positive_float(getattr(self, what), what)
        for what in (
            "weight_decay",
            "bias_alpha",
            "first_lr_mult",
            "readout_lr_mult",
            "sigma_w",
            "sigma_b",
        ):
            _checks.nonnegative_float(getattr(self, what), what)
        if self.widths:
            _checks.widths(self.widths, "widths", minimum_count=1)
        _checks.seed(self.seed)
        _checks.seed(self.split_seed, "split_seed")
        _checks.choice(self.storage, pi_storages(), "storage")
        return self

    @property
    def steps(self) -> int:
        """SGD steps: ``epochs`` x minibatches per epoch."""
        n = self.classes * self.train_drawers
        return self.epochs * math.ceil(n / self.batch)


def pi_storages() -> tuple[str, ...]:
    return ("float16", "float32", "float64")


FULL = Config(classes=100, widths=(256, 1024))
QUICK = Config(classes=100, epochs=10)
CONFIGS = {"quick": QUICK, "full": FULL}


def config(scale: str | None = None, **changes: Any) -> Config:
    """The quick or full configuration (default: ``MUPBOOK_SCALE``) with ``changes``."""
    scale = runtime.scale() if scale is None else scale
    return CONFIGS[_checks.choice(scale, tuple(CONFIGS), "scale")].replace(**changes)


# ------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class Paired:
    """Accuracy of A minus accuracy of B on the same test items (in %), with a 95%
    interval; ``a_only`` / ``b_only``: items only A / only B gets right."""

    difference: float
    low: float
    high: float
    a_only: int
    b_only: int
    total: int

    def __str__(self) -> str:
        return (
            f"{self.difference:+.1f} points [{self.low:+.1f}, {self.high:+.1f}] "
            f"({self.a_only} drawings only the first gets right, {self.b_only} only the second, "
            f"of {self.total})"
        )


def paired_difference(a: np.ndarray, b: np.ndarray, z: float = 1.96) -> Paired:
    """The paired difference of two classifiers' correctness vectors (bool, same items):
    ``(b01 - b10) / n`` with the Wald interval of paired proportions."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(
            "give two non-empty 1-D correctness vectors of the same length"
        )
    n = len(a)
    a_only, b_only = int((a & ~b).sum()), int((b & ~a).sum())
    d = (a_only - b_only) / n
    var = ((a_only + b_only) / n - d * d) / n
    half = z * math.sqrt(max(var, 0.0))
    return Paired(100 * d, 100 * (d - half), 100 * (d + half), a_only, b_only, n)


# ------------------------------------------------------------------ data


@dataclass(frozen=True)
class Data:
    """Standardized train and test images (float64) and labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_data(cfg: Config, omni: omniglot.Omniglot | None = None) -> Data:
    """The split of a configuration, pixels standardized by the training set's statistics."""
    omni = omniglot.load_omniglot() if omni is None else omni
    cl = omniglot.background_classification(
        omni,
        train_drawers=cfg.train_drawers,
        num_classes=cfg.classes,
        seed=cfg.split_seed,
    )
    xtr, xte = cl.x_train.double(), cl.x_test.double()
    m, s = xtr.mean(), xtr.std()
    return Data((xtr - m) / s, cl.y_train, (xte - m) / s, cl.y_test)


# ------------------------------------------------------------------ models


@dataclass
class ModelResult:
    """A model's correctness on every test drawing, its accuracy curve (test accuracy
    after each epoch, for trained models) and, for the pi-limit, its rows per layer."""

    name: str
    correct: np.ndarray
    curve: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def accuracy(self) -> float:
        return 100 * float(self.correct.mean())

    @property
    def interval(self) -> tuple[float, float]:
        lo, hi = stats.wilson_interval(int(self.correct.sum()), len(self.correct))
        return 100 * lo, 100 * hi

    def to_dict(self) -> dict:
        lo, hi = self.interval
        return {
            "name": self.name,
            "correct": int(self.correct.sum()),
            "total": len(self.correct),
            "accuracy": self.accuracy,
            "wilson95": [lo, hi],
            "curve": self.curve,
            "rows": self.rows,
            "seconds": self.seconds,
        }


def kernel_results(cfg: Config, data: Data) -> list[ModelResult]:
    """NNGP and NTK kernel regression on the centred one-hot labels."""
    y = (
        torch.nn.functional.one_hot(data.y_train, cfg.classes).double()
        - 1 / cfg.classes
    )
    out = []
    for name in ("relu-nngp", "relu-ntk"):
        t0 = time.perf_counter()
        k = kernel_sgd.Kernel(name, cfg.sigma_w, cfg.sigma_b, depth=cfg.depth)
        pred = predict.ntk_predict(
            k(data.x_train, data.x_train),
            k(data.x_test, data.x_train),
            y,
            diag_reg=cfg.kernel_reg,
        )
        correct = (pred.argmax(1) == data.y_test).numpy()
        out.append(ModelResult(name, correct, seconds=time.perf_counter() - t0))
    return out


def pi_net(cfg: Config) -> pi.InfPiMLP:
    """The initial infinite pi-net of a configuration (zero readout)."""
    return pi.init(
        omniglot.SIDE * omniglot.SIDE,
        cfg.classes,
        depth=cfg.depth,
        r=cfg.r,
        generator=cfg.seed,
        bias_alpha=cfg.bias_alpha,
        dtype=getattr(torch, cfg.storage),
    )


def _lr_mult(cfg: Config) -> pi.LrMult:
    return pi.LrMult(first=cfg.first_lr_mult, readout=cfg.readout_lr_mult)


def _batches(cfg: Config, n: int, epoch: int) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=runtime.generator(1000 * cfg.seed + epoch))
    return [perm[i : i + cfg.batch] for i in range(0, n, cfg.batch)]


def train_pi_limit(
    cfg: Config, data: Data, *, progress: bool = False, net: pi.InfPiMLP | None = None
) -> tuple[ModelResult, pi.InfPiMLP]:
    """Train the infinite pi-net (SGD, cross-entropy); test accuracy after every epoch."""
    net = pi_net(cfg) if net is None else net
    dt = net.compute_dtype
    xtr, xte = data.x_train.to(dt), data.x_test.to(dt)
    curve = []
    t0 = time.perf_counter()
    n = len(xtr)
    per_step = [cfg.batch] * net.depth
    p = pi.plan(net, cfg.steps, per_step)
    p.check()
    for rw in net.rows:
        rw.reserve(max(p.rows_after))
    for epoch in range(cfg.epochs):
        for idx in _batches(cfg, n, epoch):
            x, y = xtr[idx], data.y_train[idx]
            g = net.gradients(x, output_grad(net(x), y))
            net.step(
                g,
                cfg.lr,
                lr_mult=_lr_mult(cfg),
                weight_decay=cfg.weight_decay,
                clip=cfg.clip,
            )
        correct = (net(xte).argmax(1) == data.y_test).numpy()
        curve.append(100 * float(correct.mean()))
        if progress:
            print(
                f"pi-limit epoch {epoch + 1}: test {curve[-1]:.1f}%, rows {net.row_counts()}"
            )
    return (
        ModelResult(
            "pi-limit",
            correct,
            curve,
            list(net.row_counts()),
            time.perf_counter() - t0,
        ),
        net,
    )


def train_pi_finite(cfg: Config, data: Data, width: int) -> ModelResult:
    """A width-``width`` pi-net sampled from the initial infinite net, trained by the same
    steps with projected gradients."""
    net = pi_net(
        cfg.replace(storage="float64" if cfg.storage == "float64" else "float32")
    )
    fin = net.sample(width, generator=cfg.seed + 7)
    dt = fin.weights[0].dtype
    xtr, xte = data.x_train.to(dt), data.x_test.to(dt)
    curve = []
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        for idx in _batches(cfg, len(xtr), epoch):
            torch.nn.functional.cross_entropy(
                fin(xtr[idx]), data.y_train[idx]
            ).backward()
            fin.step(
                cfg.lr,
                lr_mult=_lr_mult(cfg),
                weight_decay=cfg.weight_decay,
                clip=cfg.clip,
            )
        with torch.no_grad():
            correct = (fin(xte).argmax(1) == data.y_test).numpy()
        curve.append(100 * float(correct.mean()))
    return ModelResult(
        f"pi-finite-{width}", correct, curve, seconds=time.perf_counter() - t0
    )


@dataclass
class Result:
    """Every model's :class:`ModelResult` by name, and the configuration."""

    cfg: Config
    models: dict[str, ModelResult]

    def table(self) -> list[list[str]]:
        """Rows: model, correct / total, accuracy with its Wilson interval."""
        out = []
        for name, m in self.models.items():
            lo, hi = m.interval
            out.append(
                [
                    name,
                    f"{int(m.correct.sum())} / {len(m.correct)}",
                    f"{m.accuracy:.1f} % [{lo:.1f}, {hi:.1f}]",
                ]
            )
        return out

    def pi_vs(self, other: str = "relu-ntk") -> Paired:
        """The pi-limit's accuracy minus ``other``'s on the same test drawings."""
        return paired_difference(
            self.models["pi-limit"].correct, self.models[other].correct
        )


def run(
    cfg: Config,
    *,
    omni: omniglot.Omniglot | None = None,
    progress: bool = False,
) -> Result:
    """Every model of a configuration on its split (module docstring)."""
    cfg = cfg.check()
    data = load_data(cfg, omni)
    models: dict[str, ModelResult] = {}
    for m in kernel_results(cfg, data):
        models[m.name] = m
    models["pi-limit"], _ = train_pi_limit(cfg, data, progress=progress)
    for w in cfg.widths:
        models[f"pi-finite-{w}"] = train_pi_finite(cfg, data, int(w))
    return Result(cfg, models)


# ------------------------------------------------------------------ results


def results_dict(
    res: Result,
    argv: Sequence[str],
    device: str,
    seconds: float,
    provenance: dict | None = None,
) -> dict:
    """The results document; ``provenance`` taken at the start of the run (the code that
    ran), its ``seconds`` filled in here."""
    cfg = res.cfg
    rows = []
    setting = (
        f"{cfg.classes} characters, {cfg.train_drawers} training drawings each, "
        f"{20 - cfg.train_drawers} test drawings each"
    )
    for name, m in res.models.items():
        lo, hi = m.interval
        rows.append(
            results.row(
                f"Omniglot supervised, {setting}: {name} (depth {cfg.depth})",
                m.accuracy,
                None,
                unit="%",
                note=f"{int(m.correct.sum())} of {len(m.correct)} test drawings, Wilson 95% "
                f"[{lo:.1f}, {hi:.1f}]"
                + (
                    f"; r = {cfg.r}, {cfg.epochs} epochs, rows {m.rows}"
                    if m.rows
                    else ""
                ),
            )
        )
    d = res.pi_vs("relu-ntk")
    return {
        "experiment": "pi_supervised",
        "config": cfg.to_dict(),
        "models": {k: v.to_dict() for k, v in res.models.items()},
        "pi_minus_ntk": {
            "difference": d.difference,
            "low": d.low,
            "high": d.high,
            "pi_only": d.a_only,
            "ntk_only": d.b_only,
            "total": d.total,
        },
        "reproduction": rows,
        "provenance": {
            **(
                provenance
                or results.provenance(
                    "mupbook.experiments.pi_supervised",
                    list(argv),
                    seeds=[cfg.seed],
                    device=device,
                )
            ),
            "seconds": float(seconds),
        },
    }


def load_results(folder: str | Path | None = None) -> dict[str, dict]:
    """Every recorded ``results/pi_supervised*.json``: ``{file stem: document}``."""
    return _common.load_results("pi_supervised", folder)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m mupbook.experiments.pi_supervised",
        description="Omniglot characters from a few drawings each: the infinite pi-net, finite "
        "pi-nets and depth-L NNGP/NTK kernel regression.",
    )
    _common.add_common_arguments(
        ap, out_help="JSON file (default results/pi_supervised.json)"
    )
    for name, typ in (
        ("classes", int),
        ("train-drawers", int),
        ("r", int),
        ("epochs", int),
        ("batch", int),
        ("lr", float),
        ("clip", float),
        ("seed", int),
    ):
        ap.add_argument(f"--{name}", type=typ)
    ap.add_argument("--widths", type=int, nargs="*", help="finite pi-net widths")
    ap.add_argument("--storage", choices=pi_storages())
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    with _common.refused_by(parser):
        cfg = config(args.scale).replace(
            **_common.overrides(
                args,
                (
                    "classes",
                    "train_drawers",
                    "r",
                    "epochs",
                    "batch",
                    "lr",
                    "clip",
                    "seed",
                    "widths",
                    "storage",
                ),
            )
        )
        cfg.check()
    start = _common.start(parser, args, argv, "results/pi_supervised.json")
    provenance = results.provenance(
        "mupbook.experiments.pi_supervised",
        argv,
        seeds=[cfg.seed],
        device=start.device,
    )
    res = run(cfg, progress=start.progress)
    for row in res.table():
        print(" | ".join(row))
    print(f"pi-limit minus NTK: {res.pi_vs()}")
    _common.write_results(
        start.out,
        results_dict(res, argv, str(start.device), start.seconds(), provenance),
    )
    print(f"wrote {start.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
