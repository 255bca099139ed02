"""MAML on Omniglot with 1-hidden-layer networks, their muP limit and their kernel limits.

TP4 (Yang & Hu 2021), Section 9.2 and its MAML appendix: 5-way 1-shot Omniglot, first-
order MAML, one inner SGD step of size 0.4 on the support set, 32 tasks per meta-batch
whose query losses are *summed*, the meta-gradient clipped to norm 0.5, meta-SGD at lr
0.1, 100 x 100 meta-steps, float64, keeping the best-validation checkpoint. Models:

* ``limit``: the muP limit of a linear network (:func:`mupbook.limits.linear.mup_limit`,
  a width-(784 + 5) network with block-identity initialization);
* ``finite``: width-n linear networks sampled from it (muP), or under NTP / SP;
* ``relu-nngp``, ``relu-ntk``, ``linear-nngp``, ``linear-ntk``: kernel-regime limits
  trained in function space (:mod:`mupbook.limits.kernel_sgd`).

Everything is batched over the tasks of a meta-batch: no Python loop over tasks. For a
linear network one inner step never materializes per-task weights: with support inputs
X_s (k, d) and ``D = dL/dH_s`` (k, m), the adapted first layer is ``W1 - lr D^T X_s``, so
the query features are ``H_q = X_q W1^T + beta b - lr (X_q X_s^T + beta^2) D``: a k x k
kernel per task instead of an m x d matrix. The readout (c x m per task) is adapted
explicitly. First-order MAML detaches the inner updates; second-order differentiates
through them. Kernel limits do the same in function space, with the kernel in place of
``X_q X_s^T + beta^2``.

Command line (writes JSON with the configuration, curves, accuracies and provenance)::

    python -m mupbook.experiments.maml --model limit --scale full
    python -m mupbook.experiments.maml --model finite --width 512 --scale full
    python -m mupbook.experiments.maml --model relu-ntk --scale full --steps 500
    python -m mupbook.experiments.maml --model relu-ntk --scale full --val-inner-steps 20 \
        --grid-sigma-b 0 1 4 --grid-sigma-v 0.5 1 --grid-inner-lr 0.1 0.4 --grid-meta-lr 0.01 0.1 \
        --search-steps 400 --search-only        # hyperparameters on validation (kernel_search)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import _checks, paper, results, runtime, stats
from ..data import omniglot
from ..limits import kernel_sgd, linear
from . import _common

MODELS = ("limit", "finite", *kernel_sgd.KERNELS)

# TP4's tuned settings (TP4MAML/train_all.sh): width -> (meta_lr, s1, s2, beta).
TP4_SETTINGS: dict[int | str, tuple[float, float, float, float]] = {
    "limit": (0.1, 1.0, 2.0**-5, 1.0),
    2: (0.05, 0.5, 0.5, 2.0),
    8: (0.1, 0.5, 0.25, 1.0),
    32: (0.4, 1.0, 0.125, 0.5),
    128: (0.1, 1.0, 0.125, 1.0),
    512: (0.1, 1.0, 2.0**-5, 1.0),
    2048: (0.1, 1.0, 2.0**-5, 1.0),
    8192: (0.1, 1.0, 2.0**-5, 1.0),
}


def tp4_settings(width: int | None) -> tuple[float, float, float, float]:
    """(meta_lr, s1, s2, beta) TP4 used at ``width`` (None: the limit); other widths take
    the setting of the nearest listed width below them."""
    if width is None:
        return TP4_SETTINGS["limit"]
    listed = sorted(w for w in TP4_SETTINGS if isinstance(w, int))
    below = [w for w in listed if w <= width]
    return TP4_SETTINGS[below[-1] if below else listed[0]]


@dataclass(frozen=True)
class Config(_common.ConfigBase):
    """One MAML run. ``model`` is one of :data:`MODELS`; ``width`` and ``param`` are for
    ``finite``; ``meta_lr``, ``s1``, ``s2``, ``beta`` default to TP4's setting for the width."""

    model: str = "limit"
    width: int | None = None
    param: str = "mup"
    n_way: int = 5
    k_shot: int = 1
    q_train: int = 1
    batch_tasks: int = 32
    steps: int = 10_000
    inner_lr: float = 0.4
    inner_steps: int = 1
    first_order: bool = True
    meta_lr: float | None = None
    clip: float = 0.5
    s1: float | None = None
    s2: float | None = None
    beta: float | None = None
    sigma_w: float = 1.0
    sigma_b: float = 1.0
    sigma_v: float = 1.0
    kernel_dtype: str = "float32"
    val_every: int = 100
    val_inner_steps: int | None = None
    val_tasks: int = 320
    test_tasks: int = 1000
    test_inner_steps: tuple[int, ...] = (1, 20)
    q_eval: int = 15
    diverge_factor: float = 10.0
    seed: int = 1
    dtype: str = "float64"
    resize: str = "bilinear"

    def check(self) -> Config:
        """The configuration, validated before any work (ValueError naming the field)."""
        _checks.choice(self.model, MODELS, "model")
        if self.model == "finite":
            if self.width is None:
                raise ValueError("a finite model needs a width (--width)")
            _checks.positive_int(self.width, "width")
        elif self.width is not None:
            raise ValueError(
                f"width is only for model='finite', not {self.model!r} (drop --width)"
            )
        _checks.choice(self.param, linear.PARAMETRIZATIONS, "param")
        for what in (
            "n_way",
            "k_shot",
            "q_train",
            "batch_tasks",
            "steps",
            "inner_steps",
            "val_every",
            "val_tasks",
            "test_tasks",
            "q_eval",
        ):
            _checks.positive_int(getattr(self, what), what)
        if self.n_way < 2:
            raise ValueError(f"n_way must be at least 2 classes, got {self.n_way}")
        if self.k_shot + max(self.q_train, self.q_eval) > omniglot.N_DRAWERS:
            raise ValueError(
                f"k_shot + queries must be <= {omniglot.N_DRAWERS} drawings per class"
            )
        for what in ("inner_lr", "clip", "diverge_factor"):
            _checks.positive_float(getattr(self, what), what)
        for what in ("meta_lr", "s1", "s2", "beta"):
            if getattr(self, what) is not None:
                _checks.positive_float(getattr(self, what), what)
        for what in ("sigma_w", "sigma_b", "sigma_v"):
            _checks.nonnegative_float(getattr(self, what), what)
        steps = (
            tuple(self.test_inner_steps)
            if isinstance(self.test_inner_steps, (list, tuple))
            else None
        )
        if (
            not steps
            or any(not _checks.is_integer(t) or t < 1 for t in steps)
            or len(set(steps)) != len(steps)
        ):
            raise ValueError(
                f"test_inner_steps must be distinct positive integers, got {self.test_inner_steps!r}"
            )
        _checks.seed(self.seed)
        _checks.choice(self.dtype, ("float32", "float64"), "dtype")
        _checks.choice(self.kernel_dtype, ("float32", "float64"), "kernel_dtype")
        if self.val_inner_steps is not None:
            _checks.positive_int(self.val_inner_steps, "val_inner_steps")
        _checks.choice(self.resize, omniglot.RESIZES, "resize")
        return self

    def resolved(self) -> Config:
        """The configuration, checked, with TP4's per-width defaults filled in."""
        self.check()
        meta_lr, s1, s2, beta = tp4_settings(
            self.width if self.model == "finite" else None
        )
        return dataclasses.replace(
            self,
            meta_lr=meta_lr if self.meta_lr is None else float(self.meta_lr),
            s1=s1 if self.s1 is None else float(self.s1),
            s2=s2 if self.s2 is None else float(self.s2),
            beta=beta if self.beta is None else float(self.beta),
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Config:
        """The configuration a results file records (``to_dict``); fields added since it was
        written take their defaults, an unknown field is an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown configuration field(s) {unknown}")
        return cls(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        ).check()

    @property
    def name(self) -> str:
        """A short label: ``limit``, ``finite-512`` (``ntp-512`` ...), ``relu-ntk``."""
        if self.model == "finite":
            return f"{'finite' if self.param == 'mup' else self.param}-{self.width}"
        return self.model


FULL = Config()
QUICK = Config(
    steps=150,
    val_every=50,
    val_tasks=64,
    test_tasks=96,
    test_inner_steps=(1, 5),
    q_eval=5,
)
CONFIGS = {"quick": QUICK, "full": FULL}


def config(scale: str | None = None, **changes: Any) -> Config:
    """The quick or full configuration (default: ``MUPBOOK_SCALE``) with ``changes``."""
    scale = runtime.scale() if scale is None else scale
    return CONFIGS[_checks.choice(scale, tuple(CONFIGS), "scale")].replace(**changes)


# ------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class Pools:
    """The three few-shot pools: train (rotations as extra classes), val, test (rot000)."""

    train: omniglot.FewShotPool
    val: omniglot.FewShotPool
    test: omniglot.FewShotPool


def load_pools(
    resize: str = "bilinear",
    *,
    device: str | torch.device | None = "cpu",
    progress: bool = False,
) -> Pools:
    """Omniglot's Vinyals split as TP4 used it (``resize="bilinear"``: the paper's inputs)."""
    data = omniglot.load_omniglot(progress=progress, resize=resize)
    return Pools(
        omniglot.few_shot_pool(data, "train", device=device),
        omniglot.few_shot_pool(data, "val", rotations=False, device=device),
        omniglot.few_shot_pool(data, "test", rotations=False, device=device),
    )


def tasks_for_step(
    pool: omniglot.FewShotPool,
    cfg: Config,
    step: int,
    *,
    stream: int = 0,
    queries: int | None = None,
    batch: int | None = None,
) -> omniglot.Tasks:
    """The meta-batch of step ``step``: a function of (seed, stream, step) alone, so a
    resumed run sees the same tasks as an uninterrupted one."""
    gen = runtime.generator((cfg.seed * 1_000_003 + stream * 7_919 + step) % (2**63))
    return omniglot.sample_tasks(
        pool,
        cfg.n_way,
        cfg.k_shot,
        cfg.q_train if queries is None else queries,
        cfg.batch_tasks if batch is None else batch,
        generator=gen,
        dtype=getattr(torch, cfg.dtype),
    )


def image_ids(
    tasks: omniglot.Tasks, k_shot: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool-wide image ids (class * 20 + drawer) of the support (B, N*K) and query points."""
    ids = (
        tasks.classes.unsqueeze(-1) * omniglot.N_DRAWERS + tasks.drawers
    )  # (B, N, K+Q)
    B = ids.shape[0]
    return ids[:, :, :k_shot].reshape(B, -1), ids[:, :, k_shot:].reshape(B, -1)


