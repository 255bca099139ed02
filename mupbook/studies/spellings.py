"""One muP, three spellings: the book's three ways of writing muP are one parametrization.

An MLP with ``L`` hidden layers of width ``n`` (input dimension ``d``, fixed) is written,
per tensor, with exponents: effective weights ``W = n^-a w``, stored ``w ~ N(0, n^-2b)``
(the input layer's also divided by ``sqrt(d)``), SGD learning rate ``eta n^-c``; biases
start at zero and have only ``a`` and ``c``. The book spells muP three ways:

1. **TP4's abc-parametrization** (chapter 4, :mod:`mupbook.abc`): ``a = (-1/2, 0, ..., 0,
   1/2)``, ``b = 1/2``, one ``c = 0``; hidden biases share the input layer's ``a``.
2. **TP5's Table 3** (chapters 3 and 6, :func:`mupbook.nn.tp5_scalings`, base width 1): no
   multipliers; init variance ``1/d``, ``1/n``, ``1/n^2`` and SGD learning rates ``eta n``,
   ``eta``, ``eta / n`` for input, hidden and output weights; ``eta n`` for hidden biases.
3. **N(0, 1/n) and plain SGD** (chapters 8 and 9: :mod:`mupbook.limits.linear`, Word2Vec):
   every weight of variance ``1/n`` (the input's ``1/(d n)``), one learning rate ``eta``.

The maps between them (:func:`spellings`):

* 1 -> 2 is TP4's abc symmetry ``(a + t, b - t, c - 2t)`` applied per tensor with
  ``t = -a`` (so the learning rate becomes per tensor): ``W`` is the same tensor at every
  step, since SGD on ``w`` moves ``W = n^-a w`` by ``n^-2a`` times the step on ``w``. It
  holds for every network trained by SGD (any activation, biases, depth).
* 1 -> 3 moves the multipliers between layers, ``a -> a + h`` with ``h = (1/2, 0, ..., 0,
  -1/2)`` (and ``+1/2`` on every hidden bias), ``b`` and ``c`` unchanged. Each hidden
  layer's output is multiplied by ``n^-1/2`` and the readout's input weight by ``n^1/2``;
  the function is unchanged iff every activation is positively homogeneous,
  ``phi(s z) = s phi(z)`` for ``s > 0`` (linear, ReLU: a bias scaled with its layer keeps
  ``phi(s (W x + b)) = s phi(W x + b)``), and then SGD stays equivalent because the
  gradient of a tensor scaled by ``s`` is scaled by ``1/s``. It fails for tanh and GELU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch

from .. import _checks, runtime
from ..abc import mup
from ..nn import ScaledMLP, Scaling, activation_fn

#: Activations for which the third spelling (multipliers moved between layers) is muP.
POSITIVELY_HOMOGENEOUS = ("linear", "relu")


@dataclass(frozen=True)
class Spelling:
    """Per-tensor exponents of one spelling of a parametrization (module docstring).

    ``a``, ``b``, ``c``: one per weight layer (input, hidden..., output); ``bias_a``,
    ``bias_c``: one per layer's bias (biases start at zero). ``via``: how it is reached from
    TP4's spelling; ``holds_for``: the networks for which it is the same parametrization.
    """

    name: str
    a: tuple[Fraction, ...]
    b: tuple[Fraction, ...]
    c: tuple[Fraction, ...]
    bias_a: tuple[Fraction, ...]
    bias_c: tuple[Fraction, ...]
    via: str
    holds_for: str

    @property
    def depth(self) -> int:
        return len(self.a) - 1

    def scalings(self, d_in: int, width: int) -> tuple[list[Scaling], list[Scaling]]:
        """Weight and bias :class:`~mupbook.nn.Scaling` s at ``width``: init std
        ``n^-b`` (input: ``/ sqrt(d_in)``), multiplier ``n^-a``, SGD learning rate
        ``n^-c`` (times eta)."""
        n = float(_checks.positive_int(width, "width"))
        d = _checks.positive_int(d_in, "d_in")
        L = self.depth
        kinds = ["vector"] + ["matrix"] * (L - 1) + ["vector"]
        ws = [
            Scaling(
                kinds[l],  # type: ignore[arg-type]
                n ** -float(self.b[l]) / (math.sqrt(d) if l == 0 else 1.0),
                n ** -float(self.a[l]),
                n ** -float(self.c[l]),
                None,
            )
            for l in range(L + 1)
        ]
        bs = [
            Scaling(
                "vector" if l < L else "scalar",
                0.0,
                n ** -float(self.bias_a[l]),
                n ** -float(self.bias_c[l]),
                None,
            )
            for l in range(L + 1)
        ]
        return ws, bs


def spellings(depth: int = 2) -> dict[str, Spelling]:
    """muP for an MLP with ``depth`` hidden layers in the book's three spellings:
    ``"tp4"``, ``"tp5"`` (Table 3, base width 1) and ``"sgd"`` (N(0, 1/n), one rate)."""
    base = mup(depth)
    L = base.depth
    a, b = base.a, base.b
    c = (base.c,) * (L + 1)
    bias_a = (a[0],) * L + (Fraction(0),)
    bias_c = (base.c,) * (L + 1)
    tp4 = Spelling(
        "TP4 abc",
        a,
        b,
        c,
        bias_a,
        bias_c,
        "itself",
        "every network",
    )
    # abc symmetry per tensor, t = -a: no multipliers left
    tp5 = Spelling(
        "TP5 Table 3",
        tuple(Fraction(0) for _ in a),
        tuple(x + y for x, y in zip(a, b)),
        tuple(z + 2 * x for x, z in zip(a, c)),
        tuple(Fraction(0) for _ in bias_a),
        tuple(z + 2 * x for x, z in zip(bias_a, bias_c)),
        "abc symmetry (a + t, b - t, c - 2t) per tensor, t = -a",
        "every network trained by SGD",
    )
    h = homogeneity_shift(depth)
    cumulative = [sum(h[: l + 1], Fraction(0)) for l in range(L + 1)]
    sgd = Spelling(
        "N(0, 1/n), plain SGD",
        tuple(x + s for x, s in zip(a, h)),
        b,
        c,
        tuple(x + s for x, s in zip(bias_a, cumulative)),
        bias_c,
        "multipliers moved between layers, a + h with sum(h) = 0",
        "positively homogeneous networks: linear, ReLU (not tanh, GELU)",
    )
    return {"tp4": tp4, "tp5": tp5, "sgd": sgd}


def homogeneity_shift(depth: int = 2) -> tuple[Fraction, ...]:
    """``h`` with ``a + h = 0`` for muP's weights: ``(1/2, 0, ..., 0, -1/2)``, summing to 0."""
    return tuple(-x for x in mup(depth).a)


