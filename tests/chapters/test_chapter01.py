"""Chapter 1's assert cells fail when the claim behind them is broken on purpose
(tests/chapters/breaking.py runs the real chapter up to the targeted assert)."""

import pytest
from breaking import run_broken

BREAK_INIT = """
import functools
from mupbook.abc import ABC, mup
_p = mup(2)
cancellation.measure_cancellation = functools.partial(
    cancellation.measure_cancellation, param=ABC(_p.a, (_p.b[0], 0, _p.b[2]), _p.c, "broken"))
"""


@pytest.mark.slow
def test_chapter_assert_cell_catches_broken_init_scaling():
    # hidden weights initialized with variance 1 instead of 1/n
    err = run_broken("01_sqrt_cancellation", BREAK_INIT, until="check_slopes(")
    assert "coordinates of W x at init" in err
