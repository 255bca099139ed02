"""Chapter 2's assert cells fail when the claim behind them is broken on purpose
(tests/chapters/breaking.py runs the real chapter with the breaks injected after its
imports). Two executions; within each, the breaks touch different cells' claims."""

import pytest
from breaking import first_widths, run_broken_cells

CHAPTER = "02_nngp_ntk"

# Each break moves a slope by 1/2 or a measured number far outside its tolerance; the
# three narrowest widths of each sweep show it at a small cost (tests/studies and
# tests/test_empirical.py check the unbroken claims at such widths).
TRIM = (
    first_widths("empirical.kernel_errors", 3)
    + first_widths("movement.kernel_movement", 3)
    + first_widths("kernel_regression.width_sweep", 3)
)

# 1. Kernel errors: NTP with the hidden weights' 1/sqrt(n) applied twice (initialization
#    and multiplier): the networks' kernels vanish instead of converging to the exact ones.
# 2. Training: every network built in the other parametrization (NTP <-> muP).
# 3. Regression: networks trained and evaluated without centring (their random function
#    at initialization stays), and kernel predictors (and the chapter's own kernels) of an
#    erf network instead of a ReLU one.
# 4. The NNGP band with an observation noise 1000 times larger (1e-1).
BREAK_MODELS = (
    """
import functools
from mupbook.abc import ABC
from mupbook.kernels import mlp_kernels as _mlp_kernels

_twice = ABC((0, "1/2", "1/2"), (0, "1/2", 0), 0, "NTP, hidden 1/sqrt(n) twice")
empirical.monte_carlo_kernels = functools.partial(
    empirical.monte_carlo_kernels, param=_twice
)
kernel_regression.train_network = functools.partial(
    kernel_regression.train_network, centred=False
)

_kernel_movement = movement.kernel_movement

def _swapped(param, *args, **kwargs):
    return _kernel_movement({"ntp": "mup", "mup": "ntp"}[param], *args, **kwargs)

movement.kernel_movement = _swapped

def _erf(*args, **kwargs):
    return _mlp_kernels(*args, **(kwargs | {"activation": "erf"}))

kernel_regression.mlp_kernels = mlp_kernels = _erf

_band = kernel_regression.nngp_band
kernel_regression.nngp_band = lambda *a, **kw: _band(*a, **(kw | {"noise": 0.1}))
"""
    + TRIM
)

# 1. Gradient descent at 1/80 of the chapter's learning rate (lr_fraction 0.01, not 0.8).
# 2. The NNGP band of an erf network, whose prior variance saturates away from the data.
BREAK_LR_AND_PRIOR = (
    """
import functools

kernel_regression.width_sweep = functools.partial(
    kernel_regression.width_sweep, lr_fraction=0.01
)
_band = kernel_regression.nngp_band
kernel_regression.nngp_band = lambda *a, **kw: _band(*a, **(kw | {"activation": "erf"}))
"""
    + TRIM
)

KERNEL_ERRORS, MOVEMENT = 'f"{act} empirical', '"NTP feature movement"'
REGRESSION, BAND = '"gap between centred networks', '"the mean passes within'
EXTRAS = ("kernel_explorer(",)  # the explorer: no claim depends on it


@pytest.mark.slow
def test_wrong_models_fail_every_claim_of_kernels_training_regression_and_band():
    err = run_broken_cells(
        CHAPTER,
        BREAK_MODELS,
        [KERNEL_ERRORS, MOVEMENT, REGRESSION, BAND],
        skip=EXTRAS,
    )
    assert "6 of 6 claims failed" in err[KERNEL_ERRORS]
    for act in ("relu", "erf", "linear"):
        assert f"{act} empirical NTK error: measured" in err[KERNEL_ERRORS]
    moved = err[MOVEMENT]
    assert "10 of 10 claims failed" in moved
    for claim in (
        "NTP feature movement: measured",
        "NTP feature_kernel moves faster than n^-1/2",
        "muP ntk movement: measured",
        "muP feature kernel moves by more than 10% at every width",
        "NTP NTK moves by less than 2% at the widest width",
    ):
        assert claim in moved
    regression = err[REGRESSION]
    assert "6 of 7 claims failed" in regression
    for claim in (
        "gap between centred networks and the NTK prediction: measured",
        "the widest gap is at most half the gap at 64",
        "the kernels classify 20 (NNGP) and 18 (NTK) of the 25 drawings",
        "kernel test MSEs 0.096 (NNGP) and 0.103 (NTK)",
        "the widest networks' test MSE is within 0.005 of the NTK's",
        "the condition number of the NTK is about 70",
    ):
        assert claim in regression
    band = err[BAND]
    assert "3 of 4 claims failed" in band
    assert "the mean passes within 0.01" in band and "sin x leaves" in band
    assert "the standard deviation at the training points is below 0.02" in band


@pytest.mark.slow
def test_a_learning_rate_too_small_and_a_saturating_prior_fail_their_claims():
    err = run_broken_cells(
        CHAPTER,
        BREAK_LR_AND_PRIOR,
        [REGRESSION, BAND],
        skip=EXTRAS + ("kernel_widths", "errors.items()", "moves"),
    )
    regression = err[REGRESSION]
    assert "200 steps leave the NTK prediction within 0.001" in regression
    assert "the widest networks' test MSE is within 0.005 of the NTK's" in regression
    band = err[BAND]
    assert "1 of 4 claims failed" in band
    assert "at x = -6 and 6 the standard deviation exceeds 25 times" in band
