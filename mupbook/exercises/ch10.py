"""Exercises of the chapter "Deep limits that learn features" (the pi-limit)."""

from __future__ import annotations

import numpy as np

from . import Exercise, Feedback, call_answer, choice, numeric, register, shown

# ------------------------------------------------------------------ the new row


def _new_row(g_prev, dg):
    """The row one example appends to layer l: (A, B) = (|g| dg, g / |g|)."""
    g_prev, dg = np.asarray(g_prev, dtype=float), np.asarray(dg, dtype=float)
    s = np.linalg.norm(g_prev)
    return s * dg, g_prev / s


def _row_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(10)
    return [
        (3.0 * rng.normal(size=4), rng.normal(size=4)),
        (0.2 * rng.normal(size=6), rng.normal(size=6)),
        (np.array([3.0, 4.0]), np.array([1.0, -2.0])),
    ]


def _check_new_row(answer) -> Feedback:
    if not callable(answer):
        return Feedback(False, f"expected a function, got {type(answer).__name__}")
    for g, dg in _row_cases():
        got, failed = call_answer(answer, g.copy(), dg.copy())
        if failed is not None:
            return failed
        try:
            A, B = (np.asarray(v, dtype=float) for v in got)
        except (TypeError, ValueError):
            return Feedback(
                False, f"return a pair (A, B) of vectors, got {shown(got)}"
            )
        A_ref, B_ref = _new_row(g, dg)
        if A.shape != A_ref.shape or B.shape != B_ref.shape:
            return Feedback(
                False,
                f"A and B are r-vectors like the inputs (shape {A_ref.shape}), got "
                f"{A.shape} and {B.shape}",
            )
        s = np.linalg.norm(g)
        if np.allclose(B, g) and not np.isclose(s, 1.0):
            return Feedback(
                False,
                "B enters the layer only through phi(Omega B); the V-transform is written "
                "for unit vectors, and phi is positively homogeneous: where does the size "
                "of g go?",
            )
        if np.allclose(B, B_ref) and np.allclose(A, dg):
            return Feedback(
                False,
                "B is right, but the rank-one term is dh x^T with x = phi(h^{l-1}), whose "
                "size is that of g^{l-1}: it has to appear somewhere in the row",
            )
        if np.allclose(B, B_ref) and np.allclose(A, dg / s):
            return Feedback(
                False,
                "phi(Omega g) = |g| phi(Omega g_hat): the norm multiplies, it does not divide",
            )
        if not (
            np.allclose(A, A_ref, rtol=1e-9) and np.allclose(B, B_ref, rtol=1e-9)
        ):
            return Feedback(
                False,
                f"on g_prev = {shown(g)}, dg = {shown(dg)} it gave A = {shown(A)}, "
                f"B = {shown(B)}, which is not the row of that rank-one term",
            )
    return Feedback(
        True,
        "A = |g| dg and B = g / |g|: phi(Omega g) = |g| phi(Omega g_hat), so the input's norm "
        "moves into A and B stays a unit vector",
    )


register(
    Exercise(
        id="pi-new-row",
        kind="derive",
        question="Write new_row(g_prev, dg) -> (A, B): the row one training example appends "
        "to hidden layer l, from the r coordinates g_prev of layer l-1 and the gradient dg "
        "of the loss with respect to layer l's r coordinates.",
        checker=_check_new_row,
        reference=lambda: _new_row,
        wrong=(
            lambda: lambda g, dg: (dg, g),
            lambda: lambda g, dg: (dg, g / np.linalg.norm(g)),
            lambda: lambda g, dg: (dg / np.linalg.norm(g), g / np.linalg.norm(g)),
        ),
    )
)

# ------------------------------------------------------------------ why the form is kept

_SPACES = (
    "the column space of Omega_l",
    "the row space of the previous weight",
    "the span of the training inputs",
)

register(
    Exercise(
        id="pi-projected-span",
        kind="derive",
        question="After the projection, every column of the update of W^l (l >= 2) lies in "
        "which space?",
        checker=choice(
            _SPACES[0],
            _SPACES,
            hints={
                _SPACES[
                    1
                ]: "that describes where the *rows* of a rank-one term x^T come "
                "from; the projection acts on the other side",
                _SPACES[
                    2
                ]: "for the input layer the rows do; the projection decides the columns",
            },
            explain="the projection maps every column onto Omega_l's columns, so the update is "
            "Omega_l times an r x n matrix, one rank-one term per example, exactly the form "
            "the layer already has",
        ),
        reference=lambda: _SPACES[0],
        wrong=(lambda: _SPACES[1], lambda: _SPACES[2]),
    )
)

# ------------------------------------------------------------------ memory of the paper's run

#: Layer 2's rows after the paper's MAML run: r + 50,000 steps x 8 tasks x 5 queries;
#: each row holds A and B (400 float16 numbers each) and c (one float32).
_ROWS = 400 + 50_000 * 8 * 5
_GIB = _ROWS * (2 * 400 * 2 + 4) / 2**30

register(
    Exercise(
        id="pi-memory",
        question="The paper's infinite pi-net for MAML: r = 400, A and B in float16, c in "
        "float32, 50,000 meta-steps of 8 tasks x 5 query images, one row per query image. "
        "How many GiB do the rows of hidden layer 2 take at the end?",
        checker=numeric(
            _GIB,
            rel_tol=0.03,
            hints={
                _GIB / 2: "each row stores two r-vectors",
                2 * _GIB: "A and B are stored in float16 (2 bytes), not float32",
                _GIB
                * 5
                / 6: "count the query images: 5 ways x 1 query each, per task",
                _GIB * 2**30 / 1e9: "a GiB is 2^30 bytes, not 10^9",
            },
            explain=f"{_ROWS:,} rows x 1,604 bytes = {_GIB:.2f} GiB",
        ),
        reference=lambda: _GIB,
        wrong=(lambda: _GIB / 2, lambda: 2 * _GIB),
    )
)

# ------------------------------------------------------------------ compute grows quadratically

register(
    Exercise(
        id="pi-compute",
        kind="derive",
        question="Ignoring the r initial rows, the first 1,000 SGD steps of an infinite pi-net "
        "take 1 minute. About how many minutes do the first 2,000 steps take?",
        checker=numeric(
            4.0,
            rel_tol=0.1,
            hints={
                2.0: "each step costs more than the one before: step t reads the t b rows "
                "already there",
                3.0: "that is the time of steps 1,001 to 2,000 alone",
            },
            explain="step t costs ~ t, so t steps cost ~ t^2 / 2: twice the steps, four times "
            "the time",
        ),
        reference=lambda: 4.0,
        wrong=(lambda: 2.0, lambda: 3.0),
    )
)
