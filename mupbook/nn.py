"""Width-parametrized MLPs: every tensor knows how it scales with width.

An MLP here is a list of parameter tensors, each with a :class:`Scaling`: its init
standard deviation, a forward multiplier, and the factors by which SGD and Adam
multiply the base learning rate ``eta``. Two families fill these in:

* :class:`AbcMLP`: TP4's abc-parametrizations (section 3): ``W^l = n^(-a_l) w^l``,
  ``w^l ~ N(0, n^(-2 b_l))``, SGD at ``eta n^(-c)``; any ``ABC`` or preset.
* :class:`MuMLP`: TP5's muP and SP with a base width ``n_0`` at which they agree,
  for SGD and Adam(W), in the paper's form (TP5 Table 3) or in the form the ``mup``
  package implements (Table 8: the readout gets a forward multiplier ``1/m``,
  ``m = n / n_0``). Both forms give the same training trajectory.

Shapes: input (B, d_in) -> hidden (B, n) x depth -> output (B, d_out). Layer ``l``
computes ``h^l = mult_l * x^(l-1) @ w_l^T + bias_l`` and ``x^l = phi(h^l)``.
Biases, where enabled, start at zero unless their scaling gives an init std.

:class:`ScaledModule` holds what every width-parametrized model shares (per-tensor
optimizer groups, SGD and AdamW); :mod:`mupbook.transformer` builds a GPT on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch import nn

from . import _checks, runtime
from .abc import ABC, as_abc

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "gelu": torch.nn.functional.gelu,
    "erf": torch.erf,
    "linear": lambda x: x,
}
Kind = Literal["vector", "matrix", "scalar"]


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The elementwise nonlinearity called ``name``."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}"
        ) from None


def check_float_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


@dataclass(frozen=True)
class Scaling:
    """How one parameter tensor scales: stored ``w ~ N(init_mean, init_std^2)`` (std 0:
    the constant ``init_mean``, e.g. a LayerNorm gain of 1), used as ``multiplier * w``,
    trained at ``eta * sgd_lr`` (SGD) or ``eta * adam_lr`` (Adam; ``None`` where the
    parametrization does not define it)."""

    kind: Kind
    init_std: float
    multiplier: float
    sgd_lr: float
    adam_lr: float | None
    init_mean: float = 0.0

    def sample(
        self,
        shape: tuple[int, ...],
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """A freshly initialized tensor of ``shape`` (drawn from ``generator`` only when
        ``init_std > 0``, so a zero-initialized tensor consumes no random numbers)."""
        if self.init_std > 0:
            w = torch.randn(*shape, generator=generator, dtype=dtype) * self.init_std
            return w + self.init_mean if self.init_mean else w
        return torch.full(shape, float(self.init_mean), dtype=dtype)


class ScaledModule(nn.Module):
    """A model whose every parameter has a :class:`Scaling`: subclasses implement
    :meth:`named_scalings`; optimizer groups, SGD and AdamW follow from it."""

    def named_scalings(self) -> list[tuple[str, nn.Parameter, Scaling]]:
        """Every parameter with its name and scaling."""
        raise NotImplementedError

    def param_groups(
        self, optimizer: Literal["sgd", "adam"], lr: float, weight_decay: float = 0.0
    ) -> list[dict]:
        """One optimizer group per parameter, ``lr = eta * factor``; weight decay is
        divided by the same factor so that ``lr * weight_decay`` does not change with
        width (the ``mup`` package's convention for decoupled decay)."""
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(
                f"learning rate must be a positive finite number, got {lr!r}"
            )
        if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        groups = []
        for name, p, s in self.named_scalings():
            factor = s.sgd_lr if optimizer == "sgd" else s.adam_lr
            if factor is None:
                raise ValueError(
                    f"{type(self).__name__} defines no {optimizer} learning rates "
                    "(abc-parametrizations are for SGD; use MuMLP for Adam)"
                )
            groups.append(
                {
                    "params": [p],
                    "lr": lr * factor,
                    "weight_decay": weight_decay / factor,
                    "name": name,
                }
            )
        return groups

    def sgd(
        self, lr: float, *, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> torch.optim.SGD:
        """SGD with this parametrization's per-parameter learning rates."""
        return torch.optim.SGD(
            self.param_groups("sgd", lr, weight_decay), lr=lr, momentum=momentum
        )

    def adam(
        self,
        lr: float,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> torch.optim.AdamW:
        """AdamW (decoupled weight decay) with per-parameter learning rates."""
        return torch.optim.AdamW(
            self.param_groups("adam", lr, weight_decay), lr=lr, betas=betas, eps=eps
        )


class ScaledMLP(ScaledModule):
    """An MLP whose weights and biases follow given :class:`Scaling` rules."""

    def __init__(
        self,
        dims: list[int],
        weight_scalings: list[Scaling],
        bias_scalings: list[Scaling] | None,
        *,
        activation: str = "relu",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        check_float_dtype(dtype)
        if device is not None:  # a clear error for CUDA on a machine without it
            device = runtime.device(str(device))
        self.phi = activation_fn(activation)
        self.activation = activation
        self.weight_scalings = weight_scalings
        self.bias_scalings = bias_scalings
        weights, biases = [], []
        for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            s = weight_scalings[l]
            w = (
                torch.randn(fan_out, fan_in, generator=generator, dtype=dtype)
                * s.init_std
            )
            weights.append(nn.Parameter(w.to(device)))
            if bias_scalings is not None:
                sb = bias_scalings[l]
                b = (
                    torch.randn(fan_out, generator=generator, dtype=dtype)
                    * sb.init_std
                    if sb.init_std > 0
                    else torch.zeros(fan_out, dtype=dtype)
                )
                biases.append(nn.Parameter(b.to(device)))
        self.weights = nn.ParameterList(weights)
        self.biases = nn.ParameterList(biases) if bias_scalings is not None else None

    @property
    def depth(self) -> int:
        return len(self.weights) - 1

    def effective_weight(self, layer: int) -> torch.Tensor:
        """``multiplier * w`` of 1-based ``layer`` (shape fan_out x fan_in)."""
        if not 1 <= layer <= len(self.weights):
            raise ValueError(f"layer must be in 1..{len(self.weights)}, got {layer}")
        return self.weight_scalings[layer - 1].multiplier * self.weights[layer - 1]

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Output (B, d_out); with ``return_features`` also ``[x^1, ..., x^L]``, each (B, n)."""
        d_in = self.weights[0].shape[1]
        if x.ndim != 2 or x.shape[1] != d_in:
            raise ValueError(
                f"input must have shape (batch, {d_in}), got {tuple(x.shape)}"
            )
        feats = []
        h = x
        for l, w in enumerate(self.weights):
            h = self.weight_scalings[l].multiplier * (h @ w.T)
            if self.biases is not None:
                h = h + self.bias_scalings[l].multiplier * self.biases[l]
            if l < len(self.weights) - 1:
                h = self.phi(h)
                feats.append(h)
        return (h, feats) if return_features else h

    def named_scalings(self) -> list[tuple[str, nn.Parameter, Scaling]]:
        """Every parameter with its name and scaling."""
        out = [
            (f"weights.{l}", w, s)
            for l, (w, s) in enumerate(zip(self.weights, self.weight_scalings))
        ]
        if self.biases is not None:
            out += [
                (f"biases.{l}", b, s)
                for l, (b, s) in enumerate(zip(self.biases, self.bias_scalings))
            ]
        return out


class AbcMLP(ScaledMLP):
    """An MLP with ``depth`` hidden layers of width ``n`` under an abc-parametrization (TP4).

    Weight ``l``: multiplier ``n^(-a_l)`` (the input layer also ``/ sqrt(d_in)``),
    init std ``n^(-b_l)``, SGD learning rate ``eta n^(-c)``. Hidden biases scale like
    the input weights (vector-like, ``a_1``); the output bias is width-independent.
    """

    def __init__(
        self,
        d_in: int,
        width: int,
        d_out: int,
        param: ABC | str = "mup",
        *,
        depth: int = 2,
        activation: str = "relu",
        bias: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        for v, what in ((d_in, "d_in"), (width, "width"), (d_out, "d_out")):
            _checks.positive_int(v, what)
        self.abc = as_abc(param, depth)
        self.width = width
        n = float(width)
        lr = n ** -float(self.abc.c)
        kinds: list[Kind] = ["vector"] + ["matrix"] * (depth - 1) + ["vector"]
        ws = [
            Scaling(
                kinds[l],
                n ** -float(self.abc.b[l]),
                n ** -float(self.abc.a[l]) / (math.sqrt(d_in) if l == 0 else 1.0),
                lr,
                None,
            )
            for l in range(depth + 1)
        ]
        bs = None
        if bias:
            hidden = Scaling("vector", 0.0, n ** -float(self.abc.a[0]), lr, None)
            bs = [hidden] * depth + [Scaling("scalar", 0.0, 1.0, lr, None)]
        super().__init__(
            [d_in] + [width] * depth + [d_out],
            ws,
            bs,
            activation=activation,
            generator=generator,
            dtype=dtype,
            device=device,
        )

    def lr(self, eta: float) -> float:
        """The SGD learning rate ``eta n^(-c)`` of this width."""
        return float(eta) * float(self.width) ** -float(self.abc.c)

    def sgd(self, eta: float, **kwargs) -> torch.optim.SGD:  # type: ignore[override]
        """Plain SGD at the abc learning rate (same rate for every tensor)."""
        return super().sgd(eta, **kwargs)


def tp5_scalings(
    param: str,
    form: str,
    d_in: int,
    width: int,
    d_out: int,
    depth: int,
    base_width: int,
    bias_std: float = 0.0,
) -> tuple[list[Scaling], list[Scaling]]:
    """Weight and bias scalings of TP5 Table 3 (``form="table3"``) or Table 8 (``"table8"``).

    ``m = width / base_width``. SP: init var 1/fan_in, no multipliers, every learning
    rate ``eta``. muP (Table 3): output init var ``1/(n_0 m^2)``; SGD lr ``eta m`` for
    input weights and biases, ``eta`` hidden, ``eta / m`` output; Adam lr ``eta`` for
    input weights and biases, ``eta / m`` hidden and output. Table 8 instead stores the
    output with init var ``1/n_0``, multiplies it by ``1/m`` in the forward pass and
    trains it at ``eta m`` (SGD) or ``eta`` (Adam).

    Hidden biases start at ``N(0, bias_std^2)`` (default 0: zeros). A bias is vector-like
    with fan-in 1, so Table 3's "init var 1/fan_in" makes its variance a width-independent
    constant; ``bias_std`` is that constant. The output bias always starts at zero.
    """
    m = width / base_width
    inp_std, hid_std, out_sp_std = d_in**-0.5, width**-0.5, width**-0.5
    bias_std = _checks.nonnegative_float(bias_std, "bias_std")
    if param == "sp":
        w = [Scaling("vector", inp_std, 1.0, 1.0, 1.0)]
        w += [Scaling("matrix", hid_std, 1.0, 1.0, 1.0)] * (depth - 1)
        w += [Scaling("vector", out_sp_std, 1.0, 1.0, 1.0)]
        b = [Scaling("vector", bias_std, 1.0, 1.0, 1.0)] * depth + [
            Scaling("scalar", 0.0, 1.0, 1.0, 1.0)
        ]
        return w, b
    w = [Scaling("vector", inp_std, 1.0, m, 1.0)]
    w += [Scaling("matrix", hid_std, 1.0, 1.0, 1.0 / m)] * (depth - 1)
    if form == "table3":
        w += [Scaling("vector", base_width**-0.5 / m, 1.0, 1.0 / m, 1.0 / m)]
    else:
        w += [Scaling("vector", base_width**-0.5, 1.0 / m, m, 1.0)]
    b = [Scaling("vector", bias_std, 1.0, m, 1.0)] * depth + [
        Scaling("scalar", 0.0, 1.0, 1.0, 1.0)
    ]
    return w, b


class MuMLP(ScaledMLP):
    """An MLP in TP5's muP or SP with a base width (SGD and Adam learning rates per tensor).

    At ``width == base_width`` muP and SP are the same network. ``form`` picks TP5 Table 3
    (the paper's) or Table 8 (the ``mup`` package's: ``MuReadout`` + ``MuSGD``/``MuAdam``);
    they train identically. ``bias_std`` draws the hidden biases from
    ``N(0, bias_std^2)`` instead of zeros (the same at every width: biases are
    vector-like); it needs ``bias=True``.
    """

    def __init__(
        self,
        d_in: int,
        width: int,
        d_out: int,
        param: Literal["mup", "sp"] = "mup",
        *,
        depth: int = 2,
        activation: str = "relu",
        bias: bool = True,
        base_width: int = 64,
        form: Literal["table3", "table8"] = "table8",
        bias_std: float = 0.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        bias_std = _checks.nonnegative_float(bias_std, "bias_std")
        if bias_std > 0 and not bias:
            raise ValueError(
                f"bias_std={bias_std:g} needs bias=True (there are no biases to draw)"
            )
        for v, what in (
            (d_in, "d_in"),
            (width, "width"),
            (d_out, "d_out"),
            (base_width, "base_width"),
        ):
            _checks.positive_int(v, what)
        _checks.positive_int(depth, "depth")
        key = str(param).strip().lower().replace("μ", "mu")
        if key not in ("mup", "sp"):
            raise ValueError(
                f"MuMLP param must be 'mup' or 'sp', got {param!r} "
                "(for other parametrizations use AbcMLP)"
            )
        if form not in ("table3", "table8"):
            raise ValueError(f"form must be 'table3' or 'table8', got {form!r}")
        self.param, self.form, self.width, self.base_width = (
            key,
            form,
            width,
            base_width,
        )
        self.bias_std = bias_std
        ws, bs = tp5_scalings(
            key, form, d_in, width, d_out, depth, base_width, bias_std
        )
        super().__init__(
            [d_in] + [width] * depth + [d_out],
            ws,
            bs if bias else None,
            activation=activation,
            generator=generator,
            dtype=dtype,
            device=device,
        )


def nt_mlp(
    d_in: int,
    width: int,
    d_out: int,
    *,
    depth: int = 2,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> ScaledMLP:
    """neural-tangents' ``stax`` MLP in the NTK parameterization: ``depth`` x
    [Dense(w_std, b_std), activation] + Dense(w_std, b_std), i.e. every layer computes
    ``w_std / sqrt(fan_in) * x @ W^T + b_std * b`` with ``W, b ~ N(0, 1)`` (biases only when
    ``b_std > 0``). Its kernels converge to :func:`mupbook.kernels.mlp_kernels` with the
    same arguments. With ``w_std = 1, b_std = 0`` it is ``AbcMLP(..., "ntp")``."""
    for v, what in ((d_in, "d_in"), (width, "width"), (d_out, "d_out")):
        _checks.positive_int(v, what)
    _checks.nonnegative_int(depth, "depth")
    for v, what in ((w_std, "w_std"), (b_std, "b_std")):
        _checks.nonnegative_float(v, what)
    dims = [d_in] + [width] * depth + [d_out]
    kinds: list[Kind] = (
        ["vector"] + ["matrix"] * max(depth - 1, 0) + (["vector"] if depth else [])
    )
    ws = [
        Scaling(k, 1.0, w_std / math.sqrt(fan_in), 1.0, None)
        for k, fan_in in zip(kinds, dims[:-1])
    ]
    bs = (
        [Scaling("vector", 1.0, b_std, 1.0, None) for _ in range(depth)]
        + [Scaling("scalar", 1.0, b_std, 1.0, None)]
        if b_std > 0
        else None
    )
    return ScaledMLP(
        dims,
        ws,
        bs,
        activation=activation,
        generator=generator,
        dtype=dtype,
        device=device,
    )


def parameter_kinds(model: nn.Module, base: nn.Module) -> dict[str, Kind]:
    """Classify every parameter of ``model`` by comparing it with ``base``, the same
    architecture at another width: the number of dimensions whose size differs is
    0 (scalar-like: finite), 1 (vector-like) or 2 (matrix-like)."""
    return {
        name: kind for name, (kind, _) in explain_parameter_kinds(model, base).items()
    }


def explain_parameter_kinds(
    model: nn.Module, base: nn.Module
) -> dict[str, tuple[Kind, str]]:
    """:func:`parameter_kinds` with the reason for each verdict: ``{name: (kind, why)}``,
    ``why`` naming the dimensions that grow with width (e.g. ``"(27, 256) vs (27, 64):
    dim 1 grows"``)."""
    ours = dict(model.named_parameters())
    theirs = dict(base.named_parameters())
    if ours.keys() != theirs.keys():
        missing = sorted(set(ours) ^ set(theirs))
        raise ValueError(f"model and base have different parameters: {missing[:5]}")
    out: dict[str, tuple[Kind, str]] = {}
    for name, p in ours.items():
        q = theirs[name]
        if p.ndim != q.ndim:
            raise ValueError(
                f"{name}: {p.ndim} dimensions in model but {q.ndim} in base"
            )
        grows = [i for i, (a, b) in enumerate(zip(p.shape, q.shape)) if a != b]
        if len(grows) > 2:
            raise ValueError(
                f"{name}: {len(grows)} dimensions change with width; only up to 2 "
                "(vector- or matrix-like) have a muP rule"
            )
        shapes = f"{tuple(p.shape)} vs {tuple(q.shape)}"
        why = (
            f"{shapes}: no dimension grows with width"
            if not grows
            else f"{shapes}: dim{'s' if len(grows) > 1 else ''} "
            f"{' and '.join(map(str, grows))} grow{'' if len(grows) > 1 else 's'}"
        )
        out[name] = (("scalar", "vector", "matrix")[len(grows)], why)
    return out
