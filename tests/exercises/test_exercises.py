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


# --------------------------------------------------- answers that hang, flood or are bools


@pytest.fixture
def short_limit(monkeypatch):
    import mupbook.exercises as ex

    monkeypatch.setattr(ex, "TIME_LIMIT", 0.3)


def _forever(widths, sizes):
    while True:
        pass


def test_a_function_that_loops_forever_is_stopped_and_the_limit_stated(short_limit):
    import time

    start = time.monotonic()
    fb = check("ch01-loglog-slope", _forever)
    assert time.monotonic() - start < 3
    assert not fb.correct and "did not return within 0.3 s" in fb.message


def test_a_function_that_sleeps_is_stopped_too(short_limit):
    import time

    fb = check("ch01-loglog-slope", lambda w, s: time.sleep(60))
    assert not fb.correct and "0.3 s" in fb.message


def test_the_time_limit_also_holds_outside_the_main_thread(short_limit):
    import threading
    import time

    out = []
    worker = threading.Thread(
        target=lambda: out.append(check("ch01-loglog-slope", _forever))
    )
    start = time.monotonic()
    worker.start()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - start < 3
    assert "did not return within 0.3 s" in out[0].message
    time.sleep(0.2)
    assert not [
        t for t in threading.enumerate() if t.name == "mupbook-check"
    ]  # the loop was stopped


def test_a_student_except_clause_does_not_swallow_the_time_limit(short_limit):
    def stubborn(widths, sizes):
        while True:
            try:
                while True:
                    pass
            except Exception:
                pass

    assert "did not return within" in check("ch01-loglog-slope", stubborn).message


def test_a_correct_answer_leaves_no_alarm_behind():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    assert check(
        "ch01-loglog-slope", EXERCISES["ch01-loglog-slope"].reference()
    ).correct
    assert signal.getsignal(signal.SIGALRM) == before and signal.getitimer(
        signal.ITIMER_REAL
    ) == (0.0, 0.0)


def test_a_huge_array_answer_gets_a_short_message():
    import numpy as np

    fb = check("ch01-loglog-slope", lambda w, s: np.arange(10_000_000.0))
    assert not fb.correct and len(fb.message) < 1000 and "..." in fb.message


def test_every_message_is_capped():
    import mupbook.exercises as ex

    def loud(widths, sizes):
        raise ValueError("x" * 10_000_000)

    fb = check("ch01-loglog-slope", loud)
    assert "ValueError" in fb.message and len(fb.message) <= ex.MAX_MESSAGE + 50


@pytest.mark.parametrize("flag", [True, False])
def test_a_bool_is_not_a_number(flag):
    import numpy as np

    for answer in (flag, np.bool_(flag)):
        fb = check(
            "ch03-readout-update" if flag else "ch09-ntk-accuracy", answer
        )  # 1 and 0 are right
        assert (
            not fb.correct and f"{flag} is a truth value, not a number" in fb.message
        )
