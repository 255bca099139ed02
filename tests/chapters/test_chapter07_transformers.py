"""The assert cells of "muP for Transformers" fail when the claim behind them is broken on
purpose (tests/chapters/breaking.py runs the real chapter up to the targeted assert).

Each break changes the library call the claim relies on, inside the chapter's kernel:
a wrong parametrization (SP's coordinate check run in muP), 1/sqrt(d) attention in muP,
a zero readout without muP's 1/m multiplier, SP's recorded sweep read as muP's, and a
model that never trained (its best loss read before the first step)."""

import pytest
from breaking import run_broken

CHAPTER = "07_mup_transformers"

BREAK_SP_IS_MUP = """
from mupbook.studies import coord_check as _cc
_orig = _cc.gpt_coord_check
_cc.gpt_coord_check = lambda param, *a, **k: _orig("mup", *a, **k)
"""

BREAK_SQRT_D = """
from mupbook import transformer as _t
_t.attention_multiplier = lambda param, d_head, base_d_head: d_head**-0.5
"""

BREAK_READOUT = """
from mupbook import transformer as _t
_t.readout_multiplier = lambda param, width, base_width: 1.0  # zero init alone
"""

BREAK_SWAP = """
_sweeps = mg.sweeps
mg.sweeps = lambda doc: {"sp": _sweeps(doc)["mup"], "mup": _sweeps(doc)["sp"]}
"""

BREAK_UNTRAINED = """
import numpy as _np
mg.Sweep.best_loss = lambda self: _np.nanmin(self.curves[..., 0].mean(0), axis=1)
"""


@pytest.mark.slow
def test_sp_coordinate_check_assert_catches_a_wrong_parametrization():
    err = run_broken(CHAPTER, BREAK_SP_IS_MUP, until="sp_slopes.min() >= 0.4")
    assert "SP's attention scores and output should grow with width" in err


@pytest.mark.slow
def test_mup_coordinate_check_assert_catches_one_over_sqrt_d_attention():
    err = run_broken(
        CHAPTER, BREAK_SQRT_D, until="muP's attention scores are not flat"
    )
    assert "muP's attention scores are not flat" in err


@pytest.mark.slow
def test_mup_coordinate_check_assert_catches_a_readout_without_its_multiplier():
    err = run_broken(CHAPTER, BREAK_READOUT, until="mu_others = np.concatenate")
    assert "muP's activations are not flat: output" in err


@pytest.mark.slow
def test_recorded_sweep_asserts_catch_sp_and_mup_swapped():
    err = run_broken(CHAPTER, BREAK_SWAP, until="SP's optimum did not move")
    assert "muP's optimum moved with width" in err
    assert "SP's optimum did not move" in err


@pytest.mark.slow
def test_recorded_sweep_assert_catches_a_model_that_did_not_train():
    err = run_broken(CHAPTER, BREAK_UNTRAINED, until="SP's optimum did not move")
    assert "muP: wider is not better" in err
