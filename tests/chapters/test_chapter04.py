"""Chapter 4's assert cell fails when the claims behind it are broken on purpose
(tests/chapters/breaking.py runs the real chapter with the break injected after its
imports). The chapter's other tables follow from TP4's inequalities alone and are shown,
not asserted (tests/test_abc.py checks them)."""

import pytest
from breaking import first_widths, run_broken

CHAPTER = "04_abc_dichotomy"

# Learning rates off the eta n^-c scaling, one per parametrization: SP n times too large
# (it diverges), NTP and muP n^-1/2 too small (their features move n^-1/2 less), MFP
# 2 n^-1/2 too small (its movement no longer equals muP's either). The four narrowest
# widths show the slopes moved by 1/2 (tests/studies check the unbroken ones there).
BREAK = """
from mupbook.nn import AbcMLP

_sgd = AbcMLP.sgd
_factor = {
    "SP": lambda n: n,
    "NTP": lambda n: n**-0.5,
    "MFP": lambda n: 2 * n**-0.5,
    "muP": lambda n: n**-0.5,
}

def _wrong_lr(self, eta, **kwargs):
    return _sgd(self, eta * _factor[self.abc.name](self.width), **kwargs)

AbcMLP.sgd = _wrong_lr
""" + first_widths("movement.feature_movement", 4)


@pytest.mark.slow
def test_learning_rates_off_the_abc_scaling_fail_every_movement_claim():
    err = run_broken(
        CHAPTER, BREAK, until='f"{name} feature movement"', skip=["regime_map("]
    )
    assert "6 of 6 claims failed" in err
    assert "no training run diverged" in err
    for name in ("NTP", "MFP", "muP"):
        assert f"{name} feature movement: measured" in err
    assert "SP feature movement: no slope was fitted" in err
    assert "MFP and muP give identical feature movements" in err
