"""5-way 1-shot first-order MAML on Omniglot with deep ReLU networks: the infinite pi-net,
finite pi-nets and muP networks, and the NNGP/NTK limits of the same depth.

The pi-limit paper's protocol (Yang, Santacroce & Hu 2022, its code ``pilimit_orig/meta``,
and ``../shared/PI_LIMIT.md``): L = 2 hidden layers; the readout is zero-initialized and
never meta-trained (its learning-rate multiplier is 0); the inner loop adapts the readout
only (one SGD step of size ``inner_lr`` on the support set); gradients are projected in
both loops (for a finite pi-net; with the readout alone adapting, the inner projection
does nothing); meta-batches of 8 tasks whose query losses are summed; the meta-gradient
clipped to ``clip`` by the norm the infinite net defines; meta-SGD with a cosine schedule.
Its infinite pi-net setting (the code's README): r = 400, meta-lr 32, inner step 0.353553,
clip 0.1, bias multiplier 1.414214, input-layer learning-rate multiplier 0.4, 50 epochs of
1000 meta-batches, float16 on a GPU.

Because the readout starts at zero and only it adapts, one inner step turns the query
logits into a kernel expression over each task's support set,
``f_q = -inner_lr sum_s K(q, s) delta_s`` with ``delta_s`` the support gradient of the
cross-entropy and K the *feature kernel* of the last hidden layer: for the infinite pi-net
``K = alpha^2 |g_q| |g_s| V(g_hat_q . g_hat_s)``, for a finite net
``phi(h_q) . phi(h_s)`` (its readout's own kernel). A whole meta-batch is then a few
batched products, and the meta-gradient flows through the query features (first order:
the support side is held fixed). For the infinite net the meta-step appends, for every
query image, one row to each hidden layer (:mod:`mupbook.limits.pi`): memory grows by
``8 tasks x 5 queries = 40`` rows per meta-step.

The kernel limits need no training under this protocol: with the readout fixed at zero,
meta-training leaves their function at zero, so the pi-limit paper evaluates them as they
are (its NNGP/NTK commands run validation only); one inner kernel step from f = 0 is what
they can do (:class:`mupbook.experiments.maml.KernelLearner`, depth-2
:class:`mupbook.limits.kernel_sgd.Kernel`).

Task sampling, evaluation, validation and the run record are
:mod:`mupbook.experiments.maml`'s; this module adds the learners, the memory plan, the
cosine schedule and a checkpoint that says how large it is before writing it::

    python -m mupbook.experiments.pi_maml --model pi-limit --scale full
    python -m mupbook.experiments.pi_maml --model relu-ntk --scale full
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from tqdm.auto import tqdm

from .. import _checks, nn, paper, results, runtime
from ..data import omniglot
from ..limits import kernel_sgd, pi
from . import _common, maml

MODELS = ("pi-limit", "pi-finite", "mup-finite", "relu-nngp", "relu-ntk")
KERNEL_MODELS = ("relu-nngp", "relu-ntk")
STORAGES = ("float16", "float32", "float64")


@dataclass(frozen=True)
class Config(_common.ConfigBase):
    """One run. Defaults: the pi-limit paper's infinite pi-net setting (module docstring);
    ``width`` is for the finite models; ``storage`` is the rows' dtype (float16 on a GPU),
    ``dtype`` that of the images and of every other tensor."""

    model: str = "pi-limit"
    width: int | None = None
    depth: int = 2
    r: int = 400
    n_way: int = 5
    k_shot: int = 1
    q_train: int = 1
    batch_tasks: int = 8
    steps: int = 50_000
    inner_lr: float = 0.353553
    inner_steps: int = 1
    first_order: bool = True
    meta_lr: float = 32.0
    schedule: str = "cosine"
    clip: float = 0.1
    bias_alpha: float = 1.414214
    first_alpha: float = 1.0
    first_lr_mult: float = 0.4
    base_width: int = 64
    sigma_w: float = 1.0
    sigma_b: float = 1.0
    val_every: int = 1000
    val_tasks: int = 500
    test_tasks: int = 1000
    test_inner_steps: tuple[int, ...] = (1,)
    q_eval: int = 5
    diverge_factor: float = 10.0
    seed: int = 0
    dtype: str = "float32"
    storage: str = "float16"
    resize: str = "bilinear"

    def check(self) -> Config:
        _checks.choice(self.model, MODELS, "model")
        finite = self.model in ("pi-finite", "mup-finite")
        if finite:
            if self.width is None:
                raise ValueError(f"model {self.model!r} needs a width (--width)")
            _checks.positive_int(self.width, "width")
        elif self.width is not None:
            raise ValueError(
                f"width is only for the finite models, not {self.model!r}"
            )
        _checks.integer(self.depth, "depth", minimum=2)
        for what in (
            "r",
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
            "base_width",
        ):
            _checks.positive_int(getattr(self, what), what)
        if self.k_shot + max(self.q_train, self.q_eval) > omniglot.N_DRAWERS:
            raise ValueError(
                f"k_shot + queries must be <= {omniglot.N_DRAWERS} drawings per class"
            )
        if not self.first_order:
            raise ValueError("only first-order MAML is implemented for these models")
        for what in ("inner_lr", "meta_lr", "clip", "first_alpha", "diverge_factor"):
            _checks.positive_float(getattr(self, what), what)
        for what in ("bias_alpha", "first_lr_mult", "sigma_w", "sigma_b"):
            _checks.nonnegative_float(getattr(self, what), what)
        _checks.choice(self.schedule, ("cosine", "constant"), "schedule")
        steps = tuple(self.test_inner_steps)
        if not steps or any(not _checks.is_integer(t) or t < 1 for t in steps):
            raise ValueError(
                f"test_inner_steps must be positive integers, got {steps}"
            )
        _checks.seed(self.seed)
        _checks.choice(self.dtype, ("float32", "float64"), "dtype")
        _checks.choice(self.storage, STORAGES, "storage")
        _checks.choice(self.resize, omniglot.RESIZES, "resize")
        return self

    def resolved(self) -> Config:
        return self.check()

    @property
    def name(self) -> str:
        """``pi-limit``, ``pi-finite-2048``, ``mup-finite-2048``, ``relu-ntk``."""
        return f"{self.model}-{self.width}" if self.width is not None else self.model

    def meta_lr_at(self, step: int) -> float:
        """The meta learning rate of meta-step ``step`` (0-based): cosine from ``meta_lr``
        to 0 over ``steps`` steps, or constant."""
        if self.schedule == "constant":
            return self.meta_lr
        return 0.5 * self.meta_lr * (1 + math.cos(math.pi * step / self.steps))

    @property
    def rows_per_step(self) -> int:
        """Rows a meta-step appends to each hidden layer of the infinite net: one per query."""
        return self.batch_tasks * self.n_way * self.q_train


FULL = Config()
#: A CPU-sized configuration: small r, a few hundred meta-steps, fewer tasks.
QUICK = Config(
    r=32,
    steps=200,
    val_every=100,
    val_tasks=64,
    test_tasks=128,
    storage="float32",
)
CONFIGS = {"quick": QUICK, "full": FULL}


def config(scale: str | None = None, **changes: Any) -> Config:
    """The quick or full configuration (default: ``MUPBOOK_SCALE``) with ``changes``."""
    scale = runtime.scale() if scale is None else scale
    return CONFIGS[_checks.choice(scale, tuple(CONFIGS), "scale")].replace(**changes)


# ------------------------------------------------------------------ learners


def adapt_readout(
    kss: torch.Tensor,
    kqs: torch.Tensor,
    ys: torch.Tensor,
    fs0: torch.Tensor,
    fq0: torch.Tensor,
    steps: int,
    lr: float,
    c: int,
) -> torch.Tensor:
    """Query logits (B, kq, c) after ``steps`` inner SGD steps of the readout alone, whose
    kernel on the task's points is ``kss`` (B, ks, ks) and ``kqs`` (B, kq, ks); ``fs0``,
    ``fq0`` the logits before. First order: the support gradients are held fixed."""
    fs, gsum = fs0, torch.zeros_like(fs0)
    for _ in range(steps):
        g = maml._output_grad(fs, ys, c).detach()
        fs = fs - lr * kss @ g
        gsum = gsum + g
    return fq0 - lr * kqs @ gsum


class _ReadoutLearner:
    """MAML whose inner loop adapts the readout only (module docstring): subclasses give
    the features of a batch of images and the meta-update."""

    c: int
    step_count: int = 0

    def _features(self, x: torch.Tensor, grad: bool) -> tuple[torch.Tensor, Any]:
        """(features (N, F), logits before adaptation (N, c)) and a handle for the update."""
        raise NotImplementedError

    def _kernel(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def query_logits(self, xs, ys, xq, steps, lr, first_order=True, grad=False):
        B, ks, d = xs.shape
        kq = xq.shape[1]
        with torch.no_grad():
            (fs, f0s), _ = self._features(xs.reshape(-1, d), False)
            (fq, f0q), _ = self._features(xq.reshape(-1, d), False)
            fs, fq = fs.reshape(B, ks, -1), fq.reshape(B, kq, -1)
            return adapt_readout(
                self._kernel(fs, fs),
                self._kernel(fq, fs),
                ys,
                f0s.reshape(B, ks, -1),
                f0q.reshape(B, kq, -1),
                steps,
                lr,
                self.c,
            )

    def meta_step(self, tasks: omniglot.Tasks, cfg: Config) -> tuple[float, float]:
        xs, xq = tasks.support_x, tasks.query_x
        B, ks, d = xs.shape
        kq = xq.shape[1]
        with torch.no_grad():
            (fs, f0s), _ = self._features(xs.reshape(-1, d), False)
            fs = fs.reshape(B, ks, -1)
        (fq, f0q), handle = self._features(xq.reshape(-1, d), True)
        fq = fq.reshape(B, kq, -1)
        logits = adapt_readout(
            self._kernel(fs, fs),
            self._kernel(fq, fs),
            tasks.support_y,
            f0s.reshape(B, ks, -1),
            f0q.reshape(B, kq, -1),
            cfg.inner_steps,
            cfg.inner_lr,
            self.c,
        )
        loss = maml.task_losses(logits, tasks.query_y).sum()
        mean_loss = float(loss.detach()) / B
        if not math.isfinite(mean_loss):
            return mean_loss, float("nan")
        loss.backward()
        norm = self._update(handle, cfg.meta_lr_at(self.step_count), cfg)
        self.step_count += 1
        return mean_loss, norm

    def _update(self, handle: Any, lr: float, cfg: Config) -> float:
        raise NotImplementedError


class PiLimitLearner(_ReadoutLearner):
    """MAML over the infinite pi-net: features ``g^L``, kernel ``alpha^2 |g| |g'| V``;
    each meta-step appends one row per query image to every hidden layer."""

    def __init__(self, net: pi.InfPiMLP, lr_mult: pi.LrMult) -> None:
        self.net, self.lr_mult, self.c = net, lr_mult, net.c
        self.step_count = 0

    @property
    def dtype(self) -> torch.dtype:
        return self.net.compute_dtype

    def _features(self, x, grad):
        tr = self.net.trace(x.to(self.net.compute_dtype), grad=grad)
        return (tr.features, tr.out), tr

    def _kernel(self, a, b):
        return self.net.out_alpha**2 * pi.feature_kernel(a, b)

    def _update(self, handle, lr, cfg):
        grad = self.net.collect(handle, readout=False)
        return self.net.step(grad, lr, lr_mult=self.lr_mult, clip=cfg.clip)

    def state(self) -> dict:
        """A cheap snapshot: the row counts and the small tensors (rows are only ever
        appended, so the first ``counts`` rows of the net restore it)."""
        net = self.net
        return {
            "counts": list(net.row_counts()),
            "c": [rw.c[: rw.count].clone() for rw in net.rows],
            "A1": net.A1.detach().clone(),
            "beta": None if net.beta is None else [b.clone() for b in net.beta],
            "beta_out": None if net.beta_out is None else net.beta_out.clone(),
            "steps": self.step_count,
        }

    def full_state(self) -> dict:
        """Compact copies of everything (for a checkpoint file)."""
        return {"net": self.net.state(copy=True), "steps": self.step_count}

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state` (a prefix of the rows) or a :meth:`full_state`."""
        net = self.net
        if "net" in state:
            net.load_state(state["net"])
        else:
            with torch.no_grad():
                for rw, m, c in zip(net.rows, state["counts"], state["c"]):
                    rw.truncate(m)
                    rw.c[:m].copy_(c)
                net.A1.copy_(state["A1"])
                for b, v in zip(net.beta or [], state["beta"] or []):
                    b.copy_(v)
                if net.beta_out is not None:
                    net.beta_out.copy_(state["beta_out"])
        self.step_count = int(state["steps"])

    def nbytes(self) -> int:
        return self.net.state_nbytes()


