"""The feature-learning (muP) limit of a one-hidden-layer erf network, by quadrature.

The finite network is ``MuMLP(d, n, K, "mup", depth=1, activation="erf", base_width=1,
form="table3", bias_std=sigma_b)`` (TP5 Table 3 at base width 1): hidden neurons
``h_a(x) = u_a . x + b_a`` with ``u_a ~ N(0, I/d)``, ``b_a ~ N(0, sigma_b^2)``, readout
``V_a ~ N(0, I_K / n^2)``, an output bias ``c = 0``, and SGD at ``eta n`` for ``u`` and
``b``, ``eta / n`` for ``V`` and ``eta`` for ``c``. With ``v_a = n V_a`` the network is

    f(x) = c + (1/n) sum_a v_a phi(u_a . x + b_a),          phi = erf,

and one SGD step on a batch ``(x_i, y_i)`` with ``chi_i = dLoss/df(x_i)`` (K-vectors,
including the loss's 1/batch) moves every neuron by the same width-free rule:

    u <- u - eta sum_i (chi_i . v) phi'(h_i) x_i,     b <- b - eta sum_i (chi_i . v) phi'(h_i),
    v <- v - eta sum_i chi_i phi(h_i),                 c <- c - eta sum_i chi_i.

As ``n -> infinity`` the average over neurons becomes an expectation over their initial
Gaussian law, ``f_t(x) = c_t + E[v_t phi(u_t . x + b_t)]`` (TP4's limit of a
one-hidden-layer muP network; the mean-field limit of :cite:`mei2018mean`), a deterministic
function with ``f_0 = 0``. :class:`OneHiddenLimit` computes the expectation with a weighted
set of *nodes*: each node is a neuron of the rule above, carrying a quadrature weight, so
that the limit is itself a (weighted) network:

* ``"qmc"``: randomized quasi-Monte Carlo, scrambled Sobol points mapped through the
  inverse normal CDF, antithetic in ``v`` (each node has a mirror with ``v -> -v``, so
  ``f_0 = 0`` exactly); independent scrambles give an error bar (:func:`limit_estimate`);
* ``"gauss-hermite"``: the tensor Gauss-Hermite rule (probabilists'), exact for
  polynomials and fast for smooth integrands: many digits for the first steps, but
  training makes the integrand steep and then it converges only algebraically;
* ``"mc"``: plain Monte Carlo (iid nodes), the reference with textbook error bars.

The dimension of the integral. ``u_t . x`` depends on ``u_0`` only through its
projections onto the span of the training inputs (every update of ``u`` is a combination
of training inputs), so the nodes carry ``a = P^T u`` for an orthonormal basis ``P``
(d, r) of that span, ``r = min(rank, d)``: the integral has dimension ``r + 1 + K``
(``r + K`` when ``sigma_b = 0``, where ``b_0 = 0`` is not random). A test input ``x``
outside the span adds ``x_perp . u_perp ~ N(0, |x_perp|^2 / d)``, independent of
everything that trains, and for erf that direction integrates in closed form,
``E[erf(m + s z)] = erf(m / sqrt(1 + 2 s^2))``.

:meth:`OneHiddenLimit.sample` goes back to finite width: an ordinary ``MuMLP`` drawn from
the same initial law; :meth:`OneHiddenLimit.from_network` turns a finite network into
nodes (weight ``1/n`` each), so that the update rule can be checked against autograd.

Shapes: inputs (B, d); outputs (B, K); nodes ``a`` (M, r), ``b`` (M,), ``v`` (M, K),
``weight`` (M,). Everything is float64 on :func:`mupbook.runtime.device` unless asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator, Literal, NamedTuple, Sequence

import numpy as np
import torch

from .. import _checks, runtime
from ..nn import MuMLP, ScaledMLP, activation_fn

__all__ = [
    "RULES",
    "LOSSES",
    "Training",
    "Nodes",
    "gaussian_nodes",
    "OneHiddenLimit",
    "mup_limit",
    "loss_gradient",
    "train_network",
    "Trained",
    "train_networks",
    "Estimate",
    "limit_estimate",
]

Rule = Literal["qmc", "gauss-hermite", "mc"]
RULES: tuple[str, ...] = ("qmc", "gauss-hermite", "mc")
LOSSES: tuple[str, ...] = ("mse", "cross_entropy")

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
#: Sobol points are kept this far from 0 and 1 before the inverse normal CDF (|z| <= 7.4).
_EDGE = 1e-13
#: Elements (nodes x inputs) per chunk of a step, by device type: a few MiB per temporary
#: on a CPU (they stay in cache), 2^26 (512 MiB in float64) on CUDA.
CHUNK_ELEMENTS = {"cpu": 2**18, "cuda": 2**26}


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Training:
    """How to train, the same for the limit and for finite networks: ``steps`` SGD steps
    at base learning rate ``lr`` (muP's per-tensor rates follow from it) on ``loss``
    (``"mse"``: ``mean((f - y)^2) / 2`` over all B K entries; ``"cross_entropy"``: mean over
    the batch, integer labels), full batch (``batch_size=None``) or minibatches of
    ``batch_size`` drawn in epochs of a permutation seeded by ``seed``."""

    steps: int
    lr: float
    loss: str = "mse"
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        _checks.nonnegative_int(self.steps, "steps")
        _checks.positive_float(self.lr, "lr")
        _checks.choice(self.loss, LOSSES, "loss")
        if self.batch_size is not None:
            _checks.positive_int(self.batch_size, "batch_size")
        _checks.seed(self.seed)

    def batches(self, n: int) -> Iterator[torch.Tensor | None]:
        """The index tensor of each step's batch (None: the full batch), for ``n`` points:
        consecutive slices of a stream of seeded permutations."""
        if self.batch_size is None or self.batch_size >= n:
            for _ in range(self.steps):
                yield None
            return
        gen = runtime.generator(self.seed)
        pool = torch.empty(0, dtype=torch.long)
        for _ in range(self.steps):
            while pool.numel() < self.batch_size:
                pool = torch.cat([pool, torch.randperm(n, generator=gen)])
            yield pool[: self.batch_size]
            pool = pool[self.batch_size :]


def _check_targets(
    y: torch.Tensor, n: int, loss: str, k: int, device: torch.device
) -> torch.Tensor:
    """MSE targets as float64 (n, k); cross-entropy targets as integer labels (n,)."""
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"targets must be a torch.Tensor, got {type(y).__name__}")
    if loss == "cross_entropy":
        if y.ndim != 1 or y.shape[0] != n or y.dtype.is_floating_point:
            raise ValueError(
                f"cross-entropy targets must be integer labels of shape ({n},), got "
                f"{tuple(y.shape)} {y.dtype}"
            )
        if k < 2 or bool((y < 0).any() or (y >= k).any()):
            raise ValueError(f"labels must lie in 0..{k - 1} (K = {k} outputs >= 2)")
        return y.to(device)
    y = _checks.float64_tensor(y, "y").to(device)
    y = y[:, None] if y.ndim == 1 else y
    if y.shape != (n, k):
        raise ValueError(
            f"MSE targets must have shape ({n}, {k}), got {tuple(y.shape)}"
        )
    return y


def loss_gradient(f: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """``chi = dLoss/df`` (B, K) of :class:`Training`'s losses at outputs ``f`` (B, K):
    ``(f - y) / (B K)`` for MSE, ``(softmax(f) - onehot(y)) / B`` for cross-entropy."""
    if loss == "mse":
        return (f - y) / f.numel()
    p = torch.softmax(f, dim=1)
    p[torch.arange(f.shape[0], device=f.device), y] -= 1.0
    return p / f.shape[0]


def _loss_value(f: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "mse":
        return 0.5 * torch.nn.functional.mse_loss(f, y)
    return torch.nn.functional.cross_entropy(f, y)


def train_network(
    net: MuMLP,
    x: torch.Tensor,
    y: torch.Tensor,
    training: Training,
    x_eval: torch.Tensor | None = None,
    record: Sequence[int] = (),
) -> torch.Tensor | None:
    """Train a finite network in place with its own SGD (``net.sgd(lr)``: TP5's per-tensor
    learning rates) by ``training``, on the same batches the limit uses. With ``x_eval``
    (E, d) returns its outputs (len(record), E, K) after each step count in ``record``
    (0 = before training); else None. FloatingPointError if the loss stops being finite."""
    k = net.weights[-1].shape[0]
    w = net.weights[0]
    x = _checks.finite_tensor(x, "x", 2).to(w.device, w.dtype)
    y = _check_targets(y, x.shape[0], training.loss, k, w.device)
    if training.loss == "mse":
        y = y.to(w.dtype)
    record = sorted(set(int(s) for s in record))
    out = []
    opt = net.sgd(training.lr)

    def keep(step: int) -> None:
        if x_eval is not None and step in record:
            with torch.no_grad():
                out.append(net(x_eval).detach().clone())

    keep(0)
    for step, idx in enumerate(training.batches(x.shape[0]), start=1):
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        opt.zero_grad(set_to_none=True)
        loss = _loss_value(net(xb), yb, training.loss)
        if not bool(torch.isfinite(loss)):
            raise FloatingPointError(
                f"the width-{net.width} network's loss is {float(loss)} at step {step}"
            )
        loss.backward()
        opt.step()
        keep(step)
    if x_eval is None:
        return None
    return torch.stack(out) if out else torch.empty(0, x_eval.shape[0], k).to(w)


class Trained(NamedTuple):
    """Finite networks trained together: ``outputs`` (S, T, E, K) at the recorded steps,
    ``movement`` (S,): each network's mean |h_T - h_0| over hidden pre-activations at the
    training inputs, divided by the mean |h_0| (how far its features moved)."""

    outputs: torch.Tensor
    movement: torch.Tensor


def _one_hidden_scalings(nets: Sequence[ScaledMLP]) -> tuple:
    first = nets[0]
    if any(not isinstance(n, ScaledMLP) or n.depth != 1 for n in nets):
        raise ValueError("train_networks needs one-hidden-layer mupbook.nn networks")
    for n in nets[1:]:
        if (
            n.weight_scalings != first.weight_scalings
            or n.bias_scalings != first.bias_scalings
            or n.activation != first.activation
            or [w.shape for w in n.weights] != [w.shape for w in first.weights]
        ):
            raise ValueError(
                "train_networks needs networks of one architecture and width"
            )
    return first.weight_scalings, first.bias_scalings


def train_networks(
    nets: Sequence[ScaledMLP],
    x: torch.Tensor,
    y: torch.Tensor,
    training: Training,
    x_eval: torch.Tensor | None = None,
    record: Sequence[int] = (),
    *,
    antisymmetric: bool = False,
) -> Trained:
    """Train S one-hidden-layer networks of one width at once, each by its own plain SGD
    (its per-tensor learning rates, ``param_groups("sgd", lr)``) on the same batches:
    the same steps as :func:`train_network` network by network (the tests check it), with
    the S networks' tensors stacked so that one autograd pass serves them all.

    ``antisymmetric``: each network is trained as ``(g_A(x) - g_B(x)) / sqrt(2)`` with B a
    copy of A at initialization, so that ``f_0 = 0`` exactly while the tangent kernel,
    ``(Theta_A + Theta_B) / 2``, is A's (the NTP comparison of the chapter). The networks
    are not modified. Returns :class:`Trained` (``outputs`` empty along T without
    ``x_eval``)."""
    ws, bs = _one_hidden_scalings(nets)
    w0 = nets[0].weights[0]
    x = _checks.finite_tensor(x, "x", 2).to(w0.device, w0.dtype)
    k = nets[0].weights[1].shape[0]
    y = _check_targets(y, x.shape[0], training.loss, k, w0.device)
    if training.loss == "mse":
        y = y.to(w0.dtype)
    phi = activation_fn(nets[0].activation)
    names = [name for name, _, _ in nets[0].named_scalings()]
    lrs = [g["lr"] for g in nets[0].param_groups("sgd", training.lr)]
    params = [
        torch.stack([dict(n.named_parameters())[name].detach() for n in nets]).clone()
        for name in names
    ]
    if antisymmetric:  # copies A and B side by side along the first axis
        params = [torch.cat([p, p]) for p in params]
    m1, m2 = ws[0].multiplier, ws[1].multiplier
    mb = (bs[0].multiplier, bs[1].multiplier) if bs is not None else None
    s = len(nets)

    def hidden(p: list[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        h = m1 * (inputs @ p[0].transpose(1, 2))  # (S', B, n)
        return h if mb is None else h + mb[0] * p[2][:, None, :]

    def forward(p: list[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        out = m2 * (phi(hidden(p, inputs)) @ p[1].transpose(1, 2))  # (S', B, K)
        out = out if mb is None else out + mb[1] * p[3][:, None, :]
        return (out[:s] - out[s:]) / math.sqrt(2.0) if antisymmetric else out

    record = sorted(set(int(r) for r in record))
    outs = []

    def keep(step: int) -> None:
        if x_eval is not None and step in record:
            with torch.no_grad():
                outs.append(forward(params, x_eval.to(x)))

    h0 = hidden(params, x).detach()
    keep(0)
    for step, idx in enumerate(training.batches(x.shape[0]), start=1):
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        for p in params:
            p.requires_grad_(True)
        f = forward(params, xb)
        if training.loss == "mse":
            loss = 0.5 * (f - yb).square().mean(dim=(1, 2)).sum()
        else:
            loss = (
                torch.nn.functional.cross_entropy(
                    f.reshape(-1, k), yb.repeat(s), reduction="sum"
                )
                / xb.shape[0]
            )
        if not bool(torch.isfinite(loss)):
            raise FloatingPointError(
                f"width-{w0.shape[0]} networks: the loss is {float(loss)} at step {step}"
            )
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            params = [(p - lr * g).detach() for p, g, lr in zip(params, grads, lrs)]
        keep(step)
    with torch.no_grad():
        dh = (hidden(params, x) - h0).abs().mean(dim=(1, 2))
        movement = (dh / h0.abs().mean(dim=(1, 2)))[:s]
    empty = torch.empty(s, 0, 0, k, dtype=w0.dtype, device=w0.device)
    return Trained(torch.stack(outs, 1) if outs else empty, movement)


# ----------------------------------------------------------------------------- nodes


class Nodes(NamedTuple):
    """A weighted set of neurons: ``a`` (M, r) input weights in the span's basis, ``b``
    (M,) biases, ``v`` (M, K) readouts (``n V``), ``weight`` (M,) quadrature weights
    summing to 1."""

    a: torch.Tensor
    b: torch.Tensor
    v: torch.Tensor
    weight: torch.Tensor

    def to(self, device: torch.device) -> Nodes:
        return Nodes(*(t.to(device) for t in self))


def _standard_normal_rule(
    dim: int, rule: str, size: int, seed: int, antithetic: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points z (M, dim) and weights (M,) for E[g(z)], z ~ N(0, I_dim), on the CPU.

    ``antithetic``: the number of trailing coordinates negated in each node's mirror
    (qmc and mc: the M/2 drawn points and their mirrors; Gauss-Hermite is symmetric)."""
    if rule == "gauss-hermite":
        x, w = np.polynomial.hermite_e.hermegauss(size)
        w = w / w.sum()
        grids = torch.meshgrid(
            *[torch.as_tensor(x, dtype=torch.float64)] * dim, indexing="ij"
        )
        wgrids = torch.meshgrid(
            *[torch.as_tensor(w, dtype=torch.float64)] * dim, indexing="ij"
        )
        z = torch.stack([g.reshape(-1) for g in grids], dim=1)
        weight = torch.stack([g.reshape(-1) for g in wgrids], dim=1).prod(dim=1)
        return z, weight / weight.sum()
    if size % 2:
        raise ValueError(f"{rule} nodes come in antithetic pairs: size must be even")
    half = size // 2
    if rule == "qmc":
        engine = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)
        p = engine.draw(half, dtype=torch.float64).clamp_(_EDGE, 1.0 - _EDGE)
        z = torch.special.ndtri(p)
    else:
        z = torch.randn(
            half, dim, generator=runtime.generator(seed), dtype=torch.float64
        )
    mirror = z.clone()
    if antithetic:
        mirror[:, dim - antithetic :] *= -1.0
    z = torch.cat([z, mirror])
    return z, torch.full((size,), 1.0 / size, dtype=torch.float64)


