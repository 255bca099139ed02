"""The muP limit of a 1-hidden-layer linear network, and finite networks beside it.

A 1-hidden-layer linear network with d inputs, c outputs and width m computes

    f(x) = W2 (W1 x + beta b),    W1: (m, d),  b: (m,),  W2: (c, m),

with a fixed hidden-bias multiplier ``beta`` and no output bias. TP4 (Yang & Hu 2021,
Section 9 and its MAML appendix) shows that its muP limit is itself such a network, of
width m = d + c: first layer ``A = [s1 I_d; 0]``, readout ``B = [0, s2 I_c]`` (so
f_0 = B A x = 0), bias ``c = 0``, trained by ordinary SGD with the same learning rate
for every tensor. Why finite? In a linear network every update of W1 lies in the span of
the readout's rows and every update of W2 in the span of W1's columns applied to data,
so nothing ever leaves the (d + c)-dimensional space the two layers start in.

``sample(n)`` draws Omega (n, d + c) with iid N(0, 1) entries and returns the width-n
network ``W1 = n^-1/2 Omega A``, ``b = n^-1/2 Omega c``, ``W2 = n^-1/2 B Omega^T``:
exactly muP's Gaussian initialization (W1 entries N(0, s1^2/n), W2 entries N(0, s2^2/n),
independent, since they use disjoint columns of Omega), written in the coordinates in
which SGD uses the same learning rate for every tensor at every width. Because
``Omega^T Omega / n -> I``, its outputs under training converge to the limit's, with
error of order n^-1/2 (:func:`mupbook.fit.loglog_slope` measures the exponent).

:func:`finite` builds width-n networks under muP, NTP and SP in the same coordinates:
relative to muP at a base width n0, with rho = n / n0, NTP multiplies the readout's
initial variance by rho and the first layer's (and bias's) learning rate by 1/rho; SP
does the same but with 1/rho^2 on the first layer (TP4 Table 1 with a_l, b_l, c turned
into per-tensor learning rates ``eta n^(-c - 2 a_l)``). At n = n0 all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .. import _checks, runtime

PARAMETRIZATIONS = ("mup", "ntp", "sp")


@dataclass(frozen=True)
class Linear1LP:
    """A 1-hidden-layer linear network ``f(x) = W2 (W1 x + beta b)`` (module docstring).

    ``lr_mult`` = (first layer and bias, readout): each tensor's learning rate is the
    optimizer's rate times its multiplier. ``kind``: ``"limit"`` (the muP limit, width
    d + c) or the parametrization of a finite network. ``omega``: the (n, d + c) matrix
    a sampled network was drawn with (None otherwise).
    """

    W1: torch.Tensor
    b: torch.Tensor
    W2: torch.Tensor
    beta: float
    lr_mult: tuple[float, float]
    kind: str
    omega: torch.Tensor | None = None

    @property
    def width(self) -> int:
        return self.W1.shape[0]

    @property
    def d(self) -> int:
        return self.W1.shape[1]

    @property
    def c(self) -> int:
        return self.W2.shape[0]

    def params(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.W1, self.b, self.W2

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden features ``W1 x + beta b``: (..., d) -> (..., m)."""
        _check_inputs(x, self.d)
        return x @ self.W1.T + self.beta * self.b

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``f(x)``: (..., d) -> (..., c)."""
        return self.hidden(x) @ self.W2.T

    def with_params(
        self, W1: torch.Tensor, b: torch.Tensor, W2: torch.Tensor
    ) -> Linear1LP:
        return replace(self, W1=W1, b=b, W2=W2)

    def detached(self) -> Linear1LP:
        """A copy of the tensors, detached from any graph (a checkpoint)."""
        return self.with_params(*(p.detach().clone() for p in self.params()))

    def sample(self, n: int, generator: torch.Generator | int) -> Linear1LP:
        """The equivalent width-``n`` muP network (Omega construction, module docstring).

        Only the limit can be sampled; the sample keeps the limit's ``beta`` and learning
        rates, and draws Omega on the CPU generator (same network on every device).
        """
        if self.kind != "limit":
            raise ValueError(
                f"only the muP limit can be sampled, this network is {self.kind!r}"
            )
        n = _checks.positive_int(n, "width n")
        gen = (
            runtime.generator(generator) if isinstance(generator, int) else generator
        )
        m = self.width
        omega = torch.randn(n, m, generator=gen, dtype=torch.float64).to(
            self.W1.device, self.W1.dtype
        )
        s = n**-0.5
        with torch.no_grad():
            W1 = s * omega @ self.W1
            b = s * omega @ self.b
            W2 = s * self.W2 @ omega.T
        return Linear1LP(W1, b, W2, self.beta, self.lr_mult, "mup", omega)


def _check_inputs(x: torch.Tensor, d: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != d:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"inputs must be a tensor of shape (..., {d}), got {shape}")


def mup_limit(
    d: int,
    c: int,
    *,
    s1: float = 1.0,
    s2: float = 2.0**-5,
    beta: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = "cpu",
) -> Linear1LP:
    """The muP limit of a d -> c linear network as a width-(d + c) network.

    First layer ``[s1 I_d; 0]``, readout ``[0, s2 I_c]``, bias 0 (TP4: ``MetaInfLin1LP``
    with ``sigma1 = s1``, ``sigma2 = s2``, ``bias_alpha = beta``). Learning rates: the same
    for every tensor. Returns float64 tensors by default (exactness is the point).
    """
    d, c = (
        _checks.positive_int(d, "d (input dimension)"),
        _checks.positive_int(c, "c (number of outputs)"),
    )
    s1, s2, beta = (
        _checks.nonnegative_float(s1, "s1"),
        _checks.nonnegative_float(s2, "s2"),
        _checks.nonnegative_float(beta, "beta"),
    )
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    dev = runtime.device(None if device is None else str(device))
    m = d + c
    W1 = torch.zeros(m, d, dtype=dtype, device=dev)
    W1[:d] = s1 * torch.eye(d, dtype=dtype, device=dev)
    W2 = torch.zeros(c, m, dtype=dtype, device=dev)
    W2[:, d:] = s2 * torch.eye(c, dtype=dtype, device=dev)
    b = torch.zeros(m, dtype=dtype, device=dev)
    return Linear1LP(W1, b, W2, beta, (1.0, 1.0), "limit")


def finite(
    d: int,
    c: int,
    width: int,
    *,
    param: str = "mup",
    generator: torch.Generator | int,
    s1: float = 1.0,
    s2: float = 2.0**-5,
    beta: float = 1.0,
    base_width: int | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = "cpu",
) -> Linear1LP:
    """A width-``width`` linear network under muP, NTP or SP (module docstring).

    muP is ``mup_limit(...).sample(width)``. NTP and SP start from the same draw and
    scale, relative to muP at ``base_width`` (default: ``width``, where all three agree),
    the readout's initialization by ``sqrt(rho)`` and the first layer's and bias's
    learning rate by ``1/rho`` (NTP) or ``1/rho^2`` (SP), with ``rho = width / base_width``.
    """
    if param not in PARAMETRIZATIONS:
        raise ValueError(f"param must be one of {PARAMETRIZATIONS}, got {param!r}")
    width = _checks.positive_int(width, "width")
    base = (
        width
        if base_width is None
        else _checks.positive_int(base_width, "base_width")
    )
    net = mup_limit(d, c, s1=s1, s2=s2, beta=beta, dtype=dtype, device=device).sample(
        width, generator
    )
    if param == "mup":
        return net
    rho = width / base
    first = 1 / rho if param == "ntp" else 1 / rho**2
    return replace(net, W2=net.W2 * rho**0.5, lr_mult=(first, 1.0), kind=param)