class PiFiniteLearner(_ReadoutLearner):
    """MAML over a finite pi-net sampled from the infinite one (projected gradients)."""

    def __init__(self, net: pi.FinitePiMLP, lr_mult: pi.LrMult, c: int) -> None:
        self.net, self.lr_mult, self.c = net, lr_mult, c
        self.step_count = 0

    @property
    def dtype(self) -> torch.dtype:
        return self.net.weights[0].dtype

    def _features(self, x, grad):
        with torch.set_grad_enabled(grad):
            h = self.net.hidden(x.to(self.dtype))[-1]
            return (torch.relu(h), self.net.readout(h)), None

    def _kernel(self, a, b):
        return self.net.out_alpha**2 * a @ b.transpose(-1, -2)

    def _update(self, handle, lr, cfg):
        return self.net.step(lr, lr_mult=self.lr_mult, clip=cfg.clip)

    def state(self) -> dict:
        return {
            "params": {
                k: v.detach().clone() for k, v in self.net.state_dict().items()
            },
            "steps": self.step_count,
        }

    full_state = state

    def load_state(self, state: dict) -> None:
        self.net.load_state_dict(state["params"])
        self.step_count = int(state["steps"])

    def nbytes(self) -> int:
        return sum(
            v.numel() * v.element_size() for v in self.net.state_dict().values()
        )


