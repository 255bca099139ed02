"""The pi-limit: a deep ReLU network's feature-learning limit that a computer can hold.

Yang, Santacroce & Hu, "Efficient Computation of Deep Nonlinear Infinite-Width Neural
Networks that Learn Features" (ICLR 2022). The muP limit of a deep nonlinear MLP exists,
but computing it exactly needs Gaussian integrals whose dimension grows with every step.
The pi-parametrization changes the *initialization* so that every hidden weight is, and
stays, a sum of rank-one terms built from one fixed rank-r Gaussian projection per layer;
its limit is then a finite list of rows that grows by one row per example and step.

**Finite pi-net** of width n (ReLU phi, L >= 2 hidden layers, d inputs, c outputs). Per
hidden layer a fixed ``Omega_l`` (n, r), iid N(0, 1). Pre-activations have the form
``h^l = n^-1/2 Omega_l g^l``; ``g^l`` (r,) are "the r coordinates of layer l":

* input layer ``W^1 = n^-1/2 Omega_1 A_1^T``, ``A_1`` (d, r), unit columns;
  ``g^1 = alpha_1 (x A_1 + beta beta_1)`` with the bias ``b^1 = n^-1/2 Omega_1 beta_1``;
* hidden layer ``l = 2..L``: ``W^l = n^-1 sum_i c_i Omega_l A_i phi(Omega_{l-1} B_i)^T``
  over M_l rows (A_i in R^r, B_i in R^r of unit norm, scalars c_i), plus
  ``beta b^l``;
* readout ``W^{L+1} = n^-1/2 sum_i c_i A_i phi(Omega_L B_i)^T`` (A_i in R^c),
  ``f = alpha_out (W^{L+1} x^L + beta_out b^{L+1})``; zero (no rows) or N(0, 1/r^2).

Training is SGD whose gradient of every ``W^l`` (l <= L) and hidden bias is projected on
the columns of ``Omega_l``: ``G -> Omega (Omega^T Omega)^-1 (Omega^T G)`` (never the n x n
projector). That keeps the form above exactly.

**Infinite pi-net** (n -> infinity). ``phi(Omega B)^T phi(Omega g) / n`` becomes a Gaussian
expectation, ``|g| V(q)`` with ``q = B . g / |g|`` and the ReLU V-transform

    V(q) = (sqrt(1 - q^2) + (pi - arccos q) q) / (2 pi),

so with ``s = |g^{l-1}|`` and ``g_hat = g^{l-1} / s``

    g^l = sum_i c_i s V(g_hat . B_i) A_i + beta beta_l.

Its derivative in ``g^{l-1}`` is ``sum_i D_i (F02(q_i) g_hat + F11(q_i) B_i)`` with
``F11 = V' = (pi - arccos q) / 2 pi`` and ``F02 = V - q V' = sqrt(1 - q^2) / 2 pi``
(:class:`PiLayer`, blocked over rows). An SGD step is a *concatenation*: each example
appends to every layer l >= 2 the row ``(A, B, c) = (s dL/dg^l, g_hat^{l-1}, -lr * mult)``;
only the input layer ``A_1`` and the biases change in place. After t steps of batch b a
hidden layer holds ``r + t b`` rows: memory grows linearly, compute quadratically.

Storage: A and B in float16, float32 or float64 (``dtype``), c in float32 (float64 when
``dtype`` is float64); arithmetic in float32 (float64 for float64 storage).

    net = pi.init(784, 5, depth=2, r=64, generator=0)
    grad = net.gradients(x, dloss_dout)          # one backward: a PiGrad
    net.step(grad, lr=0.1, clip=1.0)             # rows appended
    finite = net.sample(1024, generator=1)       # a torch.nn.Module of width 1024
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .. import _checks, runtime

#: Rows of a layer processed at once: the batch x block temporaries stay small.
DEFAULT_BLOCK = 8192
STORAGE_DTYPES = (torch.float16, torch.float32, torch.float64)
_TWO_PI = 2.0 * math.pi


# ------------------------------------------------------------------ the V-transform


def relu_v(q: torch.Tensor) -> torch.Tensor:
    """``V(q) = E[relu(u) relu(v)]`` for unit Gaussians with correlation q (clamped to
    [-1, 1]); ``V(1) = 1/2``, ``V(0) = 1 / 2 pi``, ``V(-1) = 0``."""
    q = q.clamp(-1.0, 1.0)
    return (
        (1 - q * q).clamp_min(0).sqrt() + (math.pi - torch.arccos(q)) * q
    ) / _TWO_PI


def relu_f11(q: torch.Tensor) -> torch.Tensor:
    """``V'(q) = E[relu'(u) relu'(v)] = (pi - arccos q) / 2 pi``."""
    return (math.pi - torch.arccos(q.clamp(-1.0, 1.0))) / _TWO_PI


def relu_f02(q: torch.Tensor) -> torch.Tensor:
    """``V(q) - q V'(q) = sqrt(1 - q^2) / 2 pi``."""
    q = q.clamp(-1.0, 1.0)
    return (1 - q * q).clamp_min(0).sqrt() / _TWO_PI


def feature_kernel(g1: torch.Tensor, g2: torch.Tensor) -> torch.Tensor:
    """``E[relu(omega . g1) relu(omega . g2)] = |g1| |g2| V(cos)``: (N1, r), (N2, r) ->
    (N1, N2). The limit of ``x^L(g1) . x^L(g2)`` of the finite net, times n."""
    s1, s2 = g1.norm(dim=-1, keepdim=True), g2.norm(dim=-1, keepdim=True)
    q = (g1 / s1.clamp_min(1e-30)) @ (g2 / s2.clamp_min(1e-30)).transpose(-1, -2)
    return s1 * relu_v(q) * s2.transpose(-1, -2)


