"""Exercise checkers: tell a student whether an answer is right, and why not.

Every exercise of the book is registered under an id such as
``"ch01-variance-one"`` (in ``mupbook/exercises/chNN.py``, one module per chapter) with a checker, its reference answer and answers known
to be wrong (the tests prove that each checker accepts the reference and rejects
those). In a notebook::

    from mupbook.exercises import check
    check("ch01-variance-one", 0.5)     # -> correct: ...  /  not yet: ...

Each exercise has a :data:`KINDS` kind: ``predict`` (commit to a slope or a sign, then
run the cell that shows it), ``derive`` (an exponent, an update rule, a condition),
``debug`` (find what breaks muP in a model, e.g. with a coordinate check), ``design`` (the
muP rule for a new kind of tensor), or ``practice`` (a computation or a tool to write).
Every chapter has at least two of the first four, and their checkers answer a typical
wrong answer with what it most likely confuses (``tests/exercises/``).

A student's function is run with a time limit (:data:`TIME_LIMIT` seconds: an endless
loop gets a "not yet", not a hung notebook), messages are cut at :data:`MAX_MESSAGE`
characters, and ``True``/``False`` are not accepted as numbers.
"""

from __future__ import annotations

import ctypes
import math
import reprlib
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

#: Seconds a check may take; a student's function still running then is stopped.
TIME_LIMIT = 5.0
#: The longest message shown (an answer echoed in full could be megabytes).
MAX_MESSAGE = 600


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


#: The kinds of exercise; all but ``practice`` make a student think (issue 16).
KINDS = ("predict", "derive", "debug", "design", "practice")
THINKING = KINDS[:4]


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: ``checker(answer) -> Feedback``; ``reference()`` builds the
    model answer; each of ``wrong`` builds an answer the checker must reject; ``kind``
    is one of :data:`KINDS`."""

    id: str
    question: str
    checker: Callable[[Any], Feedback]
    reference: Callable[[], Any]
    wrong: tuple[Callable[[], Any], ...] = field(default_factory=tuple)
    kind: str = "practice"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"exercise {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}"
            )


EXERCISES: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    if ex.id in EXERCISES:
        raise ValueError(f"exercise id {ex.id!r} is registered twice")
    EXERCISES[ex.id] = ex
    return ex


def check(exercise_id: str, answer: Any) -> Feedback:
    """Check ``answer`` against exercise ``exercise_id``; never raises for a bad answer.

    The check runs for at most :data:`TIME_LIMIT` seconds (a function answer that loops
    forever is stopped) and its message is cut at :data:`MAX_MESSAGE` characters."""
    if exercise_id not in EXERCISES:
        raise ValueError(
            f"unknown exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}"
        )
    if answer is None or answer is Ellipsis:
        return Feedback(
            False, "replace the placeholder with your answer, then run the cell again"
        )
    try:
        fb = call_with_time_limit(
            lambda: EXERCISES[exercise_id].checker(answer), TIME_LIMIT
        )
    except TimeUp:
        what = (
            "your function did not return"
            if callable(answer)
            else "checking your answer did not finish"
        )
        fb = Feedback(
            False,
            f"{what} within {TIME_LIMIT:g} s, the time limit of a check; does it loop "
            "forever? (it was stopped)",
        )
    except (
        Exception
    ) as err:  # a student's code may raise anything; report it, do not crash
        fb = Feedback(
            False, f"checking your answer raised {type(err).__name__}: {err}"
        )
    return Feedback(fb.correct, _cap(fb.message))


def _cap(message: str) -> str:
    """``message`` cut to about :data:`MAX_MESSAGE` characters."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}... ({len(message):,} characters, cut)"


def shown(x: Any) -> str:
    """A short text of an answer for a message: arrays summarized, other objects by reprlib."""
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        try:
            return np.array2string(
                np.asarray(x),
                precision=4,
                threshold=12,
                edgeitems=3,
                max_line_width=200,
            )
        except Exception:
            pass
    return reprlib.repr(x)


# --- the time limit ------------------------------------------------------------------


class TimeUp(BaseException):
    """Raised inside a check that ran out of time (a BaseException, so that a student's
    ``except Exception`` does not swallow it)."""