class MuLearner(_ReadoutLearner):
    """MAML over a finite muP MLP (:class:`mupbook.nn.MuMLP`, TP5 Table 3, Gaussian init):
    features ``x^L`` with Theta(1) coordinates, kernel ``x . x' / n`` (a zero readout of
    muP's scale after one step); the readout and its bias are never meta-trained; meta-SGD
    with muP's per-tensor learning rates, the input layer's times ``first_lr_mult``."""

    def __init__(self, net: nn.MuMLP, first_lr_mult: float, c: int) -> None:
        self.net, self.first_lr_mult, self.c = net, first_lr_mult, c
        self.step_count = 0

    @property
    def dtype(self) -> torch.dtype:
        return self.net.weights[0].dtype

    def _features(self, x, grad):
        with torch.set_grad_enabled(grad):
            _, feats = self.net(x.to(self.dtype), return_features=True)
            phi = feats[-1]
            return (
                phi,
                torch.zeros(len(x), self.c, dtype=phi.dtype, device=phi.device),
            ), None

    def _kernel(self, a, b):
        return a @ b.transpose(-1, -2) / a.shape[-1]

    def _body(self) -> list[tuple[torch.nn.Parameter, float]]:
        """(parameter, learning-rate factor) of every tensor but the readout's."""
        L = self.net.depth
        out = []
        for name, p, s in self.net.named_scalings():
            kind, index = name.split(".")
            if int(index) == L:  # the readout weight and bias
                continue
            factor = s.sgd_lr * (self.first_lr_mult if name == "weights.0" else 1.0)
            out.append((p, factor))
        return out

    def _update(self, handle, lr, cfg):
        body = self._body()
        norm = math.sqrt(
            sum(float(p.grad.norm()) ** 2 for p, _ in body if p.grad is not None)
        )
        scale = cfg.clip / norm if norm > cfg.clip else 1.0
        with torch.no_grad():
            for p, factor in body:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-lr * factor * scale)
        self.net.zero_grad(set_to_none=True)
        return norm

    def state(self) -> dict:
        return {
            "params": {
                k: v.detach().clone() for k, v in self.net.state_dict().items()
            },
            "steps": self.step_count,
        }

    full_state = state

    def load_state(self, state: dict) -> None:
        self.net.load_state_dict(state["params"])
        self.step_count = int(state["steps"])

    def nbytes(self) -> int:
        return sum(
            v.numel() * v.element_size() for v in self.net.state_dict().values()
        )


