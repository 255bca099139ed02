"""abc-parametrizations of an L-hidden-layer MLP (TP4, section 3 and Table 1).

Layer ``l`` (1-based; layer ``L+1`` is the readout) has effective weights
``W^l = n^(-a_l) w^l`` with trainable ``w^l ~ N(0, n^(-2 b_l))``, and SGD uses the
learning rate ``eta n^(-c)``. Exponents are exact rationals
(:class:`fractions.Fraction`), so that conditions such as ``r = 0`` are decided
exactly rather than up to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational
from typing import Sequence

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
            raise ValueError("a and b must be sequences of numbers, one per layer") from None
        if len(a) != len(b):
            raise ValueError(f"a and b need one entry per layer; got {len(a)} and {len(b)}")
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
            tuple(x + t for x in self.a), tuple(x - t for x in self.b), self.c - 2 * t, self.name
        )

    def __str__(self) -> str:
        fmt = lambda xs: "(" + ", ".join(str(x) for x in xs) + ")"  # noqa: E731
        return f"{self.name}: a={fmt(self.a)}, b={fmt(self.b)}, c={self.c}"


HALF = Fraction(1, 2)


def _check_depth(depth: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth (number of hidden layers L) must be an integer >= 1, got {depth!r}")
    return depth


def sp(depth: int, c: Number = 1) -> ABC:
    """Standard parametrization: a = 0, b = (0, 1/2, ..., 1/2); c = 1 is stable (TP4 Table 1)."""
    L = _check_depth(depth)
    return ABC((0,) * (L + 1), (0,) + (HALF,) * L, c, "SP" if _as_fraction(c, "c") == 1 else f"SP(c={c})")


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
            raise ValueError("the mean-field parametrization (MFP) is defined for depth 1 only")
        return mfp()
    raise ValueError(f"unknown parametrization {name!r}; use one of sp, sp_c0, ntp, mfp, mup")


def as_abc(param: ABC | str, depth: int) -> ABC:
    """Accept a preset name or an :class:`ABC`; check that its depth matches."""
    abc = preset(param, depth) if isinstance(param, str) else param
    if not isinstance(abc, ABC):
        raise ValueError(f"expected an ABC or a preset name, got {type(param).__name__}")
    if abc.depth != _check_depth(depth):
        raise ValueError(f"{abc.name} has {abc.depth} hidden layers but depth={depth} was asked for")
    return abc
