"""Exercise checkers: tell a student whether an answer is right, and why not.

Every exercise of the book is registered under an id such as
``"ch01-variance-one"`` (in ``mupbook/exercises/chNN.py``, one module per chapter) with a checker, its reference answer and answers known
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


# The chapters' exercises register themselves on import (one module per chapter).
from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07  # noqa: E402,F401