def gaussian_nodes(
    r: int,
    k: int,
    *,
    d: int,
    sigma_b: float,
    rule: str = "qmc",
    size: int = 2**16,
    seed: int = 0,
) -> Nodes:
    """The nodes of the limit's initial law on the CPU: ``a ~ N(0, I_r / d)``,
    ``b ~ N(0, sigma_b^2)`` (exactly 0 when ``sigma_b = 0``: no dimension spent on it),
    ``v ~ N(0, I_K)``. ``size``: the number of nodes M (qmc, mc; even, a power of two
    keeps Sobol points balanced) or the points per axis (gauss-hermite: M = size^dim)."""
    rule = _checks.choice(rule, RULES, "rule")
    size = _checks.positive_int(size, "size")
    dim = r + (1 if sigma_b > 0 else 0) + k
    if rule == "gauss-hermite" and size**dim > 2**27:
        raise ValueError(
            f"a tensor Gauss-Hermite rule with {size} points on {dim} axes has "
            f"{size**dim:,} nodes; use fewer points per axis or rule='qmc'"
        )
    z, weight = _standard_normal_rule(dim, rule, size, seed, antithetic=k)
    a = z[:, :r] / math.sqrt(d)
    b = (
        sigma_b * z[:, r]
        if sigma_b > 0
        else torch.zeros(z.shape[0], dtype=torch.float64)
    )
    v = z[:, dim - k :]
    return Nodes(a.contiguous(), b.contiguous(), v.contiguous(), weight)


