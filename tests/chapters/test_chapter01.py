"""Chapter 1's assert cells fail when the claim behind them is broken on purpose
(tests/chapters/breaking.py runs the real chapter with the breaks injected after its
imports). Two executions: the breaks of each are independent of one another, and every
targeted cell fails with its own claims' messages."""

import pytest
from breaking import first_widths, run_broken_cells

CHAPTER = "01_sqrt_cancellation"

# 1. u and v with correlation 0.1 instead of independent: u . v ~ 0.1 n takes over.
# 2. Hidden weights of variance 1 instead of 1/n (b_2 = 0): W x grows like sqrt(n).
# 3. Every gradient replaced by Gaussian noise of the same size: an update that is not
#    built from x, so dW x cancels like dW x~.
BREAK_SUMS_INIT_CORRELATION = """
import functools
import torch
from mupbook.abc import ABC, as_abc
from mupbook.nn import AbcMLP

cancellation.inner_products = functools.partial(cancellation.inner_products, rho=0.1)

_measure = cancellation.measure_cancellation

def _variance_one(widths, *args, param="mup", **kwargs):
    p = as_abc(param, 2)
    broken = ABC(p.a, (p.b[0], 0, p.b[2]), p.c, p.name)
    return _measure(widths, *args, param=broken, **kwargs)

cancellation.measure_cancellation = _variance_one

_sgd, _gen = AbcMLP.sgd, torch.Generator().manual_seed(0)

def _noise_like(g):
    noise = torch.randn(g.shape, generator=_gen, dtype=g.dtype)
    return noise * g.norm() / noise.norm()

def _noisy_sgd(self, eta, **kwargs):
    for p in self.parameters():
        p.register_hook(_noise_like)
    return _sgd(self, eta, **kwargs)

AbcMLP.sgd = _noisy_sgd
""" + first_widths("cancellation.measure_cancellation", 4, position=0)

# Learning rates that do not scale as eta n^-c: n^-1/2 too small for NTP and SP(c=0)
# (dW x and NTP's feature movement one power n^-1/2 steeper), n times too large for muP
# (dW x one power of n steeper; training diverges). dW x / dW x~ and W x at init do not
# see the learning rate, so the cell that checks them still passes.
BREAK_LEARNING_RATES = (
    """
from mupbook.nn import AbcMLP

_sgd = AbcMLP.sgd
_factor = {"NTP": lambda n: n**-0.5, "SP(c=0)": lambda n: n**-0.5, "muP": lambda n: n}

def _wrong_lr(self, eta, **kwargs):
    return _sgd(self, eta * _factor[self.abc.name](self.width), **kwargs)

AbcMLP.sgd = _wrong_lr
"""
    + first_widths("cancellation.measure_cancellation", 4, position=0)
    + first_widths("movement.feature_movement", 4)
)

# Each break moves a slope by 1/2 or more: the four narrowest widths (2^6..2^9) show it at
# a tenth of the cost (tests/studies check the unbroken claims at such widths).


@pytest.mark.slow
def test_correlated_sums_wrong_init_and_an_update_not_built_from_x_fail():
    err = run_broken_cells(
        CHAPTER,
        BREAK_SUMS_INIT_CORRELATION,
        ['sum_slopes["u . v', "check_slopes("],
    )
    assert "AssertionError: {'u . v (independent)'" in err['sum_slopes["u . v']
    checked = err["check_slopes("]
    assert "2 of 2 claims failed" in checked
    assert "coordinates of W x at init: measured" in checked
    assert "dW x relative to dW x~ (correlated vs independent): measured" in checked


@pytest.mark.slow
def test_learning_rates_off_the_abc_scaling_fail_the_update_and_movement_claims():
    err = run_broken_cells(
        CHAPTER,
        BREAK_LEARNING_RATES,
        ["check_update_slopes(", "NTP feature movement"],
        skip=["sum_slopes"],  # the first section: nothing later depends on it
    )
    update = err["check_update_slopes("]
    assert "3 of 3 claims failed" in update
    for name in ("muP", "NTP", "SP(c=0)"):
        assert f"{name}: coordinates of dW x after one step: measured" in update
    moved = err["NTP feature movement"]
    assert "3 of 3 claims failed" in moved and "no training run diverged" in moved
    assert "NTP feature movement: measured" in moved
    assert "muP feature movement: no slope was fitted" in moved