# --------------------------------------------------------------------------- learners


class Learner(Protocol):
    def query_logits(
        self,
        xs: torch.Tensor,
        ys: torch.Tensor,
        xq: torch.Tensor,
        steps: int,
        lr: float,
        first_order: bool = True,
        grad: bool = False,
    ) -> torch.Tensor: ...

    def meta_step(
        self, tasks: omniglot.Tasks, cfg: Config
    ) -> tuple[float, float]: ...

    def state(self) -> dict: ...

    def load_state(self, state: dict) -> None: ...


def _output_grad(logits: torch.Tensor, y: torch.Tensor, c: int) -> torch.Tensor:
    """d(mean cross-entropy over a task's k points)/d(logits): (softmax - onehot) / k."""
    return (logits.softmax(-1) - F.one_hot(y, c).to(logits.dtype)) / logits.shape[-2]


def task_losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each task: logits (B, k, c), y (B, k) -> (B,)."""
    B, k, c = logits.shape
    return (
        F.cross_entropy(logits.reshape(B * k, c), y.reshape(B * k), reduction="none")
        .reshape(B, k)
        .mean(1)
    )


class LinearLearner:
    """MAML over a :class:`~mupbook.limits.linear.Linear1LP` (limit or finite), batched."""

    def __init__(self, net: linear.Linear1LP) -> None:
        self.net = net.with_params(
            *(p.detach().clone().requires_grad_(True) for p in net.params())
        )

    @property
    def dtype(self) -> torch.dtype:
        return self.net.W1.dtype

    def query_logits(self, xs, ys, xq, steps, lr, first_order=True, grad=False):
        """Query logits (B, kq, c) after ``steps`` inner SGD steps on each task's support."""
        net = self.net
        W1, b, W2 = net.params()
        m1, m2 = net.lr_mult
        beta, c = net.beta, net.c
        with torch.set_grad_enabled(grad):
            hs0 = xs @ W1.T + beta * b  # (B, ks, m)
            hq0 = xq @ W1.T + beta * b  # (B, kq, m)
            kss = m1 * (xs @ xs.transpose(1, 2) + beta**2)  # (B, ks, ks)
            kqs = m1 * (xq @ xs.transpose(1, 2) + beta**2)  # (B, kq, ks)
            w2 = W2.expand(xs.shape[0], -1, -1)  # (B, c, m)
            dsum = torch.zeros_like(hs0)
            for _ in range(steps):
                hs = hs0 - lr * kss @ dsum
                g = _output_grad(hs @ w2.transpose(1, 2), ys, c)  # (B, ks, c)
                d = g @ w2  # dL/dH_s (B, ks, m)
                dw2 = m2 * g.transpose(1, 2) @ hs  # (B, c, m)
                if first_order:
                    d, dw2 = d.detach(), dw2.detach()
                w2 = w2 - lr * dw2
                dsum = dsum + d
            hq = hq0 - lr * kqs @ dsum
            return hq @ w2.transpose(1, 2)

    def meta_step(self, tasks, cfg):
        """One meta-SGD step; returns (mean query loss per task, gradient norm before clipping)."""
        logits = self.query_logits(
            tasks.support_x,
            tasks.support_y,
            tasks.query_x,
            cfg.inner_steps,
            cfg.inner_lr,
            cfg.first_order,
            grad=True,
        )
        loss = task_losses(logits, tasks.query_y).sum()
        params = self.net.params()
        grads = torch.autograd.grad(loss, params)
        norm = float(torch.sqrt(sum((g * g).sum() for g in grads)))
        scale = min(1.0, cfg.clip / norm) if norm > 0 else 1.0
        m1, m2 = self.net.lr_mult
        with torch.no_grad():
            for p, g, m in zip(params, grads, (m1, m1, m2)):
                p.sub_(cfg.meta_lr * m * scale * g)
        return float(loss.detach()) / logits.shape[0], norm

    def state(self) -> dict:
        return {"params": [p.detach().clone() for p in self.net.params()]}

    def load_state(self, state: dict) -> None:
        with torch.no_grad():
            for p, v in zip(self.net.params(), state["params"]):
                p.copy_(v)


