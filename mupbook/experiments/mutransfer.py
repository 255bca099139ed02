"""muTransfer on Omniglot (TP5 section 3, Figures 1 and 3): does the best learning rate move with width?

For every width of a sweep and every learning rate of a grid (neighbours a factor
``2**step`` apart, usually 2), train an MLP (:class:`mupbook.nn.MuMLP`, ReLU, biases)
on Omniglot character classification (background set, 28x28 = 784 inputs, the
first ``num_classes`` characters, 15 training drawers per character) and record
the final training loss. Under muP the loss-vs-lr curves of all widths share their
minimum (up to a grid step); under SP it moves towards small learning rates as the
model widens, because SP's updates of the hidden and readout layers grow with width.

Definitions, fixed here and used by the chapter:

* **Training loss**: the cross-entropy of the final parameters over the training set
  (all of it, or a fixed random sample of ``eval_size`` = 2048 training images when it
  is larger), evaluated after the last step. TP5 plots training loss; evaluating it in
  one pass at the end removes the minibatch noise of "the last few minibatch losses".
  Minibatch losses are kept too (``Sweep.curves``).
* **Inputs**: raw pixel intensities in [0, 1] (ink = 1; on average 24% of the pixels
  carry ink). Standardizing them would make the input layer's update, which grows with
  the 784 inputs and not with width, dominate the width-dependent hidden and readout
  updates at the widths a CPU can afford, and hide SP's shift.
* **Diverged**: a minibatch loss turned non-finite, or the final loss is not finite
  or exceeds ``DIVERGENCE_FACTOR * ln(num_classes)`` (10 times the chance-level loss).
* **Seeds**: seed ``s`` initializes every width's model with ``generator(s)`` and
  draws the minibatch order (random permutations, epoch after epoch) from
  ``generator(s + BATCH_SEED_OFFSET)``; every learning rate and every width of a
  seed therefore sees the same minibatches, so the curves are comparable.
* **Base width**: muP and SP coincide at ``base_width`` (default 128, the narrowest
  width of the sweeps), so their curves at that width are identical.

Why SP's optimum moves, and why the quick sweep needs width 2048: with Adam every weight
moves by about ``eta`` per step, so a hidden layer's update changes its output by
``~ eta * n`` (n aligned inputs) and so does the readout's; muP divides their rates by
``n / base_width``, SP does not, so SP's best ``eta`` falls like ``1/n`` -- as far as
those layers set it. The input layer's update changes its output by ``eta * sum|x|``,
which depends on the 784 pixels and not on n, and pulls the optimum back; the 1/n law
shows only once ``n`` is well above the input layer's share (a few hundred for these
sparse images; standardized, dense pixels would push it past a thousand).
With SGD, SP's readout and hidden NTK terms grow like n and the input layer's like
``|x|^2``, independent of n, so SP's SGD optimum must fall like ``1/n`` too once the former
dominate; at which width that happens on these images is not measured (the quick sweep's
widths, up to 2048 with one seed, do not resolve a move of one grid step from noise). The
chapter (and ``results/mutransfer*.json`` once recorded) shows where the optima lie; this
docstring does not keep measurements.

Vectorization: all learning rates of one width train at once as a batch of
independent copies of the same initial model (weights (R, fan_out, fan_in), batched
matmuls, per-copy per-tensor learning rates following TP5's tables). The test suite
checks that this equals training :class:`~mupbook.nn.MuMLP` one learning rate at a
time with its own ``.sgd()``/``.adam()``.

Command line (writes JSON with the configuration, every loss, and provenance)::

    python -m mupbook.experiments.mutransfer --scale full --out results/mutransfer.json
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import _checks, results, runtime
from ..data import omniglot
from ..nn import MuMLP, Scaling
from . import _common

PARAMS: tuple[str, ...] = ("sp", "mup")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
PARAM_NAMES = {"sp": "SP", "mup": "μP"}
D_IN = omniglot.SIDE * omniglot.SIDE
N_CLASSES = omniglot.N_CHARACTERS["images_background"]
DIVERGENCE_FACTOR = 10.0
BATCH_SEED_OFFSET = 1_000_003
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
#: d phi / dz from (z, phi(z)), for the hand-written backward pass of :class:`LrBatch`.
_DERIVATIVES = {
    "relu": lambda z, a: (z > 0).to(z.dtype),
    "tanh": lambda z, a: 1 - a * a,
    "linear": lambda z, a: torch.ones_like(z),
}


# ------------------------------------------------------------------------ validation


def check_grid(log2_lrs: Iterable[float]) -> np.ndarray:
    """A learning-rate grid in log2 units: >= 2 finite, strictly increasing, evenly spaced
    values (a constant ratio between neighbours, so that "grid steps" mean something)."""
    grid = np.asarray(list(log2_lrs), dtype=float)
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError(
            f"log2_lrs must list at least two learning rates (log2), got {grid.tolist()}"
        )
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"log2_lrs must be finite, got {grid.tolist()}")
    steps = np.diff(grid)
    if np.any(steps <= 0) or not np.allclose(steps, steps[0], rtol=1e-9, atol=1e-12):
        raise ValueError(
            f"log2_lrs must be strictly increasing and evenly spaced, got {grid.tolist()}"
        )
    return grid


def _check_seeds(seeds: Iterable[int]) -> tuple[int, ...]:
    out = _checks.seeds(seeds)
    if max(out) >= 2**63 - BATCH_SEED_OFFSET:
        raise ValueError(f"seeds must be below 2**63 - {BATCH_SEED_OFFSET}")
    return out


def _check_num_classes(num_classes: int | None) -> int:
    c = N_CLASSES if num_classes is None else num_classes
    if not _checks.is_integer(c) or not 2 <= c <= N_CLASSES:
        raise ValueError(
            f"num_classes must be an integer in 2..{N_CLASSES} (background characters), "
            f"got {num_classes!r}"
        )
    return int(c)


# ------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class TrainSet:
    """Training images ``x`` (N, 784), pixels in [0, 1], and labels ``y`` (N,) in 0..C-1."""

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int


def training_set(
    data: omniglot.Omniglot | None = None,
    num_classes: int | None = None,
    *,
    split_seed: int = 0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> TrainSet:
    """The training part of :func:`~mupbook.data.omniglot.background_classification`
    (first ``num_classes`` characters, 15 drawers each chosen by ``split_seed``), pixels
    in [0, 1]. ``data=None`` loads Omniglot (``MUPBOOK_DATA`` or the cache)."""
    c = _check_num_classes(num_classes)
    if data is None:
        data = omniglot.load_omniglot(progress=False)
    x, y, _, _ = omniglot.background_classification(
        data, num_classes=c, seed=split_seed
    )
    dev = runtime.device(None if device is None else str(device))
    return TrainSet(x.to(device=dev, dtype=dtype), y.to(dev), c)


def eval_rows(n_train: int, eval_size: int | None) -> torch.Tensor | None:
    """The training rows on which the final loss is measured: None (all of them) when
    ``eval_size`` is None or at least ``n_train``, else a fixed random sample of
    ``eval_size`` rows (drawn from ``generator(0)``, the same for every seed), sorted."""
    if eval_size is None or eval_size >= n_train:
        return None
    _checks.positive_int(eval_size, "eval_size")
    return (
        torch.randperm(n_train, generator=runtime.generator(0))[:eval_size]
        .sort()
        .values
    )


def batch_order(n_train: int, steps: int, batch_size: int, seed: int) -> torch.Tensor:
    """Minibatch row indices (steps, batch_size): random permutations of ``range(n_train)``
    one after another (each epoch sees every row once), drawn from ``generator(seed)``."""
    _checks.positive_int(n_train, "n_train")
    _checks.positive_int(steps, "steps")
    _checks.positive_int(batch_size, "batch_size")
    if batch_size > n_train:
        raise ValueError(
            f"batch_size {batch_size} exceeds the {n_train} training images"
        )
    gen = runtime.generator(seed)
    need = steps * batch_size
    perms = [
        torch.randperm(n_train, generator=gen) for _ in range(-(-need // n_train))
    ]
    return torch.cat(perms)[:need].view(steps, batch_size)


# ------------------------------------------------------------- batched training core


class LrBatch:
    """``R`` independent copies of one :class:`MuMLP`, copy ``r`` trained at base learning
    rate ``lrs[r]`` times the model's per-tensor factors (TP5 Table 3/8), by SGD or Adam.

    Weights are stored (R, fan_out, fan_in), biases (R, fan_out); a forward pass maps
    x (B, d_in) to logits (R, B, d_out) with batched matmuls. Backpropagation is written
    out by hand so that SGD adds each update inside the weight-gradient matmul
    (``baddbmm_``) and Adam works in preallocated buffers: no (R, n, n) temporaries.
    Adam is PyTorch's Adam(W) without weight decay (the ``MuMLP.adam`` defaults).
    """

    def __init__(
        self,
        model: MuMLP,
        optimizer: str,
        lrs: torch.Tensor | Sequence[float],
        betas: tuple[float, float] = ADAM_BETAS,
        eps: float = ADAM_EPS,
    ) -> None:
        _checks.choice(optimizer, OPTIMIZERS, "optimizer")
        if model.activation not in _DERIVATIVES:
            raise ValueError(
                f"LrBatch supports the activations {sorted(_DERIVATIVES)}, "
                f"got {model.activation!r}"
            )
        lrs = torch.as_tensor(lrs, dtype=torch.float64).flatten()
        if lrs.numel() < 1 or not bool(torch.all(torch.isfinite(lrs) & (lrs > 0))):
            raise ValueError(
                f"learning rates must be positive and finite, got {lrs.tolist()}"
            )
        R = lrs.numel()
        self.optimizer, self.betas, self.eps, self.t = optimizer, betas, eps, 0
        self.activation = model.activation
        self.phi = model.phi
        self.L = len(model.weights)

        def copies(p: torch.Tensor) -> torch.Tensor:
            return p.detach().unsqueeze(0).repeat(R, *([1] * p.ndim)).contiguous()

        def rates(s: Scaling, ndim: int, like: torch.Tensor) -> torch.Tensor:
            factor = s.sgd_lr if optimizer == "sgd" else s.adam_lr
            return (
                (lrs * factor)
                .to(device=like.device, dtype=like.dtype)
                .view(R, *([1] * ndim))
            )

        self.w = [copies(w) for w in model.weights]
        self.w_mult = [float(s.multiplier) for s in model.weight_scalings]
        self.w_lr = [
            rates(s, 2, w) for s, w in zip(model.weight_scalings, model.weights)
        ]
        self.b = (
            [copies(b) for b in model.biases] if model.biases is not None else None
        )
        self.b_mult = (
            [float(s.multiplier) for s in model.bias_scalings] if self.b else []
        )
        self.b_lr = (
            [rates(s, 1, b) for s, b in zip(model.bias_scalings, model.biases)]
            if self.b
            else []
        )
        if optimizer == "adam":
            params = self.w + (self.b or [])
            scalings = model.weight_scalings + (model.bias_scalings if self.b else [])
            self.adam_rates = [
                (lrs * sc.adam_lr).tolist() for sc in scalings
            ]  # float64
            self.m = [torch.zeros_like(p) for p in params]
            self.v = [torch.zeros_like(p) for p in params]
            self.g = [torch.empty_like(p) for p in params]

    @property
    def R(self) -> int:
        return self.w[0].shape[0]

    def _forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Logits (R, B, d_out), pre-activations z^1..z^(L-1) and activations x^1..x^(L-1)."""
        zs, acts = [], []
        h = x
        for l in range(self.L):
            z = torch.matmul(h, self.w[l].transpose(1, 2))
            if self.w_mult[l] != 1.0:
                z.mul_(self.w_mult[l])
            if self.b is not None:
                z.add_(self.b[l].unsqueeze(1), alpha=self.b_mult[l])
            if l == self.L - 1:
                return z, zs, acts
            zs.append(z)
            h = self.phi(z)
            acts.append(h)
        raise AssertionError("unreachable")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (R, B, d_out) of every copy for the inputs x (B, d_in)."""
        return self._forward(x)[0]

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of every copy on the batch (x (B, d_in), y (B,)): shape (R,)."""
        out = self.logits(x)
        R, B, C = out.shape
        return (
            F.cross_entropy(out.reshape(R * B, C), y.repeat(R), reduction="none")
            .view(R, B)
            .mean(1)
        )

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimizer step of every copy on the batch x (B, d_in), y (B,); returns the
        losses (R,) before the step."""
        out, zs, acts = self._forward(x)
        B = x.shape[0]
        logp = torch.log_softmax(out, dim=-1)
        index = y.view(1, B, 1).expand(self.R, B, 1)
        losses = -logp.gather(2, index).squeeze(2).mean(1)
        dz = (
            logp.exp_()
            .scatter_add_(2, index, torch.full_like(logp[..., :1], -1.0))
            .div_(B)
        )
        inputs = [x.expand(self.R, *x.shape)] + acts
        deltas = [dz]  # dLoss/dz^l for l = L, L-1, ..., 1, computed before any update
        for l in range(self.L - 1, 0, -1):
            da = torch.bmm(deltas[-1], self.w[l]).mul_(self.w_mult[l])
            deltas.append(
                da.mul_(_DERIVATIVES[self.activation](zs[l - 1], acts[l - 1]))
            )
        deltas.reverse()
        if self.optimizer == "sgd":
            for l in range(self.L):
                scaled = deltas[l] * (-self.w_mult[l] * self.w_lr[l])  # (R, B, out)
                self.w[l].baddbmm_(scaled.transpose(1, 2), inputs[l])
                if self.b is not None:
                    self.b[l].sub_(self.b_lr[l] * self.b_mult[l] * deltas[l].sum(1))
            return losses
        # Multipliers scale the small (R, B, out) deltas, not the (R, out, in) gradients.
        scaled = [
            d if mult == 1.0 else d * mult for d, mult in zip(deltas, self.w_mult)
        ]
        grads = [
            torch.bmm(scaled[l].transpose(1, 2), inputs[l], out=self.g[l])
            for l in range(self.L)
        ]
        if self.b is not None:
            grads += [
                torch.sum(d if mult == 1.0 else d * mult, 1, out=g)
                for d, g, mult in zip(deltas, self.g[self.L :], self.b_mult)
            ]
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2_sqrt = 1 - b1**self.t, math.sqrt(1 - b2**self.t)
        for p, g, rates, m, v in zip(
            self.w + (self.b or []), grads, self.adam_rates, self.m, self.v
        ):
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            # p -= (lr / bc1) m / (sqrt(v) / bc2_sqrt + eps)
            #    = (lr bc2_sqrt / bc1) m / (sqrt(v) + eps bc2_sqrt), g's buffer as denominator
            denom = torch.sqrt(v, out=g).add_(self.eps * bc2_sqrt)
            for r, lr in enumerate(rates):
                p[r].addcdiv_(m[r], denom[r], value=-lr * bc2_sqrt / bc1)
        return losses

    @torch.no_grad()
    def dataset_loss(
        self, x: torch.Tensor, y: torch.Tensor, chunk: int = 2048
    ) -> torch.Tensor:
        """Mean cross-entropy of every copy over all of x (N, d_in), y (N,): shape (R,)."""
        total = torch.zeros(self.R, dtype=torch.float64, device=x.device)
        for i in range(0, x.shape[0], chunk):
            xb, yb = x[i : i + chunk], y[i : i + chunk]
            total += self.losses(xb, yb).to(torch.float64) * xb.shape[0]
        return total / x.shape[0]


def train_lrs(
    model: MuMLP,
    optimizer: str,
    lrs: Sequence[float] | torch.Tensor,
    train: TrainSet,
    batches: torch.Tensor,
    eval_rows: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train copies of ``model`` (left untouched) at every base learning rate of ``lrs`` (R,)
    on the minibatches ``batches`` (steps, B) of row indices into ``train``.

    Returns the minibatch losses (R, steps) (step t's loss is computed before update
    t) and the final loss (R,) over the training rows ``eval_rows`` (default: all),
    both float64.
    """
    batch = LrBatch(model, optimizer, torch.as_tensor(lrs, dtype=torch.float64))
    x, y = train.x, train.y
    curves = [batch.step(x[idx], y[idx]) for idx in batches.to(x.device)]
    if eval_rows is not None:
        x, y = x[eval_rows.to(x.device)], y[eval_rows.to(x.device)]
    final = batch.dataset_loss(x, y)
    return (
        torch.stack(curves, 1).to(torch.float64).cpu().numpy(),
        final.cpu().numpy(),
    )


