"""Exercises that make students think (issue 16): every chapter has at least two of the
kinds good courses use, and each of their checkers answers a typical wrong answer with
what it most likely confuses, never with the answer itself."""

import numpy as np
import pytest

from mupbook.exercises import (
    EXERCISES,
    KINDS,
    THINKING,
    Exercise,
    ch05,
    check,
    numeric,
)

CHAPTERS = (
    "ch01",
    "ch02",
    "ch03",
    "ch04",
    "ch05nl",
    "ch06",
    "gpt",
    "ch08",
    "ch09",
    "pi",
)

#: (exercise, a typical wrong answer, words its message must contain, the answer as a
#: student would write it, which the message must not contain).
CONFUSIONS = [
    ("ch01-variance-one", 0.0, "that is the answer for variance 1/n", "1/2"),
    ("ch01-variance-one", 1.0, "add in square root", "1/2"),
    ("ch01-predict-sp-update", 0.5, "that is SP with c = 0", "-1/2"),
    ("ch01-predict-sp-update", 0.0, "that is muP's slope", "-1/2"),
    ("ch01-predict-sp-update", -1.5, "enters the update once", "-1/2"),
    ("ch02-relu-ntk-diagonal", 0.125, "that is the NNGP", "1/2"),
    ("ch02-relu-ntk-diagonal", 0.75, "answer for depth 2", "1/2"),
    ("ch02-readout-only", "ntk", "only the readout's gradient", "nngp"),
    ("ch02-kernel-movement-slope", -0.5, "the features' own movement", "-1"),
    ("ch02-kernel-movement-slope", 0.0, "that is muP", "-1"),
    ("ch02-width-for-error", 1024, "as if the error shrank like n^(-1)", "4096"),
    ("ch03-readout-update", 0.5, "an update is correlated", "alpha = 1"),
    ("ch03-adam-sp", 0.0, "that is muP", "s = 1"),
    ("ch03-design-gain", 0.0, "treats g like a scalar-like parameter", "n^1"),
    ("ch03-design-gain", -1.0, "the rule of a sum over the width", "n^1"),
    ("ch04-r-sp-one-layer", 0.5, "SP's r for L >= 2", "3/2"),
    (
        "ch04-readout-init-c",
        0.0,
        "does not make the readout's own update smaller",
        "c = 1",
    ),
    ("ch04-readout-init-c", 0.5, "the readout's own update", "c = 1"),
    ("ch04-readout-init-c", 2.0, "stable, but trivial", "c = 1"),
    ("ch04-regime", "kernel", "a kernel regime needs r > 0", "r = 0"),
    ("ch04-regime", "unstable", "compensate each other", "feature learning"),
    ("ch05nl-variance-slope", -0.5, "the variance is its square", "slope -1"),
    ("ch05nl-variance-slope", 0.0, "a random limit", "slope -1"),
    ("ch05nl-dimension", 12.0, "never moves outside their span", "5 ="),
    ("ch05nl-dimension", 4.0, "one more dimension", "5 ="),
    ("ch05nl-wwt-variance", 1.0, "only the Z-hat part", "2:"),
    ("ch05nl-deterministic", "muP", "deterministic as well", "both:"),
    ("ch05nl-deterministic", "ntk-centred", "deterministic too", "both:"),
    (
        "ch05nl-neuron-update",
        ch05._wrong_no_derivative,
        "the chain rule needs phi'(h)",
        "width-free",
    ),
    (
        "ch05nl-neuron-update",
        ch05._wrong_new_v,
        "at the old parameters",
        "width-free",
    ),
    ("ch06-sp-output-slope", 0.5, "correlated with the features", "s = 1"),
    ("ch06-debug-coord", "readout", "reads x^2, which blows up already", "hidden"),
    (
        "ch06-debug-coord",
        "input weights",
        "x^1, which the input weights produce",
        "hidden",
    ),
    ("gpt-sp-logit-slope", 0.0, "independent q and k", "1/2"),
    ("gpt-sp-logit-slope", 1.0, "before it is scaled", "1/2"),
    ("gpt-mlp-adam-lr", 1.0, "that is SP's rule", "1/16"),
    ("gpt-mlp-adam-lr", 64 / 4096, "the rule uses the ratio of fan-ins", "1/16"),
    ("gpt-find-the-bug", "blocks.1.mlp.proj", "only because its input", "mlp.fc"),
    ("gpt-find-the-bug", "head", "the output grows only downstream", "mlp.fc"),
    ("gpt-find-the-bug", "blocks.0.mlp.fc", "which block's activations", "blocks.1"),
    ("ch08-limit-width", 784.0, "where does the readout start", "789"),
    ("ch08-limit-width", 5.0, "where does the first layer start", "789"),
    ("ch08-update-rank", 1.0, "sums over the whole support set", "5"),
    (
        "ch08-query-features",
        lambda xq, xs, W1, b, beta, D, lr: xq @ W1.T + beta * b,
        "before the inner step",
        "beta^2",
    ),
    (
        "ch08-query-features",
        lambda xq, xs, W1, b, beta, D, lr: (
            xq @ W1.T + beta * b - lr * (xq @ np.swapaxes(xs, 1, 2)) @ D
        ),
        "the bias moves in the inner step too",
        "beta^2",
    ),
    (
        "ch02-linear-ntk",
        lambda x1, x2, depth: x1 @ x2.T / x1.shape[1],
        "the NNGP",
        "L + 1",
    ),
    (
        "ch02-linear-ntk",
        lambda x1, x2, depth: depth * x1 @ x2.T / x1.shape[1],
        "the readout has a gradient too",
        "L + 1",
    ),
    (
        "ch02-linear-ntk",
        lambda x1, x2, depth: (depth + 1) * x1 @ x2.T,
        "scaled by its fan-in",
        "L + 1",
    ),
    ("ch09-limit-width", 2000.0, "a readout that starts at 0", "1000"),
    ("ch09-recipe-limit-width", 2000.0, "how large is a row of U", "1000"),
    ("ch09-ntk-accuracy", 100.0, "cosine 0", "0%"),
    ("pi-new-row", lambda g, dg: (dg, g), "where does the size of g go", "|g| dg"),
    (
        "pi-projected-span",
        "the span of the training inputs",
        "the projection decides",
        "Omega_l",
    ),
    ("pi-compute", 2.0, "each step costs more", "4"),
]