def pi_limit(cfg: Config, device: str | torch.device | None = "cpu") -> pi.InfPiMLP:
    """The infinite pi-net of a configuration (zero readout, seeded)."""
    return pi.init(
        omniglot.SIDE * omniglot.SIDE,
        cfg.n_way,
        depth=cfg.depth,
        r=cfg.r,
        generator=cfg.seed,
        readout="zero",
        bias_alpha=cfg.bias_alpha,
        first_alpha=cfg.first_alpha,
        dtype=getattr(torch, cfg.storage),
        device=device,
    )


def lr_mult(cfg: Config) -> pi.LrMult:
    """The protocol's multipliers: input layer ``first_lr_mult``, readout 0."""
    return pi.LrMult(first=cfg.first_lr_mult, readout=0.0)


def build_learner(cfg: Config, device: str | torch.device | None = "cpu"):
    """The learner of a configuration (kernels: an untrained dictionary, f = 0)."""
    cfg = cfg.check()
    d = omniglot.SIDE * omniglot.SIDE
    if cfg.model in KERNEL_MODELS:
        kernel = kernel_sgd.Kernel(
            cfg.model, cfg.sigma_w, cfg.sigma_b, depth=cfg.depth
        )
        return maml.KernelLearner(
            kernel, d, cfg.n_way, capacity=1, num_ids=None, device=device
        )
    if cfg.model == "mup-finite":
        body = nn.MuMLP(
            d,
            cfg.width,
            cfg.n_way,
            "mup",
            depth=cfg.depth,
            bias=True,
            base_width=cfg.base_width,
            form="table3",
            generator=runtime.generator(cfg.seed),
            dtype=getattr(torch, cfg.dtype),
            device=device,
        )
        return MuLearner(body, cfg.first_lr_mult, cfg.n_way)
    net = pi_limit(cfg.replace(storage=cfg.dtype), device)
    if cfg.model == "pi-finite":
        return PiFiniteLearner(
            net.sample(cfg.width, generator=cfg.seed), lr_mult(cfg), cfg.n_way
        )
    return PiLimitLearner(pi_limit(cfg, device), lr_mult(cfg))


