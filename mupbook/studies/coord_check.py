"""Coordinate checks (TP5): do activations keep their size as width grows?

Train the same model at several widths for a few steps and record, for every layer
and step, the mean absolute coordinate of its activations and of their change since
initialization. Under muP every curve is flat in width (log-log slope 0); a slope
> 0 is a blow-up that a wider model would turn into divergence; a slope < 0 is a
layer that stops learning.

One check serves every model of the book: a model's ``forward(x, return_features=True)``
returns its output and either a list of hidden activations (the MLPs of
:mod:`mupbook.nn`, named ``x^1 .. x^L``) or a dict of named activations (the GPT of
:mod:`mupbook.transformer`: embeddings, attention logits, MLP activations, residual
stream); the output is tracked too. Inputs may be features (float) or tokens (int).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import _checks, runtime
from ..fit import loglog_slope
from ..nn import MuMLP, ScaledMLP, ScaledModule, tp5_scalings
from ..transformer import GPT

ModelFactory = Callable[[int, torch.Generator], ScaledModule]
#: The optimizers a coordinate check can run (each model's ``.sgd(lr)`` / ``.adam(lr)``).
OPTIMIZERS = ("sgd", "adam")


def toy_batch(
    batch: int = 64,
    d_in: int = 32,
    d_out: int = 4,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed regression batch for coordinate checks: ``x ~ N(0, I)`` (batch, d_in),
    targets ``y = 1 + N(0, 1/4)`` (batch, d_out).

    The targets' nonzero mean matters: the first update's output change sums
    ``K(x, x_b) (f_0(x_b) - y_b)`` over the batch. ``f_0`` is correlated across inputs,
    so its part adds coherently; zero-mean targets would partly cancel, leaving the
    muP output at init (size ``n^-1/2``) to dominate the first steps at small widths.
    """
    gen = runtime.generator(seed)
    x = torch.randn(batch, d_in, generator=gen, dtype=dtype)
    return x, 1.0 + 0.5 * torch.randn(batch, d_out, generator=gen, dtype=dtype)


@dataclass
class CoordCheck:
    """Mean |coordinate| per (seed, width, step, layer): ``size`` of the activations and
    ``delta`` of their change since init; step 0 is initialization, step t is after t
    optimizer steps. ``layers`` names the columns: ``x^1 .. x^L`` (an MLP) or the
    model's own names (the GPT), then ``output``.
    Runs whose loss turned non-finite are marked in ``diverged`` (seed, width) and hold NaN.
    ``lr`` is the learning rate the runs used (None where unknown)."""

    widths: np.ndarray
    layers: list[str]
    size: np.ndarray
    delta: np.ndarray
    diverged: np.ndarray
    label: str
    lr: float | None = None

    @property
    def steps(self) -> int:
        return self.size.shape[2] - 1

    def mean(self, kind: Literal["size", "delta"]) -> np.ndarray:
        """Geometric mean over seeds, shape (widths, steps + 1, layers)."""
        values = {"size": self.size, "delta": self.delta}[kind]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.exp(np.log(values).mean(axis=0))

    def slopes(self, kind: Literal["size", "delta"]) -> np.ndarray:
        """Log-log slope against width, shape (steps + 1, layers); NaN where undefined
        (a diverged width, or a change that is exactly zero, as at step 0)."""
        mean = self.mean(kind)
        out = np.full(mean.shape[1:], np.nan)
        for t in range(mean.shape[1]):
            for k in range(mean.shape[2]):
                ok = np.isfinite(mean[:, t, k]) & (mean[:, t, k] > 0)
                if ok.sum() >= 2:
                    out[t, k] = loglog_slope(self.widths[ok], mean[ok, t, k]).slope
        return out

    def slopes_at(
        self,
        kind: Literal["size", "delta"],
        steps: Sequence[int],
        layers: Sequence[str] | None = None,
    ) -> np.ndarray:
        """:meth:`slopes` at the given ``steps`` and ``layers`` (names of
        :attr:`layers`, default all), shape (len(steps), len(layers))."""
        chosen = list(self.layers) if layers is None else list(layers)
        unknown = sorted(set(chosen) - set(self.layers))
        if unknown:
            raise ValueError(f"unknown layers {unknown}; the check has {self.layers}")
        bad = [t for t in steps if not 0 <= int(t) <= self.steps]
        if bad:
            raise ValueError(f"steps {bad} outside 0..{self.steps}")
        table = self.slopes(kind)
        return table[
            np.ix_([int(t) for t in steps], [self.layers.index(n) for n in chosen])
        ]


