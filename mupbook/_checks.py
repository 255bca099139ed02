"""Input checks shared by the whole library: one rule for each kind of argument.

Every check returns the value in its canonical Python type (``int``, ``float``, a tuple
or an int64 array) and raises :class:`ValueError` naming the argument, what is allowed
and what was given. The rules:

* an *integer* is a Python ``int`` or a NumPy integer, never a ``bool`` (``True`` is not
  a count) and never a float, even an integral one (``8.0`` is refused: a width or a
  step count typed as a float is usually a mistake upstream);
* a *number* is any real ``int``/``float``/NumPy scalar that is finite, never a ``bool``
  or a string; NaN and infinities are refused;
* a *choice* is one of a fixed tuple of strings, compared exactly;
* *seeds* are distinct integers in ``[0, 2**63)``; *widths* are positive integers in
  strictly increasing order (no repeats: a repeated seed or width would be counted twice
  as if it were independent evidence).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

SEED_BOUND = 2**63


def _show(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a huge array must not flood a message)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_integer(value: Any) -> bool:
    """True for a Python or NumPy integer that is not a ``bool``."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def integer(
    value: Any, what: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer in ``[minimum, maximum]`` (either bound optional), as ``int``."""
    bounds = " and ".join(
        b
        for b in (
            minimum is not None and f">= {minimum}",
            maximum is not None and f"<= {maximum}",
        )
        if b
    )
    allowed = f"an integer {bounds}" if bounds else "an integer"
    if (
        not is_integer(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        raise ValueError(f"{what} must be {allowed}, got {_show(value)}")
    return int(value)


def positive_int(value: Any, what: str) -> int:
    """An integer >= 1."""
    if not is_integer(value) or int(value) < 1:
        raise ValueError(f"{what} must be a positive integer, got {_show(value)}")
    return int(value)


def nonnegative_int(value: Any, what: str) -> int:
    """An integer >= 0."""
    if not is_integer(value) or int(value) < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {_show(value)}")
    return int(value)


def number(value: Any, what: str) -> float:
    """A finite real number (int, float or NumPy scalar; not bool, not NaN or inf)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, np.floating, np.integer)
    ):
        raise ValueError(f"{what} must be a finite number, got {_show(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v}")
    return v


def positive_float(value: Any, what: str) -> float:
    """A finite number > 0."""
    v = number(value, what)
    if v <= 0:
        raise ValueError(f"{what} must be a finite number > 0, got {v:g}")
    return v


def nonnegative_float(value: Any, what: str) -> float:
    """A finite number >= 0."""
    v = number(value, what)
    if v < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {v:g}")
    return v


def probability(value: Any, what: str, *, open_right: bool = True) -> float:
    """A number in ``[0, 1)`` (``open_right``) or ``[0, 1]``."""
    v = number(value, what)
    if v < 0 or v > 1 or (open_right and v == 1):
        raise ValueError(
            f"{what} must lie in [0, 1{')' if open_right else ']'}, got {v:g}"
        )
    return v


def choice(value: Any, allowed: Sequence[str], what: str) -> str:
    """One of ``allowed`` (exact match)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"{what} must be one of {', '.join(map(repr, allowed))}, got {_show(value)}"
        )
    return value


def seed(value: Any, what: str = "seed") -> int:
    """A seed: an integer in ``[0, 2**63)``."""
    if not is_integer(value):
        raise ValueError(f"{what} must be an integer, got {_show(value)}")
    if not 0 <= int(value) < SEED_BOUND:
        raise ValueError(f"{what} must lie in [0, 2**63), got {int(value)}")
    return int(value)


def _listed(values: Any, what: str) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{what} must be a sequence, got {_show(values)}")
    return list(values)


def seeds(values: Iterable[Any], what: str = "seeds") -> tuple[int, ...]:
    """At least one seed, all distinct (a repeated seed is one run counted twice)."""
    out = tuple(seed(s, f"every entry of {what}") for s in _listed(values, what))
    if not out:
        raise ValueError(f"{what} must name at least one seed")
    if len(set(out)) != len(out):
        raise ValueError(
            f"{what} must be distinct (a repeated seed is the same run counted twice), got {list(out)}"
        )
    return out


def widths(
    values: Iterable[Any], what: str = "widths", *, minimum_count: int = 2
) -> np.ndarray:
    """At least ``minimum_count`` positive integer widths in strictly increasing order;
    returned as an int64 array (W,)."""
    ws = [positive_int(w, f"every entry of {what}") for w in _listed(values, what)]
    if len(ws) < minimum_count:
        raise ValueError(
            f"{what} must hold at least {minimum_count} width{'s' if minimum_count > 1 else ''}, got {ws}"
        )
    if any(b <= a for a, b in zip(ws, ws[1:])):
        raise ValueError(
            f"{what} must be strictly increasing (sorted, no repeats), got {ws}"
        )
    return np.asarray(ws, dtype=np.int64)


def float64_tensor(x: Any, name: str, ndim: int | None = None) -> torch.Tensor:
    """``x`` as a float64 tensor on its own device; ValueError for bad type/dtype/values."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "f":
            raise ValueError(
                f"{name} must have a floating dtype, got numpy {x.dtype}"
            )
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif isinstance(x, torch.Tensor):
        if not x.dtype.is_floating_point:
            raise ValueError(f"{name} must have a floating dtype, got {x.dtype}")
    else:
        raise ValueError(
            f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}"
        )
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(x.shape)}")
    x = x.detach().to(torch.float64)
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} has non-finite entries (nan or inf)")
    return x


def finite_tensor(x: Any, name: str, ndim: int) -> torch.Tensor:
    """A non-empty ``ndim``-D floating-point torch tensor with finite entries, detached
    (dtype and device kept)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != ndim or 0 in x.shape:
        raise ValueError(
            f"{name} must be a non-empty {ndim}-D tensor, got shape {tuple(x.shape)}"
        )
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be floating point, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} has non-finite entries (nan or inf)")
    return x.detach()
