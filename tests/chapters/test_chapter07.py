"""The assert cells of "muP for Transformers" fail when the claim behind them is broken on
purpose (tests/chapters/breaking.py runs the real chapter up to the targeted assert).

Each break changes the library call the claim relies on, inside the chapter's kernel:
a wrong parametrization (SP's coordinate check run in muP), 1/sqrt(d) attention in muP,
a zero readout without muP's 1/m multiplier (and 1/sqrt(d) again for the longer, wider
check that the scores' drift is a transient), and SP's recorded sweep read as muP's and
the reverse.

To keep them cheap, each run skips the cells its assert does not need (the figures, the
other asserts), the coordinate check that is not under test (SP's when muP's claim is
broken, and the reverse) runs at the two narrowest widths only, and the three asserts on
the recorded sweep, which one break trips, share one execution.
"""

import pytest
from breaking import run_broken, run_broken_cells

CHAPTER = "07_mup_transformers"

#: Cells that no assert needs (the dot-product figure, the table).
FIGURES = ["plot_dot_products()", "scaling_table("]
#: The coordinate-check assert cells, by a string of each.
SP_ASSERT = "sp_slopes.min() >= 0.4"
LOGITS_ASSERT = "mu_logits.max() < 0.1"
OTHERS_ASSERT = "np.abs(mu_others).max() < 0.1"
#: muP's longer, wider coordinate check (steps 30 to 40, widths to 1024) and its assert.
LATE_ASSERT = "np.abs(late_slopes).max() < 0.1"
#: The recorded sweep's assert cells.
MU_SHIFT = "mu_run.shift() <= 0.5"
WIDER = "np.nanmax(change) < 0"
SP_SHIFT = "sp_run.shift() >= 1.0"
#: The coordinate checks take seconds on a quiet CPU; a shared one needs longer.
SLOW_CELLS = 900
COORD = ["gpt_coord_check(p,", SP_ASSERT, LOGITS_ASSERT, OTHERS_ASSERT, LATE_ASSERT]


def only_two_widths_for(param: str) -> str:
    """Code that runs ``param``'s coordinate check at its two narrowest widths only."""
    return f"""
from mupbook.studies import coord_check as _cc
_gpt_cc = _cc.gpt_coord_check

def _trimmed(param, tokens, targets, widths, **kw):
    if param == {param!r}:  # not under test: two widths draw its panel
        widths = list(widths)[:2]
    return _gpt_cc(param, tokens, targets, widths, **kw)

_cc.gpt_coord_check = _trimmed
"""


BREAK_SP_IS_MUP = """
from mupbook.studies import coord_check as _cc
_gpt_cc = _cc.gpt_coord_check

def _sp_is_mup(param, tokens, targets, widths, **kw):
    if param == "mup":  # not under test: two widths draw its panel
        widths = list(widths)[:2]
    return _gpt_cc("mup", tokens, targets, widths, **kw)

_cc.gpt_coord_check = _sp_is_mup
"""

BREAK_SQRT_D = only_two_widths_for("sp") + (
    """
from mupbook import transformer as _t
_t.attention_multiplier = lambda param, d_head, base_d_head: d_head**-0.5
"""
)

BREAK_READOUT = only_two_widths_for("sp") + (
    """
from mupbook import transformer as _t
_t.readout_multiplier = lambda param, width, base_width: 1.0  # zero init alone
"""
)

BREAK_SWAP = """
_sweeps = mg.sweeps
mg.sweeps = lambda doc: {"sp": _sweeps(doc)["mup"], "mup": _sweeps(doc)["sp"]}
"""


@pytest.mark.slow
def test_sp_coordinate_check_assert_catches_a_wrong_parametrization():
    err = run_broken(
        CHAPTER, BREAK_SP_IS_MUP, until=SP_ASSERT, skip=FIGURES, timeout=SLOW_CELLS
    )
    assert "SP's attention scores and output do not grow with width" in err


@pytest.mark.slow
def test_mup_scores_assert_catches_one_over_sqrt_d_attention():
    err = run_broken(
        CHAPTER,
        BREAK_SQRT_D,
        until=LOGITS_ASSERT,
        skip=FIGURES + [SP_ASSERT],
        timeout=SLOW_CELLS,
    )
    assert "muP's attention scores grow with width" in err


@pytest.mark.slow
def test_mup_activations_assert_catches_a_readout_without_its_multiplier():
    err = run_broken(
        CHAPTER,
        BREAK_READOUT,
        until=OTHERS_ASSERT,
        skip=FIGURES + [SP_ASSERT, LOGITS_ASSERT],
        timeout=SLOW_CELLS,
    )
    assert "muP's activations are not flat: output" in err


@pytest.mark.slow
def test_late_mup_assert_catches_one_over_sqrt_d_attention():
    # the transient explains a drift downwards, never growth: with 1/sqrt(d) attention the
    # scores keep growing after 30 steps at widths to 1024
    err = run_broken(
        CHAPTER,
        BREAK_SQRT_D,
        until=LATE_ASSERT,
        skip=FIGURES + [SP_ASSERT, LOGITS_ASSERT, OTHERS_ASSERT],
        timeout=SLOW_CELLS,
    )
    assert "muP's activations are not flat after the transient: block" in err


def test_recorded_sweep_asserts_catch_sp_and_mup_swapped():
    # muP's optimum then moves, SP's does not, and "wider is better" fails because SP's
    # curves cross: beyond its narrow optimum a wider SP model is worse
    errors = run_broken_cells(
        CHAPTER, BREAK_SWAP, [MU_SHIFT, WIDER, SP_SHIFT], skip=FIGURES + COORD
    )
    assert "muP's optimum moved with width" in errors[MU_SHIFT]
    assert "muP: wider is not better at every learning rate" in errors[WIDER]
    assert "SP's optimum did not move" in errors[SP_SHIFT]