def call_with_time_limit(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()``, or :class:`TimeUp` after ``seconds``.

    In the main thread (Jupyter and Colab run cells there) a SIGALRM timer interrupts
    ``fn`` even inside ``time.sleep``; any timer set before is restored. Elsewhere (or
    without SIGALRM) ``fn`` runs in a daemon thread that is sent TimeUp when time is up;
    a thread blocked inside C code stops only when that call returns.
    """
    if (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    ):
        return _with_alarm(fn, seconds)
    return _in_thread(fn, seconds)


def _with_alarm(fn: Callable[[], Any], seconds: float) -> Any:
    def time_up(signum: int, frame: Any) -> None:
        raise TimeUp

    previous = signal.signal(signal.SIGALRM, time_up)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(
            signal.SIGALRM, signal.SIG_DFL if previous is None else previous
        )
        if (
            delay > 0
        ):  # someone else's timer (e.g. pytest-timeout): re-arm what is left of it
            signal.setitimer(
                signal.ITIMER_REAL,
                max(delay - (time.monotonic() - start), 1e-3),
                interval,
            )


def _in_thread(fn: Callable[[], Any], seconds: float) -> Any:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as err:  # handed to the caller below
            out["error"] = err

    worker = threading.Thread(target=run, name="mupbook-check", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _raise_in(worker, TimeUp)
        raise TimeUp
    if "error" in out:
        raise out["error"]
    return out["value"]


def _raise_in(thread: threading.Thread, exc: type[BaseException]) -> None:
    """Ask ``thread`` to raise ``exc`` at its next Python instruction (CPython only)."""
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(exc)
        )
    except (
        AttributeError,
        OSError,
    ):  # not CPython: the daemon thread is left to finish
        pass


def _is_bool(answer: Any) -> bool:
    """True for ``True``/``False`` and boolean arrays or tensors (not numbers)."""
    return isinstance(answer, (bool, np.bool_)) or str(
        getattr(answer, "dtype", "")
    ) in ("bool", "torch.bool")


# --- building blocks ---------------------------------------------------------------


def numeric(
    expected: float,
    *,
    rel_tol: float = 0.0,
    abs_tol: float = 0.0,
    hints: dict[float, str] | None = None,
    explain: str = "",
) -> Callable[[Any], Feedback]:
    """A checker for a number, with hints for known wrong values (matched within the same tolerance)."""

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)

    def checker(answer: Any) -> Feedback:
        if _is_bool(answer):
            return Feedback(
                False,
                f"{shown(answer)} is a truth value, not a number; give the number itself",
            )
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
        return Feedback(
            False, f"{value:g} is not it; reread the hint in the exercise"
        )

    return checker


def call_answer(
    answer: Callable[..., Any], *args: Any
) -> tuple[Any, Feedback | None]:
    """Call a student's function: ``(value, None)``, or ``(None, feedback)`` when it raised
    or returned None (a forgotten ``return``)."""
    try:
        got = answer(*args)
    except Exception as err:
        return None, Feedback(
            False, f"your function raised {type(err).__name__}: {err}"
        )
    if got is None:
        return None, Feedback(
            False, "your function returned None; did you forget `return`?"
        )
    return got, None


def function(
    reference: Callable[..., Any],
    cases: Callable[[], list[tuple]],
    *,
    rtol: float = 1e-6,
    explain: str = "",
    mistakes: tuple[tuple[Callable[..., Any], str], ...] = (),
) -> Callable[[Any], Feedback]:
    """A checker for a student's function: compared with ``reference`` on ``cases()``.

    ``mistakes`` pairs a typical wrong function with what it confuses: a student's
    function that agrees with one of them where it misses the reference gets that
    message instead of the bare numbers."""

    def checker(answer: Any) -> Feedback:
        if not callable(answer):
            return Feedback(
                False, f"expected a function, got {type(answer).__name__}"
            )
        for args in cases():
            want = np.asarray(reference(*args), dtype=float)
            got, failed = call_answer(answer, *args)
            if failed is not None:
                return failed
            if _is_bool(got):
                return Feedback(
                    False,
                    f"your function returned truth values ({shown(got)}), not numbers",
                )
            try:
                got = np.asarray(got, dtype=float)
            except (TypeError, ValueError):
                return Feedback(
                    False,
                    f"your function returned {type(got).__name__}, not a number",
                )
            if got.shape != want.shape or not np.allclose(
                got, want, rtol=rtol, atol=1e-12
            ):
                for mistake, message in mistakes:
                    if _agrees_everywhere(answer, mistake, cases(), rtol):
                        return Feedback(False, message)
                inputs = ", ".join(shown(a) for a in args)
                return Feedback(
                    False,
                    f"on inputs ({inputs}) it gave {shown(got)} (shape {got.shape}), "
                    f"expected {shown(want)} (shape {want.shape})",
                )
        return Feedback(True, explain or "matches the reference on every test case")

    return checker


def _agrees_everywhere(
    answer: Callable[..., Any],
    mistake: Callable[..., Any],
    cases: list[tuple],
    rtol: float,
) -> bool:
    """True if ``answer`` gives what ``mistake`` gives on every case (and never raises)."""
    for args in cases:
        try:
            got = np.asarray(answer(*args), dtype=float)
        except Exception:
            return False
        like = np.asarray(mistake(*args), dtype=float)
        if got.shape != like.shape or not np.allclose(
            got, like, rtol=rtol, atol=1e-12
        ):
            return False
    return True


def choice(
    expected: str,
    options: tuple[str, ...],
    hints: dict[str, str] | None = None,
    explain: str = "",
) -> Callable[[Any], Feedback]:
    """A checker for one answer out of ``options`` (case and spacing ignored)."""
    norm = lambda s: " ".join(
        str(s).lower().replace("_", " ").replace("-", " ").split()
    )  # noqa: E731
    by_norm = {norm(o): o for o in options}

    def checker(answer: Any) -> Feedback:
        key = norm(answer)
        if key not in by_norm:
            return Feedback(False, f"answer with one of: {', '.join(options)}")
        if key == norm(expected):
            return Feedback(True, explain or expected)
        return Feedback(
            False, (hints or {}).get(by_norm[key], f"{by_norm[key]} is not it")
        )

    return checker


# The chapters' exercises register themselves on import (one module per chapter).
from . import (  # noqa: E402,F401
    ch01,
    ch02,
    ch03,
    ch04,
    ch05,
    ch06,
    ch07,
    ch08,
    ch09,
    ch10,
)
