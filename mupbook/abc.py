"""abc-parametrizations of an L-hidden-layer MLP (TP4, section 3 and Table 1).

Layer ``l`` (1-based; layer ``L+1`` is the readout) has effective weights
``W^l = n^(-a_l) w^l`` with trainable ``w^l ~ N(0, n^(-2 b_l))``, and SGD uses the
learning rate ``eta n^(-c)``. Exponents are exact rationals
(:class:`fractions.Fraction`), so that conditions such as ``r = 0`` are decided
exactly rather than up to rounding.

Which result of TP4 :func:`classify` applies (TP4 states them for an activation that is
``tanh`` or a smooth version of ReLU, its Assumption 3.1):

* the exponent ``r`` (Definition 3.2) and **stability** (Theorem 3.3): the conditions at
  initialization and during training;
* **nontriviality**: a stable parametrization moves the function iff
  ``a_{L+1} + b_{L+1} + r = 1`` or ``2 a_{L+1} + c = 1`` (stated right after
  Theorem 3.3);
* **feature learning iff r = 0** (Theorem 3.6), **kernel regime iff r > 0**
  (Theorem 3.8), hence the **Dynamical Dichotomy** (Corollary 3.9): a stable,
  nontrivial parametrization is one or the other, never both;
* which layers are **updated maximally** (``r_l = 0``) and whether the readout is
  updated or initialized maximally: TP4 section 5 (Propositions 5.3 and 5.5).

For ReLU the exponents are the same heuristics, but the theorems are not proved; for a
*linear* network the dichotomy fails (TP4 notes that a linear network whose first layer
alone is trained is in both regimes at once), while ``r`` still gives the exponent of the
feature updates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational
from typing import Sequence

from . import _checks

Number = int | Fraction | str


def _as_fraction(value: object, what: str) -> Fraction:
    """Convert ints, Fractions and strings such as ``"1/2"`` to a Fraction.

    Floats are refused unless they are exact binary fractions of a small
    denominator (0.5, -0.25, ...), since 0.1 would silently become 3602879701896397/2**55.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got a bool")
    if isinstance(value, Rational):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, got {value!r}")
        frac = Fraction(value)
        if frac.denominator > 64:
            raise ValueError(
                f"{what}={value!r} is not an exact small fraction; pass a Fraction or a string like '1/3'"
            )
        return frac
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{what}={value!r} is not a number") from None
    raise ValueError(f"{what} must be a number, got {type(value).__name__}")


@dataclass(frozen=True)
class ABC:
    """An abc-parametrization: per-layer ``a``, ``b`` (length L+1) and a global ``c``."""

    a: tuple[Fraction, ...]
    b: tuple[Fraction, ...]
    c: Fraction
    name: str = "custom"

    def __post_init__(self) -> None:
        if isinstance(self.a, (str, bytes)) or isinstance(self.b, (str, bytes)):
            raise ValueError("a and b must be sequences of numbers, one per layer")
        try:
            a = tuple(_as_fraction(v, f"a_{i + 1}") for i, v in enumerate(self.a))
            b = tuple(_as_fraction(v, f"b_{i + 1}") for i, v in enumerate(self.b))
        except TypeError:
            raise ValueError(
                "a and b must be sequences of numbers, one per layer"
            ) from None
        if len(a) != len(b):
            raise ValueError(
                f"a and b need one entry per layer; got {len(a)} and {len(b)}"
            )
        if len(a) < 2:
            raise ValueError(
                f"an MLP with L >= 1 hidden layers has L+1 >= 2 weight layers; got {len(a)} exponents"
            )
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "c", _as_fraction(self.c, "c"))

    @property
    def depth(self) -> int:
        """L, the number of hidden layers."""
        return len(self.a) - 1

    def shifted(self, t: Number) -> "ABC":
        """The equivalent parametrization ``(a + t, b - t, c - 2t)`` (same training dynamics)."""
        t = _as_fraction(t, "t")
        return ABC(
            tuple(x + t for x in self.a),
            tuple(x - t for x in self.b),
            self.c - 2 * t,
            self.name,
        )

    def __str__(self) -> str:
        fmt = lambda xs: "(" + ", ".join(str(x) for x in xs) + ")"  # noqa: E731
        return f"{self.name}: a={fmt(self.a)}, b={fmt(self.b)}, c={self.c}"


