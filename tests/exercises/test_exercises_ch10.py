"""The pi-limit chapter's exercises: each known confusion gets its own message, and no
hint gives the answer away."""

import numpy as np

from mupbook.exercises import EXERCISES, check
from mupbook.exercises import ch10 as ex


def test_new_row_names_what_each_wrong_row_confuses():
    assert "size of g" in check("pi-new-row", lambda g, dg: (dg, g)).message
    assert (
        "appear somewhere"
        in check("pi-new-row", lambda g, dg: (dg, g / np.linalg.norm(g))).message
    )
    assert (
        "multiplies"
        in check(
            "pi-new-row",
            lambda g, dg: (dg / np.linalg.norm(g), g / np.linalg.norm(g)),
        ).message
    )
    assert "pair" in check("pi-new-row", lambda g, dg: 3.0).message


def test_memory_hints_name_the_mistake_and_not_the_answer():
    answer = f"{ex._GIB:.2f}"
    for wrong, words in ((ex._GIB / 2, "two r-vectors"), (2 * ex._GIB, "float16")):
        fb = check("pi-memory", wrong)
        assert not fb.correct and words in fb.message and answer not in fb.message
    assert check("pi-memory", 2.99).correct


def test_no_hint_of_the_chapter_contains_its_answer():
    for ex_id, answer in (
        ("pi-projected-span", "column space of Omega"),
        ("pi-compute", "4"),
        ("pi-memory", f"{ex._GIB:.2f}"),
    ):
        for wrong in EXERCISES[ex_id].wrong:
            fb = check(ex_id, wrong())
            assert not fb.correct and answer not in fb.message, (ex_id, fb.message)