# ------------------------------------------------------------------ training


#: Version of the checkpoint layout; others are refused.
CHECKPOINT_FORMAT = 1


def save_checkpoint(
    path: Path,
    cfg: Config,
    learner,
    hist: maml.History,
    step: int,
    best: dict,
    log=print,
) -> int:
    """Write a checkpoint (plain data, ``torch.load(weights_only=True)``), after saying how
    large it is; returns its size in bytes."""
    state = learner.full_state()
    size = learner.nbytes()
    log(f"checkpoint {path}: about {size / 2**20:.1f} MiB (step {step})")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "config": cfg.to_dict(),
            "learner": state,
            "history": dataclasses.asdict(hist),
            "step": step,
            "best": best,
        },
        tmp,
    )
    tmp.replace(path)
    return size


def _resume(path: Path, cfg: Config, learner) -> tuple[maml.History, int, dict]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is not a pi_maml checkpoint of format {CHECKPOINT_FORMAT}"
        )
    free = (
        ("steps",) if cfg.schedule == "constant" else ()
    )  # a cosine run has one length
    mine = {k: v for k, v in cfg.to_dict().items() if k not in free}
    theirs = {k: v for k, v in saved["config"].items() if k not in free}
    if mine != theirs:
        raise ValueError(
            f"{path} holds a checkpoint of another configuration (with the cosine schedule "
            "the number of steps must match too: the schedule depends on it)"
        )
    if saved["step"] > cfg.steps:
        raise ValueError(
            f"{path} holds {saved['step']} meta-steps, more than the {cfg.steps} asked for"
        )
    learner.load_state(saved["learner"])
    best = saved["best"]
    return maml.History(**saved["history"]), saved["step"], best


