"""Chapter 5's assert cells fail when the claims behind them are broken on purpose
(tests/chapters/breaking.py runs the real chapter up to the targeted assert, leaving out
the earlier sections it does not depend on). Each assert cell collects every failed claim
before it asserts, so one run shows them all."""

import pytest
from breaking import run_broken

CHAPTER = "05_mup_in_practice"
SPELLINGS = ("spellings.train_spellings(", "spelling_table(")

# 1. The N(0, 1/n) spelling moves the input layer's multiplier n^(1/2) off but leaves the
#    readout's n^(-1/2) in place (h = (1/2, 0, 0), which does not sum to zero): the
#    ReLU network's output shrinks by n^(-1/2).
# 2. tanh replaced by ReLU, which is positively homogeneous: moving multipliers between
#    layers then leaves the "tanh" network's function alone.
BREAK_SPELLINGS = """
import torch
from mupbook import nn as _nn
_shift = spellings.homogeneity_shift
spellings.homogeneity_shift = lambda depth=2: _shift(depth)[:-1] + (0,)
_nn.ACTIVATIONS["tanh"] = torch.relu
"""


@pytest.mark.slow
def test_spelling_check_catches_an_unmoved_readout_multiplier_and_a_homogeneous_tanh():
    err = run_broken(CHAPTER, BREAK_SPELLINGS, until="spellings.train_spellings(")
    assert "ReLU: N(0, 1/n) with plain SGD is not muP" in err
    assert "tanh: moving multipliers left the function alone" in err
