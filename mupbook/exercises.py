"""Exercise checkers: tell a student whether an answer is right, and why not.

Every exercise of the book is registered here under an id such as
``"ch01-variance-one"`` with a checker, its reference answer and answers known
to be wrong (the tests prove that each checker accepts the reference and rejects
those). In a notebook::

    from mupbook.exercises import check
    check("ch01-variance-one", 0.5)     # -> correct: ...  /  not yet: ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .fit import loglog_slope


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``correct`` and a message for the student."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("correct: " if self.correct else "not yet: ") + self.message

    __repr__ = __str__


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: ``checker(answer) -> Feedback``; ``reference()`` builds the
    model answer; each of ``wrong`` builds an answer the checker must reject."""

    id: str
    question: str
    checker: Callable[[Any], Feedback]
    reference: Callable[[], Any]
    wrong: tuple[Callable[[], Any], ...] = field(default_factory=tuple)


EXERCISES: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    if ex.id in EXERCISES:
        raise ValueError(f"exercise id {ex.id!r} is registered twice")
    EXERCISES[ex.id] = ex
    return ex


def check(exercise_id: str, answer: Any) -> Feedback:
    """Check ``answer`` against exercise ``exercise_id``; never raises for a bad answer."""
    if exercise_id not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}")
    if answer is None or answer is Ellipsis:
        return Feedback(False, "replace the placeholder with your answer, then run the cell again")
    try:
        return EXERCISES[exercise_id].checker(answer)
    except Exception as err:  # a student's code may raise anything; report it, do not crash
        return Feedback(False, f"checking your answer raised {type(err).__name__}: {err}")


# --- building blocks ---------------------------------------------------------------

def numeric(expected: float, *, rel_tol: float = 0.0, abs_tol: float = 0.0,
            hints: dict[float, str] | None = None, explain: str = "") -> Callable[[Any], Feedback]:
    """A checker for a number, with hints for known wrong values (matched within the same tolerance)."""

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)

    def checker(answer: Any) -> Feedback:
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return Feedback(False, f"expected a number, got {type(answer).__name__}")
        if not math.isfinite(value):
            return Feedback(False, "your answer is not a finite number")
        if close(value, expected):
            return Feedback(True, explain or f"{expected:g}")
        for wrong, hint in (hints or {}).items():
            if close(value, wrong):
                return Feedback(False, hint)
        return Feedback(False, f"{value:g} is not it; reread the hint in the exercise")

    return checker


def function(reference: Callable[..., Any], cases: Callable[[], list[tuple]], *,
             rtol: float = 1e-6, explain: str = "") -> Callable[[Any], Feedback]:
    """A checker for a student's function: compared with ``reference`` on ``cases()``."""

    def checker(answer: Any) -> Feedback:
        if not callable(answer):
            return Feedback(False, f"expected a function, got {type(answer).__name__}")
        for args in cases():
            want = np.asarray(reference(*args), dtype=float)
            try:
                got = answer(*args)
            except Exception as err:
                return Feedback(False, f"your function raised {type(err).__name__}: {err}")
            if got is None:
                return Feedback(False, "your function returned None; did you forget `return`?")
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                return Feedback(False, f"your function returned {type(got).__name__}, not a number")
            if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=1e-12):
                shown = ", ".join(f"{np.asarray(a).round(3).tolist()}" for a in args)
                return Feedback(False, f"on inputs ({shown}) it gave {got.round(4).tolist()}, "
                                       f"expected {want.round(4).tolist()}")
        return Feedback(True, explain or "matches the reference on every test case")

    return checker


def choice(expected: str, options: tuple[str, ...], hints: dict[str, str] | None = None,
           explain: str = "") -> Callable[[Any], Feedback]:
    """A checker for one answer out of ``options`` (case and spacing ignored)."""
    norm = lambda s: " ".join(str(s).lower().replace("_", " ").replace("-", " ").split())  # noqa: E731
    by_norm = {norm(o): o for o in options}

    def checker(answer: Any) -> Feedback:
        key = norm(answer)
        if key not in by_norm:
            return Feedback(False, f"answer with one of: {', '.join(options)}")
        if key == norm(expected):
            return Feedback(True, explain or expected)
        return Feedback(False, (hints or {}).get(by_norm[key], f"{by_norm[key]} is not it"))

    return checker