def coord_check(
    make_model: ModelFactory,
    widths: Sequence[int],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 5,
    optimizer: Literal["sgd", "adam"] = "sgd",
    lr: float = 0.1,
    seeds: Sequence[int] = (0,),
    loss: Literal["mse", "xent"] = "mse",
    label: str = "",
    progress: bool = True,
) -> CoordCheck:
    """Run a coordinate check. ``make_model(width, generator)`` builds the model;
    ``x`` (B, d_in) features or (B, T) tokens and ``y`` ((B, d_out) targets for
    ``mse``; class indices of the output's leading shape, (B,) or (B, T), for ``xent``)
    are one fixed batch, trained on for ``steps`` full-batch steps."""
    ws = _checks.widths(widths)
    steps = _checks.positive_int(steps, "steps")
    seeds = _checks.seeds(seeds)
    _checks.choice(optimizer, OPTIMIZERS, "optimizer")
    lr = _checks.positive_float(lr, "lr")
    _checks.choice(loss, ("mse", "xent"), "loss")
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x must be (batch, d_in) and y must have the same batch size; got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    size = delta = None
    names: list[str] = []
    diverged = np.zeros((len(seeds), len(ws)), dtype=bool)
    bar = tqdm(
        total=len(seeds) * len(ws),
        desc=f"coord check {label}".strip(),
        disable=not progress,
        leave=False,
    )
    for i, seed in enumerate(seeds):
        for j, n in enumerate(ws):
            model = make_model(int(n), runtime.generator(seed * 100_003 + j))
            p0 = next(model.parameters())
            xb = (
                x.to(p0.device, p0.dtype)
                if x.is_floating_point()
                else x.to(p0.device)
            )
            yb = y.to(p0.device)
            if loss == "mse":
                yb = yb.to(p0.dtype)
            opt = model.sgd(lr) if optimizer == "sgd" else model.adam(lr)
            records = _train_and_record(model, opt, xb, yb, steps, loss)
            if records is None:
                diverged[i, j] = True
                bar.update()
                continue
            s, d, names = records
            if size is None:
                shape = (len(seeds), len(ws), steps + 1, s.shape[1])
                size, delta = np.full(shape, np.nan), np.full(shape, np.nan)
            size[i, j], delta[i, j] = s, d
            bar.update()
    bar.close()
    if size is None:
        raise FloatingPointError(
            f"every run diverged (lr={lr}); lower the learning rate"
        )
    return CoordCheck(ws, names, size, delta, diverged, label, lr)