# ----------------------------------------------------------------------------- the limit


def _span_basis(
    span: torch.Tensor | None, d: int, rtol: float = 1e-10
) -> torch.Tensor:
    """An orthonormal basis (d, r) of the rows of ``span`` (N, d); the identity when they
    span R^d or when ``span`` is None."""
    eye = torch.eye(d, dtype=torch.float64)
    if span is None:
        return eye
    _, s, vh = torch.linalg.svd(span.to(torch.float64).cpu(), full_matrices=False)
    rank = int((s > rtol * s.max()).sum()) if s.numel() and s.max() > 0 else 0
    if rank == 0:
        raise ValueError("the training inputs span nothing (all zero)")
    return eye if rank == d else vh[:rank].T.contiguous()


@dataclass
class OneHiddenLimit:
    """The muP limit of a one-hidden-layer erf network as weighted nodes (module docstring).

    ``basis`` (d, r): orthonormal basis of the training inputs' span (the identity when
    they span R^d); ``nodes``: the neurons, with ``a`` in that basis; ``c`` (K,) the output
    bias; ``sigma_b`` the hidden biases' initial std; ``bias``: whether biases exist and
    train (``bias=False``: no hidden or output bias, as ``MuMLP(..., bias=False)``);
    ``rule``, ``size``, ``seed``: how the nodes were made; ``steps_done`` counts SGD steps.
    """

    basis: torch.Tensor
    nodes: Nodes
    c: torch.Tensor
    sigma_b: float
    bias: bool
    rule: str
    size: int
    seed: int
    chunk: int | None = None
    steps_done: int = 0

    # --- shapes
    @property
    def d(self) -> int:
        return self.basis.shape[0]

    @property
    def r(self) -> int:
        return self.basis.shape[1]

    @property
    def k(self) -> int:
        return self.nodes.v.shape[1]

    @property
    def num_nodes(self) -> int:
        return self.nodes.a.shape[0]

    @property
    def device(self) -> torch.device:
        return self.nodes.a.device

    @property
    def dimension(self) -> int:
        """The dimension of the Gaussian integral the nodes compute."""
        return self.r + (1 if self.sigma_b > 0 else 0) + self.k

    def _chunk_rows(self, batch: int) -> int:
        if self.chunk is not None:
            return self.chunk
        per = CHUNK_ELEMENTS.get(self.device.type, CHUNK_ELEMENTS["cpu"])
        return max(1, per // max(batch, 1))

    # --- inputs
    def _coords(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Coordinates (B, r) of ``x`` in the basis and the out-of-span std (B,) of
        ``x_perp . u_perp`` (None when every input lies in the span)."""
        x = _checks.finite_tensor(x, "x", 2)
        if x.shape[1] != self.d:
            raise ValueError(
                f"inputs must have shape (B, {self.d}), got {tuple(x.shape)}"
            )
        x = x.to(self.device, torch.float64)
        xp = x @ self.basis
        if self.r == self.d:
            return xp, None
        perp2 = ((x * x).sum(1) - (xp * xp).sum(1)).clamp_min(0.0)
        scale = (perp2 / self.d).sqrt()
        tol = 1e-12 * (x * x).sum(1).clamp_min(1e-300)
        return xp, (None if bool((perp2 <= tol).all()) else scale)

    def _in_span(self, x: torch.Tensor) -> torch.Tensor:
        xp, scale = self._coords(x)
        if scale is not None:
            raise ValueError(
                "a training input lies outside the span the limit was built for; build "
                "it with span= all the inputs it will train on"
            )
        return xp

    # --- forward
    def _pre(self, sl: slice, xp: torch.Tensor) -> torch.Tensor:
        """Pre-activations (m, B) of the nodes in ``sl``."""
        h = self.nodes.a[sl] @ xp.T
        return h.add_(self.nodes.b[sl, None])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The limit's outputs ``f(x)`` (B, K), for any inputs (B, d)."""
        xp, scale = self._coords(x)
        shrink = None if scale is None else (1.0 + 2.0 * scale * scale).rsqrt()
        f = self.c.expand(xp.shape[0], -1).clone()
        step = self._chunk_rows(xp.shape[0])
        for i in range(0, self.num_nodes, step):
            sl = slice(i, i + step)
            h = self._pre(sl, xp)
            if shrink is not None:
                h.mul_(shrink[None, :])
            wv = self.nodes.weight[sl, None] * self.nodes.v[sl]
            f += torch.erf_(h).T @ wv
        return f

    predict = __call__

    def preactivations(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The limit's features at inputs in the span: pre-activations ``u . x + b`` (M, B)
        of every node and the nodes' weights (M,), i.e. the distribution of a random
        neuron's pre-activation (a weighted sample)."""
        xp = self._in_span(x)
        return self._pre(slice(None), xp), self.nodes.weight

    # --- training
    def step(
        self, x: torch.Tensor, y: torch.Tensor, lr: float, loss: str = "mse"
    ) -> None:
        """One SGD step on the batch ``(x, y)`` at base learning rate ``lr`` (module
        docstring's rule; every node moves with its own, old, values)."""
        xp = self._in_span(x)
        y = _check_targets(y, xp.shape[0], loss, self.k, self.device)
        self._step(xp, y, float(lr), loss)

    def _step(self, xp: torch.Tensor, y: torch.Tensor, lr: float, loss: str) -> None:
        n_in = xp.shape[0]
        rows = self._chunk_rows(n_in)
        m = self.num_nodes
        cache = rows >= m  # one chunk: keep phi and h from the forward pass
        f = self.c.expand(n_in, -1).clone()
        kept = None
        for i in range(0, m, rows):
            sl = slice(i, i + rows)
            h = self._pre(sl, xp)
            phi = torch.erf(h)
            f += phi.T @ (self.nodes.weight[sl, None] * self.nodes.v[sl])
            if cache:
                kept = (h, phi)
        if not bool(torch.isfinite(f).all()):
            raise FloatingPointError(
                f"the limit's outputs are not finite at step {self.steps_done + 1}"
            )
        chi = loss_gradient(f, y, loss)  # (B, K)
        a, b, v = self.nodes.a, self.nodes.b, self.nodes.v
        for i in range(0, m, rows):
            sl = slice(i, i + rows)
            if kept is not None:
                h, phi = kept
            else:
                h = self._pre(sl, xp)
                phi = torch.erf(h)
            # g = (v . chi_i) phi'(h_i): (m, B); then every node's update, all at once
            dphi = h.square_().neg_().exp_().mul_(_TWO_OVER_SQRT_PI)
            g = (v[sl] @ chi.T).mul_(dphi)
            dv = phi @ chi
            a[sl] -= lr * (g @ xp)
            if self.bias:
                b[sl] -= lr * g.sum(1)
            v[sl] -= lr * dv
        if self.bias:
            self.c = self.c - lr * chi.sum(0)
        self.steps_done += 1

    def train(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        training: Training,
        x_eval: torch.Tensor | None = None,
        record: Sequence[int] = (),
    ) -> torch.Tensor | None:
        """Train in place by ``training`` on (x, y) (the batches :func:`train_network` uses
        for a finite network). With ``x_eval`` (E, d) returns the outputs
        (len(record), E, K) after each step count in ``record`` (0: before); else None."""
        xp = self._in_span(x)
        y = _check_targets(y, xp.shape[0], training.loss, self.k, self.device)
        record = sorted(set(int(s) for s in record))
        out = []
        if x_eval is not None and 0 in record:
            out.append(self(x_eval))
        for step, idx in enumerate(training.batches(xp.shape[0]), start=1):
            xb, yb = (xp, y) if idx is None else (xp[idx], y[idx])
            self._step(xb, yb, training.lr, training.loss)
            if x_eval is not None and step in record:
                out.append(self(x_eval))
        if x_eval is None:
            return None
        return (
            torch.stack(out)
            if out
            else torch.empty(0, x_eval.shape[0], self.k).to(xp)
        )

    # --- finite width
    def sample(
        self,
        n: int,
        generator: torch.Generator | int,
        dtype: torch.dtype = torch.float64,
    ) -> MuMLP:
        """An ordinary width-``n`` muP network drawn from the limit's initial law:
        ``MuMLP(d, n, K, "mup", depth=1, activation="erf", base_width=1, form="table3",
        bias_std=sigma_b)`` on the limit's device (drawn on the CPU generator)."""
        n = _checks.positive_int(n, "width n")
        gen = (
            runtime.generator(generator) if isinstance(generator, int) else generator
        )
        return MuMLP(
            self.d,
            n,
            self.k,
            "mup",
            depth=1,
            activation="erf",
            bias=self.bias,
            bias_std=self.sigma_b,
            base_width=1,
            form="table3",
            generator=gen,
            dtype=dtype,
            device=self.device,
        )

    @classmethod
    def from_network(cls, net: MuMLP) -> OneHiddenLimit:
        """The nodes of a finite ``MuMLP(..., depth=1, activation="erf", base_width=1,
        form="table3")``: its n neurons with weight 1/n each (a copy). Trained by the
        limit's rule, it follows the network's own SGD exactly (the tests check this)."""
        if not isinstance(net, MuMLP) or net.depth != 1 or net.activation != "erf":
            raise ValueError("from_network needs a one-hidden-layer erf MuMLP")
        if (net.param, net.form, net.base_width) != ("mup", "table3", 1):
            raise ValueError(
                "from_network needs muP in Table 3 form at base width 1, got "
                f"{net.param}, {net.form}, base width {net.base_width}"
            )
        w1, w2 = net.weights[0].detach(), net.weights[1].detach()
        n = w1.shape[0]
        dt = dict(dtype=torch.float64, device=w1.device)
        has_bias = net.biases is not None
        b = (
            net.biases[0].detach().to(**dt).clone()
            if has_bias
            else torch.zeros(n, **dt)
        )
        c = (
            net.biases[1].detach().to(**dt).clone()
            if has_bias
            else torch.zeros(w2.shape[0], **dt)
        )
        nodes = Nodes(
            w1.to(**dt).clone(),
            b,
            (n * w2.T).to(**dt).contiguous(),
            torch.full((n,), 1.0 / n, **dt),
        )
        return cls(
            torch.eye(w1.shape[1], **dt),
            nodes,
            c,
            float(getattr(net, "bias_std", 0.0)),
            has_bias,
            "network",
            n,
            0,
        )

    def copy(self) -> OneHiddenLimit:
        """An independent copy (the nodes are trained in place)."""
        return replace(
            self, nodes=Nodes(*(t.clone() for t in self.nodes)), c=self.c.clone()
        )


def mup_limit(
    d: int,
    k: int = 1,
    *,
    span: torch.Tensor | None = None,
    sigma_b: float = 0.0,
    bias: bool = True,
    rule: str = "qmc",
    size: int = 2**16,
    seed: int = 0,
    chunk: int | None = None,
    device: str | torch.device | None = None,
) -> OneHiddenLimit:
    """The muP limit of ``MuMLP(d, n, k, "mup", depth=1, activation="erf", base_width=1,
    form="table3", bias_std=sigma_b)`` at initialization (``f_0 = 0``).

    ``span``: the inputs (N, d) it will train on (their span fixes the integral's
    dimension, module docstring); None uses all of R^d. ``rule``/``size``/``seed``: the
    quadrature (:func:`gaussian_nodes`). ``chunk``: nodes per chunk of a step (default:
    :data:`CHUNK_ELEMENTS` elements). ``device``: default :func:`mupbook.runtime.device`.
    """
    d = _checks.positive_int(d, "d")
    k = _checks.positive_int(k, "k (outputs)")
    sigma_b = _checks.nonnegative_float(sigma_b, "sigma_b")
    if sigma_b > 0 and not bias:
        raise ValueError("sigma_b > 0 needs bias=True")
    seed = _checks.seed(seed)
    if chunk is not None:
        chunk = _checks.positive_int(chunk, "chunk")
    dev = runtime.device(None if device is None else str(device))
    if span is not None:
        span = _checks.finite_tensor(span, "span", 2)
        if span.shape[1] != d:
            raise ValueError(
                f"span must have shape (N, {d}), got {tuple(span.shape)}"
            )
    basis = _span_basis(span, d)
    nodes = gaussian_nodes(
        basis.shape[1], k, d=d, sigma_b=sigma_b, rule=rule, size=size, seed=seed
    )
    return OneHiddenLimit(
        basis.to(dev),
        nodes.to(dev),
        torch.zeros(k, dtype=torch.float64, device=dev),
        sigma_b,
        bool(bias),
        rule,
        size,
        seed,
        chunk,
    )


# ----------------------------------------------------------------------------- estimates


class Estimate(NamedTuple):
    """The limit's outputs ``value`` (R, E, K) -> (E, K) with an ``error`` (E, K): for
    ``qmc``/``mc`` one standard error over ``replicas`` independent node sets (the spread
    over scrambles / sqrt(R)); for ``gauss-hermite`` the change from the rule with half the
    points per axis (an estimate of the coarser rule's error). ``runs`` (R, E, K): every
    run's outputs (for Gauss-Hermite: the fine rule, then the coarse one). ``limits``:
    the trained limits themselves when asked for (``keep_limits``)."""

    value: torch.Tensor
    error: torch.Tensor
    runs: torch.Tensor
    rule: str
    nodes: int
    limits: tuple = ()


def limit_estimate(
    x: torch.Tensor,
    y: torch.Tensor,
    x_eval: torch.Tensor,
    training: Training,
    *,
    k: int = 1,
    sigma_b: float = 0.0,
    bias: bool = True,
    rule: str = "qmc",
    size: int = 2**16,
    replicas: int = 4,
    seed: int = 0,
    record: Sequence[int] | None = None,
    keep_limits: bool = False,
    device: str | torch.device | None = None,
) -> Estimate:
    """Train the limit on (x, y) and estimate its outputs at ``x_eval`` with an error bar.

    ``qmc``/``mc``: ``replicas`` independent node sets of ``size`` nodes (seeds ``seed``,
    ``seed + 1``, ...); value = their mean, error = their standard deviation / sqrt(R).
    ``gauss-hermite``: ``size`` points per axis and ``size // 2``; value = the fine rule,
    error = |fine - coarse|. With ``record`` (step counts) every array gets a leading axis
    over them; default: only the end of training. ``keep_limits``: also return the
    trained limits (their nodes stay in memory).
    """
    record = [training.steps] if record is None else list(record)
    replicas = _checks.positive_int(replicas, "replicas")
    if rule == "gauss-hermite":
        sizes, seeds = [size, max(size // 2, 1)], [seed, seed]
    else:
        if replicas < 2:
            raise ValueError("an error bar needs replicas >= 2")
        sizes, seeds = [size] * replicas, [seed + i for i in range(replicas)]
    runs, kept = [], []
    total = 0
    for sz, sd in zip(sizes, seeds):
        lim = mup_limit(
            x.shape[1],
            k,
            span=x,
            sigma_b=sigma_b,
            bias=bias,
            rule=rule,
            size=sz,
            seed=sd,
            device=device,
        )
        total += lim.num_nodes
        runs.append(lim.train(x, y, training, x_eval=x_eval, record=record))
        kept.append(lim)
    stacked = torch.stack(runs)  # (R, T, E, K)
    if rule == "gauss-hermite":
        value, error = stacked[0], (stacked[0] - stacked[1]).abs()
    else:
        value = stacked.mean(0)
        error = stacked.std(0) / math.sqrt(stacked.shape[0])
    if record == [training.steps]:
        value, error, stacked = value[0], error[0], stacked[:, 0]
    return Estimate(
        value, error, stacked, rule, total, tuple(kept) if keep_limits else ()
    )