HALF = Fraction(1, 2)


def _check_depth(depth: int) -> int:
    return _checks.integer(depth, "depth (number of hidden layers L)", minimum=1)


def sp(depth: int, c: Number = 1) -> ABC:
    """Standard parametrization: a = 0, b = (0, 1/2, ..., 1/2); c = 1 is stable (TP4 Table 1)."""
    L = _check_depth(depth)
    return ABC(
        (0,) * (L + 1),
        (0,) + (HALF,) * L,
        c,
        "SP" if _as_fraction(c, "c") == 1 else f"SP(c={c})",
    )


def ntp(depth: int) -> ABC:
    """Neural tangent parametrization: a = (0, 1/2, ..., 1/2), b = 0, c = 0."""
    L = _check_depth(depth)
    return ABC((0,) + (HALF,) * L, (0,) * (L + 1), 0, "NTP")


def mfp() -> ABC:
    """Mean-field parametrization of a 1-hidden-layer net: a = (0, 1), b = 0, c = -1."""
    return ABC((0, 1), (0, 0), -1, "MFP")


def mup(depth: int) -> ABC:
    """Maximal update parametrization: a = (-1/2, 0, ..., 0, 1/2), b = 1/2, c = 0."""
    L = _check_depth(depth)
    return ABC((-HALF,) + (0,) * (L - 1) + (HALF,), (HALF,) * (L + 1), 0, "muP")


def preset(name: str, depth: int) -> ABC:
    """A named preset: ``"sp"``, ``"sp_c0"`` (unstable), ``"ntp"``, ``"mfp"`` (depth 1), ``"mup"``."""
    key = str(name).strip().lower().replace("μ", "mu")
    if key == "sp":
        return sp(depth)
    if key == "sp_c0":
        return sp(depth, c=0)
    if key == "ntp":
        return ntp(depth)
    if key == "mup":
        return mup(depth)
    if key == "mfp":
        if _check_depth(depth) != 1:
            raise ValueError(
                "the mean-field parametrization (MFP) is defined for depth 1 only"
            )
        return mfp()
    raise ValueError(
        f"unknown parametrization {name!r}; use one of sp, sp_c0, ntp, mfp, mup"
    )


def as_abc(param: ABC | str, depth: int) -> ABC:
    """Accept a preset name or an :class:`ABC`; check that its depth matches."""
    abc = preset(param, depth) if isinstance(param, str) else param
    if not isinstance(abc, ABC):
        raise ValueError(
            f"expected an ABC or a preset name, got {type(param).__name__}"
        )
    if abc.depth != _check_depth(depth):
        raise ValueError(
            f"{abc.name} has {abc.depth} hidden layers but depth={depth} was asked for"
        )
    return abc


@dataclass(frozen=True)
class Verdict:
    """What TP4 says about an abc-parametrization (stability, Theorem 3.3; nontriviality;
    feature learning or kernel regime, Theorems 3.6 and 3.8; see the module docstring).

    ``r`` is the exponent of the feature updates: ``Delta x^L = Theta(n^-r)``.
    ``r_layers[l-1] = r_l`` (l = 1..L); ``W^l`` is updated maximally iff ``r_l = 0``.
    ``failures`` lists every broken condition in words (empty when stable and
    nontrivial); ``regime`` is one of ``"unstable"``, ``"trivial"``, ``"kernel"``,
    ``"feature learning"``.
    """

    abc: ABC
    r: Fraction
    r_layers: tuple[Fraction, ...]
    stable: bool
    nontrivial: bool
    failures: tuple[str, ...]
    readout_updated_maximally: bool
    readout_initialized_maximally: bool

    @property
    def feature_learning(self) -> bool:
        return self.stable and self.nontrivial and self.r == 0

    @property
    def kernel_regime(self) -> bool:
        return self.stable and self.nontrivial and self.r > 0

    @property
    def maximal_layers(self) -> tuple[int, ...]:
        """Hidden layers l (1-based) whose weights W^l are updated maximally (r_l = 0)."""
        return tuple(l + 1 for l, r in enumerate(self.r_layers) if r == 0)

    @property
    def regime(self) -> str:
        if not self.stable:
            return "unstable"
        if not self.nontrivial:
            return "trivial"
        return "feature learning" if self.r == 0 else "kernel"

    def __str__(self) -> str:
        lines = [f"{self.abc}", f"regime: {self.regime} (r = {self.r})"]
        lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)