# --- chapter 1: square-root cancellation -----------------------------------------------

register(Exercise(
    id="ch01-variance-one",
    question="If W had iid entries of variance 1 (not 1/n), what log-log slope would the "
             "rms coordinate of W x have against n at initialization?",
    checker=numeric(0.5, abs_tol=0.05, hints={
        0.0: "that is the answer for variance 1/n; what does dividing the variance by n do?",
        1.0: "the n terms are independent and zero-mean: they add in square root, not linearly",
    }, explain="1/2: n independent zero-mean terms of size O(1) sum to O(sqrt(n))"),
    reference=lambda: 0.5,
    wrong=(lambda: 0.0, lambda: 1.0),
))


def _slope_reference(widths, sizes) -> float:
    return loglog_slope(widths, sizes).slope


def _slope_cases() -> list[tuple]:
    rng = np.random.default_rng(1)
    ws = 2.0 ** np.arange(6, 13)
    noisy = 3.0 * ws ** -0.5 * np.exp(rng.normal(0, 0.1, ws.size))
    return [(ws, 2.0 * ws ** 0.5), (ws, 0.7 * ws ** 0.0), (ws[:4], 5.0 / ws[:4]), (ws, noisy)]


register(Exercise(
    id="ch01-loglog-slope",
    question="Write slope(widths, sizes) that returns the least-squares slope of "
             "log(sizes) against log(widths).",
    checker=function(_slope_reference, _slope_cases,
                     explain="a power law C n^s is a line of slope s in log-log coordinates"),
    reference=lambda: (lambda w, s: np.polyfit(np.log(w), np.log(s), 1)[0]),
    wrong=(lambda: (lambda w, s: np.polyfit(w, s, 1)[0]),
           lambda: (lambda w, s: np.polyfit(np.log(w), s, 1)[0])),
))

register(Exercise(
    id="ch01-ntp-extrapolate",
    question="Under NTP the relative feature change after training is 0.08 at width 256. "
             "Predict it at width 4096.",
    checker=numeric(0.02, rel_tol=0.1, hints={
        0.08: "that is what muP would give (Theta(1) movement); NTP's movement shrinks with width",
        0.005: "the movement shrinks like n^(-1/2), not n^(-1)",
        0.32: "the movement shrinks with width, it does not grow",
    }, explain="0.02: 4096/256 = 16 and 16^(-1/2) = 1/4"),
    reference=lambda: 0.02,
    wrong=(lambda: 0.08, lambda: 0.005),
))

register(Exercise(
    id="ch01-independent-factor",
    question="In muP, by what factor does the rms coordinate of dW x~ (x~ independent of the "
             "update) shrink when the width grows from 64 to 4096?",
    checker=numeric(8.0, rel_tol=0.05, hints={
        1.0: "that is dW x, which is correlated with the update; x~ is independent of it",
        64.0: "independent terms cancel in square root: the factor is sqrt(4096/64)",
        0.125: "give the factor by which it shrinks (a number larger than 1)",
    }, explain="8 = sqrt(4096/64): dW x~ scales like n^(-1/2) while dW x stays Theta(1)"),
    reference=lambda: 8.0,
    wrong=(lambda: 1.0, lambda: 64.0),
))


# --- chapter 2: vector-like and matrix-like parameters -------------------------------

register(Exercise(
    id="ch02-readout-update",
    question="The readout W (d_out x n) contracts the width. Its SGD update is correlated "
             "with the features x. Entries of size n^-alpha: which alpha keeps dW x of order one?",
    checker=numeric(1.0, abs_tol=0.01, hints={
        0.5: "1/2 is right for the readout at init (independent terms); an update is correlated",
        0.0: "alpha = 0 is for a finite contracted dimension; the readout sums over the width",
    }, explain="1: n correlated terms add up linearly, so each must be 1/n"),
    reference=lambda: 1.0,
    wrong=(lambda: 0.5, lambda: 0.0),
))


def _kind_reference(small: tuple, large: tuple) -> str:
    changed = sum(a != b for a, b in zip(small, large))
    return ("scalar", "vector", "matrix")[changed]


