"""Exercises of chapter 3: vector-like and matrix-like parameters."""

from __future__ import annotations

from typing import Any

from . import Exercise, Feedback, call_answer, numeric, register, shown

register(
    Exercise(
        id="ch03-readout-update",
        kind="derive",
        question="The readout W (d_out x n) contracts the width. Its SGD update is correlated "
        "with the features x. Entries of size n^-alpha: which alpha keeps dW x of order one?",
        checker=numeric(
            1.0,
            abs_tol=0.01,
            hints={
                0.5: "1/2 is right for the readout at init (independent terms); an update is correlated",
                0.0: "alpha = 0 is for a finite contracted dimension; the readout sums over the width",
            },
            explain="1: n correlated terms add up linearly, so each must be 1/n",
        ),
        reference=lambda: 1.0,
        wrong=(lambda: 0.5, lambda: 0.0),
    )
)


def _kind_reference(small: tuple, large: tuple) -> str:
    changed = sum(a != b for a, b in zip(small, large))
    return ("scalar", "vector", "matrix")[changed]


def _kind_checker(answer: Any) -> Feedback:
    if not callable(answer):
        return Feedback(False, f"expected a function, got {type(answer).__name__}")
    cases = [
        ((16, 3), (64, 3)),
        ((16, 16), (64, 64)),
        ((10, 16), (10, 64)),
        ((16,), (64,)),
        ((10,), (10,)),
        ((3, 3, 16, 16), (3, 3, 64, 64)),
        ((16, 8, 3), (64, 8, 3)),
    ]
    for small, large in cases:
        want = _kind_reference(small, large)
        got, failed = call_answer(answer, small, large)
        if failed is not None:
            return failed
        if got != want:
            return Feedback(
                False,
                f"for shapes {small} -> {large} it said {shown(got)}, expected {want!r}",
            )
    return Feedback(True, "count the dimensions that grow with width: 0, 1 or 2")


register(
    Exercise(
        id="ch03-kind-of",
        question="Write kind_of(shape_small, shape_large) returning 'scalar', 'vector' or 'matrix' "
        "for a parameter whose shape is shape_small at one width and shape_large at another.",
        checker=_kind_checker,
        reference=lambda: _kind_reference,
        wrong=(
            lambda: lambda s, l: "matrix" if len(s) == 2 else "vector",
            lambda: lambda s, l: ("scalar", "vector", "matrix")[min(len(s), 2)],
        ),
    )
)

register(
    Exercise(
        id="ch03-adam-sp",
        kind="derive",
        question="Under SP with a fixed Adam learning rate, the rms coordinate of dW x for a hidden "
        "matrix W grows like n^s. What is s?",
        checker=numeric(
            1.0,
            abs_tol=0.1,
            hints={
                0.5: "Adam's update entries are about lr whatever the gradient: the sum over n correlated "
                "terms is not cancelled",
                0.0: "that is muP, which divides the hidden learning rate by the width",
            },
            explain="1: entries of size lr, n correlated terms",
        ),
        reference=lambda: 1.0,
        wrong=(lambda: 0.5, lambda: 0.0),
    )
)

register(
    Exercise(
        id="ch03-design-gain",
        kind="design",
        question="Design: a gain vector g (n coordinates, initialized at 1) scales a hidden "
        "layer coordinatewise, h -> g * h, in a muP network trained by SGD. Its learning "
        "rate is eta n^e. Which e makes one step change the layer's output g * h by "
        "Theta(1)?",
        checker=numeric(
            1.0,
            abs_tol=0.01,
            hints={
                0.0: "a width-independent rate treats g like a scalar-like parameter, but "
                "one of its dimensions grows; in muP the gradient reaching one hidden "
                "coordinate shrinks with width",
                -1.0: "that is the rule of a sum over the width (a hidden matrix, the "
                "readout); g_i multiplies one number, h_i, and sums over nothing",
                0.5: "there is no cancellation to undo: the gradient of g_i is one product, "
                "not a sum of n terms",
            },
            explain="1: dL/dg_i = (dL/dy_i) h_i, and in muP the gradient reaching a hidden "
            "coordinate is Theta(1/n) (it comes through a readout of size 1/n); the step "
            "must make up the 1/n. g is vector-like with a finite fan-in (1), like a bias: "
            "TP5's SGD rate eta times fan_out",
        ),
        reference=lambda: 1.0,
        wrong=(lambda: 0.0, lambda: -1.0, lambda: 0.5),
    )
)