def classify(
    a: Sequence[Number] | ABC,
    b: Sequence[Number] | None = None,
    c: Number | None = None,
) -> Verdict:
    """Classify an abc-parametrization: stable (TP4 Theorem 3.3), nontrivial, and then
    feature learning (r = 0, Theorem 3.6) or kernel regime (r > 0, Theorem 3.8), which
    exclude each other (the Dynamical Dichotomy, Corollary 3.9).

    With ``L`` hidden layers (``a``, ``b`` of length L+1) and ``u = a_{L+1} + b_{L+1}``::

        r   = min(u, 2 a_{L+1} + c) + c - 1 + min_{l<=L} (2 a_l + [l = 1])
        r_l = min(u, 2 a_{L+1} + c) + c - 1 + 2 a_l + [l = 1]

    stable iff (init) ``a_1 + b_1 = 0``, ``a_l + b_l = 1/2`` (2 <= l <= L), ``u >= 1/2``;
    (training) ``r >= 0``, ``2 a_{L+1} + c >= 1``, ``u + r >= 1``. Nontrivial iff
    ``u + r = 1`` or ``2 a_{L+1} + c = 1``. Feature learning iff also ``r = 0``;
    kernel regime iff ``r > 0``. Accepts an :class:`ABC` or the three parts.
    """
    if isinstance(a, (str, bytes)) or isinstance(b, (str, bytes)):
        raise ValueError(
            "a and b must be sequences of numbers, one per layer (e.g. [0, '1/2']), "
            f"not strings; got a={a!r}, b={b!r}"
        )
    abc = (
        a
        if isinstance(a, ABC)
        else ABC(
            tuple(a),
            tuple(b if b is not None else ()),
            c if c is not None else _missing_c(),
        )
    )
    A, B, C, L = abc.a, abc.b, abc.c, abc.depth
    u = A[L] + B[L]
    head = min(u, 2 * A[L] + C) + C - 1
    r_layers = tuple(head + 2 * A[l] + (1 if l == 0 else 0) for l in range(L))
    r = min(r_layers)
    fails: list[str] = []
    if A[0] + B[0] != 0:
        fails.append(
            f"unstable at init: a_1 + b_1 = {A[0] + B[0]} must be 0 "
            f"({'preactivations blow up' if A[0] + B[0] < 0 else 'preactivations vanish'})"
        )
    for l in range(1, L):
        if A[l] + B[l] != HALF:
            fails.append(
                f"unstable at init: a_{l + 1} + b_{l + 1} = {A[l] + B[l]} must be 1/2 "
                f"({'blows up' if A[l] + B[l] < HALF else 'vanishes'} with width)"
            )
    if u < HALF:
        fails.append(
            f"unstable at init: a_{L + 1} + b_{L + 1} = {u} must be >= 1/2 (the output blows up)"
        )
    if r < 0:
        fails.append(
            f"unstable in training: r = {r} must be >= 0 (feature updates blow up)"
        )
    if 2 * A[L] + C < 1:
        fails.append(
            f"unstable in training: 2 a_{L + 1} + c = {2 * A[L] + C} must be >= 1 "
            "(the readout's own update blows up the output)"
        )
    if u + r < 1:
        fails.append(
            f"unstable in training: a_{L + 1} + b_{L + 1} + r = {u + r} must be >= 1 "
            "(the readout at init times the feature updates blows up the output)"
        )
    stable = not fails
    nontrivial = u + r == 1 or 2 * A[L] + C == 1
    if stable and not nontrivial:
        fails.append(
            f"trivial: neither a_{L + 1} + b_{L + 1} + r = {u + r} nor "
            f"2 a_{L + 1} + c = {2 * A[L] + C} equals 1, so the function never moves "
            "in the limit"
        )
    return Verdict(
        abc,
        r,
        r_layers,
        stable,
        nontrivial,
        tuple(fails),
        readout_updated_maximally=2 * A[L] + C == 1,
        readout_initialized_maximally=u + r == 1,
    )