def test_every_chapter_has_two_exercises_that_make_students_think():
    for chapter in CHAPTERS:
        thinking = sorted(
            ex.id
            for ex in EXERCISES.values()
            if ex.id.startswith(f"{chapter}-") and ex.kind in THINKING
        )
        assert len(thinking) >= 2, (chapter, thinking)


def test_every_thinking_exercise_has_its_confusions_listed_here():
    listed = {row[0] for row in CONFUSIONS}
    thinking = {ex.id for ex in EXERCISES.values() if ex.kind in THINKING}
    assert thinking <= listed, sorted(thinking - listed)


@pytest.mark.parametrize(
    "ex_id, wrong, words, answer",
    CONFUSIONS,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(CONFUSIONS)],
)
def test_a_typical_wrong_answer_gets_its_own_message_not_the_answer(
    ex_id, wrong, words, answer
):
    fb = check(ex_id, wrong)
    assert not fb.correct
    assert words in fb.message, fb.message
    assert answer not in fb.message, fb.message
    assert check(ex_id, EXERCISES[ex_id].reference()).correct


def test_the_kind_of_an_exercise_is_one_of_the_known_kinds():
    assert set(THINKING) < set(KINDS) and "practice" in KINDS
    with pytest.raises(ValueError, match="kind must be one of"):
        Exercise("ch99-x", "?", numeric(1.0), lambda: 1.0, kind="quiz")


def test_checker_answers_match_the_library():
    from mupbook import abc

    assert (
        abc.first_step_exponent(abc.sp(2), 2)
        == EXERCISES["ch01-predict-sp-update"].reference()
    )
    for c, regime in (
        (0, "unstable"),
        ("1/2", "unstable"),
        (1, "kernel"),
        (2, "trivial"),
    ):
        assert abc.classify((0, 0, 0), (0, "1/2", 1), c).regime == regime
    assert (
        abc.classify((0, "1/2", 1), (0, 0, 0), -1).regime
        == EXERCISES["ch04-regime"].reference()
    )
