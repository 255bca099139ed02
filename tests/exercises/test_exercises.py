"""mupbook.exercises: every checker accepts its reference and rejects known mistakes."""

import pytest

from mupbook.exercises import EXERCISES, Exercise, Feedback, check, numeric, register

IDS = sorted(EXERCISES)


@pytest.mark.parametrize("ex_id", IDS)
def test_checker_accepts_the_reference(ex_id):
    fb = check(ex_id, EXERCISES[ex_id].reference())
    assert fb.correct, fb.message
    assert str(fb).startswith("correct: ")


@pytest.mark.parametrize("ex_id", IDS)
def test_checker_rejects_every_known_wrong_answer(ex_id):
    ex = EXERCISES[ex_id]
    assert ex.wrong, "each exercise lists at least one wrong answer"
    for wrong in ex.wrong:
        fb = check(ex_id, wrong())
        assert not fb.correct
        assert str(fb).startswith("not yet: ")


@pytest.mark.parametrize("ex_id", IDS)
def test_placeholder_gets_a_gentle_not_yet(ex_id):
    assert "placeholder" in check(ex_id, None).message


def test_student_code_that_raises_is_reported_not_propagated():
    def slope(widths, sizes):
        raise ZeroDivisionError("oops")
    fb = check("ch01-loglog-slope", slope)
    assert not fb.correct and "ZeroDivisionError" in fb.message


def test_function_returning_none_gets_a_hint():
    assert "return" in check("ch01-loglog-slope", lambda w, s: None).message


def test_numeric_checker_gives_the_hint_for_a_known_mistake():
    assert "variance 1/n" in check("ch01-variance-one", 0.0).message
    assert "expected a number" in check("ch01-variance-one", "half").message


def test_unknown_exercise_is_an_error():
    with pytest.raises(ValueError, match="unknown exercise"):
        check("ch99-nothing", 1)


def test_registering_an_id_twice_is_an_error():
    ex = Exercise("ch01-variance-one", "?", numeric(1.0), lambda: 1.0)
    with pytest.raises(ValueError, match="twice"):
        register(ex)


def test_feedback_is_truthy_only_when_correct():
    assert Feedback(True, "x") and not Feedback(False, "x")