# -------------------------------------------------------------------------- the sweep


@dataclass
class Sweep:
    """Final training loss over a (width, learning rate) grid for one parametrization and
    optimizer. ``loss``, ``diverged``: (seeds, widths, lrs); ``curves``: minibatch losses
    (seeds, widths, lrs, steps). Learning rates are ``2**log2_lrs`` (base rates: muP and
    SP scale them per tensor with ``width / base_width``)."""

    param: str
    optimizer: str
    widths: np.ndarray
    log2_lrs: np.ndarray
    seeds: tuple[int, ...]
    loss: np.ndarray
    diverged: np.ndarray
    curves: np.ndarray
    num_classes: int
    steps: int
    batch_size: int
    base_width: int
    depth: int
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def lrs(self) -> np.ndarray:
        return np.exp2(self.log2_lrs)

    @property
    def grid_step(self) -> float:
        """Spacing of the grid in log2 units (1: neighbours differ by a factor 2)."""
        return float(self.log2_lrs[1] - self.log2_lrs[0])

    @property
    def label(self) -> str:
        return f"{PARAM_NAMES[self.param]} {'SGD' if self.optimizer == 'sgd' else 'Adam'}"

    def mean_loss(self) -> np.ndarray:
        """Seed-mean loss (widths, lrs); NaN where any seed diverged."""
        loss = np.where(self.diverged, np.nan, self.loss)
        return loss.mean(axis=0)

    def best_lr_index(self, per_seed: bool = False) -> np.ndarray:
        """Grid index of the lowest seed-mean loss among non-diverged lrs, per width (widths,);
        with ``per_seed`` each seed's own optimum (seeds, widths). -1 where every lr diverged."""
        loss = np.where(self.diverged, np.nan, self.loss)
        table = loss if per_seed else loss.mean(axis=0)[None]
        out = np.full(table.shape[:2], -1, dtype=np.int64)
        for i, j in np.ndindex(*table.shape[:2]):
            row = table[i, j]
            if np.isfinite(row).any():
                out[i, j] = int(np.nanargmin(row))
        return out if per_seed else out[0]

    def best_lr(self) -> np.ndarray:
        """Best base learning rate per width (widths,); NaN where every lr diverged."""
        idx = self.best_lr_index()
        return np.where(idx >= 0, self.lrs[np.clip(idx, 0, None)], np.nan)

    def at_edge(self) -> np.ndarray:
        """Per width: is the optimum at either end of the grid (so the true optimum may
        lie outside it and a measured shift is only a lower bound)? Shape (widths,)."""
        idx = self.best_lr_index()
        return (idx == 0) | (idx == len(self.log2_lrs) - 1)

    def shift_in_grid_steps(self) -> int:
        """How far the optimum moves across widths: max - min of :meth:`best_lr_index`."""
        idx = self.best_lr_index()
        if np.any(idx < 0):
            bad = self.widths[idx < 0].tolist()
            raise ValueError(
                f"{self.label}: every learning rate diverged at widths {bad}; "
                "extend the grid to smaller learning rates"
            )
        return int(idx.max() - idx.min())

    def to_dict(self, max_curve_points: int = 100) -> dict:
        """JSON-ready dict (non-finite losses become None); curves subsampled to at most
        ``max_curve_points`` steps."""
        keep = np.unique(
            np.linspace(0, self.steps - 1, min(max_curve_points, self.steps))
            .round()
            .astype(int)
        )
        idx = self.best_lr_index()
        return {
            "param": self.param,
            "optimizer": self.optimizer,
            "widths": self.widths.tolist(),
            "log2_lrs": self.log2_lrs.tolist(),
            "seeds": list(self.seeds),
            "num_classes": self.num_classes,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "base_width": self.base_width,
            "depth": self.depth,
            "seconds": self.seconds,
            "loss": _common.floats_to_json(self.loss),
            "diverged": self.diverged.tolist(),
            "curve_steps": keep.tolist(),
            "curves": _common.floats_to_json(self.curves[..., keep]),
            "best_lr_index": idx.tolist(),
            "best_lr_index_per_seed": self.best_lr_index(True).tolist(),
            "best_log2_lr": [
                float(self.log2_lrs[i]) if i >= 0 else None for i in idx
            ],
            "shift_in_grid_steps": (
                self.shift_in_grid_steps() if np.all(idx >= 0) else None
            ),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Sweep:
        """Inverse of :meth:`to_dict` (curves hold only the stored steps)."""
        return cls(
            d["param"],
            d["optimizer"],
            np.asarray(d["widths"], dtype=np.int64),
            np.asarray(d["log2_lrs"], dtype=float),
            tuple(d["seeds"]),
            _common.floats_from_json(d["loss"]),
            np.asarray(d["diverged"], dtype=bool),
            _common.floats_from_json(d["curves"]),
            d["num_classes"],
            d["steps"],
            d["batch_size"],
            d["base_width"],
            d["depth"],
            d.get("seconds", 0.0),
            dict(d.get("meta", {})),
        )


def lr_sweep(
    param: str,
    optimizer: str,
    widths: Sequence[int],
    log2_lrs: Sequence[float],
    *,
    steps: int,
    batch_size: int = 64,
    num_classes: int | None = None,
    depth: int = 2,
    base_width: int = 128,
    seeds: Sequence[int] = (0,),
    split_seed: int = 0,
    eval_size: int | None = 2048,
    data: omniglot.Omniglot | TrainSet | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
) -> Sweep:
    """Train ``MuMLP(784, n, num_classes, param, depth=depth, base_width=base_width)`` for
    ``steps`` minibatch steps at every width ``n`` and every base learning rate
    ``2**log2_lrs`` with ``optimizer`` ('sgd' or 'adam'), for every seed; return the final
    training losses (over :func:`eval_rows` ``(N, eval_size)``) as a :class:`Sweep`.
    ``data``: loaded Omniglot, a ready :class:`TrainSet`, or None to load Omniglot. ``device=None`` means
    :func:`mupbook.runtime.device`."""
    _checks.choice(param, PARAMS, "param")
    _checks.choice(optimizer, OPTIMIZERS, "optimizer")
    ws = _checks.widths(widths)
    grid = check_grid(log2_lrs)
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    depth = _checks.positive_int(depth, "depth")
    base_width = _checks.positive_int(base_width, "base_width")
    seeds = _check_seeds(seeds)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    dev = runtime.device(None if device is None else str(device))
    if isinstance(data, TrainSet):
        if num_classes is not None and num_classes != data.num_classes:
            raise ValueError(
                f"num_classes={num_classes} but the given TrainSet has {data.num_classes}"
            )
        train = TrainSet(
            data.x.to(device=dev, dtype=dtype), data.y.to(dev), data.num_classes
        )
    else:
        train = training_set(
            data, num_classes, split_seed=split_seed, device=dev, dtype=dtype
        )
    C, N = train.num_classes, train.x.shape[0]
    if batch_size > N:
        raise ValueError(f"batch_size {batch_size} exceeds the {N} training images")
    lrs = torch.as_tensor(np.exp2(grid), dtype=torch.float64)
    if eval_size is not None:
        _checks.positive_int(eval_size, "eval_size")
    rows = eval_rows(N, eval_size)
    loss = np.full((len(seeds), len(ws), len(grid)), np.nan)
    curves = np.full((len(seeds), len(ws), len(grid), steps), np.nan)
    start = time.perf_counter()
    bar = tqdm(
        total=len(seeds) * len(ws),
        desc=f"{PARAM_NAMES[param]} {optimizer}",
        disable=not progress,
        leave=False,
    )
    for i, seed in enumerate(seeds):
        batches = batch_order(N, steps, batch_size, seed + BATCH_SEED_OFFSET)
        for j, n in enumerate(ws):
            model = MuMLP(
                D_IN,
                int(n),
                C,
                param,
                depth=depth,
                base_width=base_width,
                generator=runtime.generator(seed),
                dtype=dtype,
                device=dev,
            )
            curves[i, j], loss[i, j] = train_lrs(
                model, optimizer, lrs, train, batches, rows
            )
            bar.set_postfix(width=int(n))
            bar.update()
    bar.close()
    with np.errstate(invalid="ignore"):
        diverged = (
            ~np.isfinite(curves).all(axis=-1)
            | ~np.isfinite(loss)
            | (loss > DIVERGENCE_FACTOR * math.log(C))
        )
    return Sweep(
        param,
        optimizer,
        ws,
        grid,
        seeds,
        loss,
        diverged,
        curves,
        C,
        steps,
        batch_size,
        base_width,
        depth,
        time.perf_counter() - start,
        {
            "device": str(dev),
            "dtype": str(dtype).replace("torch.", ""),
            "split_seed": split_seed,
            "n_train": N,
            "n_eval": N if rows is None else len(rows),
        },
    )


# ------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Config(_common.ConfigBase):
    """One muTransfer experiment: every (param, optimizer) pair over the same widths and
    seeds; ``log2_lrs[optimizer]`` is that optimizer's grid (shared by SP and muP, which
    agree at ``base_width``)."""

    widths: tuple[int, ...]
    log2_lrs: Mapping[str, tuple[float, ...]]
    steps: int
    batch_size: int
    num_classes: int
    seeds: tuple[int, ...] = (0,)
    depth: int = 2
    base_width: int = 128
    split_seed: int = 0
    eval_size: int | None = 2048
    dtype: str = "float32"

    def check(self) -> Config:
        """The configuration, validated before any work (ValueError naming the field)."""
        _checks.widths(self.widths)
        if not isinstance(self.log2_lrs, Mapping) or not self.log2_lrs:
            raise ValueError(
                f"log2_lrs must map optimizers to learning-rate grids, got {self.log2_lrs!r}"
            )
        for opt, grid in self.log2_lrs.items():
            _checks.choice(opt, OPTIMIZERS, "every optimizer of log2_lrs")
            check_grid(grid)
        for name in ("steps", "batch_size", "depth", "base_width"):
            _checks.positive_int(getattr(self, name), name)
        _check_num_classes(self.num_classes)
        _check_seeds(self.seeds)
        _checks.seed(self.split_seed, "split_seed")
        if self.eval_size is not None:
            _checks.positive_int(self.eval_size, "eval_size")
        _checks.choice(self.dtype, ("float32", "float64"), "dtype")
        return self


#: CPU-sized (about 40 s for all four sweeps on 2 cores): 100 characters (1500 training
#: images), 80 steps of batch 32, widths 128 to 2048 (width 2048 is three quarters of
#: the cost; a 16x width range is what it takes for SP's hidden and readout updates,
#: which grow with width, to outweigh the input layer's, which grows with the 784 inputs).
QUICK = Config(
    widths=(128, 512, 2048),
    log2_lrs={"sgd": tuple(range(-4, 3)), "adam": tuple(range(-11, -4))},
    steps=80,
    batch_size=32,
    num_classes=100,
    eval_size=1024,
)
#: GPU-sized, in the spirit of TP5's MLP experiment (CIFAR-10, widths 256 to 8192, batch
#: 64, SGD): all 964 characters (14,460 training images), 2000 steps of batch 64 (about
#: 9 epochs), widths 128 to 8192, 11-point grids, three seeds.
FULL = Config(
    widths=(128, 256, 512, 1024, 2048, 4096, 8192),
    log2_lrs={"sgd": tuple(range(-6, 5)), "adam": tuple(range(-15, -4))},
    steps=2000,
    batch_size=64,
    num_classes=N_CLASSES,
    seeds=(0, 1, 2),
    eval_size=4096,
)
CONFIGS = {"quick": QUICK, "full": FULL}


def config(scale: str | None = None) -> Config:
    """:data:`QUICK` or :data:`FULL`; ``None`` follows ``MUPBOOK_SCALE``."""
    scale = runtime.scale() if scale is None else scale
    return CONFIGS[_checks.choice(scale, tuple(CONFIGS), "scale")]


def run(
    cfg: Config,
    *,
    data: omniglot.Omniglot | None = None,
    device: torch.device | str | None = None,
    combos: Sequence[tuple[str, str]] | None = None,
    progress: bool = True,
) -> dict[tuple[str, str], Sweep]:
    """Every ``(param, optimizer)`` of ``combos`` (default: SP and muP with SGD and Adam) on
    the configuration ``cfg``; returns ``{(param, optimizer): Sweep}``."""
    if not isinstance(cfg, Config):
        raise ValueError(
            f"cfg must be a Config (e.g. QUICK or FULL), got {type(cfg).__name__}"
        )
    cfg.check()
    combos = (
        [(p, o) for o in OPTIMIZERS for p in PARAMS]
        if combos is None
        else list(combos)
    )
    for p, o in combos:
        _checks.choice(p, PARAMS, "param")
        _checks.choice(o, OPTIMIZERS, "optimizer")
        if o not in cfg.log2_lrs:
            raise ValueError(f"the configuration has no learning-rate grid for {o!r}")
    dtype = {"float32": torch.float32, "float64": torch.float64}.get(cfg.dtype)
    if dtype is None:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {cfg.dtype!r}")
    dev = runtime.device(None if device is None else str(device))
    train = training_set(
        data, cfg.num_classes, split_seed=cfg.split_seed, device=dev, dtype=dtype
    )
    return {
        (p, o): lr_sweep(
            p,
            o,
            cfg.widths,
            cfg.log2_lrs[o],
            steps=cfg.steps,
            batch_size=cfg.batch_size,
            depth=cfg.depth,
            base_width=cfg.base_width,
            seeds=cfg.seeds,
            eval_size=cfg.eval_size,
            data=train,
            device=dev,
            dtype=dtype,
            progress=progress,
        )
        for p, o in combos
    }


# ------------------------------------------------------------------ results and CLI


def results_dict(
    sweeps: Mapping[tuple[str, str], Sweep],
    cfg: Config,
    *,
    argv: Sequence[str] = (),
    device: torch.device | str | None = None,
    seconds: float | None = None,
) -> dict:
    """Everything a run produced, JSON-ready: configuration, every sweep, and provenance."""
    return {
        "experiment": "mutransfer",
        "config": cfg.to_dict(),
        "sweeps": {f"{p}-{o}": s.to_dict() for (p, o), s in sweeps.items()},
        "summary": {
            f"{p}-{o}": {
                "best_lr_index": s.best_lr_index().tolist(),
                "best_log2_lr": [
                    None if i < 0 else float(s.log2_lrs[i]) for i in s.best_lr_index()
                ],
                "shift_in_grid_steps": s.to_dict(1)["shift_in_grid_steps"],
            }
            for (p, o), s in sweeps.items()
        },
        "reproduction": [],
        "provenance": results.provenance(
            "mupbook.experiments.mutransfer",
            argv,
            seeds=cfg.seeds,
            device=device,
            seconds=seconds,
        ),
    }


def load_results(folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every recorded ``results/mutransfer*.json``: ``{file stem: document}``
    (:func:`mupbook.experiments._common.load_results`); :func:`sweeps` reads one."""
    return _common.load_results("mutransfer", folder)


def sweeps(doc: Mapping) -> dict[tuple[str, str], Sweep]:
    """The sweeps of a results document, as ``{(param, optimizer): Sweep}``."""
    return {
        (d["param"], d["optimizer"]): Sweep.from_dict(d)
        for d in doc["sweeps"].values()
    }


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m mupbook.experiments.mutransfer",
        description="muTransfer on Omniglot: learning-rate sweeps of MLPs under SP and muP with "
        "SGD and Adam across widths; writes every loss and provenance to JSON.",
    )
    _common.add_common_arguments(
        ap, out_help="JSON file to write (default results/mutransfer.json)"
    )
    ap.add_argument(
        "--widths",
        type=int,
        nargs="+",
        help="override the widths (strictly increasing)",
    )
    ap.add_argument("--steps", type=int, help="override the number of training steps")
    ap.add_argument(
        "--seeds", type=int, nargs="+", help="override the seeds (distinct)"
    )
    ap.add_argument(
        "--num-classes", type=int, help="override the number of characters"
    )
    ap.add_argument("--batch-size", type=int, help="override the batch size")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run a configuration and write ``--out`` (JSON). Returns 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    with _common.refused_by(parser):
        cfg = config(args.scale).replace(
            **_common.overrides(
                args, ("widths", "steps", "seeds", "num_classes", "batch_size")
            )
        )
    run_ = _common.start(parser, args, argv, "results/mutransfer.json", cfg.check)
    result = run(cfg, device=run_.device, progress=run_.progress)
    doc = results_dict(
        result, cfg, argv=argv, device=run_.device, seconds=run_.seconds()
    )
    _common.write_results(run_.out, doc)
    for key, s in doc["summary"].items():
        print(
            f"{key:10s} best log2 lr per width {s['best_log2_lr']}  shift {s['shift_in_grid_steps']}"
        )
    print(f"wrote {run_.out} ({run_.seconds():.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