def _compute_dtype(storage: torch.dtype) -> torch.dtype:
    return torch.float64 if storage == torch.float64 else torch.float32


# ------------------------------------------------------------------ rows of a layer


class Rows:
    """The rows ``(A_i, B_i, c_i)`` of one layer l >= 2, preallocated and appended to.

    ``A`` (capacity, out), ``B`` (capacity, r) in the storage dtype, ``c`` (capacity,)
    float32 (float64 for float64 storage); ``count`` rows are in use. Capacity doubles when
    full (:meth:`reserve` sets it ahead, so that a planned run never reallocates)."""

    def __init__(
        self,
        out: int,
        r: int,
        *,
        dtype: torch.dtype,
        device: torch.device,
        capacity: int = 0,
    ) -> None:
        self.out, self.r, self.dtype = out, r, dtype
        cdtype = _compute_dtype(dtype)
        self.A = torch.zeros(capacity, out, dtype=dtype, device=device)
        self.B = torch.zeros(capacity, r, dtype=dtype, device=device)
        self.c = torch.zeros(capacity, dtype=cdtype, device=device)
        self.count = 0

    @property
    def capacity(self) -> int:
        return self.A.shape[0]

    @property
    def device(self) -> torch.device:
        return self.A.device

    def row_bytes(self) -> int:
        """Bytes of one row: A, B and c."""
        return (self.out + self.r) * self.A.element_size() + self.c.element_size()

    def nbytes(self) -> int:
        """Bytes allocated (all ``capacity`` rows)."""
        return self.capacity * self.row_bytes()

    def view(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(A, B, c)`` of the rows in use (views, no copy)."""
        m = self.count
        return self.A[:m], self.B[:m], self.c[:m]

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` rows in all (no-op if there is)."""
        if rows <= self.capacity:
            return
        for name in ("A", "B", "c"):
            old = getattr(self, name)
            new = torch.zeros(
                rows, *old.shape[1:], dtype=old.dtype, device=old.device
            )
            new[: self.count] = old[: self.count]
            setattr(self, name, new)

    def append(self, A: torch.Tensor, B: torch.Tensor, c: torch.Tensor) -> None:
        """Append rows: A (k, out), B (k, r) (unit rows), c (k,)."""
        k = A.shape[0]
        if self.count + k > self.capacity:
            self.reserve(max(2 * self.capacity, self.count + k, 16))
        m = self.count
        self.A[m : m + k] = A.to(self.A.dtype)
        self.B[m : m + k] = B.to(self.B.dtype)
        self.c[m : m + k] = c.to(self.c.dtype)
        self.count += k

    def truncate(self, count: int) -> None:
        """Keep the first ``count`` rows (rows are never changed, so this undoes appends)."""
        if not 0 <= count <= self.count:
            raise ValueError(f"cannot truncate {self.count} rows to {count}")
        self.count = count


# ------------------------------------------------------------------ one layer


class PiLayer(torch.autograd.Function):
    """``out_k = sum_i c_i |g| V(g_hat . B_i) A_ik`` for a batch g (N, r), over the rows of
    a layer, in blocks of rows; its backward (the derivative in g only, module docstring)
    recomputes the blocks, so memory stays O(N x block) whatever the number of rows."""

    @staticmethod
    def forward(ctx, g, A, B, c, block):  # type: ignore[override]
        ctx.save_for_backward(g)
        ctx.rows, ctx.block = (A, B, c), block
        s = g.norm(dim=1, keepdim=True)
        ghat = g / s.clamp_min(1e-30)
        out = torch.zeros(g.shape[0], A.shape[1], dtype=g.dtype, device=g.device)
        for i in range(0, A.shape[0], block):
            Bb, Ab = B[i : i + block].to(g.dtype), A[i : i + block].to(g.dtype)
            v = relu_v(ghat @ Bb.T) * c[i : i + block].to(g.dtype)
            out.addmm_(v, Ab)
        return out * s

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        (g,) = ctx.saved_tensors
        A, B, c = ctx.rows
        s = g.norm(dim=1, keepdim=True)
        ghat = g / s.clamp_min(1e-30)
        along = torch.zeros(g.shape[0], 1, dtype=g.dtype, device=g.device)
        dg = torch.zeros_like(g)
        for i in range(0, A.shape[0], ctx.block):
            Bb, Ab = (
                B[i : i + ctx.block].to(g.dtype),
                A[i : i + ctx.block].to(g.dtype),
            )
            D = (dout @ Ab.T) * c[i : i + ctx.block].to(g.dtype)  # (N, m)
            q = ghat @ Bb.T
            along += (D * relu_f02(q)).sum(1, keepdim=True)
            dg.addmm_(D * relu_f11(q), Bb)
        return dg + along * ghat, None, None, None, None


def layer_forward(
    g: torch.Tensor, rows: Rows, block: int = DEFAULT_BLOCK
) -> torch.Tensor:
    """:class:`PiLayer` over ``rows``: (N, r) -> (N, out), differentiable in g."""
    A, B, c = rows.view()
    return PiLayer.apply(g, A, B, c, block)


# ------------------------------------------------------------------ gradients


@dataclass(frozen=True)
class LrMult:
    """Learning-rate multipliers: input layer ``A_1``, hidden layers 2..L, readout, biases."""

    first: float = 1.0
    hidden: float = 1.0
    readout: float = 1.0
    bias: float = 1.0

    def __post_init__(self) -> None:
        for name in ("first", "hidden", "readout", "bias"):
            _checks.nonnegative_float(getattr(self, name), f"lr multiplier {name}")


@dataclass
class PiGrad:
    """One step's gradient of an infinite pi-net, before the learning rate.

    ``dA1`` (d, r); ``dbeta``: per hidden layer (r,) or None (no biases); ``dbeta_out``
    (c,) or None; ``rows``: per layer 2..L+1 the new rows ``(A, B)`` (k, out), (k, r)
    (``A = s dL/dg^l``, ``B = g_hat^{l-1}``), or None for a layer not differentiated."""

    dA1: torch.Tensor
    dbeta: list[torch.Tensor] | None
    dbeta_out: torch.Tensor | None
    rows: list[tuple[torch.Tensor, torch.Tensor] | None]

    def layer_norms(self) -> dict[str, float]:
        """The norm of each part: Frobenius for ``A_1`` and biases; for a layer's new rows
        ``sqrt(sum_ij (A_i . A_j) V(B_i . B_j))`` (the ``ABnorm`` of the reference code),
        the limit of the finite net's projected-gradient Frobenius norm of that layer."""
        out = {"first": float(self.dA1.norm())}
        for l, rw in enumerate(self.rows, start=2):
            if rw is not None:
                out[f"layer{l}"] = rows_norm(*rw)
        if self.dbeta is not None:
            for l, b in enumerate(self.dbeta, start=1):
                out[f"bias{l}"] = float(b.norm())
        if self.dbeta_out is not None:
            out["bias_out"] = float(self.dbeta_out.norm())
        return out

    def norm(self, lr_mult: LrMult | None = None) -> float:
        """The total norm over the parts whose learning-rate multiplier is not 0."""
        m = lr_mult or LrMult()
        L = len(self.rows)
        mult = {"first": m.first, f"layer{L + 1}": m.readout, "bias_out": m.bias}
        total = 0.0
        for name, v in self.layer_norms().items():
            default = m.bias if name.startswith("bias") else m.hidden
            if mult.get(name, default) != 0:
                total += v * v
        return math.sqrt(total)

    def scaled(self, factor: float) -> PiGrad:
        """This gradient times ``factor`` (the A's of the rows, A_1, biases; B's unchanged)."""
        return PiGrad(
            self.dA1 * factor,
            None if self.dbeta is None else [b * factor for b in self.dbeta],
            None if self.dbeta_out is None else self.dbeta_out * factor,
            [None if r is None else (r[0] * factor, r[1]) for r in self.rows],
        )


def rows_norm(A: torch.Tensor, B: torch.Tensor) -> float:
    """``sqrt(sum_ij (A_i . A_j) V(B_i . B_j))`` for unit rows B (k, r) and A (k, out)."""
    A, B = A.to(_compute_dtype(A.dtype)), B.to(_compute_dtype(B.dtype))
    return float(((A @ A.T) * relu_v(B @ B.T)).sum().clamp_min(0).sqrt())


# ------------------------------------------------------------------ the infinite net


@dataclass
class Trace:
    """A forward pass kept for backpropagation (:meth:`InfPiMLP.trace`).

    ``gs``: ``g^1..g^L`` (N, r), ``pre``: the layers' outputs before bias ``[pre^2 ..
    pre^{L+1}]``, ``out`` (N, c); ``A1`` and ``beta`` are the leaves autograd fills."""

    gs: list[torch.Tensor]
    pre: list[torch.Tensor]
    out: torch.Tensor
    A1: torch.Tensor
    beta: list[torch.Tensor] | None
    beta_out: torch.Tensor | None

    @property
    def features(self) -> torch.Tensor:
        """``g^L`` (N, r): the last hidden layer's r coordinates."""
        return self.gs[-1]


class InfPiMLP:
    """The infinite-width pi-net of an L-hidden-layer ReLU MLP (module docstring).

    Build it with :func:`init`. State: ``A1`` (d, r), ``rows[k]`` (:class:`Rows`) of layer
    ``k + 2`` (the last is the readout), hidden biases ``beta[l-1]`` (r,) for l = 1..L when
    ``bias_alpha`` is not 0, the readout bias ``beta_out`` (c,) when ``out_bias_alpha`` is
    not 0. Multipliers: ``first_alpha`` on ``g^1``, ``out_alpha`` on the output.
    """

    def __init__(
        self,
        A1: torch.Tensor,
        rows: list[Rows],
        beta: list[torch.Tensor] | None,
        beta_out: torch.Tensor | None,
        *,
        bias_alpha: float,
        out_bias_alpha: float,
        first_alpha: float,
        out_alpha: float,
        block: int = DEFAULT_BLOCK,
    ) -> None:
        self.A1, self.rows, self.beta, self.beta_out = A1, rows, beta, beta_out
        self.bias_alpha, self.out_bias_alpha = bias_alpha, out_bias_alpha
        self.first_alpha, self.out_alpha = first_alpha, out_alpha
        self.block = block

    # -- shapes
    @property
    def d(self) -> int:
        return self.A1.shape[0]

    @property
    def r(self) -> int:
        return self.A1.shape[1]

    @property
    def depth(self) -> int:
        """L, the number of hidden layers."""
        return len(self.rows)

    @property
    def c(self) -> int:
        return self.rows[-1].out

    @property
    def dtype(self) -> torch.dtype:
        """The storage dtype of the rows."""
        return self.rows[0].dtype

    @property
    def compute_dtype(self) -> torch.dtype:
        return self.A1.dtype

    @property
    def device(self) -> torch.device:
        return self.A1.device

    def row_counts(self) -> tuple[int, ...]:
        """Rows of layers 2..L+1 (the last: the readout)."""
        return tuple(r.count for r in self.rows)

    def nbytes(self) -> int:
        """Bytes of the state in use (rows, A_1, biases; not the spare capacity)."""
        total = self.A1.numel() * self.A1.element_size()
        total += sum(r.count * r.row_bytes() for r in self.rows)
        for b in (self.beta or []) + (
            [self.beta_out] if self.beta_out is not None else []
        ):
            total += b.numel() * b.element_size()
        return total

    # -- forward
    def trace(self, x: torch.Tensor, *, grad: bool = True) -> Trace:
        """The forward pass on x (N, d), kept for backpropagation (``grad=True``): the
        returned leaves ``A1``, ``beta`` receive their gradients, and every ``pre`` and
        ``g`` retains its own."""
        _check_inputs(x, self.d)
        x = x.to(self.compute_dtype)
        with torch.set_grad_enabled(grad):
            A1 = self.A1.detach().requires_grad_(grad)
            beta = (
                None
                if self.beta is None
                else [b.detach().requires_grad_(grad) for b in self.beta]
            )
            beta_out = (
                None
                if self.beta_out is None
                else self.beta_out.detach().requires_grad_(grad)
            )
            g = x @ A1
            if beta is not None:
                g = g + self.bias_alpha * beta[0]
            g = self.first_alpha * g
            gs, pre = [g], []
            for l, rows in enumerate(self.rows, start=2):
                p = layer_forward(gs[-1], rows, self.block)
                pre.append(p)
                if l <= self.depth:
                    gs.append(
                        p if beta is None else p + self.bias_alpha * beta[l - 1]
                    )
            out = pre[-1]
            if beta_out is not None:
                out = out + self.out_bias_alpha * beta_out
            out = self.out_alpha * out
            if grad:
                for t in gs + pre:
                    t.retain_grad()
        return Trace(gs, pre, out, A1, beta, beta_out)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs f(x): (..., d) -> (..., c), no gradients."""
        flat = x.reshape(-1, x.shape[-1])
        return self.trace(flat, grad=False).out.reshape(*x.shape[:-1], self.c)

    def r_coordinates(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[g^1, ..., g^L]``, each (N, r), of inputs x (N, d)."""
        return [g.detach() for g in self.trace(x, grad=False).gs]

    # -- backward
    def collect(self, tr: Trace, *, readout: bool = True) -> PiGrad:
        """The gradient of whatever was backpropagated into ``tr`` (``loss.backward()``),
        as new rows and in-place parts; ``readout=False`` leaves the readout's rows out."""
        gs, pre = tr.gs, tr.pre

        def grad_of(t: torch.Tensor) -> torch.Tensor:
            return torch.zeros_like(t) if t.grad is None else t.grad.detach()

        rows: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        for l in range(2, self.depth + 2):
            if l == self.depth + 1 and not readout:
                rows.append(None)
                continue
            g_prev = gs[l - 2].detach()
            s = g_prev.norm(dim=1, keepdim=True)
            rows.append((s * grad_of(pre[l - 2]), g_prev / s.clamp_min(1e-30)))
        dA1 = grad_of(tr.A1)
        dbeta = None if tr.beta is None else [grad_of(b) for b in tr.beta]
        dbeta_out = None if tr.beta_out is None else grad_of(tr.beta_out)
        return PiGrad(dA1, dbeta, dbeta_out, rows)

    def gradients(self, x: torch.Tensor, dout: torch.Tensor) -> PiGrad:
        """Backpropagate output gradients ``dout = dL/df`` (N, c) at inputs x (N, d)."""
        tr = self.trace(x)
        tr.out.backward(dout.to(tr.out.dtype))
        return self.collect(tr)

    # -- the step
    def step(
        self,
        grad: PiGrad,
        lr: float,
        *,
        lr_mult: LrMult = LrMult(),
        weight_decay: float = 0.0,
        clip: float | None = None,
    ) -> float:
        """One SGD step: weight decay rescales ``A_1``, every ``c`` and the biases; then
        ``A_1`` and the biases move in place and every layer with a nonzero multiplier gets
        the gradient's rows, ``c = -lr * multiplier``. With ``clip`` the gradient is first
        scaled to norm at most ``clip`` (:meth:`PiGrad.norm`). Returns the norm before."""
        lr = _checks.nonnegative_float(lr, "lr")
        weight_decay = _checks.nonnegative_float(weight_decay, "weight_decay")
        norm = grad.norm(lr_mult)
        if not math.isfinite(norm):
            raise FloatingPointError(
                "the gradient is not finite (nan or inf): lower the learning rate or clip"
            )
        if clip is not None and norm > clip:
            grad = grad.scaled(clip / norm)
        L = self.depth
        with torch.no_grad():
            if weight_decay:
                self.A1.mul_(1 - lr * weight_decay * lr_mult.first)
                for l, rows in enumerate(self.rows, start=2):
                    m = lr_mult.readout if l == L + 1 else 1.0
                    rows.c[: rows.count].mul_(1 - lr * weight_decay * m)
                for b in (self.beta or []) + (
                    [self.beta_out] if self.beta_out is not None else []
                ):
                    b.mul_(1 - lr * weight_decay * lr_mult.bias)
            self.A1.sub_(lr * lr_mult.first * grad.dA1.to(self.A1.dtype))
            for l, (rows, new) in enumerate(zip(self.rows, grad.rows), start=2):
                m = lr_mult.readout if l == L + 1 else lr_mult.hidden
                if new is None or m == 0:
                    continue
                A, B = new
                c = torch.full(
                    (A.shape[0],), -lr * m, dtype=rows.c.dtype, device=rows.device
                )
                rows.append(A, B, c)
            if self.beta is not None and grad.dbeta is not None:
                for b, db in zip(self.beta, grad.dbeta):
                    b.sub_(lr * lr_mult.bias * db.to(b.dtype))
            if self.beta_out is not None and grad.dbeta_out is not None:
                self.beta_out.sub_(
                    lr * lr_mult.bias * grad.dbeta_out.to(self.beta_out.dtype)
                )
        return norm

    # -- state
    def state(self, *, copy: bool = True) -> dict:
        """The state in use, as plain data (``torch.load(weights_only=True)`` reads it):
        ``copy=False`` gives views of the rows (cheap, for a best-so-far snapshot of a run
        that only appends); ``copy=True`` compact copies (for a file)."""

        def c(t: torch.Tensor) -> torch.Tensor:
            return t.clone() if copy else t

        return {
            "format": 1,
            "A1": self.A1.detach().clone(),
            "rows": [
                {"A": c(A), "B": c(B), "c": C.clone(), "out": rw.out}
                for rw, (A, B, C) in ((rw, rw.view()) for rw in self.rows)
            ],
            "beta": None if self.beta is None else [b.clone() for b in self.beta],
            "beta_out": None if self.beta_out is None else self.beta_out.clone(),
            "alphas": [
                self.bias_alpha,
                self.out_bias_alpha,
                self.first_alpha,
                self.out_alpha,
            ],
        }

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state` of a net of the same shape (rows beyond it are dropped)."""
        if state.get("format") != 1 or len(state["rows"]) != self.depth:
            raise ValueError("not the state of a pi-net of this depth")
        if tuple(state["A1"].shape) != tuple(self.A1.shape):
            raise ValueError(
                f"the state's A1 has shape {tuple(state['A1'].shape)}, this net's "
                f"{tuple(self.A1.shape)}"
            )
        with torch.no_grad():
            self.A1.copy_(state["A1"])
            for rows, s in zip(self.rows, state["rows"]):
                m = s["A"].shape[0]
                if m <= rows.count and rows.A.data_ptr() == s["A"].data_ptr():
                    rows.truncate(m)  # a view of our own rows: a prefix of them
                    rows.c[:m].copy_(s["c"])
                    continue
                rows.count = 0
                rows.reserve(m)
                rows.append(
                    s["A"].to(rows.device),
                    s["B"].to(rows.device),
                    s["c"].to(rows.device),
                )
            for mine, theirs in ((self.beta, state["beta"]),):
                if (mine is None) != (theirs is None):
                    raise ValueError(
                        "the state and the net disagree on hidden biases"
                    )
                for b, v in zip(mine or [], theirs or []):
                    b.copy_(v)
            if self.beta_out is not None and state["beta_out"] is not None:
                self.beta_out.copy_(state["beta_out"])
        (self.bias_alpha, self.out_bias_alpha, self.first_alpha, self.out_alpha) = (
            state["alphas"]
        )

    def state_nbytes(self) -> int:
        """Bytes a :meth:`state` of this net holds (what a checkpoint will write)."""
        return self.nbytes()

    def copy(self) -> InfPiMLP:
        """An independent copy (rows copied, capacity trimmed)."""
        return from_state(self.state(), device=self.device, block=self.block)

    # -- sampling
    def sample(self, n: int, generator: torch.Generator | int) -> FinitePiMLP:
        """The finite pi-net of width n: Omegas drawn (on the CPU generator), rows mapped
        through them (module docstring). The sample computes in the compute dtype."""
        n = _checks.positive_int(n, "width n")
        gen = (
            runtime.generator(generator) if isinstance(generator, int) else generator
        )
        dt, dev, r = self.compute_dtype, self.device, self.r
        omegas = [
            torch.randn(n, r, generator=gen, dtype=torch.float64).to(dev, dt)
            for _ in range(self.depth)
        ]
        with torch.no_grad():
            weights = [n**-0.5 * omegas[0] @ self.A1.T]
            for l, rows in enumerate(self.rows, start=2):
                A, B, c = (t.to(dt) for t in rows.view())
                feats = torch.relu(omegas[l - 2] @ B.T)  # (n, M)
                left = (A * c[:, None]).T  # (out, M)
                if l <= self.depth:
                    weights.append(n**-1.0 * omegas[l - 1] @ (left @ feats.T))
                else:
                    weights.append(n**-0.5 * left @ feats.T)
            biases = (
                None
                if self.beta is None
                else [n**-0.5 * om @ b.to(dt) for om, b in zip(omegas, self.beta)]
            )
            bias_out = None if self.beta_out is None else self.beta_out.to(dt).clone()
        return FinitePiMLP(
            weights,
            biases,
            bias_out,
            omegas,
            bias_alpha=self.bias_alpha,
            out_bias_alpha=self.out_bias_alpha,
            first_alpha=self.first_alpha,
            out_alpha=self.out_alpha,
        )


def _check_inputs(x: torch.Tensor, d: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[-1] != d:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"inputs must be a tensor of shape (N, {d}), got {shape}")


def init(
    d: int,
    c: int,
    *,
    depth: int = 2,
    r: int,
    generator: torch.Generator | int,
    readout: str = "zero",
    bias_alpha: float = 0.0,
    out_bias_alpha: float = 0.0,
    first_alpha: float = 1.0,
    out_alpha: float = 1.0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = "cpu",
    block: int = DEFAULT_BLOCK,
) -> InfPiMLP:
    """A freshly initialized infinite pi-net (the reference code's initialization).

    ``A_1`` (d, r): N(0, 1) with unit columns; each hidden layer r rows with ``A ~ N(0,
    1/r)``, ``B`` Gaussian with unit rows, ``c = 1``; the readout ``"zero"`` (no rows, so
    f = 0) or ``"gaussian"`` (r rows, ``A ~ N(0, 1/r^2)``); biases zero. Random numbers come
    from the CPU ``generator``, so a seed gives the same net on every device.
    """
    d, c, r = (_checks.positive_int(v, w) for v, w in ((d, "d"), (c, "c"), (r, "r")))
    depth = _checks.integer(depth, "depth (hidden layers)", minimum=2)
    _checks.choice(readout, ("zero", "gaussian"), "readout")
    for v, w in ((bias_alpha, "bias_alpha"), (out_bias_alpha, "out_bias_alpha")):
        _checks.nonnegative_float(v, w)
    for v, w in ((first_alpha, "first_alpha"), (out_alpha, "out_alpha")):
        _checks.positive_float(v, w)
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {STORAGE_DTYPES}, got {dtype}")
    block = _checks.positive_int(block, "block")
    dev = runtime.device(None if device is None else str(device))
    gen = runtime.generator(generator) if isinstance(generator, int) else generator
    cdt = _compute_dtype(dtype)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    A1 = randn(d, r)
    A1 = (A1 / A1.norm(dim=0, keepdim=True)).to(dev, cdt)
    rows = []
    for l in range(2, depth + 2):
        out = r if l <= depth else c
        rw = Rows(out, r, dtype=dtype, device=dev, capacity=r)
        if l <= depth or readout == "gaussian":
            B = randn(r, r)
            B = B / B.norm(dim=1, keepdim=True)
            A = randn(r, out) * (r**-0.5 if l <= depth else 1.0 / r)
            rw.append(A, B, torch.ones(r, dtype=torch.float64))
        rows.append(rw)
    beta = (
        [torch.zeros(r, dtype=cdt, device=dev) for _ in range(depth)]
        if bias_alpha
        else None
    )
    beta_out = torch.zeros(c, dtype=cdt, device=dev) if out_bias_alpha else None
    return InfPiMLP(
        A1,
        rows,
        beta,
        beta_out,
        bias_alpha=float(bias_alpha),
        out_bias_alpha=float(out_bias_alpha),
        first_alpha=float(first_alpha),
        out_alpha=float(out_alpha),
        block=block,
    )


def from_state(
    state: dict,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = "cpu",
    block: int = DEFAULT_BLOCK,
) -> InfPiMLP:
    """A net rebuilt from :meth:`InfPiMLP.state` (e.g. a checkpoint), rows in ``dtype``
    (default: the state's)."""
    dev = runtime.device(None if device is None else str(device))
    rows_state = state["rows"]
    dtype = rows_state[0]["B"].dtype if dtype is None else dtype
    r = state["A1"].shape[1]
    rows = []
    for s in rows_state:
        rw = Rows(s["out"], r, dtype=dtype, device=dev, capacity=s["A"].shape[0])
        rw.append(s["A"].to(dev), s["B"].to(dev), s["c"].to(dev))
        rows.append(rw)
    cdt = _compute_dtype(dtype)
    beta = None if state["beta"] is None else [b.to(dev, cdt) for b in state["beta"]]
    beta_out = None if state["beta_out"] is None else state["beta_out"].to(dev, cdt)
    ba, oba, fa, oa = state["alphas"]
    return InfPiMLP(
        state["A1"].to(dev, cdt),
        rows,
        beta,
        beta_out,
        bias_alpha=ba,
        out_bias_alpha=oba,
        first_alpha=fa,
        out_alpha=oa,
        block=block,
    )


# ------------------------------------------------------------------ the finite net


class FinitePiMLP(nn.Module):
    """A width-n pi-net (:meth:`InfPiMLP.sample`): an ordinary MLP with its Omegas.

    ``weights[l-1]`` is ``W^l`` ((n, d), (n, n) ..., (c, n)), ``biases[l-1]`` the hidden
    bias of layer l (when ``bias_alpha`` is not 0), ``bias_out`` the readout's; buffers
    ``omega{l}`` (n, r) and ``chol{l}``, the Cholesky factor of ``Omega^T Omega`` (for
    n <= r, where the projection is the identity, ``pinv{l}``, its pseudo-inverse). Train it
    with ``loss.backward()`` then :meth:`step`, which projects the gradients of layers
    1..L and their biases on the columns of their Omega (:meth:`project_gradients_`, also
    usable alone before any optimizer), clips and applies SGD like :meth:`InfPiMLP.step`.
    """

    def __init__(
        self,
        weights: Sequence[torch.Tensor],
        biases: Sequence[torch.Tensor] | None,
        bias_out: torch.Tensor | None,
        omegas: Sequence[torch.Tensor],
        *,
        bias_alpha: float,
        out_bias_alpha: float,
        first_alpha: float,
        out_alpha: float,
    ) -> None:
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(w.clone()) for w in weights])
        self.biases = (
            None
            if biases is None
            else nn.ParameterList([nn.Parameter(b.clone()) for b in biases])
        )
        self.bias_out = None if bias_out is None else nn.Parameter(bias_out.clone())
        for l, om in enumerate(omegas, start=1):
            self.register_buffer(f"omega{l}", om)
            gram = om.T @ om
            if om.shape[0] > om.shape[1]:
                self.register_buffer(f"chol{l}", torch.linalg.cholesky(gram))
            else:  # n <= r: Omega's columns span R^n, the projection is the identity
                self.register_buffer(
                    f"pinv{l}", torch.linalg.pinv(gram, hermitian=True)
                )
        self.bias_alpha, self.out_bias_alpha = bias_alpha, out_bias_alpha
        self.first_alpha, self.out_alpha = first_alpha, out_alpha

    @property
    def depth(self) -> int:
        return len(self.weights) - 1

    @property
    def width(self) -> int:
        return self.weights[0].shape[0]

    def omega(self, l: int) -> torch.Tensor:
        return getattr(self, f"omega{l}")

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Pre-activations ``[h^1, ..., h^L]``, each (N, n)."""
        h = x @ self.weights[0].T
        if self.biases is not None:
            h = h + self.bias_alpha * self.biases[0]
        hs = [self.first_alpha * h]
        for l in range(2, self.depth + 1):
            h = torch.relu(hs[-1]) @ self.weights[l - 1].T
            if self.biases is not None:
                h = h + self.bias_alpha * self.biases[l - 1]
            hs.append(h)
        return hs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x): (N, d) -> (N, c)."""
        return self.readout(self.hidden(x)[-1])

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        out = torch.relu(h) @ self.weights[-1].T
        if self.bias_out is not None:
            out = out + self.out_bias_alpha * self.bias_out
        return self.out_alpha * out

    def coordinates(self, h: torch.Tensor, l: int) -> torch.Tensor:
        """``n^1/2 (Omega_l^T Omega_l)^-1 Omega_l^T h`` (N, r): the r coordinates of layer
        l's pre-activations h (N, n) (exact while h lies in Omega_l's column space)."""
        return self.width**0.5 * self._solve(self.omega(l).T @ h.T, l).T

    def _solve(self, rhs: torch.Tensor, l: int) -> torch.Tensor:
        """``(Omega_l^T Omega_l)^-1 rhs`` (a pseudo-inverse, minimum norm, when n <= r)."""
        if hasattr(self, f"chol{l}"):
            return torch.cholesky_solve(rhs, getattr(self, f"chol{l}"))
        return getattr(self, f"pinv{l}") @ rhs

    def r_coordinates(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[g^1, ..., g^L]`` of inputs x: each layer's r coordinates (N, r)."""
        with torch.no_grad():
            return [
                self.coordinates(h, l) for l, h in enumerate(self.hidden(x), start=1)
            ]

    def gradient_rows(
        self, x: torch.Tensor, dout: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The projected gradient of each ``W^l`` (l = 2..L+1) for output gradients ``dout``
        (N, c) at x (N, d), written as one row per example: ``(A, B)`` with A (N, out), B
        (N, r) such that ``P_l dL/dW^l = sum_e n^-1 Omega_l A_e phi(Omega_{l-1} B_e)^T``
        (readout: ``n^-1/2 A_e phi(Omega_L B_e)^T``, no projection). Exact at finite n:
        ``A_e = n^1/2 s_e (Omega^T Omega)^-1 Omega^T dL/dh^l_e``, ``B_e = g_hat^{l-1}_e``
        with the finite net's own r coordinates. No ``.grad`` is touched."""
        hs = self.hidden(x)
        dhs = torch.autograd.grad(self.readout(hs[-1]), hs, dout.to(hs[-1].dtype))
        n = self.width
        out = []
        for l in range(2, self.depth + 2):
            g = self.coordinates(hs[l - 2].detach(), l - 1)
            s = g.norm(dim=1, keepdim=True)
            B = g / s.clamp_min(1e-30)
            if l <= self.depth:
                a = self._solve(self.omega(l).T @ dhs[l - 1].T, l).T
                out.append((n**0.5 * s * a, B))
            else:
                out.append((self.out_alpha * s * dout.to(s.dtype), B))
        return out

    def project(self, G: torch.Tensor, l: int) -> torch.Tensor:
        """``Omega (Omega^T Omega)^-1 (Omega^T G)`` for G (n, ...): never the n x n projector."""
        om = self.omega(l)
        flat = G.reshape(G.shape[0], -1)
        return (om @ self._solve(om.T @ flat, l)).reshape(G.shape)

    def project_gradients_(self) -> None:
        """Project the ``.grad`` of ``W^1..W^L`` and the hidden biases on their Omega."""
        with torch.no_grad():
            for l in range(1, self.depth + 1):
                for p in [self.weights[l - 1]] + (
                    [self.biases[l - 1]] if self.biases is not None else []
                ):
                    if p.grad is not None:
                        p.grad = self.project(p.grad, l)

    def _parts(self, lr_mult: LrMult) -> list[tuple[nn.Parameter, float, float]]:
        """(parameter, lr multiplier, weight-decay multiplier) of every tensor."""
        L = self.depth
        out = [(self.weights[0], lr_mult.first, lr_mult.first)]
        out += [(self.weights[l - 1], lr_mult.hidden, 1.0) for l in range(2, L + 1)]
        out.append((self.weights[L], lr_mult.readout, lr_mult.readout))
        for b in list(self.biases or []) + (
            [self.bias_out] if self.bias_out is not None else []
        ):
            out.append((b, lr_mult.bias, lr_mult.bias))
        return out

    def grad_norm(self, lr_mult: LrMult = LrMult()) -> float:
        """Frobenius norm of the gradients (as they are now) of the tensors whose learning
        rate multiplier is not 0."""
        return math.sqrt(
            sum(
                float(torch.linalg.vector_norm(p.grad)) ** 2
                for p, m, _ in self._parts(lr_mult)
                if m != 0 and p.grad is not None
            )
        )

    def step(
        self,
        lr: float,
        *,
        lr_mult: LrMult = LrMult(),
        weight_decay: float = 0.0,
        clip: float | None = None,
        project: bool = True,
    ) -> float:
        """Projected SGD after ``loss.backward()``: project (``project=True``), clip the
        total norm to ``clip``, decay, step, zero the gradients. Returns the norm before
        clipping (projected)."""
        if project:
            self.project_gradients_()
        norm = self.grad_norm(lr_mult)
        scale = clip / norm if clip is not None and norm > clip else 1.0
        with torch.no_grad():
            for p, m, wdm in self._parts(lr_mult):
                if weight_decay:
                    p.mul_(1 - lr * weight_decay * wdm)
                if p.grad is not None and m != 0:
                    p.add_(p.grad, alpha=-lr * m * scale)
                p.grad = None
        return norm


# ------------------------------------------------------------------ memory and time


def available_memory(device: str | torch.device | None = None) -> int | None:
    """Free bytes on ``device``: CUDA's free memory, or the CPU's available memory
    (``/proc/meminfo``, else ``sysconf``); None where it cannot be read."""
    dev = runtime.device(None if device is None else str(device))
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class Plan:
    """What a run of ``steps`` steps appending ``rows_per_step`` rows to each growing layer
    will hold: rows per layer now and after, bytes now and after, the free memory of the
    device, and (with a calibrated rate) an estimate of the time."""

    rows_now: tuple[int, ...]
    rows_after: tuple[int, ...]
    bytes_now: int
    bytes_after: int
    available: int | None
    device: str
    seconds: float | None = None
    fraction: float = 0.8

    @property
    def fits(self) -> bool:
        return (
            self.available is None
            or self.bytes_after <= self.fraction * self.available
        )

    def __str__(self) -> str:
        gib = 2.0**30
        lines = [
            f"rows per layer (2..L+1) now {list(self.rows_now)}, after the run "
            f"{list(self.rows_after)}",
            f"state now {self.bytes_now / gib:.3f} GiB, after {self.bytes_after / gib:.3f} GiB"
            + (
                ""
                if self.available is None
                else f" (free on {self.device}: {self.available / gib:.1f} GiB)"
            ),
        ]
        if self.seconds is not None:
            lines.append(f"estimated time {self.seconds / 60:.1f} min")
        return "\n".join(lines)

    def check(self) -> Plan:
        """The plan, or a MemoryError with advice when the state would not fit."""
        if not self.fits:
            gib = 2.0**30
            raise MemoryError(
                f"the run would need {self.bytes_after / gib:.2f} GiB of rows but "
                f"{self.device} has {self.available / gib:.2f} GiB free (at most "
                f"{self.fraction:.0%} is used): train fewer steps or a smaller batch, lower r, "
                "store rows in float16 (on a GPU), or run on a device with more memory"
            )
        return self


def plan(
    net: InfPiMLP,
    steps: int,
    rows_per_step: Sequence[int],
    *,
    seconds_per_row_example: float | None = None,
    examples_per_step: int = 0,
    device: str | torch.device | None = None,
) -> Plan:
    """The memory (and time) of ``steps`` more steps, each appending ``rows_per_step[k]``
    rows to layer ``k + 2``. Time: ``seconds_per_row_example`` (from :func:`calibrate`)
    times the sum over steps of rows x ``examples_per_step``, i.e. quadratic in steps."""
    steps = _checks.nonnegative_int(steps, "steps")
    if len(rows_per_step) != net.depth:
        raise ValueError(
            f"give rows per step for each of the {net.depth} layers 2..L+1"
        )
    now = net.row_counts()
    after = tuple(m + steps * k for m, k in zip(now, rows_per_step))
    per_row = [rw.row_bytes() for rw in net.rows]
    fixed = net.nbytes() - sum(m * b for m, b in zip(now, per_row))
    bytes_after = fixed + sum(m * b for m, b in zip(after, per_row))
    seconds = None
    if seconds_per_row_example is not None:
        total_rows = sum(
            steps * m0 + k * steps * (steps - 1) / 2
            for m0, k in zip(now, rows_per_step)
        )
        seconds = seconds_per_row_example * examples_per_step * total_rows
    dev = (
        runtime.device(None if device is None else str(device))
        if device
        else net.device
    )
    return Plan(
        now,
        after,
        net.nbytes(),
        int(bytes_after),
        available_memory(dev),
        str(dev),
        seconds,
    )


def calibrate(
    net: InfPiMLP, examples: int, *, rows: int = 20_000, repeats: int = 2
) -> float:
    """Seconds per (example x row) of one forward and backward through a layer like the
    net's, on its device and dtypes, measured on ``rows`` random rows."""
    import time

    dev, r = net.device, net.r
    rw = Rows(r, r, dtype=net.dtype, device=dev, capacity=rows)
    gen = runtime.generator(0)
    B = torch.randn(rows, r, generator=gen, dtype=torch.float64)
    rw.append(
        torch.randn(rows, r, generator=gen, dtype=torch.float64) / r**0.5,
        B / B.norm(dim=1, keepdim=True),
        torch.ones(rows, dtype=torch.float64),
    )
    g = torch.randn(
        examples, r, dtype=net.compute_dtype, device=dev, requires_grad=True
    )
    best = float("inf")
    for _ in range(repeats):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        layer_forward(g, rw, net.block).sum().backward()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        best = min(best, time.perf_counter() - t0)
    return best / (examples * rows)


__all__ = [
    "DEFAULT_BLOCK",
    "FinitePiMLP",
    "InfPiMLP",
    "LrMult",
    "PiGrad",
    "PiLayer",
    "Plan",
    "Rows",
    "Trace",
    "available_memory",
    "calibrate",
    "feature_kernel",
    "from_state",
    "init",
    "layer_forward",
    "plan",
    "relu_f02",
    "relu_f11",
    "relu_v",
    "rows_norm",
]