def first_step_exponent(param: ABC, layer: int) -> Fraction:
    """The exponent ``s`` with ``Delta W^l x^{l-1}(xi) = Theta(n^s)`` per coordinate after
    *one* SGD step on the input ``xi`` (learning rate ``eta n^-c``, loss derivative
    ``Theta(1)``), for a hidden layer ``l = layer`` in ``1..L``::

        s = -(a_{L+1} + b_{L+1} + c - 1 + 2 a_l + [l = 1])

    Why: ``Delta W^l = -eta n^(-c - 2 a_l) chi dh^l x^{l-1}^T`` (the multiplier ``n^-a_l``
    enters the gradient and the update once each); at initialization the backward
    vector ``dh^l = df/dh^l`` has coordinates of size ``n^-(a_{L+1} + b_{L+1})`` (the
    readout's entries, carried back through hidden layers that keep sizes); and
    ``x^{l-1} . x^{l-1}`` sums ``n`` positive terms for ``l >= 2`` (law of large numbers)
    but only the ``d`` input coordinates for ``l = 1``. This is TP4's ``r_l`` with
    ``a_{L+1} + b_{L+1}`` in place of ``min(a_{L+1} + b_{L+1}, 2 a_{L+1} + c)``: at the
    first step the readout has not moved yet, so only its initialization carries the
    gradient back. Invariant under the abc symmetry. Needs stability at initialization
    (``a_1 + b_1 = 0``, ``a_l + b_l = 1/2`` for ``2 <= l <= L``, ``a_{L+1} + b_{L+1} >= 1/2``;
    else ValueError). Examples (``l >= 2``): muP 0, NTP -1/2, SP with ``c = 0`` +1/2.
    """
    if not isinstance(param, ABC):
        raise ValueError(f"param must be an ABC, got {type(param).__name__}")
    L = param.depth
    layer = _checks.integer(layer, "layer", minimum=1)
    if layer > L:
        raise ValueError(
            f"layer must be a hidden layer 1..{L} of {param.name}, got {layer}"
        )
    A, B, C = param.a, param.b, param.c
    at_init = A[0] + B[0] == 0 and all(A[l] + B[l] == HALF for l in range(1, L))
    if not at_init or A[L] + B[L] < HALF:
        raise ValueError(
            f"{param} is not stable at initialization (see classify); the size of a "
            "first update is only defined relative to Theta(1) activations"
        )
    return -(A[L] + B[L] + C - 1 + 2 * A[layer - 1] + (1 if layer == 1 else 0))


def _missing_c() -> Fraction:
    raise ValueError("classify needs a, b and c (or one ABC)")


#: Regimes in the order the phase diagrams colour them.
REGIMES = ("unstable", "trivial", "kernel", "feature learning")


def regime_map(
    template: ABC, a_out: Sequence[Number], c: Sequence[Number]
) -> list[list[str]]:
    """The regime of ``template`` with ``a_{L+1}`` and ``c`` replaced, on a grid:
    ``out[i][j]`` for ``c[i]`` and ``a_out[j]`` (rows: c, columns: a_{L+1})."""
    a_vals = [_as_fraction(v, "a_out") for v in a_out]
    c_vals = [_as_fraction(v, "c") for v in c]
    rows = []
    for cv in c_vals:
        row = []
        for av in a_vals:
            a = template.a[:-1] + (av,)
            row.append(classify(ABC(a, template.b, cv)).regime)
        rows.append(row)
    return rows
