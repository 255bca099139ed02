"""Chapter 3's assert cells fail when the claim behind them is broken on purpose
(tests/chapters/breaking.py runs the real chapter with the breaks injected after its
imports). One execution: the two breaks touch different cells' claims."""

import pytest
from breaking import run_broken_cells

CHAPTER = "03_vector_matrix"

# 1. Every W of the five sums gets entries sqrt(n) times too large (n^(1/2 - alpha)
#    instead of n^-alpha): every slope moves by +1/2.
# 2. Each Adam network built in the other parametrization (SP <-> muP): SP's hidden
#    learning rate divided by the width, muP's not.
BREAK = """
_sizes = vector_matrix.contraction_sizes

def _too_large(widths, contracted, phase, alpha, **kwargs):
    return _sizes(widths, contracted, phase, alpha - 0.5, **kwargs)

vector_matrix.contraction_sizes = _too_large

_adam = vector_matrix.adam_update_sizes

def _swapped(widths, param, **kwargs):
    return _adam(widths, {"sp": "mup", "mup": "sp"}[param], **kwargs)

vector_matrix.adam_update_sizes = _swapped
"""

SUMS, ADAM = "all five sums scale", '"SP, Adam, hidden update"'


@pytest.mark.slow
def test_wrong_entry_sizes_and_swapped_adam_rates_fail_every_claim():
    err = run_broken_cells(CHAPTER, BREAK, [SUMS, ADAM])
    assert "15 of 15 claims failed" in err[SUMS]
    for panel in ("finite/init", "finite/update", "width/init", "width/update"):
        assert f"{panel}/alpha = 0.5: measured" in err[SUMS]
    assert "width/backprop/alpha = 1: measured" in err[SUMS]
    assert "2 of 2 claims failed" in err[ADAM]
    assert "SP, Adam, hidden update: measured" in err[ADAM]
    assert "muP, Adam, hidden update: measured" in err[ADAM]
