"""muTransfer of a small GPT on real text: does the best Adam learning rate move with width?

TP5's Figure 1 (the figure atop the ``mup`` package's README: "Training loss against
learning rate on Transformers of varying d_model trained with Adam") on our data: for
every width of a sweep and every base learning rate ``2**log2_lr`` of one grid, train
:class:`mupbook.transformer.GPT` under SP and under muP with AdamW at a constant learning
rate, on character-level text (:mod:`mupbook.data.chars`), then measure the loss on the
validation part. Under muP the loss-vs-lr curves of all widths share their minimum and a
wider model is better at every learning rate; under SP the optimum moves to smaller
learning rates as the model widens, because SP's Adam updates of the hidden matrices and
the readout change their outputs by ``eta * n``.

Definitions, fixed here and used by the chapter and the results file:

* **Validation loss**: mean next-character cross-entropy (nats) of the final parameters
  over :func:`mupbook.data.chars.eval_blocks` (``val_blocks`` fixed blocks of the
  validation part; the same for every run).
* **Optimum** of a width: the vertex of the parabola through the lowest seed-mean
  validation loss of the grid and its two neighbours (:func:`mupbook.fit.parabola_optimum`),
  in log2 units; flagged ``at_edge`` when the lowest point is an end of the grid or
  next to a diverged learning rate (its location is then only a bound).
* **Shift**: max - min of the optimal log2 learning rates across widths.
* **Best loss** of a width: the lowest seed-mean validation loss on the grid.
* **Diverged**: a minibatch loss turned non-finite or exceeded ``DROP_FACTOR * ln(vocab)``
  (ten times the loss of a uniform guess: the copy is dropped from training there), or
  the validation loss is not finite or exceeds ``DIVERGENCE_FACTOR * ln(vocab)`` (twice a
  uniform guess); a diverged run counts as missing in the seed mean (NaN there).
* **Seeds**: seed ``s`` initializes every model with ``generator(s)`` (SP and muP draw
  the same numbers, except that muP's query starts at zero) and draws the training
  blocks from ``generator(s + BATCH_SEED_OFFSET)``: every learning rate, width and
  parametrization of a seed sees the same minibatches.

Vectorization: the learning rates of one width train together as ``R`` stacked copies
of the same initial model, one batched forward and backward pass for all of them
(:func:`torch.func.functional_call` under :func:`torch.vmap`), and a hand-written AdamW
over the stacked tensors with per-copy, per-tensor learning rates (TP5's muP rules via
:meth:`mupbook.nn.ScaledModule.param_groups`); copies that diverge are dropped from the
stack. The tests check that this equals training each learning rate alone with the
model's own ``.adam()``; ``bench/bench_mutransfer_gpt.py`` measures the speed-up. Stacking
pays where one copy leaves the hardware idle: on a GPU always, on one CPU thread only at
narrow widths (at width 512 the stack is slower than its copies one after another), so
``--stack auto`` (the default, :func:`stack_size`) stacks on a CPU up to
:data:`CPU_STACK_MAX_WIDTH` and trains wider models one learning rate at a time (a stack
of one copy: the same arithmetic).

Command line (writes JSON with the configuration, every loss, and provenance)::

    python -m mupbook.experiments.mutransfer_gpt --config cpu --threads 1 \\
        --out results/mutransfer_gpt.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import _checks, paper, results, runtime
from ..data import chars, text
from ..fit import GridOptimum, parabola_optimum
from ..nn import ScaledModule
from ..transformer import GPT
from . import _common
from .mutransfer import check_grid

PARAMS: tuple[str, ...] = ("sp", "mup")
PARAM_NAMES = {"sp": "SP", "mup": "μP"}
DIVERGENCE_FACTOR = 2.0
#: A copy whose minibatch loss exceeds this many times ln(vocab) is dropped (diverged).
DROP_FACTOR = 10.0
BATCH_SEED_OFFSET = 1_000_003
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
CURVE_POINTS = 50
#: On a CPU, the widest width whose learning rates train stacked under ``--stack auto``;
#: wider ones train one at a time. ``bench/bench_mutransfer_gpt.py`` on one thread (12
#: learning rates, 8 x 32 tokens): stacking is 2.4x faster than stacks of one at width
#: 64, 1.25x at 128, even (1.05x) at 256 and 0.73x (slower) at 512.
CPU_STACK_MAX_WIDTH = 256
#: ``--stack`` choices: every learning rate of a width together, one at a time, or auto.
STACK_MODES = ("auto", "all", "one")


# ------------------------------------------------------------- batched training core


class StackedAdamW:
    """``R`` independent copies of one :class:`~mupbook.nn.ScaledModule` (e.g. a GPT),
    copy ``r`` trained by AdamW at base learning rate ``lrs[r]`` times each tensor's Adam
    factor, with decoupled weight decay ``weight_decay / factor`` (``model.adam``'s
    convention, the ``mup`` package's). Parameters are stored stacked, (R, *shape); a
    step runs one vmapped forward and backward pass for all copies.

    The model itself is the functional skeleton and is left untouched. Copies whose loss
    turns non-finite or exceeds ``drop_above`` are dropped from the stack (their losses
    read NaN from then on).
    """

    def __init__(
        self,
        model: ScaledModule,
        lrs: torch.Tensor | Sequence[float],
        *,
        betas: tuple[float, float] = ADAM_BETAS,
        eps: float = ADAM_EPS,
        weight_decay: float = 0.0,
        drop_above: float = math.inf,
    ) -> None:
        lrs = torch.as_tensor(lrs, dtype=torch.float64).flatten()
        if lrs.numel() < 1 or not bool(torch.all(torch.isfinite(lrs) & (lrs > 0))):
            raise ValueError(
                f"learning rates must be positive and finite, got {lrs.tolist()}"
            )
        _checks.nonnegative_float(weight_decay, "weight_decay")
        self.model = model
        self.betas, self.eps, self.t = betas, eps, 0
        self.drop_above = float(drop_above)
        self.R = lrs.numel()
        #: Original copy index of each row still in the stack.
        self.rows = torch.arange(self.R)
        self.buffers = dict(model.named_buffers())
        self.params: dict[str, torch.Tensor] = {}
        self.rates: dict[str, torch.Tensor] = {}
        self.decay: dict[str, torch.Tensor] = {}
        for name, p, s in model.named_scalings():
            if s.adam_lr is None:
                raise ValueError(f"{name} has no Adam learning rate")
            shape = (self.R,) + (1,) * p.ndim
            stacked = p.detach().unsqueeze(0).repeat(shape)
            self.params[name] = stacked.contiguous().requires_grad_(True)
            rate = lrs * s.adam_lr
            self.rates[name] = rate.to(p.dtype).to(p.device).view(shape)
            # lr * (weight_decay / factor) = eta * weight_decay for every tensor
            self.decay[name] = (
                (1 - lrs * weight_decay).to(p.dtype).to(p.device).view(shape)
            )
        self.weight_decay = float(weight_decay)
        self.m = {k: torch.zeros_like(p) for k, p in self.params.items()}
        self.v = {k: torch.zeros_like(p) for k, p in self.params.items()}

    def _loss(
        self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        logits = torch.func.functional_call(self.model, (params, self.buffers), (x,))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of every copy still in the stack on tokens ``x`` and
        targets ``y`` (B, T): shape (rows,), differentiable."""
        return torch.vmap(self._loss, in_dims=(0, None, None))(self.params, x, y)

    def _full(self, values: torch.Tensor) -> torch.Tensor:
        out = torch.full((self.R,), float("nan"), dtype=torch.float64)
        out[self.rows] = values.detach().to(torch.float64).cpu()
        return out

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One AdamW step of every copy on the batch; returns the losses (R,) before the
        step, float64 (NaN for dropped copies)."""
        if self.rows.numel() == 0:
            return torch.full((self.R,), float("nan"), dtype=torch.float64)
        losses = self.losses(x, y)
        finite = torch.isfinite(losses)
        total = torch.where(finite, losses, torch.zeros_like(losses)).sum()
        grads = torch.autograd.grad(total, list(self.params.values()))
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2_sqrt = 1 - b1**self.t, math.sqrt(1 - b2**self.t)
        with torch.no_grad():
            for (name, p), g in zip(self.params.items(), grads):
                if self.weight_decay:
                    p.mul_(self.decay[name])
                m, v = self.m[name], self.v[name]
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
                p.sub_(m / denom * (self.rates[name] / bc1))
        out = self._full(losses)
        keep = finite & (losses.detach() <= self.drop_above)
        if not bool(keep.all()):
            self._keep(keep)
        return out

    def _keep(self, keep: torch.Tensor) -> None:
        keep = keep.to(self.rows.device)
        idx = torch.nonzero(keep).flatten()
        self.rows = self.rows[idx.cpu()]
        for store in (self.m, self.v, self.rates, self.decay):
            for k in store:
                store[k] = store[k][idx.to(store[k].device)].contiguous()
        self.params = {
            k: p.detach()[idx.to(p.device)].contiguous().requires_grad_(True)
            for k, p in self.params.items()
        }

    @torch.no_grad()
    def dataset_loss(
        self, x: torch.Tensor, y: torch.Tensor, chunk: int = 64
    ) -> torch.Tensor:
        """Mean cross-entropy of every copy over all blocks ``x``, ``y`` (N, T): shape
        (R,), float64 (NaN for dropped copies)."""
        if self.rows.numel() == 0:
            return torch.full((self.R,), float("nan"), dtype=torch.float64)
        total = torch.zeros(self.rows.numel(), dtype=torch.float64)
        for i in range(0, x.shape[0], chunk):
            xb, yb = x[i : i + chunk], y[i : i + chunk]
            total += self.losses(xb, yb).to(torch.float64).cpu() * xb.shape[0]
        return self._full(total / x.shape[0])

    def copy(self, r: int) -> dict[str, torch.Tensor]:
        """The parameters of original copy ``r`` (a state dict of the model's shape)."""
        where = torch.nonzero(self.rows == r).flatten()
        if where.numel() == 0:
            raise ValueError(f"copy {r} diverged and was dropped")
        return {k: p[int(where)].detach().clone() for k, p in self.params.items()}


# -------------------------------------------------------------------------- the sweep


@dataclass
class Sweep:
    """Validation losses over a (width, learning rate) grid for one parametrization.
    ``val_loss``, ``diverged``: (seeds, widths, lrs); ``curves``: minibatch training
    losses (seeds, widths, lrs, points) at the steps ``curve_steps``. Learning rates
    are ``2**log2_lrs`` (base rates: muP scales them per tensor with ``width /
    base_width``)."""

    param: str
    widths: np.ndarray
    log2_lrs: np.ndarray
    seeds: tuple[int, ...]
    val_loss: np.ndarray
    diverged: np.ndarray
    curves: np.ndarray
    curve_steps: np.ndarray
    vocab: int
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return PARAM_NAMES[self.param]

    def mean_loss(self) -> np.ndarray:
        """Seed-mean validation loss (widths, lrs); NaN where any seed diverged."""
        return np.where(self.diverged, np.nan, self.val_loss).mean(axis=0)

    def optima(self) -> list[GridOptimum]:
        """Each width's optimum (:func:`mupbook.fit.parabola_optimum` of
        :meth:`mean_loss` against log2 lr); ValueError if a width diverged everywhere."""
        out = []
        for j, n in enumerate(self.widths):
            try:
                out.append(parabola_optimum(self.log2_lrs, self.mean_loss()[j]))
            except ValueError:
                raise ValueError(
                    f"{self.label}: every learning rate diverged at width {n}; "
                    "extend the grid to smaller learning rates"
                ) from None
        return out

    def seed_optima(self) -> np.ndarray:
        """Each seed's own optimum (the parabola through its lowest point), log2 lr,
        shape (seeds, widths): how far the seed-mean optimum can be trusted. NaN where a
        seed diverged at every learning rate of a width."""
        out = np.full((len(self.seeds), len(self.widths)), np.nan)
        losses = np.where(self.diverged, np.nan, self.val_loss)
        for i in range(len(self.seeds)):
            for j in range(len(self.widths)):
                try:
                    out[i, j] = parabola_optimum(self.log2_lrs, losses[i, j]).x
                except ValueError:
                    pass
        return out

    def optimal_log2_lr(self) -> np.ndarray:
        """Optimal log2 learning rate per width (widths,)."""
        return np.array([o.x for o in self.optima()])

    def shift(self) -> float:
        """How far the optimum moves across widths (log2 units): max - min."""
        x = self.optimal_log2_lr()
        return float(x.max() - x.min())

    def best_loss(self) -> np.ndarray:
        """Lowest seed-mean validation loss of each width's grid (widths,); NaN where
        every learning rate diverged."""
        mean = self.mean_loss()
        out = np.full(mean.shape[0], np.nan)
        ok = np.isfinite(mean).any(axis=1)
        out[ok] = np.nanmin(mean[ok], axis=1)
        return out

    def curve(self, width: int, log2_lr: float) -> np.ndarray | None:
        """Seed-mean minibatch training loss (points,) at :attr:`curve_steps` of the run
        at ``width`` and base learning rate ``2**log2_lr``; NaN from a seed's divergence
        on; None when that width or learning rate is not on the sweep's grid."""
        j = np.flatnonzero(self.widths == int(width))
        k = np.flatnonzero(np.abs(self.log2_lrs - float(log2_lr)) < 1e-9)
        if j.size == 0 or k.size == 0:
            return None
        return self.curves[:, j[0], k[0]].mean(axis=0)

    def to_dict(self) -> dict:
        """JSON-ready (non-finite numbers become None)."""
        try:
            optima = [
                {"log2_lr": o.x, "loss": o.y, "index": o.index, "at_edge": o.at_edge}
                for o in self.optima()
            ]
        except ValueError:
            optima = None
        return {
            "param": self.param,
            "widths": self.widths.tolist(),
            "log2_lrs": self.log2_lrs.tolist(),
            "seeds": list(self.seeds),
            "vocab": self.vocab,
            "seconds": self.seconds,
            "val_loss": _common.floats_to_json(self.val_loss),
            "diverged": self.diverged.tolist(),
            "curve_steps": self.curve_steps.tolist(),
            "curves": _common.floats_to_json(self.curves),
            "optima": optima,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Sweep:
        """Inverse of :meth:`to_dict`."""
        return cls(
            d["param"],
            np.asarray(d["widths"], dtype=np.int64),
            np.asarray(d["log2_lrs"], dtype=float),
            tuple(d["seeds"]),
            _common.floats_from_json(d["val_loss"]),
            np.asarray(d["diverged"], dtype=bool),
            _common.floats_from_json(d["curves"]),
            np.asarray(d["curve_steps"], dtype=np.int64),
            int(d["vocab"]),
            float(d.get("seconds", 0.0)),
            dict(d.get("meta", {})),
        )


# ------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config(_common.ConfigBase):
    """One GPT muTransfer experiment: SP and muP over the same widths, grid and seeds."""

    widths: tuple[int, ...]
    log2_lrs: tuple[float, ...]
    steps: int
    batch_size: int
    context: int
    seeds: tuple[int, ...] = (0, 1)
    n_layers: int = 2
    n_heads: int = 2
    base_width: int = 64
    corpus: str = "auto"
    max_chars: int | None = None
    val_blocks: int = 256
    weight_decay: float = 0.0
    zero_query: bool = True
    zero_readout: bool = False
    dtype: str = "float32"

    def check(self) -> Config:
        """The configuration, validated before any work (ValueError naming the field)."""
        ws = _checks.widths(self.widths)
        check_grid(self.log2_lrs)
        if len(self.log2_lrs) < 3:
            raise ValueError("log2_lrs needs at least 3 points (a parabola)")
        for name in (
            "steps",
            "batch_size",
            "context",
            "n_layers",
            "n_heads",
            "base_width",
            "val_blocks",
        ):
            _checks.positive_int(getattr(self, name), name)
        for n in list(ws) + [self.base_width]:
            if int(n) % self.n_heads:
                raise ValueError(
                    f"width {int(n)} is not divisible by n_heads {self.n_heads}"
                )
        _checks.seeds(self.seeds)
        if max(self.seeds) >= 2**63 - BATCH_SEED_OFFSET:
            raise ValueError(f"seeds must be below 2**63 - {BATCH_SEED_OFFSET}")
        _checks.choice(self.corpus, text.CORPORA, "corpus")
        if self.max_chars is not None:
            _checks.positive_int(self.max_chars, "max_chars")
        _checks.nonnegative_float(self.weight_decay, "weight_decay")
        _checks.choice(self.dtype, ("float32", "float64"), "dtype")
        return self


def _grid(lo: float, hi: float, step: float = 0.5) -> tuple[float, ...]:
    return tuple(float(x) for x in np.arange(lo, hi + step / 2, step))


#: A small sweep (minutes of one CPU, seconds of a GPU): widths 64 to 256, a coarse grid,
#: one seed, short training. The chapter runs it only where no recorded run is at hand
#: (Colab), to show the curves; the claims are checked on the recorded run. The
#: explorer's live pictures train on its batches.
QUICK = Config(
    widths=(64, 128, 256),
    log2_lrs=_grid(-11.0, -5.0, 1.0),
    steps=60,
    batch_size=8,
    context=32,
    seeds=(0,),
    max_chars=2_000_000,
    val_blocks=64,
)
#: The recorded CPU run (one thread of a shared CPU: about 12 CPU-minutes, hours of wall
#: time at low priority): widths 64 to 256 from the base width 64, a grid of step 0.5
#: bracketing both parametrizations' optima (SP's falls towards 2^-11 at width 256), two
#: seeds, 150 steps of 8 blocks of 32 characters, the whole corpus.
CPU = Config(
    widths=(64, 128, 256),
    log2_lrs=_grid(-11.5, -6.0),
    steps=150,
    batch_size=8,
    context=32,
    seeds=(0, 1),
)
#: GPU-sized: widths 128 to 4096 from base width 128 (TP5's Figure 1 spans d_model 128
#: to 8192, muP from base width 128, Section 4), three seeds, longer training on larger
#: batches.
FULL = Config(
    widths=(128, 256, 512, 1024, 2048, 4096),
    log2_lrs=_grid(-15.0, -5.0),
    steps=2000,
    batch_size=32,
    context=128,
    seeds=(0, 1, 2),
    base_width=128,
    val_blocks=1024,
)
CONFIGS = {"quick": QUICK, "cpu": CPU, "full": FULL}


def config(name: str | None = None) -> Config:
    """:data:`QUICK`, :data:`CPU` or :data:`FULL`; ``None`` follows ``MUPBOOK_SCALE``
    (quick or full)."""
    name = runtime.scale() if name is None else name
    return CONFIGS[_checks.choice(name, tuple(CONFIGS), "config")]


# ------------------------------------------------------------------------------ run


@dataclass(frozen=True)
class Data:
    """Training ids (N,) and the fixed validation blocks (val_blocks, context)."""

    train: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    corpus: str


def load_data(cfg: Config, device: torch.device | str | None = None) -> Data:
    """The configuration's character corpus and validation blocks."""
    corpus = chars.load(cfg.corpus, max_chars=cfg.max_chars)
    vx, vy = chars.eval_blocks(corpus.val, cfg.val_blocks, cfg.context, device)
    return Data(corpus.train, vx, vy, corpus.name)


def make_model(
    cfg: Config, param: str, width: int, seed: int, device=None, dtype=torch.float32
) -> GPT:
    """The GPT of ``param`` at ``width`` for seed ``seed`` (initialized by
    ``generator(seed)``)."""
    return GPT(
        chars.VOCAB,
        int(width),
        param,
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        context=cfg.context,
        base_width=cfg.base_width,
        zero_query=cfg.zero_query if param == "mup" else False,
        zero_readout=cfg.zero_readout,
        generator=runtime.generator(seed),
        dtype=dtype,
        device=device,
    )


def stack_size(
    width: int, device: torch.device | str, mode: str = "auto"
) -> int | None:
    """How many learning rates of ``width`` train together (:func:`train_lrs`'s
    ``group``): None (all of them) or 1. ``mode`` ``"all"``, ``"one"``, or ``"auto"``:
    all on a GPU, and on a CPU up to :data:`CPU_STACK_MAX_WIDTH`."""
    _checks.choice(mode, STACK_MODES, "stack")
    if mode == "auto":
        wide = int(width) > CPU_STACK_MAX_WIDTH
        mode = "one" if torch.device(device).type == "cpu" and wide else "all"
    return None if mode == "all" else 1


def train_lrs(
    model: ScaledModule,
    lrs: Sequence[float] | torch.Tensor,
    batches: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    *,
    weight_decay: float = 0.0,
    group: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train copies of ``model`` at every base learning rate of ``lrs`` (R,) on the
    minibatches ``batches`` (inputs and targets, (steps, B, T)) and return the
    minibatch losses (R, steps) (step t's loss before update t) and the final
    validation loss (R,) over ``val`` (inputs and targets (N, T)), float64.
    ``group`` learning rates train stacked at a time (None: all of them); the result
    does not depend on it."""
    lrs = [float(x) for x in torch.as_tensor(lrs, dtype=torch.float64).flatten()]
    size = len(lrs) if group is None else _checks.positive_int(group, "group")
    xs, ys = batches
    curves, finals = [], []
    for k in range(0, len(lrs), size):
        stack = StackedAdamW(
            model,
            lrs[k : k + size],
            weight_decay=weight_decay,
            drop_above=DROP_FACTOR * math.log(chars.VOCAB),
        )
        curves.append(torch.stack([stack.step(x, y) for x, y in zip(xs, ys)], 1))
        finals.append(stack.dataset_loss(*val))
    return torch.cat(curves).numpy(), torch.cat(finals).numpy()


def run_cell(
    cfg: Config,
    param: str,
    width: int,
    seed: int,
    data: Data,
    device=None,
    stack: str = "auto",
) -> tuple[np.ndarray, np.ndarray, float]:
    """One (param, width, seed): minibatch curves (lrs, steps), validation losses
    (lrs,), seconds. ``stack``: how the learning rates train (:func:`stack_size`)."""
    dtype = {"float32": torch.float32, "float64": torch.float64}[cfg.dtype]
    t0 = time.perf_counter()
    batches = _batches(cfg, data, seed, device)
    model = make_model(cfg, param, width, seed, device, dtype)
    curves, final = train_lrs(
        model,
        np.exp2(cfg.log2_lrs),
        batches,
        (data.val_x, data.val_y),
        weight_decay=cfg.weight_decay,
        group=stack_size(width, next(model.parameters()).device, stack),
    )
    return curves, final, time.perf_counter() - t0


def _batches(
    cfg: Config, data: Data, seed: int, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training batches of ``seed`` (``cfg.steps`` of ``cfg.batch_size`` x
    ``cfg.context`` characters), the same for every width and parametrization."""
    return chars.train_batches(
        data.train,
        cfg.steps,
        cfg.batch_size,
        cfg.context,
        seed + BATCH_SEED_OFFSET,
        device,
    )


def training_curve(
    cfg: Config,
    param: str,
    width: int,
    log2_lr: float,
    data: Data,
    seed: int = 0,
    device=None,
) -> np.ndarray:
    """The minibatch training losses (steps,) of one GPT (``param``, ``width``) trained
    at base learning rate ``2**log2_lr`` on ``cfg``'s batches for ``seed`` (the explorer's
    live run; NaN from a divergence on)."""
    _checks.choice(param, PARAMS, "param")
    lr = 2.0 ** _checks.number(log2_lr, "log2_lr")
    batches = _batches(cfg, data, seed, device)
    model = make_model(cfg, param, width, seed, device)
    stack = StackedAdamW(model, [lr], weight_decay=cfg.weight_decay)
    return np.array([float(stack.step(x, y)[0]) for x, y in zip(*batches)])


def _curve_steps(steps: int) -> np.ndarray:
    return np.unique(
        np.linspace(0, steps - 1, min(CURVE_POINTS, steps)).round().astype(int)
    )


def assemble(
    cfg: Config,
    cells: Mapping[tuple[str, int, int], tuple[np.ndarray, np.ndarray, float]],
    meta: Mapping | None = None,
) -> dict[str, Sweep]:
    """Sweeps ``{param: Sweep}`` from finished cells ``{(param, width, seed): (curves
    (lrs, steps), val_loss (lrs,), seconds)}``; cells not (yet) run hold NaN and are
    not marked diverged."""
    ws, grid = np.asarray(cfg.widths), np.asarray(cfg.log2_lrs, dtype=float)
    keep = _curve_steps(cfg.steps)
    limit = DIVERGENCE_FACTOR * math.log(chars.VOCAB)
    out = {}
    for p in PARAMS:
        shape = (len(cfg.seeds), len(ws), len(grid))
        val = np.full(shape, np.nan)
        curves = np.full(shape + (keep.size,), np.nan)
        diverged = np.zeros(shape, dtype=bool)
        seconds = 0.0
        for i, s in enumerate(cfg.seeds):
            for j, n in enumerate(ws):
                if (p, int(n), s) not in cells:
                    continue
                c, v, sec = cells[(p, int(n), s)]
                c, v = np.asarray(c, dtype=float), np.asarray(v, dtype=float)
                curves[i, j], val[i, j] = c[:, keep], v
                with np.errstate(invalid="ignore"):
                    diverged[i, j] = (
                        ~np.isfinite(c).all(axis=-1) | ~np.isfinite(v) | (v > limit)
                    )
                seconds += sec
        out[p] = Sweep(
            p,
            ws,
            grid,
            tuple(cfg.seeds),
            val,
            diverged,
            curves,
            keep,
            chars.VOCAB,
            seconds,
            dict(meta or {}),
        )
    return out


def run(
    cfg: Config,
    *,
    data: Data | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    done: Mapping[tuple[str, int, int], tuple] | None = None,
    on_cell=None,
    stack: str = "auto",
) -> dict[str, Sweep]:
    """Every (width, param, seed) of ``cfg`` (widths ascending), skipping those in
    ``done``; ``on_cell(cells)`` is called after each new one (to checkpoint);
    ``stack`` says how each width's learning rates train (:func:`stack_size`).
    Returns ``{param: Sweep}``."""
    _checks.choice(stack, STACK_MODES, "stack")
    if not isinstance(cfg, Config):
        raise ValueError(f"cfg must be a Config, got {type(cfg).__name__}")
    cfg.check()
    dev = runtime.device(None if device is None else str(device))
    data = load_data(cfg, dev) if data is None else data
    cells = dict(done or {})
    todo = [
        (p, int(n), s)
        for n in cfg.widths
        for p in PARAMS
        for s in cfg.seeds
        if (p, int(n), s) not in cells
    ]
    bar = tqdm(total=len(todo), desc="GPT muTransfer", disable=not progress)
    for p, n, s in todo:
        bar.set_postfix(param=p, width=n, seed=s)
        cells[(p, n, s)] = run_cell(cfg, p, n, s, data, dev, stack)
        if on_cell is not None:
            on_cell(cells)
        bar.update()
    bar.close()
    meta = {
        "corpus": data.corpus,
        "n_train_chars": int(data.train.numel()),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "stack": stack,
    }
    return assemble(cfg, cells, meta)


# ------------------------------------------------------------------ results and CLI


def summary(sweeps: Mapping[str, Sweep]) -> dict:
    """Per parametrization: optimal log2 lr per width, shift, best loss per width."""
    out = {}
    for p, s in sweeps.items():
        try:
            opt = s.optimal_log2_lr().tolist()
            shift = s.shift()
        except ValueError:
            opt, shift = None, None
        out[p] = {
            "optimal_log2_lr": opt,
            "shift": shift,
            "best_loss": _common.floats_to_json(s.best_loss()),
        }
    return out


def reproduction_rows(sweeps: Mapping[str, Sweep], label: str) -> list[dict]:
    """TP5's claims (:data:`mupbook.paper.TP5_TRANSFORMER_CLAIMS`, no numbers) beside our
    measured shifts and best losses."""
    rows = []
    widths = "-".join(str(int(w)) for w in sweeps["mup"].widths)
    for p in PARAMS:
        s = sweeps[p]
        try:
            shift = s.shift()
        except ValueError:  # a width diverged at every learning rate: not measured
            shift = None
        rows.append(
            results.row(
                f"{s.label}: shift of the optimal log2 learning rate, widths {widths}",
                shift,
                None,
                unit="log2",
                note=f"TP5: {paper.TP5_TRANSFORMER_CLAIMS[p]} ({label})",
            )
        )
    best = sweeps["mup"].best_loss()
    change = float(best[-1] - best[0]) if np.isfinite(best[[0, -1]]).all() else None
    rows.append(
        results.row(
            f"μP: best validation loss, widest minus narrowest ({widths})",
            change,
            None,
            unit="nats",
            note=f"TP5: {paper.TP5_TRANSFORMER_CLAIMS['wider']} ({label})",
        )
    )
    return rows


def label(cfg: Config, hardware: Mapping | None = None) -> str:
    """How the run is described in the book: hardware, threads, widths, steps."""
    hw = hardware or {}
    where = (
        f"CPU, {hw.get('torch_threads', '?')} thread(s)"
        if str(hw.get("device", "cpu")).startswith("cpu")
        else str(hw.get("device_name", hw.get("device", "GPU")))
    )
    return (
        f"{where}, widths {', '.join(map(str, cfg.widths))}, {cfg.steps} steps of "
        f"{cfg.batch_size} x {cfg.context} characters, seeds "
        f"{', '.join(map(str, cfg.seeds))}"
    )


def results_dict(
    sweeps: Mapping[str, Sweep], cfg: Config, provenance: Mapping
) -> dict:
    """Everything a run produced, JSON-ready: configuration, sweeps, summary, rows."""
    desc = label(cfg, provenance.get("hardware"))
    return {
        "experiment": "mutransfer_gpt",
        "label": desc,
        "config": cfg.to_dict(),
        "sweeps": {p: s.to_dict() for p, s in sweeps.items()},
        "summary": summary(sweeps),
        "reproduction": reproduction_rows(sweeps, desc),
        "provenance": dict(provenance),
    }


def load_results(folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every recorded ``results/mutransfer_gpt*.json``: ``{file stem: document}``."""
    return _common.load_results("mutransfer_gpt", folder)


def sweeps(doc: Mapping) -> dict[str, Sweep]:
    """The sweeps of a results document, ``{param: Sweep}``."""
    return {p: Sweep.from_dict(d) for p, d in doc["sweeps"].items()}


def config_of(doc: Mapping) -> Config:
    """The configuration a results document records."""
    c = dict(doc["config"])
    for k in ("widths", "log2_lrs", "seeds"):
        c[k] = tuple(c[k])
    return Config(**c)


# -- checkpoints: a JSON file beside --out (``<out>.partial``), rewritten after each cell


def _save_partial(
    path: Path, cfg: Config, cells: Mapping, provenance: Mapping
) -> None:
    doc = {
        "config": cfg.to_dict(),
        "provenance": dict(provenance),
        "cells": [
            {
                "param": p,
                "width": n,
                "seed": s,
                "curves": _common.floats_to_json(c),
                "val_loss": _common.floats_to_json(v),
                "seconds": sec,
            }
            for (p, n, s), (c, v, sec) in cells.items()
        ],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def _load_partial(path: Path, cfg: Config) -> tuple[dict, dict | None]:
    if not path.is_file():
        return {}, None
    doc = json.loads(path.read_text())
    if doc["config"] != cfg.to_dict():
        raise ValueError(
            f"{path} holds a run of another configuration; delete it or rerun with "
            "the same options"
        )
    cells = {
        (c["param"], int(c["width"]), int(c["seed"])): (
            _common.floats_from_json(c["curves"]),
            _common.floats_from_json(c["val_loss"]),
            float(c["seconds"]),
        )
        for c in doc["cells"]
    }
    return cells, doc["provenance"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m mupbook.experiments.mutransfer_gpt",
        description="muTransfer of a small GPT on character-level text: Adam "
        "learning-rate sweeps under SP and muP across widths; writes every loss and "
        "provenance to JSON.",
    )
    _common.add_common_arguments(
        ap, out_help="JSON file (default results/mutransfer_gpt.json)", scale=True
    )
    ap.add_argument(
        "--config",
        choices=tuple(CONFIGS),
        help="configuration (default: --scale, i.e. quick or full)",
    )
    ap.add_argument("--widths", type=int, nargs="+", help="override the widths")
    ap.add_argument("--steps", type=int, help="override the number of steps")
    ap.add_argument("--seeds", type=int, nargs="+", help="override the seeds")
    ap.add_argument("--batch-size", type=int, help="override the batch size")
    ap.add_argument("--context", type=int, help="override the context length")
    ap.add_argument(
        "--log2-lrs", type=float, nargs="+", help="override the log2 learning rates"
    )
    ap.add_argument(
        "--stack",
        choices=STACK_MODES,
        default="auto",
        help="train each width's learning rates together (all), one at a time (one), "
        f"or auto: all on a GPU, on a CPU up to width {CPU_STACK_MAX_WIDTH} "
        "(default auto; the results do not depend on it)",
    )
    ap.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint <out>.partial of an interrupted run",
    )
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run a configuration and write ``--out`` (JSON). Returns 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    with _common.refused_by(parser):
        cfg = config(args.config or args.scale).replace(
            **_common.overrides(
                args,
                ("widths", "steps", "seeds", "batch_size", "context", "log2_lrs"),
            )
        )
    start = _common.start(
        parser, args, argv, "results/mutransfer_gpt.json", cfg.check
    )
    partial = start.out.with_name(start.out.name + ".partial")
    done, prov = ({}, None)
    if args.resume:
        with _common.refused_by(parser):
            done, prov = _load_partial(partial, cfg)
    recorded = [a for a in argv if a != "--resume"]
    if prov is None:  # the code that runs: git state at the start, not at the end
        prov = results.provenance(
            "mupbook.experiments.mutransfer_gpt",
            recorded,
            seeds=cfg.seeds,
            device=start.device,
        )
    before = sum(c[2] for c in done.values())

    def checkpoint(cells: Mapping) -> None:
        _save_partial(partial, cfg, cells, prov)

    result = run(
        cfg,
        device=start.device,
        progress=start.progress,
        done=done,
        on_cell=checkpoint,
        stack=args.stack,
    )
    prov = dict(prov, seconds=before + start.seconds())
    doc = results_dict(result, cfg, prov)
    _common.write_results(start.out, doc)
    partial.unlink(missing_ok=True)
    for p, s in doc["summary"].items():
        print(
            f"{p:4s} optimal log2 lr per width {s['optimal_log2_lr']}  "
            f"shift {s['shift']}  best loss {s['best_loss']}"
        )
    print(f"wrote {start.out} ({prov['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