def model(
    spelling: Spelling,
    d_in: int,
    width: int,
    d_out: int,
    *,
    activation: str = "relu",
    bias: bool = True,
    seed: int = 0,
) -> ScaledMLP:
    """The MLP of ``spelling`` in float64, drawn from ``seed`` (every spelling draws the
    same standard normals, so their effective weights differ only by the spelling's
    factors)."""
    ws, bs = spelling.scalings(d_in, width)
    return ScaledMLP(
        [d_in] + [width] * spelling.depth + [d_out],
        ws,
        bs if bias else None,
        activation=activation,
        generator=runtime.generator(seed),
        dtype=torch.float64,
    )


def train_spellings(
    activation: str = "relu",
    *,
    depth: int = 2,
    width: int = 300,
    d_in: int = 8,
    d_out: int = 2,
    steps: int = 20,
    lr: float = 0.1,
    batch: int = 16,
    bias: bool = True,
    seed: int = 0,
    which: dict[str, Spelling] | None = None,
) -> dict[str, torch.Tensor]:
    """Train the same MLP in every spelling (default :func:`spellings`) by ``steps``
    full-batch SGD steps at ``eta = lr`` on a fixed regression batch (``x ~ N(0, I)``
    (batch, d_in), targets ``1 + N(0, 1/4)`` (batch, d_out), loss half the mean squared
    error), in float64; return each one's outputs on ``batch`` fresh inputs,
    ``{name: (batch, d_out)}``."""
    _checks.positive_int(steps, "steps")
    activation_fn(activation)
    which = spellings(depth) if which is None else which
    gen = runtime.generator(seed + 1)
    x = torch.randn(batch, d_in, generator=gen, dtype=torch.float64)
    y = 1.0 + 0.5 * torch.randn(batch, d_out, generator=gen, dtype=torch.float64)
    x_test = torch.randn(batch, d_in, generator=gen, dtype=torch.float64)
    out = {}
    for key, s in which.items():
        net = model(
            s, d_in, width, d_out, activation=activation, bias=bias, seed=seed
        )
        opt = net.sgd(lr)
        for _ in range(steps):
            loss = (net(x) - y).pow(2).mean() / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            out[key] = net(x_test)
    return out


