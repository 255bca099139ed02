"""Chapter 6's assert cells fail when the claims behind them are broken on purpose
(tests/chapters/breaking.py runs the real chapter up to the targeted assert, leaving out
the earlier sections it does not depend on). Each assert cell collects every failed claim
before it asserts, so one run shows them all."""

import pytest
from breaking import first_widths, run_broken

CHAPTER = "06_mup_in_practice"
SPELLINGS = ("spellings.train_spellings(", "spelling_table(")
COORD = ("mlp_coord_check(", '"coordinate check: "')

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

# muP and SP swapped: the muP runs are SP, the SP runs muP. Each slope moves by about 1,
# so the four narrowest widths (64 to 512) show it at a fifth of the cost.
BREAK_COORD = """
from mupbook.nn import MuMLP as _MuMLP
_swap = {"mup": "sp", "sp": "mup"}
coord_check.MuMLP = lambda d, n, o, param, **kw: _MuMLP(d, n, o, _swap[param], **kw)
""" + first_widths("coord_check.mlp_coord_check", 4, position=3)

# muP with every learning rate multiplied by the width ratio m = n / n0 (c = -1 instead of
# 0: the base rate no longer transfers), and SP trained as muP (its optimum no longer
# falls). Widths 128 and 512 only (width 2048 is three quarters of the sweep's cost): at
# 512 the broken muP model at base rate eta trains exactly as muP at 4 eta, so its optimum
# sits two grid steps below muP's own, which the chapter's run finds at the same rate at
# 128 and 512.
BREAK_TRANSFER = """
import dataclasses
from mupbook.nn import MuMLP as _MuMLP
def _times(s, f):
    return dataclasses.replace(s, sgd_lr=s.sgd_lr * f, adam_lr=s.adam_lr * f)
def _broken(d, n, o, param, **kw):
    if param == "sp":
        return _MuMLP(d, n, o, "mup", **kw)
    m = _MuMLP(d, n, o, param, **kw)
    r = n / m.base_width
    m.weight_scalings = [_times(s, r) for s in m.weight_scalings]
    if m.bias_scalings is not None:
        m.bias_scalings = [_times(s, r) for s in m.bias_scalings]
    return m
mutransfer.MuMLP = _broken
_config = mutransfer.config
mutransfer.config = lambda *a, **kw: dataclasses.replace(_config(*a, **kw), widths=(128, 512))
"""


@pytest.mark.slow
def test_spelling_check_catches_an_unmoved_readout_multiplier_and_a_homogeneous_tanh():
    err = run_broken(CHAPTER, BREAK_SPELLINGS, until="spellings.train_spellings(")
    assert "ReLU: N(0, 1/n) with plain SGD is not muP" in err
    assert "tanh: moving multipliers left the function alone" in err


@pytest.mark.slow
def test_coordinate_check_catches_swapped_parametrizations():
    err = run_broken(
        CHAPTER, BREAK_COORD, until='"coordinate check: "', skip=SPELLINGS
    )
    for opt in ("sgd", "adam"):
        assert f"muP {opt}: not flat" in err
        assert f"SP {opt}: the output change does not grow" in err
    assert "SP adam: the x^2 change does not grow" in err


@pytest.mark.slow
def test_mutransfer_check_catches_rates_growing_with_width_and_sp_trained_as_mup():
    err = run_broken(
        CHAPTER,
        BREAK_TRANSFER,
        until='"muTransfer: "',
        skip=SPELLINGS + COORD,
        timeout=1800,  # a busy CPU can be ten times slower than a free one
    )
    assert "muP sgd: the best learning rate moves" in err
    assert "muP adam: the best learning rate moves" in err
    assert "SP Adam: the best log2 lr does not fall with width" in err