def named_activations(
    out: torch.Tensor, feats: list[torch.Tensor] | dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """A model's ``(output, features)`` as ``{name: activation}``: a list of features is
    named ``x^1 .. x^L``, a dict keeps its names; ``output`` comes last. Detached."""
    named = (
        dict(feats)
        if isinstance(feats, dict)
        else {f"x^{l}": f for l, f in enumerate(feats, 1)}
    )
    if "output" in named:
        raise ValueError("a feature may not be called 'output' (that is the output)")
    named["output"] = out
    return {k: v.detach() for k, v in named.items()}


def _objective(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "mse":
        return (out - y).pow(2).mean() / 2
    return torch.nn.functional.cross_entropy(
        out.reshape(-1, out.shape[-1]), y.reshape(-1)
    )


def _train_and_record(
    model: ScaledModule,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    loss: str,
) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """Sizes (steps + 1, activations) of activations and of their change, and their
    names; None if it diverged.

    One forward pass per step: the pass that computes step t's loss also records the
    activations after t - 1 updates."""
    size = delta = None
    init: list[torch.Tensor] = []
    names: list[str] = []
    for t in range(steps + 1):
        out, feats = model(x, return_features=True)
        named = named_activations(out, feats)
        acts = list(named.values())
        if t == 0:
            init, names = acts, list(named)
            size = np.zeros((steps + 1, len(acts)))
            delta = np.zeros((steps + 1, len(acts)))
        size[t] = [a.abs().mean().item() for a in acts]
        delta[t] = [(a - a0).abs().mean().item() for a, a0 in zip(acts, init)]
        if not np.all(np.isfinite(size[t])):
            return None
        if t == steps:
            break
        value = _objective(out, y, loss)
        if not torch.isfinite(value):
            return None
        opt.zero_grad()
        value.backward()
        opt.step()
    return size, delta, names


def mlp_coord_check(
    param: Literal["mup", "sp"],
    optimizer: Literal["sgd", "adam"],
    lr: float,
    widths: Sequence[int] = (64, 128, 256, 512, 1024, 2048),
    *,
    steps: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    depth: int = 2,
    base_width: int = 16,
    progress: bool = True,
) -> CoordCheck:
    """The book's standard coordinate check: a ``MuMLP`` (32 inputs, 4 outputs, ReLU,
    biases) in muP or SP on :func:`toy_batch`, float32.

    The base width (16) lies below the sweep so that every width is "wide": at the
    base width muP is SP, whose outputs at init are of order one.
    """
    make = lambda n, g: MuMLP(
        32,
        n,
        4,
        param,
        depth=depth,
        base_width=base_width,  # noqa: E731
        generator=g,
    )
    return coord_check(
        make,
        widths,
        *toy_batch(64, 32, 4, seed=0),
        steps=steps,
        optimizer=optimizer,
        lr=lr,
        seeds=seeds,
        label=f"{param} {optimizer}",
        progress=progress,
    )


def mystery_mlp(width: int, generator: torch.Generator | None = None) -> ScaledMLP:
    """Chapter 6's debug exercise: a muP MLP written by hand, with one mistake.

    32 inputs, two hidden ReLU layers of ``width``, 4 outputs, no biases, base width 16,
    TP5's Table 8 form, float32; inputs (B, 32) give outputs (B, 4). One tensor's Adam
    learning rate is not muP's (reading this code gives the exercise away: the exercise
    finds the tensor with a coordinate check).
    """
    weights, _ = tp5_scalings("mup", "table8", 32, width, 4, 2, 16)
    weights[1] = dataclasses.replace(weights[1], adam_lr=1.0)  # SP's rate for W^2
    return ScaledMLP([32, width, width, 4], weights, None, generator=generator)


def gpt_coord_check(
    param: Literal["mup", "sp"],
    tokens: torch.Tensor,
    targets: torch.Tensor,
    widths: Sequence[int] = (128, 256, 512, 1024),
    *,
    optimizer: Literal["sgd", "adam"] = "adam",
    lr: float = 0.03,
    steps: int = 12,
    seeds: Sequence[int] = (0, 1, 2),
    vocab: int = 27,
    n_layers: int = 2,
    n_heads: int = 2,
    base_width: int = 32,
    zero_query: bool | None = None,
    zero_readout: bool | None = None,
    progress: bool = True,
) -> CoordCheck:
    """A coordinate check of :class:`mupbook.transformer.GPT` (``vocab`` tokens,
    ``n_layers`` blocks, ``n_heads`` heads, context = the batch's length) in muP or SP on
    one fixed batch of ``tokens`` and next-token ``targets`` (B, T), float32, trained by
    cross-entropy. Tracks every named activation of :meth:`GPT.forward` and the output.

    ``zero_query`` and ``zero_readout`` default to True under muP (the ``mup`` README's
    recommendation: no ``n^-1/2`` transient at initialization) and False under SP. The
    base width (32) lies below the sweep, as in :func:`mlp_coord_check`."""
    if tokens.ndim != 2 or tokens.shape != targets.shape:
        raise ValueError(
            f"tokens and targets must both be (batch, time), got "
            f"{tuple(tokens.shape)} and {tuple(targets.shape)}"
        )
    zr = (param == "mup") if zero_readout is None else bool(zero_readout)

    def make(n: int, g: torch.Generator) -> GPT:
        return GPT(
            vocab,
            n,
            param,
            n_layers=n_layers,
            n_heads=n_heads,
            context=tokens.shape[1],
            base_width=base_width,
            zero_query=zero_query,
            zero_readout=zr,
            generator=g,
        )

    return coord_check(
        make,
        widths,
        tokens,
        targets,
        steps=steps,
        optimizer=optimizer,
        lr=lr,
        seeds=seeds,
        loss="xent",
        label=f"GPT {param} {optimizer}",
        progress=progress,
    )