def memory_plan(cfg: Config, learner, device=None) -> pi.Plan | None:
    """The infinite net's rows and bytes now and after the run, with a time estimate."""
    if not isinstance(learner, PiLimitLearner):
        return None
    net = learner.net
    remaining = cfg.steps - learner.step_count
    per_step = [cfg.rows_per_step] * (net.depth - 1) + [0]
    examples = cfg.batch_tasks * cfg.n_way * (cfg.k_shot + cfg.q_train)
    rate = pi.calibrate(net, examples)
    return pi.plan(
        net,
        remaining,
        per_step,
        seconds_per_row_example=rate
        * 1.5,  # support forward + query forward/backward
        examples_per_step=examples,
        device=device,
    )


def train(
    cfg: Config,
    pools: maml.Pools,
    *,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 1000,
    log=print,
) -> maml.Run:
    """Meta-train (kernels: nothing to train), validate every ``val_every`` steps and at the
    end, keep the best-validation state, test (maml's evaluation). The infinite net's
    memory plan is shown, and refused if it does not fit, before the first step."""
    cfg = cfg.check()
    learner = build_learner(cfg, device)
    hist, start, best = maml.History(), 0, None
    t0 = time.perf_counter()
    trained = 0
    if cfg.model not in KERNEL_MODELS:
        best = learner.state()
        ckpt = None if checkpoint is None else Path(checkpoint)
        if ckpt is not None and ckpt.is_file():
            hist, start, best = _resume(ckpt, cfg, learner)
            log(f"resumed {ckpt} at meta-step {start}")
        plan = memory_plan(cfg, learner, device)
        if plan is not None:
            log(str(plan))
            plan.check()
            for rw in learner.net.rows[:-1]:
                rw.reserve(plan.rows_after[0])
        first = hist.loss[0] if hist.loss else None
        bar = tqdm(
            range(start, cfg.steps),
            desc=f"pi-MAML {cfg.name}",
            disable=not progress,
            initial=start,
            total=cfg.steps,
        )
        for step in bar:
            loss, norm = learner.meta_step(
                maml.tasks_for_step(pools.train, cfg, step), cfg
            )
            trained += 1
            hist.loss.append(loss)
            hist.grad_norm.append(norm)
            first = loss if first is None else first
            if not math.isfinite(loss) or loss > cfg.diverge_factor * first:
                hist.diverged_at = step
                break
            if (step + 1) % cfg.val_every == 0 or step + 1 == cfg.steps:
                best = maml._validate(learner, pools, cfg, hist, step + 1, best)
                bar.set_postfix(loss=f"{loss:.3f}", val=f"{hist.val_acc[-1]:.1f}%")
            if ckpt is not None and (
                (step + 1) % checkpoint_every == 0 or step + 1 == cfg.steps
            ):
                save_checkpoint(ckpt, cfg, learner, hist, step + 1, best, log)
        bar.close()
        if hist.diverged_at is None and (
            not hist.val_steps or hist.val_steps[-1] != cfg.steps
        ):
            best = maml._validate(learner, pools, cfg, hist, cfg.steps, best)
        learner.load_state(best)
    train_seconds = time.perf_counter() - t0
    test = {
        s: maml.summarize(
            maml.task_accuracies(
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
    return maml.Run(
        cfg, hist, test, seconds, train_seconds / max(trained, 1), learner
    )


# ------------------------------------------------------------------ results

#: Our model names -> the keys of :data:`mupbook.paper.PI_LIMIT_OMNIGLOT_MAML`.
PAPER_KEYS = {
    "pi-limit": "infinite pi-net",
    "pi-finite": "finite pi-net",
    "mup-finite": "finite muP",
    "relu-nngp": "NNGP",
    "relu-ntk": "NTK",
}


def paper_number(name: str) -> float:
    """The paper's Table 1 accuracy (%) for a run name (``pi-limit``, ``mup-finite-2048``)."""
    model = name if name in PAPER_KEYS else name.rsplit("-", 1)[0]
    return paper.PI_LIMIT_OMNIGLOT_MAML[PAPER_KEYS[model]]


def reproduction_rows(run: maml.Run | dict) -> list[dict]:
    """Our test accuracy beside the paper's Table 1 entry for the same kind of model."""
    d = run.to_dict() if isinstance(run, maml.Run) else run
    c, h = d["config"], d["history"]
    published = paper_number(d["name"])
    rows = []
    for s, acc in d["test"].items():
        trained = (
            "no meta-training (readout fixed at zero: nothing to train)"
            if c["model"] in KERNEL_MODELS
            else f"{len(h['loss'])} of the paper's 50,000 meta-steps (best validation at "
            f"{h['best_step']})"
        )
        where = "" if c["model"] in KERNEL_MODELS else f", r = {c['r']}"
        rows.append(
            results.row(
                f"Omniglot 5-way 1-shot MAML (pi-limit protocol), {d['name']}, depth "
                f"{c['depth']}{where}, seed {c['seed']}",
                acc["mean"],
                published,
                unit="%",
                note=f"{trained}; {acc['tasks']} test tasks, {s} inner step(s); the paper's "
                "number is its own run at its own settings",
                ci95=acc["ci95"],
            )
        )
    return rows


def results_dict(
    runs: Sequence[maml.Run],
    argv,
    device,
    seconds: float,
    plan=None,
    provenance: dict | None = None,
) -> dict:
    """The results document; ``provenance`` taken at the start of the run (the code that
    ran: git revision and dirtiness then), its ``seconds`` filled in here."""
    doc = {
        "experiment": "pi_maml",
        "config": [r.cfg.to_dict() for r in runs]
        if len(runs) > 1
        else runs[0].cfg.to_dict(),
        "runs": [r.to_dict() for r in runs],
        "reproduction": [row for r in runs for row in reproduction_rows(r)],
        "provenance": {
            **(
                provenance
                or results.provenance(
                    "mupbook.experiments.pi_maml",
                    maml.recorded_argv(argv),
                    seeds=sorted({r.cfg.seed for r in runs}),
                    device=device,
                )
            ),
            "seconds": float(seconds),
        },
    }
    if plan is not None:
        doc["memory_plan"] = {
            "rows_after": list(plan.rows_after),
            "bytes_after": plan.bytes_after,
        }
    return doc


def load_results(folder: str | Path | None = None) -> dict[str, dict]:
    """Every recorded ``results/pi_maml*.json``: ``{file stem: document}``."""
    return _common.load_results("pi_maml", folder)


def accuracy_table(
    docs: dict[str, dict], inner_steps: int = 1
) -> dict[str, tuple[float, float, int]]:
    """``{model name: (mean %, ci95, tasks)}`` of every recorded run at ``inner_steps``."""
    out = {}
    for doc in docs.values():
        for r in doc["runs"]:
            acc = r["test"].get(str(inner_steps))
            if acc is not None:
                out[r["name"]] = (
                    acc["mean"],
                    acc["ci95"] or float("nan"),
                    acc["tasks"],
                )
    return out


# ------------------------------------------------------------------ command line


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m mupbook.experiments.pi_maml",
        description="5-way 1-shot first-order MAML on Omniglot (the pi-limit paper's protocol): "
        "the infinite pi-net, finite pi-nets and muP MLPs, depth-L NNGP and NTK limits.",
    )
    ap.add_argument("--model", choices=MODELS, default="pi-limit")
    ap.add_argument("--width", type=int, help="width of pi-finite and mup-finite")
    _common.add_common_arguments(
        ap, out_help="JSON file (default results/pi_maml_<model>.json)"
    )
    for name, typ in (
        ("steps", int),
        ("r", int),
        ("meta-lr", float),
        ("inner-lr", float),
        ("clip", float),
        ("bias-alpha", float),
        ("first-lr-mult", float),
        ("batch-tasks", int),
        ("val-every", int),
        ("val-tasks", int),
        ("test-tasks", int),
        ("q-eval", int),
        ("seed", int),
    ):
        ap.add_argument(f"--{name}", type=typ)
    ap.add_argument(
        "--storage", choices=STORAGES, help="dtype of the infinite net's rows"
    )
    ap.add_argument("--schedule", choices=("cosine", "constant"))
    ap.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint file to save to (every 1000 steps and at the end) and resume from",
    )
    ap.add_argument(
        "--plan-only",
        action="store_true",
        help="print the memory and time plan and stop",
    )
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    with _common.refused_by(parser):
        cfg = config(args.scale, model=args.model).replace(
            width=args.width,
            **_common.overrides(
                args,
                (
                    "steps",
                    "r",
                    "meta_lr",
                    "inner_lr",
                    "clip",
                    "bias_alpha",
                    "first_lr_mult",
                    "batch_tasks",
                    "val_every",
                    "val_tasks",
                    "test_tasks",
                    "q_eval",
                    "seed",
                    "storage",
                    "schedule",
                ),
            ),
        )
        cfg.check()
    run_ = _common.start(parser, args, argv, f"results/pi_maml_{cfg.name}.json")
    if args.plan_only:
        plan = memory_plan(cfg, build_learner(cfg, run_.device), run_.device)
        print(plan if plan is not None else f"{cfg.model}: nothing grows")
        return 0
    provenance = results.provenance(
        "mupbook.experiments.pi_maml",
        maml.recorded_argv(argv),
        seeds=[cfg.seed],
        device=run_.device,
    )
    pools = maml.load_pools(cfg.resize, device=run_.device)
    learner_plan = memory_plan(cfg, build_learner(cfg, run_.device), run_.device)
    run = train(
        cfg,
        pools,
        device=run_.device,
        progress=run_.progress,
        checkpoint=args.checkpoint,
    )
    print(
        f"{cfg.name}: "
        + "; ".join(f"{k} inner step(s) {v}" for k, v in run.test.items())
        + f" ({run.seconds_per_step * 1e3:.1f} ms/step)",
        flush=True,
    )
    doc = results_dict(
        [run], argv, str(run_.device), run_.seconds(), learner_plan, provenance
    )
    _common.write_results(run_.out, doc)
    print(f"wrote {run_.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