def disagreement(
    outputs: dict[str, torch.Tensor], reference: str = "tp4"
) -> dict[str, float]:
    """``max |f_s - f_reference|`` over the test inputs and outputs, per spelling ``s``."""
    ref = outputs[reference]
    return {
        k: float((v - ref).abs().max()) for k, v in outputs.items() if k != reference
    }


# ------------------------------------------------------------------------- the table


def _power(e: Fraction, symbol: str = "n") -> str:
    if e == 0:
        return "1"
    if e == 1:
        return symbol
    if e == -1:
        return f"1/{symbol}"
    if e < 0:
        return f"1/{symbol}^{-e}"
    return f"{symbol}^{e}"


def _signed(x: Fraction) -> str:
    return "0" if x == 0 else f"{'+' if x > 0 else '-'}{abs(x)}"


def spelling_table(depth: int = 2) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: per tensor (input, hidden, output weights, hidden biases) its
    TP4 exponents, the abc shift ``t`` to TP5's Table 3, TP5's init variance and SGD
    learning rate, the homogeneity shift ``h`` and the N(0, 1/n) spelling's variance and
    learning rate, all computed from :func:`spellings`."""
    sp = spellings(depth)
    tp4, tp5, sgd = sp["tp4"], sp["tp5"], sp["sgd"]
    L = tp4.depth
    names = ["input weights W^1"]
    names += [f"hidden weights W^2..W^{L}" if L > 2 else "hidden weights W^2"] * (
        L > 1
    )
    names += [f"output weights W^{L + 1}"]
    layers = [0] + ([1] if L > 1 else []) + [L]

    def var(s: Spelling, l: int) -> str:
        """init variance n^(-2(a + b)), the input layer's divided by d"""
        e = -2 * (s.a[l] + s.b[l])
        if l > 0:
            return _power(e)
        return (
            "1/d" if e == 0 else f"1/(d {_power(-e)})" if e < 0 else f"{_power(e)}/d"
        )

    def rate(c: Fraction) -> str:
        """the SGD learning rate eta n^(-c)"""
        return "η" if c == 0 else f"η/{_power(c)}" if c > 0 else f"η {_power(-c)}"

    rows = []
    for name, l in zip(names, layers):
        rows.append(
            [
                name,
                f"{tp4.a[l]}, {tp4.b[l]}, {tp4.c[l]}",
                _signed(tp5.a[l] - tp4.a[l]),
                f"{var(tp5, l)}, {rate(tp5.c[l])}",
                _signed(sgd.a[l] - tp4.a[l]),
                f"{var(sgd, l)}, {rate(sgd.c[l])}",
            ]
        )
    rows.append(
        [
            "hidden biases (start at 0)",
            f"{tp4.bias_a[0]}, -, {tp4.bias_c[0]}",
            _signed(tp5.bias_a[0] - tp4.bias_a[0]),
            f"0, {rate(tp5.bias_c[0])}",
            _signed(sgd.bias_a[0] - tp4.bias_a[0]),
            f"0, {rate(sgd.bias_c[0])}",
        ]
    )
    header = [
        "tensor",
        "TP4: a, b, c",
        "t (abc symmetry)",
        "TP5 Table 3: init var, SGD lr",
        "h (moved multiplier)",
        "N(0, 1/n): init var, SGD lr",
    ]
    return header, rows


def maps_table(depth: int = 2) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: each spelling, how it is reached from TP4's and for which
    networks it is muP."""
    rows = [[s.name, s.via, s.holds_for] for s in spellings(depth).values()]
    return ["spelling", "reached from TP4's by", "is muP for"], rows