class KernelLearner:
    """MAML over a kernel-regime limit: function-space SGD with a bounded dictionary.

    ``dtype``: of the dictionary and of reading it (:class:`~mupbook.limits.kernel_sgd.KernelMachine`:
    float32 kernel values, float64 coefficients and outputs); the per-task kernels of the
    inner steps and everything after them are float64.
    """

    def __init__(
        self,
        kernel: kernel_sgd.Kernel,
        d: int,
        c: int,
        *,
        capacity: int,
        num_ids: int | None,
        device: str | torch.device | None = "cpu",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.machine = kernel_sgd.KernelMachine(
            kernel,
            d,
            c,
            capacity=capacity,
            num_ids=num_ids,
            device=device,
            dtype=dtype,
        )
        self.kernel, self.c = kernel, c
        self._pool_cache: tuple[int, int, torch.Tensor] | None = None

    dtype = torch.float64

    def _adapt(self, xs, ys, xq, fs0, fq0, steps, lr, first_order):
        kss = self.kernel.blocks(xs, xs)
        kqs = self.kernel.blocks(xq, xs)
        fs, gsum = fs0, torch.zeros_like(fs0)
        for _ in range(steps):
            g = _output_grad(fs, ys, self.c)
            if first_order:
                g = g.detach()
            fs = fs - lr * kss @ g
            gsum = gsum + g
        return fq0 - lr * kqs @ gsum

    def _f0(
        self, xs: torch.Tensor, xq: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """f at the support and query points of a meta-batch, one pass over the dictionary."""
        with torch.no_grad():
            f = self.machine(
                torch.cat(
                    [xs.reshape(-1, xs.shape[-1]), xq.reshape(-1, xq.shape[-1])]
                )
            )
        n = xs.shape[0] * xs.shape[1]
        return f[:n].reshape(*xs.shape[:-1], self.c), f[n:].reshape(
            *xq.shape[:-1], self.c
        )

    def query_logits(self, xs, ys, xq, steps, lr, first_order=True, grad=False):
        fs0, fq0 = self._f0(xs, xq)
        with torch.set_grad_enabled(grad):
            return self._adapt(
                xs.double(), ys, xq.double(), fs0, fq0, steps, lr, first_order
            )

    def pool_outputs(
        self, pool: omniglot.FewShotPool, *, classes_per_block: int = 64
    ) -> torch.Tensor:
        """f at every image of ``pool``: (classes, 20, c), float64. Evaluation tasks reuse
        images (1,000 test tasks show 80,000 images of a pool of 8,460), so reading the
        dictionary once per image is several times cheaper than once per task. Kept until f
        changes (:attr:`KernelMachine.version <mupbook.limits.kernel_sgd.KernelMachine.version>`)."""
        key = (id(pool), self.machine.version)
        if self._pool_cache is not None and self._pool_cache[:2] == key:
            return self._pool_cache[2]
        out = []
        for c0 in range(0, pool.num_classes, classes_per_block):
            imgs = torch.stack(
                [
                    pool.class_images(c, dtype=torch.float64)
                    for c in range(c0, min(pool.num_classes, c0 + classes_per_block))
                ]
            )
            with torch.no_grad():
                out.append(
                    self.machine(
                        imgs.reshape(*imgs.shape[:2], -1).to(self.machine.device)
                    )
                )
        outputs = torch.cat(out)
        self._pool_cache = (*key, outputs)
        return outputs

    def task_logits(
        self,
        tasks: omniglot.Tasks,
        outputs: torch.Tensor,
        k_shot: int,
        steps: int,
        lr: float,
    ) -> torch.Tensor:
        """:meth:`query_logits` of ``tasks`` drawn from a pool whose :meth:`pool_outputs` are
        ``outputs`` (f gathered by image instead of evaluated)."""
        f = outputs[tasks.classes.unsqueeze(-1), tasks.drawers]  # (B, N, K+Q, c)
        B = f.shape[0]
        fs0, fq0 = (
            f[:, :, :k_shot].reshape(B, -1, self.c),
            f[:, :, k_shot:].reshape(B, -1, self.c),
        )
        with torch.no_grad():
            return self._adapt(
                tasks.support_x.double(),
                tasks.support_y,
                tasks.query_x.double(),
                fs0,
                fq0,
                steps,
                lr,
                True,
            )

    def meta_step(self, tasks, cfg):
        xs, xq = tasks.support_x.double(), tasks.query_x.double()
        fs0, fq0 = self._f0(xs, xq)
        fs0 = fs0.requires_grad_(not cfg.first_order)
        fq0 = fq0.requires_grad_(True)
        logits = self._adapt(
            xs,
            tasks.support_y,
            xq,
            fs0,
            fq0,
            cfg.inner_steps,
            cfg.inner_lr,
            cfg.first_order,
        )
        loss = task_losses(logits, tasks.query_y).sum()
        ids_s, ids_q = image_ids(tasks, cfg.k_shot)
        if cfg.first_order:
            (gq,) = torch.autograd.grad(loss, [fq0])
            points, coefs, ids = xq, gq, ids_q
        else:
            gs, gq = torch.autograd.grad(loss, [fs0, fq0])
            points = torch.cat([xs, xq], dim=1)
            coefs = torch.cat([gs, gq], dim=1)
            ids = torch.cat([ids_s, ids_q], dim=1)
        mean_loss = float(loss.detach()) / logits.shape[0]
        if not math.isfinite(
            mean_loss
        ):  # diverged: leave f as it is (train() stops and restores the best)
            return mean_loss, float("nan")
        norm = float(self.machine.rkhs_norm(points, coefs))
        scale = min(1.0, cfg.clip / norm) if norm > 0 else 1.0
        self.machine.add(points, -cfg.meta_lr * scale * coefs.detach(), ids)
        return mean_loss, norm

    def state(self) -> dict:
        return self.machine.state()

    def load_state(self, state: dict) -> None:
        self.machine.load_state(state)


def build_learner(
    cfg: Config,
    *,
    pool_size: int | None = None,
    device: str | torch.device | None = "cpu",
) -> Learner:
    """The learner a (resolved) configuration asks for, initialized with its seed.

    Kernel limits preallocate one dictionary row per image of the training pool
    (``pool_size`` images, ids shared across steps), the most they can ever need.
    """
    cfg = cfg.resolved()
    d, c = omniglot.SIDE * omniglot.SIDE, cfg.n_way
    dtype = getattr(torch, cfg.dtype)
    if cfg.model == "limit":
        return LinearLearner(
            linear.mup_limit(
                d, c, s1=cfg.s1, s2=cfg.s2, beta=cfg.beta, dtype=dtype, device=device
            )
        )
    if cfg.model == "finite":
        return LinearLearner(
            linear.finite(
                d,
                c,
                cfg.width,
                param=cfg.param,
                generator=cfg.seed,
                s1=cfg.s1,
                s2=cfg.s2,
                beta=cfg.beta,
                dtype=dtype,
                device=device,
            )
        )
    if pool_size is None:
        raise ValueError(
            "a kernel limit needs pool_size (the number of training images) to size its dictionary"
        )
    kernel = kernel_sgd.Kernel(cfg.model, cfg.sigma_w, cfg.sigma_b, cfg.sigma_v)
    return KernelLearner(
        kernel,
        d,
        c,
        capacity=pool_size,
        num_ids=pool_size,
        device=device,
        dtype=getattr(torch, cfg.kernel_dtype),
    )


# ------------------------------------------------------------- finite widths -> limit


def limit_gap(
    pools: Pools,
    widths: Sequence[int],
    *,
    steps: int = 50,
    batch_tasks: int = 1,
    seeds: Sequence[int] = (0,),
    cfg: Config | None = None,
    progress: bool = False,
) -> np.ndarray:
    """RMS gap between the query logits of sampled width-n networks and the limit's.

    The limit and its samples (one draw of Omega per seed and width) are meta-trained by the
    same ``steps`` first-order MAML steps on the same real tasks; then each adapts to the
    same validation tasks and the query logits are compared. Returns (seeds, widths); the
    gap should fall like n^-1/2.
    """
    cfg = (
        (cfg or config("quick"))
        .replace(batch_tasks=batch_tasks, model="limit", width=None)
        .resolved()
    )
    probe = tasks_for_step(pools.val, cfg, 0, stream=9, queries=5)
    train_tasks = [tasks_for_step(pools.train, cfg, s) for s in range(steps)]

    def logits(net: linear.Linear1LP) -> torch.Tensor:
        learner = LinearLearner(net)
        for t in train_tasks:
            learner.meta_step(t, cfg)
        return learner.query_logits(
            probe.support_x, probe.support_y, probe.query_x, 1, cfg.inner_lr
        )

    d, c = omniglot.SIDE * omniglot.SIDE, cfg.n_way
    limit = linear.mup_limit(
        d, c, s1=cfg.s1, s2=cfg.s2, beta=cfg.beta, dtype=getattr(torch, cfg.dtype)
    )
    ref = logits(limit)
    gaps = np.empty((len(seeds), len(widths)))
    with tqdm(total=gaps.size, desc="widths -> limit", disable=not progress) as bar:
        for j, n in enumerate(widths):
            for i, seed in enumerate(seeds):
                out = logits(
                    limit.sample(int(n), generator=1000 * int(seed) + int(n))
                )
                gaps[i, j] = float(((out - ref) ** 2).mean().sqrt())
                bar.update()
    return gaps


# ------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Accuracy:
    """Meta-test accuracy over tasks: mean and the half-width of a 95% interval (in %)."""

    mean: float
    ci95: float  # nan for a single task (no interval); recorded as null
    tasks: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.ci95:.2f} % ({self.tasks} tasks)"

    def to_dict(self) -> dict:
        """JSON-ready: the interval of a single task (nan) is ``None``."""
        return {
            "mean": self.mean,
            "ci95": self.ci95 if math.isfinite(self.ci95) else None,
            "tasks": self.tasks,
        }


def task_accuracies(
    learner: Learner,
    pool: omniglot.FewShotPool,
    cfg: Config,
    *,
    tasks: int,
    inner_steps: int,
    stream: int,
    queries: int,
    progress: bool = False,
) -> np.ndarray:
    """Per-task query accuracy (fraction) after ``inner_steps`` inner steps, ``tasks`` tasks
    drawn in meta-batches from ``stream`` (fixed tasks for a given seed). A kernel limit
    evaluates f once per image of the pool when the tasks show more images than the pool
    holds (:meth:`KernelLearner.pool_outputs`), once per task image otherwise."""
    out = []
    batches = math.ceil(tasks / cfg.batch_tasks)
    outputs = None
    shown = tasks * cfg.n_way * (cfg.k_shot + queries)  # images shown, with repeats
    if (
        isinstance(learner, KernelLearner)
        and shown > pool.num_classes * omniglot.N_DRAWERS
    ):
        outputs = learner.pool_outputs(pool)
    for i in tqdm(
        range(batches),
        desc=f"eval ({inner_steps} inner steps)",
        disable=not progress,
        leave=False,
    ):
        t = tasks_for_step(
            pool,
            cfg,
            i,
            stream=stream,
            queries=queries,
            batch=min(cfg.batch_tasks, tasks - i * cfg.batch_tasks),
        )
        if outputs is None:
            logits = learner.query_logits(
                t.support_x,
                t.support_y,
                t.query_x,
                inner_steps,
                cfg.inner_lr,
                grad=False,
            )
        else:
            logits = learner.task_logits(
                t, outputs, cfg.k_shot, inner_steps, cfg.inner_lr
            )
        out.append((logits.argmax(-1) == t.query_y).double().mean(1).cpu())
    return torch.cat(out).numpy()


def summarize(acc: np.ndarray) -> Accuracy:
    """Mean and 95% interval (1.96 standard errors over tasks) of per-task accuracies, in %
    (the interval of a single task is nan); no accuracies, or non-finite ones, are an error."""
    acc = np.asarray(acc, dtype=float)
    n = len(acc)
    if n == 0:
        raise ValueError(
            "no task accuracies to summarize: test or validate on at least one task"
        )
    if not np.isfinite(acc).all():
        raise ValueError(
            f"task accuracies are not finite ({int((~np.isfinite(acc)).sum())} of {n})"
        )
    se = float(acc.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return Accuracy(100 * float(acc.mean()), 100 * 1.96 * se, n)


# ---------------------------------------------------------------------------- training


@dataclass
class History:
    """What training recorded: per-step query loss and gradient norm, validation curve."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    best_step: int = 0
    best_val: float = -1.0


@dataclass
class Run:
    """A finished run: configuration, history, test accuracies by inner steps, timing."""

    cfg: Config
    history: History
    test: dict[int, Accuracy]
    seconds: float
    seconds_per_step: float
    learner: Learner | None = None

    def to_dict(self) -> dict:
        h = self.history
        return {
            "config": self.cfg.to_dict(),
            "name": self.cfg.name,
            "history": {
                "loss": h.loss,
                "grad_norm": h.grad_norm,
                "val_steps": h.val_steps,
                "val_acc": h.val_acc,
                "diverged_at": h.diverged_at,
                "best_step": h.best_step,
                "best_val": h.best_val,
            },
            "test": {str(k): v.to_dict() for k, v in self.test.items()},
            "seconds": self.seconds,
            "seconds_per_step": self.seconds_per_step,
        }


def train(
    cfg: Config,
    pools: Pools,
    *,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 500,
) -> Run:
    """Meta-train, validate every ``val_every`` steps and at the last step, keep the
    best-validation state, test.

    Training stops early when the query loss is not finite or exceeds ``diverge_factor``
    times its first value (``History.diverged_at``); the best-validation state is then
    restored. With ``checkpoint``, the state is saved every ``checkpoint_every`` steps and
    at the last one, and a run finding the file resumes from it (same tasks, same result).
    A checkpoint may be extended (more ``steps``), never cut: one holding more steps than
    ``cfg.steps`` is refused (training cannot be undone).
    """
    cfg = cfg.resolved()
    pool_size = pools.train.num_classes * omniglot.N_DRAWERS
    learner = build_learner(cfg, pool_size=pool_size, device=device)
    hist, start_step, best = History(), 0, learner.state()
    ckpt = None if checkpoint is None else Path(checkpoint)
    if ckpt is not None and ckpt.is_file():
        hist, start_step, best = _resume(ckpt, cfg, learner)
    first_loss = hist.loss[0] if hist.loss else None
    t0 = time.perf_counter()
    bar = tqdm(
        range(start_step, cfg.steps),
        desc=f"MAML {cfg.name}",
        disable=not progress,
        initial=start_step,
        total=cfg.steps,
    )
    trained = 0
    for step in bar:
        if hist.diverged_at is not None:
            break
        loss, norm = learner.meta_step(tasks_for_step(pools.train, cfg, step), cfg)
        trained += 1
        hist.loss.append(loss)
        hist.grad_norm.append(norm)
        first_loss = loss if first_loss is None else first_loss
        if not math.isfinite(loss) or loss > cfg.diverge_factor * first_loss:
            hist.diverged_at = step
            bar.set_postfix_str(f"diverged at step {step}")
            break
        if (step + 1) % cfg.val_every == 0 or step + 1 == cfg.steps:
            best = _validate(learner, pools, cfg, hist, step + 1, best)
            bar.set_postfix(
                loss=f"{loss:.3f}",
                val=f"{hist.val_acc[-1]:.1f}%",
                best=f"{hist.best_val:.1f}%",
            )
        if ckpt is not None and (
            (step + 1) % checkpoint_every == 0 or step + 1 == cfg.steps
        ):
            _save_checkpoint(ckpt, cfg, learner, hist, step + 1, best)
    if hist.diverged_at is None and (
        not hist.val_steps or hist.val_steps[-1] != cfg.steps
    ):
        # resumed at exactly cfg.steps from a checkpoint taken before its validation
        best = _validate(learner, pools, cfg, hist, cfg.steps, best)
    train_seconds = time.perf_counter() - t0
    bar.close()
    learner.load_state(best)
    test = {
        s: summarize(
            task_accuracies(
                learner,
                pools.test,
                cfg,
                tasks=cfg.test_tasks,
                inner_steps=s,
                stream=2,
                queries=cfg.q_eval,
                progress=progress,
            )
        )
        for s in cfg.test_inner_steps
    }
    seconds = time.perf_counter() - t0
    return Run(cfg, hist, test, seconds, train_seconds / max(trained, 1), learner)


def validation_accuracy(learner: Learner, pools: Pools, cfg: Config) -> float:
    """Validation accuracy (%) of ``learner`` as :func:`train` measures it: ``cfg.val_tasks``
    fixed tasks (stream 1) with ``cfg.q_eval`` queries per class, adapted with
    ``cfg.val_inner_steps`` inner steps (default, or for a configuration without that
    field such as :class:`mupbook.experiments.pi_maml.Config`: ``cfg.inner_steps``)."""
    val_steps = getattr(cfg, "val_inner_steps", None) or cfg.inner_steps
    return 100 * float(
        task_accuracies(
            learner,
            pools.val,
            cfg,
            tasks=cfg.val_tasks,
            inner_steps=val_steps,
            stream=1,
            queries=cfg.q_eval,
        ).mean()
    )


def initial_learner(
    cfg: Config, *, device: str | torch.device | None = "cpu"
) -> Learner:
    """The model of ``cfg`` before any meta-step. A kernel limit then is f = 0 and needs no
    dictionary (one row is allocated, none used), so this is cheap for every model."""
    cfg = cfg.resolved()
    if cfg.model in kernel_sgd.KERNELS:
        kernel = kernel_sgd.Kernel(cfg.model, cfg.sigma_w, cfg.sigma_b, cfg.sigma_v)
        d = omniglot.SIDE * omniglot.SIDE
        return KernelLearner(
            kernel, d, cfg.n_way, capacity=1, num_ids=None, device=device
        )
    return build_learner(cfg, device=device)


def validation_at_start(
    cfg: Config, pools: Pools, *, device: str | torch.device | None = "cpu"
) -> float:
    """The validation accuracy (%) of ``cfg``'s model before its first meta-step: what a
    :func:`train` run of ``cfg`` starts from, on the tasks of each of its validations
    (which are recorded from step ``val_every`` on, not at step 0)."""
    cfg = cfg.resolved()
    return validation_accuracy(initial_learner(cfg, device=device), pools, cfg)


def meta_test_at_start(
    cfg: Config,
    pools: Pools,
    inner_steps: int,
    *,
    device: str | torch.device | None = "cpu",
) -> Accuracy:
    """The meta-test accuracy of ``cfg``'s model before its first meta-step, on the tasks
    (stream 2, ``cfg.test_tasks`` tasks, ``cfg.q_eval`` queries per class) on which a
    :func:`train` run of ``cfg`` is tested, after ``inner_steps`` inner steps."""
    cfg = cfg.resolved()
    acc = task_accuracies(
        initial_learner(cfg, device=device),
        pools.test,
        cfg,
        tasks=cfg.test_tasks,
        inner_steps=inner_steps,
        stream=2,
        queries=cfg.q_eval,
    )
    return summarize(acc)


def _validate(
    learner: Learner, pools: Pools, cfg: Config, hist: History, step: int, best: dict
) -> dict:
    """Record the validation accuracy after ``step`` meta-steps; the best state so far."""
    acc = validation_accuracy(learner, pools, cfg)
    hist.val_steps.append(step)
    hist.val_acc.append(acc)
    if acc > hist.best_val:
        hist.best_val, hist.best_step = acc, step
        return learner.state()
    return best


def _resume(ckpt: Path, cfg: Config, learner: Learner) -> tuple[History, int, dict]:
    """(history, step, best state) of a checkpoint of ``cfg``, loaded into ``learner``."""
    saved = load_checkpoint(ckpt)
    if _resumable(saved["config"]) != _resumable(cfg.to_dict()):
        raise ValueError(
            f"{ckpt} holds a checkpoint of another configuration; delete it or change --checkpoint"
        )
    if saved["step"] > cfg.steps:
        raise ValueError(
            f"{ckpt} holds {saved['step']} meta-steps, more than the steps={cfg.steps} asked for; training "
            f"cannot be undone. Run with --steps {saved['step']} or more (Config.steps) to use or extend "
            f"it, or delete the checkpoint to train {cfg.steps} steps from scratch."
        )
    learner.load_state(saved["learner"])
    return History(**saved["history"]), saved["step"], saved["best"]


def run_suite(
    configs: Sequence[Config],
    pools: Pools,
    *,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
) -> dict[str, Run]:
    """Train several configurations one after another; ``{cfg.name: Run}``."""
    out: dict[str, Run] = {}
    for cfg in tqdm(configs, desc="models", disable=not progress):
        out[cfg.resolved().name] = train(cfg, pools, device=device, progress=False)
    return out


def select_inner_lr(
    cfg: Config,
    pools: Pools,
    candidates: Sequence[float],
    *,
    steps: int,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
) -> tuple[float, dict[float, float]]:
    """Pick the inner step size on the *validation* split (never on test): train ``steps``
    meta-steps with each candidate and keep the one with the best validation accuracy.
    Returns (best, {candidate: best validation accuracy %}); diverged runs count as their
    best validation accuracy before diverging."""
    if not candidates:
        raise ValueError("give at least one candidate inner step size")
    scores: dict[float, float] = {}
    for lr in tqdm(candidates, desc="inner lr search", disable=not progress):
        run = train(
            cfg.replace(
                inner_lr=float(lr), steps=steps, test_tasks=1, test_inner_steps=(1,)
            ),
            pools,
            device=device,
            progress=False,
        )
        scores[float(lr)] = run.history.best_val
    return max(scores, key=scores.__getitem__), scores


# ------------------------------------------------- hyperparameter search (kernel limits)


@dataclass(frozen=True)
class KernelGrid:
    """The grid of :func:`kernel_search`. Only what changes the function class: scaling the
    whole kernel is the same as scaling both learning rates (f starts at 0), so ``sigma_w``
    stays fixed and ``sigma_b`` sets the ratio sigma_b / sigma_w; ``sigma_v``, the readout's
    share of the NTK, is for ``relu-ntk`` only (use one value otherwise)."""

    sigma_b: tuple[float, ...]
    sigma_v: tuple[float, ...]
    inner_lr: tuple[float, ...]
    meta_lr: tuple[float, ...]

    def __post_init__(self) -> None:
        for what in ("sigma_b", "sigma_v", "inner_lr", "meta_lr"):
            values = getattr(self, what)
            if not values or len(set(values)) != len(values):
                raise ValueError(
                    f"grid {what} must be distinct values, at least one, got {values!r}"
                )
            low = 0 if what.startswith("sigma") else 1e-300
            if any(
                not (isinstance(v, (int, float)) and math.isfinite(v) and v >= low)
                for v in values
            ):
                raise ValueError(
                    f"grid {what} must be finite and {'>= 0' if low == 0 else '> 0'}, got {values!r}"
                )

    def kernels(self) -> list[tuple[float, float, float]]:
        """(sigma_b, sigma_v, inner_lr) combinations: what the accuracy at f = 0 depends on."""
        return [
            (b, v, lr)
            for b in self.sigma_b
            for v in self.sigma_v
            for lr in self.inner_lr
        ]


def kernel_search(
    cfg: Config,
    pools: Pools,
    grid: KernelGrid,
    *,
    steps: int,
    top: int,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
) -> dict:
    """Choose a kernel limit's hyperparameters on the *validation* split (never on test).

    Two stages, every run recorded:

    1. ``init``: each (sigma_b, sigma_v, inner_lr) of the grid, validated at f = 0 before
       any meta-step (cheap: no dictionary). Meta-training adds to f a function whose
       class-average is zero (the meta-gradients are softmax minus one-hot), and tasks
       assign labels to classes at random, so in expectation it moves f nowhere from 0:
       this accuracy is what meta-training starts from and has to beat.
    2. ``screen``: the ``top`` best of them by that accuracy, each with every meta
       learning rate of the grid, meta-trained ``steps`` steps (validation every
       ``cfg.val_every``, at ``cfg.val_inner_steps`` inner steps).

    Returns a JSON-ready dict: the grid, both stages (screening runs with their validation
    curves and the query loss averaged over each validation interval), and ``chosen``, the
    screening run with the best validation accuracy.
    """
    cfg = cfg.resolved()
    if cfg.model not in ("relu-nngp", "relu-ntk"):
        raise ValueError(
            f"the kernel search is for the ReLU kernel limits, not {cfg.model!r}"
        )
    if cfg.model != "relu-ntk" and len(grid.sigma_v) > 1:
        raise ValueError("sigma_v enters the NTK only: give one value for relu-nngp")
    if top < 1 or steps < 1:
        raise ValueError(f"top and steps must be >= 1, got {top} and {steps}")
    val_steps = cfg.val_inner_steps or cfg.inner_steps

    def at(b: float, v: float, lr: float, **more: Any) -> Config:
        return cfg.replace(
            sigma_b=float(b), sigma_v=float(v), inner_lr=float(lr), **more
        ).resolved()

    cpu0 = time.process_time()
    init = []
    for b, v, lr in tqdm(
        grid.kernels(), desc="kernels at f = 0", disable=not progress
    ):
        c = at(b, v, lr)
        t0 = time.perf_counter()
        acc = validation_at_start(c, pools, device=device)
        init.append(
            {
                "sigma_b": float(b),
                "sigma_v": float(v),
                "inner_lr": float(lr),
                "val_acc": acc,
                "seconds": time.perf_counter() - t0,
            }
        )
    ranked = sorted(init, key=lambda r: -r["val_acc"])[:top]
    screen = []
    combos = [(r, m) for r in ranked for m in grid.meta_lr]
    for r, m in tqdm(combos, desc="screening runs", disable=not progress):
        c = at(
            r["sigma_b"],
            r["sigma_v"],
            r["inner_lr"],
            meta_lr=float(m),
            steps=steps,
            test_tasks=1,
            test_inner_steps=(1,),
        )
        run = train(c, pools, device=device, progress=False)
        h = run.history
        edges = [0, *h.val_steps]
        loss = [
            float(np.mean(h.loss[a:b]))
            for a, b in zip(edges[:-1], edges[1:])
            if b > a
        ]
        screen.append(
            {
                "sigma_b": r["sigma_b"],
                "sigma_v": r["sigma_v"],
                "inner_lr": r["inner_lr"],
                "meta_lr": float(m),
                "val_at_init": r["val_acc"],
                "val_steps": h.val_steps,
                "val_acc": h.val_acc,
                "mean_loss": loss,
                "best_val": h.best_val,
                "best_step": h.best_step,
                "diverged_at": h.diverged_at,
                "seconds": run.seconds,
            }
        )
        if progress:
            tqdm.write(
                f"  sigma_b {r['sigma_b']:g} sigma_v {r['sigma_v']:g} inner lr {r['inner_lr']:g} meta lr "
                f"{m:g}: validation {r['val_acc']:.1f}% at f = 0, best {h.best_val:.1f}% at step "
                f"{h.best_step} ({run.seconds:.0f} s)"
            )
    best = max(screen, key=lambda r: r["best_val"])
    chosen = {
        k: best[k]
        for k in (
            "sigma_b",
            "sigma_v",
            "inner_lr",
            "meta_lr",
            "best_val",
            "best_step",
        )
    }
    return {
        "model": cfg.model,
        "sigma_w": cfg.sigma_w,
        "val_inner_steps": val_steps,
        "val_tasks": cfg.val_tasks,
        "q_eval": cfg.q_eval,
        "steps": steps,
        "val_every": cfg.val_every,
        "top": top,
        "cpu_seconds": time.process_time() - cpu0,
        "torch_threads": torch.get_num_threads(),
        "grid": {
            k: [float(x) for x in getattr(grid, k)]
            for k in ("sigma_b", "sigma_v", "inner_lr", "meta_lr")
        },
        "init": init,
        "screen": screen,
        "chosen": chosen,
    }


def kernel_searches(docs: Mapping[str, dict]) -> dict[str, dict]:
    """The kernel searches among results documents (:func:`load_results`; the files
    ``results/maml_<model>_search.json`` of ``--search-only``): ``{model: search}``, each
    search the document's ``kernel_search`` (:func:`kernel_search`) with its file's
    ``provenance`` and ``file`` name added. ``{}`` where no document holds one."""
    out: dict[str, dict] = {}
    for stem, doc in docs.items():
        search = doc.get("kernel_search")
        if search is not None:
            out[search["model"]] = {
                **search,
                "provenance": doc["provenance"],
                "file": f"{stem}.json",
            }
    return out


@dataclass(frozen=True)
class SearchGrid:
    """The ``init`` stage of a :func:`kernel_search` as a table over sigma_b x inner step
    size: ``val_acc[i, j]`` is the validation accuracy (%) at f = 0 of ``sigma_b[i]`` and
    ``inner_lr[j]``, the best over sigma_v (NaN where the grid has no such run) and
    ``sigma_v[i, j]`` the sigma_v that reached it; ``best`` is the stage's best row."""

    sigma_b: tuple[float, ...]
    inner_lr: tuple[float, ...]
    val_acc: np.ndarray
    sigma_v: np.ndarray
    best: dict

    def at(self, sigma_b: float, inner_lr: float) -> float:
        """The entry at ``sigma_b`` and ``inner_lr`` (KeyError when they are not on the grid)."""
        try:
            i, j = self.sigma_b.index(sigma_b), self.inner_lr.index(inner_lr)
        except ValueError:
            raise KeyError(
                f"sigma_b {sigma_b:g}, inner lr {inner_lr:g} is not on the grid"
            ) from None
        return float(self.val_acc[i, j])


def search_grid(search: Mapping[str, Any]) -> SearchGrid:
    """The validation accuracies at f = 0 of a kernel search (:func:`kernel_search`, or
    an entry of :func:`kernel_searches`) over sigma_b x inner step size, best over sigma_v."""
    rows = search["init"]
    if not rows:
        raise ValueError("the kernel search has no init stage")
    bs = tuple(sorted({float(r["sigma_b"]) for r in rows}))
    lrs = tuple(sorted({float(r["inner_lr"]) for r in rows}))
    acc = np.full((len(bs), len(lrs)), np.nan)
    sv = np.full((len(bs), len(lrs)), np.nan)
    for r in rows:
        i, j = bs.index(float(r["sigma_b"])), lrs.index(float(r["inner_lr"]))
        if not acc[i, j] >= r["val_acc"]:  # NaN or lower: take this one
            acc[i, j], sv[i, j] = r["val_acc"], r["sigma_v"]
    best = max(rows, key=lambda r: r["val_acc"])
    return SearchGrid(bs, lrs, acc, sv, dict(best))


def screen_label(row: Mapping[str, Any], model: str = "relu-ntk") -> str:
    """A screening run's setting in words: ``sigma_b 8, sigma_v 0.125, inner lr 0.025,
    meta lr 0.003`` (no sigma_v for the NNGP, where it does not enter)."""
    v = f"sigma_v {row['sigma_v']:g}, " if model == "relu-ntk" else ""
    return (
        f"sigma_b {row['sigma_b']:g}, {v}inner lr {row['inner_lr']:g}, "
        f"meta lr {row['meta_lr']:g}"
    )


def screening_moves(search: Mapping[str, Any]) -> dict[str, float]:
    """How far each screening run of a kernel search moved validation accuracy: ``{setting
    (:func:`screen_label`): best validation minus validation at f = 0}``, in points."""
    return {
        screen_label(r, search["model"]): float(r["best_val"] - r["val_at_init"])
        for r in search["screen"]
    }


def predictions(
    learner: Learner, tasks: omniglot.Tasks, inner_steps: int, inner_lr: float
) -> torch.Tensor:
    """Predicted query labels (B, N*Q) after ``inner_steps`` inner steps on each support set."""
    logits = learner.query_logits(
        tasks.support_x, tasks.support_y, tasks.query_x, inner_steps, inner_lr
    )
    return logits.argmax(-1)


def paper_setting(config: dict) -> bool:
    """Whether a recorded configuration is the paper's: 5-way 1-shot, first-order MAML."""
    return (config["n_way"], config["k_shot"], config["first_order"]) == (5, 1, True)


def run_label(r: dict) -> str:
    """A recorded run's model name, qualified unless it is the paper's setting (5-way 1-shot,
    first order): ``limit``, ``finite-512``, ``limit (5-way 5-shot)``."""
    c = r["config"]
    if paper_setting(c):
        return r["name"]
    return f"{r['name']} ({c['n_way']}-way {c['k_shot']}-shot{'' if c['first_order'] else ', second order'})"


def load_results(folder: str | Path | None = None) -> dict[str, dict]:
    """Every recorded ``results/maml*.json``: ``{file stem: document}``
    (:func:`mupbook.experiments._common.load_results`); :func:`recorded_runs` lists their runs."""
    return _common.load_results("maml", folder)


def recorded_runs(docs: Mapping[str, dict]) -> dict[str, dict]:
    """The runs of results documents (:func:`load_results`): ``{name: run dict}`` (the first
    seed of a model under its name, further seeds as ``name/seedS``), each with its file's
    provenance, file name and inner-step-size search."""
    out: dict[str, dict] = {}
    for stem, doc in docs.items():
        for r in doc["runs"]:
            label = run_label(r)
            key = label if label not in out else f"{label}/seed{r['config']['seed']}"
            out[key] = {
                **r,
                "provenance": doc["provenance"],
                "file": f"{stem}.json",
                "inner_lr_search": doc.get("inner_lr_search"),
            }
    return out


def accuracy_table(
    runs: dict[str, dict], inner_steps: int
) -> dict[str, tuple[float, float, int]]:
    """``{run_label: (mean %, ci95, number of seeds)}`` at ``inner_steps`` test steps; several
    seeds of one model are averaged (their spread, not the task interval, is then the bar:
    1.96 standard errors over seeds)."""
    grouped: dict[str, list[dict]] = {}
    for r in runs.values():
        if str(inner_steps) in r["test"]:
            grouped.setdefault(run_label(r), []).append(r["test"][str(inner_steps)])
    table = {}
    for name, accs in grouped.items():
        means = np.array([a["mean"] for a in accs])
        if len(means) > 1:
            table[name] = (
                float(means.mean()),
                float(1.96 * means.std(ddof=1) / math.sqrt(len(means))),
                len(means),
            )
        else:
            ci = accs[0]["ci95"]
            table[name] = (
                float(means[0]),
                float("nan") if ci is None else float(ci),
                1,
            )
    return table


def _order(name: str) -> tuple:
    if name.startswith(("finite-", "ntp-", "sp-")):
        kind, width = name.rsplit("-", 1)
        return (1, kind, int(width), "")
    return (0 if name == "limit" else 2, "", 0, name)


def comparison_table(
    recorded: dict[str, dict],
) -> tuple[list[str], list[list[object]]]:
    """Header and rows for the paper-vs-ours table of recorded 5-way 1-shot runs: the
    paper's accuracy, ours at 20 and at 1 inner step (mean +- 95% interval), the query
    drawings per class each test task was scored on (``q_eval``), the meta-steps run, and
    the number of seeds."""
    one_shot = {k: r for k, r in recorded.items() if paper_setting(r["config"])}
    by_steps = {s: accuracy_table(one_shot, s) for s in (20, 1)}
    rows = []
    for name in sorted({r["name"] for r in one_shot.values()}, key=_order):
        steps_run = max(
            len(r["history"]["loss"]) for r in one_shot.values() if r["name"] == name
        )
        q_eval = sorted(
            {r["config"]["q_eval"] for r in one_shot.values() if r["name"] == name}
        )
        cells = [
            f"{by_steps[s][name][0]:.1f} ± {by_steps[s][name][1]:.1f}"
            if name in by_steps[s]
            else "-"
            for s in (20, 1)
        ]
        rows.append(
            [
                name,
                paper.OMNIGLOT_1SHOT.get(name, "-"),
                *cells,
                ", ".join(map(str, q_eval)),
                steps_run,
                by_steps[20].get(name, (0, 0, 1))[2],
            ]
        )
    return [
        "model",
        "paper (%)",
        "ours, 20 inner steps",
        "ours, 1 inner step",
        "queries per class at test",
        "meta-steps run",
        "seeds",
    ], rows


@dataclass(frozen=True)
class CountedAccuracy:
    """A recorded run's meta-test accuracy as the count it is: ``correct`` of ``queries``
    query answers (``tasks`` tasks x ``n_way`` classes x ``q_eval`` queries per class) after
    ``inner_steps`` inner steps. Two 95% intervals, in %: :attr:`wilson`, the Wilson
    interval of the count (:mod:`mupbook.stats`), which treats the answers as independent,
    and :attr:`over_tasks`, the recorded mean +- 1.96 standard errors of the per-task
    accuracies, which does not (the queries of a task share its classes and support set,
    so they err together). :attr:`interval` is the wider of the two at each end."""

    name: str
    model: str
    tasks: int
    n_way: int
    q_eval: int
    inner_steps: int
    correct: int
    ci95_tasks: float | None

    @property
    def queries(self) -> int:
        return self.tasks * self.n_way * self.q_eval

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.queries

    @property
    def wilson(self) -> tuple[float, float]:
        return stats.Proportion(self.correct, self.queries).interval

    @property
    def over_tasks(self) -> tuple[float, float] | None:
        if self.ci95_tasks is None or not math.isfinite(self.ci95_tasks):
            return None
        return self.percent - self.ci95_tasks, self.percent + self.ci95_tasks

    @property
    def interval(self) -> tuple[float, float]:
        low, high = self.wilson
        if self.over_tasks is not None:
            low, high = min(low, self.over_tasks[0]), max(high, self.over_tasks[1])
        return low, high

    def below(self, other: CountedAccuracy) -> bool:
        """True when this interval lies entirely below ``other``'s."""
        return self.interval[1] < other.interval[0]

    def __str__(self) -> str:
        low, high = self.interval
        return (
            f"{self.correct}/{self.queries} = {self.percent:.2f}% "
            f"(95%: {low:.2f} to {high:.2f}%)"
        )


def counted_accuracies(
    recorded: Mapping[str, dict], inner_steps: int
) -> dict[str, CountedAccuracy]:
    """:class:`CountedAccuracy` of every recorded run of the paper's setting (5-way
    1-shot, first order; ``recorded`` as :func:`recorded_runs` gives it, each seed under
    its own key) that was tested with ``inner_steps`` inner steps. The recorded mean is a mean over tasks of
    equally many queries each, so it is a count: one that is not a whole number of correct
    answers is an error (the file does not say what it was measured on)."""
    out = {}
    for key, r in recorded.items():
        c = r["config"]
        acc = r["test"].get(str(inner_steps))
        if acc is None or not paper_setting(c):
            continue
        queries = int(acc["tasks"]) * c["n_way"] * c["q_eval"]
        count = acc["mean"] * queries / 100
        if abs(count - round(count)) > 1e-6:
            raise ValueError(
                f"{key}: a test accuracy of {acc['mean']}% is not a whole number of correct "
                f"answers out of {queries} (tasks x n_way x q_eval); the recorded "
                "configuration does not match what was tested"
            )
        out[key] = CountedAccuracy(
            key,
            run_label(r),
            int(acc["tasks"]),
            c["n_way"],
            c["q_eval"],
            inner_steps,
            int(round(count)),
            acc.get("ci95"),
        )
    return out


def feature_learners(
    recorded: Mapping[str, dict], *, min_width: int = 8
) -> dict[str, dict]:
    """The recorded runs (:func:`recorded_runs`) of the paper's setting that learn
    features: the muP limit and the muP networks of width ``min_width`` or more, every seed
    of each."""
    out = {}
    for key, r in recorded.items():
        if not paper_setting(r["config"]):
            continue
        kind, _, width = r["name"].partition("-")
        if r["name"] == "limit" or (kind == "finite" and int(width) >= min_width):
            out[key] = r
    return out


def settings_table(
    recorded: Mapping[str, dict], names: Sequence[str]
) -> tuple[list[str], list[list[object]]]:
    """Header and rows of the hyperparameters of recorded kernel-limit runs ``names``: the
    kernel's scales, both learning rates, the inner steps at validation, the meta-steps run
    and the best-validation step that was tested."""
    rows = []
    for name in names:
        r = recorded[name]
        c, h = r["config"], r["history"]
        rows.append(
            [
                name,
                c["sigma_w"],
                c["sigma_b"],
                c["sigma_v"] if c["model"] == "relu-ntk" else "-",
                c["inner_lr"],
                c["meta_lr"],
                c.get("val_inner_steps") or c["inner_steps"],
                len(h["loss"]),
                h["best_step"],
            ]
        )
    return [
        "model",
        "sigma_w",
        "sigma_b",
        "sigma_v",
        "inner lr",
        "meta lr",
        "inner steps at validation",
        "meta-steps run",
        "best validation at step",
    ], rows


def _resumable(cfg: dict) -> dict:
    """What must match to resume: everything but the number of steps (a run may be extended)."""
    return {k: v for k, v in cfg.items() if k != "steps"}


#: Version of the checkpoint layout written by :func:`_save_checkpoint`; older ones are refused.
CHECKPOINT_FORMAT = 1


def _save_checkpoint(
    path: Path, cfg: Config, learner: Learner, hist: History, step: int, best: dict
) -> None:
    """Plain data only (dicts, lists, numbers, tensors), so ``torch.load(weights_only=True)``
    reads it whichever module wrote it (the library or ``python -m``, i.e. ``__main__``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "config": cfg.to_dict(),
            "learner": learner.state(),
            "history": dataclasses.asdict(hist),
            "step": step,
            "best": best,
        },
        tmp,
    )
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> dict:
    """A training checkpoint: ``{"format", "config", "learner", "history" (a dict of
    :class:`History` fields), "step", "best"}``; other formats are refused with advice."""
    path = Path(path)
    advice = "delete it to train from scratch, or resume it with the mupbook version that wrote it"
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path} is a MAML checkpoint of an older format (it pickles Python classes, "
            f"which are not loaded, for safety); {advice}"
        ) from err
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(
            f"{path} is not a readable checkpoint ({err}); {advice}"
        ) from err
    version = saved.get("format") if isinstance(saved, dict) else None
    if version != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is a checkpoint of format {version}; this version reads format "
            f"{CHECKPOINT_FORMAT} only; {advice}"
        )
    return saved


# --------------------------------------------------------------------------- results


def reproduction_rows(run: Run | dict) -> list[dict]:
    """Our accuracy at each meta-test inner-step count; the paper's number sits beside the
    20-step figure (TP4 evaluates with 20 inner steps), the others have none. ``run`` is a
    :class:`Run` or its ``to_dict()``."""
    d = run.to_dict() if isinstance(run, Run) else run
    c, h = d["config"], d["history"]
    name = d["name"]
    key = name if c["param"] == "mup" else None
    published = paper.OMNIGLOT_1SHOT.get(key) if paper_setting(c) and key else None
    rows = []
    for s, acc in d["test"].items():
        steps = int(s)
        note = (
            f"{c['n_way']}-way {c['k_shot']}-shot, {'first' if c['first_order'] else 'second'}-order MAML, "
            f"{len(h['loss'])} meta-steps (best validation at {h['best_step']}), {acc['tasks']} test tasks"
        )
        if h["diverged_at"] is not None:
            note += f"; training diverged at step {h['diverged_at']}, best-validation state kept"
        if published is not None and steps != paper.OMNIGLOT_INNER_STEPS:
            note += f"; the paper's {published} % is for {paper.OMNIGLOT_INNER_STEPS} inner steps"
        rows.append(
            results.row(
                f"Omniglot {c['n_way']}-way {c['k_shot']}-shot, {name}, seed {c['seed']}, "
                f"{steps} inner step{'s' if steps > 1 else ''} at test",
                acc["mean"],
                published if steps == paper.OMNIGLOT_INNER_STEPS else None,
                unit="%",
                note=note,
                ci95=acc["ci95"],
            )
        )
    return rows


def recorded_argv(argv: Sequence[str]) -> list[str]:
    """The command line as recorded in provenance: a checkpoint's local path is replaced by
    ``CHECKPOINT`` (where a run kept its checkpoints is not part of its result)."""
    out, skip = [], False
    for a in argv:
        if skip:
            out.append("CHECKPOINT")
            skip = False
        elif a == "--checkpoint":
            out.append(a)
            skip = True
        elif a.startswith("--checkpoint="):
            out.append("--checkpoint=CHECKPOINT")
        else:
            out.append(a)
    return out


def results_dict(
    runs: Sequence[Run], argv: Sequence[str], device: str | None, seconds: float
) -> dict:
    return {
        "experiment": "maml",
        "config": runs[0].cfg.to_dict()
        if len(runs) == 1
        else [r.cfg.to_dict() for r in runs],
        "runs": [r.to_dict() for r in runs],
        "reproduction": [row for r in runs for row in reproduction_rows(r)],
        "provenance": results.provenance(
            "mupbook.experiments.maml",
            recorded_argv(argv),
            seeds=sorted({r.cfg.seed for r in runs}),
            device=device,
            seconds=seconds,
        ),
    }


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m mupbook.experiments.maml",
        description="First- or second-order MAML on Omniglot with 1-hidden-layer linear "
        "networks, their muP limit, and ReLU/linear NNGP and NTK limits.",
    )
    ap.add_argument("--model", choices=MODELS, default="limit")
    ap.add_argument(
        "--width",
        type=int,
        nargs="+",
        help="widths for --model finite only (one run each)",
    )
    ap.add_argument("--param", choices=linear.PARAMETRIZATIONS, default="mup")
    _common.add_common_arguments(
        ap, out_help="JSON file (default results/maml_<model>.json)"
    )
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="one run per seed (distinct)",
    )
    ap.add_argument("--steps", type=int)
    ap.add_argument("--k-shot", type=int)
    ap.add_argument("--inner-lr", type=float)
    ap.add_argument("--meta-lr", type=float)
    ap.add_argument("--second-order", action="store_true")
    ap.add_argument("--test-tasks", type=int)
    ap.add_argument("--val-tasks", type=int)
    ap.add_argument("--val-every", type=int)
    ap.add_argument(
        "--q-eval", type=int, help="query drawings per class at validation and test"
    )
    ap.add_argument(
        "--inner-lr-search",
        type=float,
        nargs="+",
        default=None,
        help="candidate inner step sizes, chosen on the validation split first",
    )
    ap.add_argument(
        "--search-steps",
        type=int,
        default=1000,
        help="meta-steps per candidate of the search",
    )
    ap.add_argument(
        "--sigma-w",
        type=float,
        help="kernel limits: first-layer weight scale (TP4's --sigma1)",
    )
    ap.add_argument(
        "--sigma-b",
        type=float,
        help="kernel limits: first-layer bias scale (TP4's --sigmab)",
    )
    ap.add_argument(
        "--sigma-v",
        type=float,
        help="relu-ntk: readout scale in the NTK (TP4's --sigma2)",
    )
    ap.add_argument(
        "--kernel-dtype",
        choices=("float32", "float64"),
        help="kernel limits: dtype of kernel values (default float32)",
    )
    ap.add_argument(
        "--val-inner-steps",
        type=int,
        help="inner steps at validation (default: as in training)",
    )
    ap.add_argument(
        "--grid-sigma-b",
        type=float,
        nargs="+",
        default=None,
        help="kernel search: sigma_b values (sigma_w fixed: the ratio sigma_b / sigma_w)",
    )
    ap.add_argument(
        "--grid-sigma-v",
        type=float,
        nargs="+",
        default=None,
        help="kernel search: sigma_v values (relu-ntk)",
    )
    ap.add_argument(
        "--grid-inner-lr",
        type=float,
        nargs="+",
        default=None,
        help="kernel search: inner step sizes",
    )
    ap.add_argument(
        "--grid-meta-lr",
        type=float,
        nargs="+",
        default=None,
        help="kernel search: meta learning rates",
    )
    ap.add_argument(
        "--search-top",
        type=int,
        default=4,
        help="kernel search: (sigma_b, sigma_v, inner lr) combinations screened with "
        "each meta lr",
    )
    ap.add_argument(
        "--search-only",
        action="store_true",
        help="kernel search: write the search (default "
        "results/maml_<model>_search.json) and stop",
    )
    ap.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint file to save to (every 500 steps and at the end) and resume from; "
        "one holding more steps than --steps is refused",
    )
    return ap


def _configs(args: argparse.Namespace) -> tuple[Config, list[Config]]:
    """The base configuration and one resolved configuration per (width, seed) of the
    command line; ValueError for anything that is not allowed."""
    if args.model != "finite" and args.width is not None:
        raise ValueError(
            f"--width is only for --model finite, not --model {args.model}"
        )
    if args.model == "finite" and not args.width:
        raise ValueError("--model finite needs --width (one or more widths)")
    base = config(args.scale, model=args.model, param=args.param).replace(
        **_common.overrides(
            args,
            (
                "steps",
                "k_shot",
                "inner_lr",
                "meta_lr",
                "test_tasks",
                "val_tasks",
                "val_every",
                "q_eval",
                "sigma_w",
                "sigma_b",
                "sigma_v",
                "kernel_dtype",
                "val_inner_steps",
            ),
        )
    )
    if args.second_order:
        base = base.replace(first_order=False)
    widths = (
        [int(w) for w in _checks.widths(args.width, "--width", minimum_count=1)]
        if args.width
        else [None]
    )
    seeds = (
        _checks.seeds(args.seeds, "--seeds")
        if args.seeds is not None
        else (base.seed,)
    )
    if args.inner_lr_search is not None:
        cands = [
            _checks.positive_float(c, "every --inner-lr-search candidate")
            for c in args.inner_lr_search
        ]
        if len(set(cands)) != len(cands):
            raise ValueError(
                f"--inner-lr-search candidates must be distinct, got {cands}"
            )
        _checks.positive_int(args.search_steps, "--search-steps")
    return base, [
        base.replace(width=w, seed=s).resolved() for w in widths for s in seeds
    ]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    with _common.refused_by(parser):
        base, configs = _configs(args)
        grid = _kernel_grid(args, configs[0])
    name = (
        configs[0].name
        if len(configs) == 1
        else base.replace(width=configs[0].width).name
    )
    shots = "" if base.k_shot == 1 else f"_{base.k_shot}shot"
    suffix = "_search" if args.search_only else ""
    run_ = _common.start(
        parser, args, argv, f"results/maml_{name}{shots}{suffix}.json"
    )
    device = run_.device
    pools = load_pools(base.resize, device=device)
    search = None
    if args.inner_lr_search:
        best_lr, scores = select_inner_lr(
            configs[0],
            pools,
            args.inner_lr_search,
            steps=args.search_steps,
            device=device,
            progress=run_.progress,
        )
        print(f"inner step size on validation: {scores} -> {best_lr}", flush=True)
        configs = [c.replace(inner_lr=best_lr) for c in configs]
        search = {
            "candidates": [float(x) for x in args.inner_lr_search],
            "steps": args.search_steps,
            "best_val": {str(k): v for k, v in scores.items()},
            "chosen": best_lr,
        }
    grid_search = None
    if grid is not None:
        grid_search = kernel_search(
            configs[0],
            pools,
            grid,
            steps=args.search_steps,
            top=args.search_top,
            device=device,
            progress=run_.progress,
        )
        ch = grid_search["chosen"]
        print(
            f"kernel search on validation: sigma_b {ch['sigma_b']:g}, sigma_v "
            f"{ch['sigma_v']:g}, inner lr {ch['inner_lr']:g}, meta lr {ch['meta_lr']:g} "
            f"(best validation {ch['best_val']:.2f}% at step {ch['best_step']})",
            flush=True,
        )
        configs = [
            c.replace(
                sigma_b=ch["sigma_b"],
                sigma_v=ch["sigma_v"],
                inner_lr=ch["inner_lr"],
                meta_lr=ch["meta_lr"],
            ).resolved()
            for c in configs
        ]
        if args.search_only:
            doc = {
                "experiment": "maml",
                "config": configs[0].to_dict(),
                "runs": [],
                "reproduction": [],
                "kernel_search": grid_search,
                "provenance": results.provenance(
                    "mupbook.experiments.maml",
                    recorded_argv(argv),
                    seeds=[configs[0].seed],
                    device=str(device),
                    seconds=run_.seconds(),
                ),
            }
            doc["provenance"].update(run_.code)
            _common.write_results(run_.out, doc)
            print(f"wrote {run_.out}")
            return 0
    runs = []
    for cfg in configs:
        ck = (
            None
            if args.checkpoint is None
            else f"{args.checkpoint}.{cfg.name}.s{cfg.seed}"
        )
        run = train(cfg, pools, device=device, progress=run_.progress, checkpoint=ck)
        runs.append(run)
        print(
            f"{cfg.name} seed {cfg.seed}: "
            + "; ".join(f"{k} inner steps {v}" for k, v in run.test.items())
            + f" ({run.seconds_per_step * 1e3:.1f} ms/step)",
            flush=True,
        )
    doc = results_dict(runs, argv, str(device), run_.seconds())
    if search is not None:
        doc["inner_lr_search"] = search
    if grid_search is not None:
        doc["kernel_search"] = grid_search
    doc["provenance"].update(run_.code)
    _common.write_results(run_.out, doc)
    print(f"wrote {run_.out}")
    return 0


def _kernel_grid(args: argparse.Namespace, cfg: Config) -> KernelGrid | None:
    """The grid of the ``--grid-*`` options (an option left out: the configuration's one
    value), checked before any work; None when no ``--grid-*`` option is given."""
    given = (
        args.grid_sigma_b,
        args.grid_sigma_v,
        args.grid_inner_lr,
        args.grid_meta_lr,
    )
    if all(g is None for g in given):
        if args.search_only:
            raise ValueError(
                "--search-only needs a grid (--grid-sigma-b, --grid-sigma-v, ...)"
            )
        return None
    if cfg.model not in ("relu-nngp", "relu-ntk"):
        raise ValueError(
            f"--grid-* options are for --model relu-nngp or relu-ntk, not {cfg.model}"
        )
    if args.inner_lr_search is not None:
        raise ValueError(
            "use --grid-inner-lr, not --inner-lr-search, with --grid-* options"
        )
    _checks.positive_int(args.search_steps, "--search-steps")
    _checks.positive_int(args.search_top, "--search-top")
    defaults = (cfg.sigma_b, cfg.sigma_v, cfg.inner_lr, cfg.meta_lr)
    grid = KernelGrid(
        *(tuple(g) if g is not None else (d,) for g, d in zip(given, defaults))
    )
    if cfg.model != "relu-ntk" and len(grid.sigma_v) > 1:
        raise ValueError("--grid-sigma-v: sigma_v enters the NTK only (relu-ntk)")
    return grid


if __name__ == "__main__":
    raise SystemExit(main())