def _kind_checker(answer: Any) -> Feedback:
    if not callable(answer):
        return Feedback(False, f"expected a function, got {type(answer).__name__}")
    cases = [((16, 3), (64, 3)), ((16, 16), (64, 64)), ((10, 16), (10, 64)), ((16,), (64,)),
             ((10,), (10,)), ((3, 3, 16, 16), (3, 3, 64, 64)), ((16, 8, 3), (64, 8, 3))]
    for small, large in cases:
        want = _kind_reference(small, large)
        try:
            got = answer(small, large)
        except Exception as err:
            return Feedback(False, f"your function raised {type(err).__name__}: {err}")
        if got is None:
            return Feedback(False, "your function returned None; did you forget `return`?")
        if got != want:
            return Feedback(False, f"for shapes {small} -> {large} it said {got!r}, expected {want!r}")
    return Feedback(True, "count the dimensions that grow with width: 0, 1 or 2")


register(Exercise(
    id="ch02-kind-of",
    question="Write kind_of(shape_small, shape_large) returning 'scalar', 'vector' or 'matrix' "
             "for a parameter whose shape is shape_small at one width and shape_large at another.",
    checker=_kind_checker,
    reference=lambda: _kind_reference,
    wrong=(lambda: (lambda s, l: "matrix" if len(s) == 2 else "vector"),
           lambda: (lambda s, l: ("scalar", "vector", "matrix")[min(len(s), 2)])),
))

register(Exercise(
    id="ch02-adam-sp",
    question="Under SP with a fixed Adam learning rate, the rms coordinate of dW x for a hidden "
             "matrix W grows like n^s. What is s?",
    checker=numeric(1.0, abs_tol=0.1, hints={
        0.5: "Adam's update entries are about lr whatever the gradient: the sum over n correlated "
             "terms is not cancelled",
        0.0: "that is muP, which divides the hidden learning rate by the width",
    }, explain="1: entries of size lr, n correlated terms"),
    reference=lambda: 1.0,
    wrong=(lambda: 0.5, lambda: 0.0),
))


# --- chapter 3: abc-parametrizations and the Dynamical Dichotomy -----------------------

register(Exercise(
    id="ch03-r-sp-one-layer",
    question="What is r for SP (a = (0, 0), b = (0, 1/2), c = 1) with a single hidden layer?",
    checker=numeric(1.5, abs_tol=0.01, hints={
        0.5: "1/2 is SP's r for L >= 2, where the hidden matrix W^2 sets the minimum; with L = 1 "
             "only the input layer (with its + 1) is in the min",
        0.0: "r = 0 would be feature learning; SP is in the kernel regime",
    }, explain="3/2: min(1/2, 1) + 1 - 1 + (2 * 0 + 1)"),
    reference=lambda: 1.5,
    wrong=(lambda: 0.5, lambda: 0.0),
))

register(Exercise(
    id="ch03-shift-c",
    question="Shift muP (any depth) by t = 1/2 with the symmetry (a + t, b - t, c - 2t). What is c?",
    checker=numeric(-1.0, abs_tol=0.01, hints={
        0.0: "c changes by -2t", 1.0: "c - 2t, not c + 2t", -0.5: "c changes by 2t, not t",
    }, explain="-1: for depth 1 this is exactly the mean-field parametrization MFP"),
    reference=lambda: -1.0,
    wrong=(lambda: 0.0, lambda: 1.0),
))

register(Exercise(
    id="ch03-regime",
    question="Classify a = (0, 1/2, 1), b = (0, 0, 0), c = -1 (two hidden layers).",
    checker=choice("feature learning", ("unstable", "trivial", "kernel", "feature learning"), hints={
        "kernel": "compute r: min(1, 1) - 1 - 1 + min(0 + 1, 1) = 0",
        "unstable": "check each condition: a_1 + b_1 = 0, a_2 + b_2 = 1/2, a_3 + b_3 = 1 >= 1/2, "
                    "r = 0 >= 0, 2 a_3 + c = 1 >= 1, a_3 + b_3 + r = 1 >= 1",
    }, explain="feature learning: it is muP shifted by t = 1/2"),
    reference=lambda: "feature learning",
    wrong=(lambda: "kernel", lambda: "unstable"),
))
