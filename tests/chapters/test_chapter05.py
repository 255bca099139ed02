"""The chapter "Computing the feature-learning limit": every claim it asserts fails when the
claim is broken on purpose inside the real chapter (tests/chapters/breaking.py: the break is
injected after the imports, the chapter runs up to the targeted assert cell, and cells that
the assert does not depend on are skipped)."""

import pytest
from breaking import first_widths, run_broken, run_broken_cells

CHAPTER = "05_nonlinear_limit"

# Code cells by a string only they contain (for ``until`` and ``skip``).
ESTIMATE = "qmc_size, replicas ="
GAUSS_HERMITE = "gh = nl.gauss_hermite_study"
GH_CLAIMS = "early[i8] / early[i32] > 50"
MUP_SWEEP = "mup = nl.mup_sweep"
MUP_CLAIMS = "node error is not 10 times below"
FEATURES = "ntp = nl.ntp_sweep"
FEATURE_CLAIMS = "claims.expect(moved > 0.25"
CONVERGENCE_PLOT = "limit_viz.plot_convergence"
NTP_CLAIM = 'ntp.slope("rms_gap"), -0.5, 0.2'
RIDGE = "ridge = {}"
RIDGE_CLAIMS = "c.ntk_best > 10 * c.mup_mse"
WWT = "coefs, residuals = zdot.wwt_sweep"
WWT_CLAIMS = "Z-dot coefficient is not 1"
TWO_LAYER = "two = ["
TWO_LAYER_CLAIM = "(measured - predicted).mean()"
SINE = "task = nl.sine_task()"
WIDTHS = "widths = [2**k"
#: everything before the Z-dot section
ONE_HIDDEN = [
    SINE,
    ESTIMATE,
    GAUSS_HERMITE,
    GH_CLAIMS,
    WIDTHS,
    MUP_SWEEP,
    MUP_CLAIMS,
    FEATURES,
    FEATURE_CLAIMS,
    CONVERGENCE_PLOT,
    NTP_CLAIM,
    RIDGE,
    RIDGE_CLAIMS,
]

# Gauss-Hermite's nodes replaced by as many random points: no fast convergence any more.
RANDOM_RULE = """
_rule = one_hidden._standard_normal_rule
def _random_rule(dim, rule, size, seed, antithetic):
    if rule != "gauss-hermite":
        return _rule(dim, rule, size, seed, antithetic)
    m = size**dim
    z = torch.randn(m, dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return z, torch.full((m,), 1.0 / m, dtype=torch.float64)
one_hidden._standard_normal_rule = _random_rule
"""

# The limit's input layer frozen (u and b never move): only v trains.
FROZEN = """
_step = one_hidden.OneHiddenLimit._step
def _frozen_step(self, xp, y, lr, loss):
    a, b = self.nodes.a.clone(), self.nodes.b.clone()
    _step(self, xp, y, lr, loss)
    self.nodes.a.copy_(a)
    self.nodes.b.copy_(b)
"""
FROZEN_EVERYWHERE = FROZEN + "one_hidden.OneHiddenLimit._step = _frozen_step\n"


def frozen_in(function: str) -> str:
    """The frozen input layer, only inside ``nl.<function>``."""
    return (
        FROZEN
        + f"""
_inner = nl.{function}
def _frozen_call(*args, **kwargs):
    one_hidden.OneHiddenLimit._step = _frozen_step
    try:
        return _inner(*args, **kwargs)
    finally:
        one_hidden.OneHiddenLimit._step = _step
nl.{function} = _frozen_call
"""
    )


# The networks' readout drawn with variance 1/n (as in NTP/SP) instead of muP's 1/n^2.
READOUT_1_OVER_N = """
class _Readout1OverN(one_hidden.MuMLP):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with torch.no_grad():
            self.weights[-1].mul_(self.width**0.5)
one_hidden.MuMLP = _Readout1OverN
"""

# The limit computed with 4 x 64 nodes.
FEW_NODES = """
_estimate = one_hidden.limit_estimate
def _few_nodes(*args, **kwargs):
    kwargs["size"] = 2**6
    return _estimate(*args, **kwargs)
one_hidden.limit_estimate = _few_nodes
"""

# The finite networks trained at another learning rate than the limit.
OTHER_LR = """
import dataclasses
_mup_sweep = nl.mup_sweep
def _other_lr(task, widths, seeds, training, reference, **kwargs):
    faster = dataclasses.replace(training, lr=1.3 * training.lr)
    return _mup_sweep(task, widths, seeds, faster, reference, **kwargs)
nl.mup_sweep = _other_lr
"""

# "NTP" networks that are muP networks (their features keep moving at every width).
MUP_AS_NTP = """
from mupbook.nn import MuMLP
def _mup_instead(d, n, k, *, depth, activation, w_std, b_std, generator):
    return MuMLP(d, n, k, "mup", depth=depth, activation=activation, base_width=1,
                 form="table3", bias_std=b_std, generator=generator, dtype=torch.float64)
nl.nt_mlp = _mup_instead
"""

# The NNGP's gradient-descent predictor (the readout trained alone) in place of the NTK's.
NNGP_PREDICTOR = """
from mupbook.kernels import mlp_kernels
from mupbook.predict import ntk_gd_predict
def _nngp_prediction(task, training, sigma_b, steps=None):
    kw = dict(depth=1, activation="erf", w_std=1.0, b_std=sigma_b)
    kdd = mlp_kernels(task.x_train, **kw).nngp
    ktd = mlp_kernels(task.x_test, task.x_train, **kw).nngp
    steps = training.steps if steps is None else steps
    return ntk_gd_predict(kdd, ktd, task.y_train, steps, training.lr)
nl.ntk_prediction = _nngp_prediction
"""

# The NTP pairs trained at 1.3 times the predictor's learning rate.
NTP_OTHER_LR = """
import dataclasses
_ntp_sweep = nl.ntp_sweep
def _other_lr(task, widths, seeds, training, reference, **kwargs):
    faster = dataclasses.replace(training, lr=1.3 * training.lr)
    return _ntp_sweep(task, widths, seeds, faster, reference, **kwargs)
nl.ntp_sweep = _other_lr
"""


def partial(function: str, **kwargs: object) -> str:
    """Code that makes ``zdot.<function>`` always take ``kwargs``."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return (
        f"import functools\nzdot.{function} = "
        f"functools.partial(zdot.{function}, {args})\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken, says",
    [
        (
            RANDOM_RULE,
            "Gauss-Hermite after one step improves less than 50-fold",
        ),
        (
            FROZEN_EVERYWHERE,
            "Gauss-Hermite after training improves more than 20-fold",
        ),
    ],
    ids=["random_points_converge_slowly_early", "frozen_features_keep_it_smooth"],
)
def test_gauss_hermite_claims(broken, says):
    err = run_broken(CHAPTER, broken, until=GH_CLAIMS, timeout=1800)
    assert says in err, err[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken, says",
    [
        (
            READOUT_1_OVER_N + first_widths("nl.mup_sweep", 3),
            "variance of muP networks' outputs over seeds: measured",
        ),
        (FEW_NODES, "node error is not 10 times below the widest network's gap"),
        (OTHER_LR, "RMS gap between muP networks and the muP limit: measured"),
    ],
    ids=["readout_variance_1_over_n", "too_few_nodes", "networks_at_another_lr"],
)
def test_mup_convergence_claims(broken, says):
    err = run_broken(
        CHAPTER,
        broken,
        until=MUP_CLAIMS,
        skip=[GAUSS_HERMITE, GH_CLAIMS],
        timeout=1800,
    )
    assert says in err, err[-2000:]


@pytest.mark.slow
def test_frozen_limit_and_mup_as_ntp_fail_both_feature_claims():
    # two independent breaks, one claim each; the NTP sweep trimmed to its four narrowest
    # widths (muP networks' movement does not fall at all, far from slope -1/2)
    broken = frozen_in("trained_limit") + MUP_AS_NTP + first_widths("nl.ntp_sweep", 4)
    err = run_broken(
        CHAPTER,
        broken,
        until=FEATURE_CLAIMS,
        skip=[ESTIMATE, GAUSS_HERMITE, GH_CLAIMS, MUP_SWEEP, MUP_CLAIMS],
        timeout=1800,
    )
    assert "2 of 2 claims failed" in err, err[-2000:]
    assert "the limit's features moved by less than 25%" in err
    assert "feature movement of NTP networks: measured" in err


@pytest.mark.slow
@pytest.mark.parametrize(
    "broken",
    [NNGP_PREDICTOR, NTP_OTHER_LR],
    ids=["nngp_instead_of_ntk", "pairs_at_another_lr"],
)
def test_ntp_convergence_claim(broken):
    err = run_broken(
        CHAPTER,
        broken,
        until=NTP_CLAIM,
        skip=[
            ESTIMATE,
            GAUSS_HERMITE,
            GH_CLAIMS,
            MUP_SWEEP,
            MUP_CLAIMS,
            FEATURE_CLAIMS,
            CONVERGENCE_PLOT,
        ],
        timeout=1800,
    )
    assert "RMS gap between NTP pairs and the NTK predictor: measured" in err


@pytest.mark.slow
def test_frozen_input_layer_fails_the_comparison_of_the_limits():
    err = run_broken(
        CHAPTER,
        frozen_in("compare_limits"),
        until=RIDGE_CLAIMS,
        skip=[s for s in ONE_HIDDEN if s not in (RIDGE, RIDGE_CLAIMS)],
        timeout=1800,
    )
    for s in (0, 1):
        assert f"training set {s}: the NTK's best test error is not 10 times" in err


@pytest.mark.slow
def test_gradient_independence_removes_both_zdot_terms():
    # W^T replaced by an independent copy, in W W^T v and in the network's backward pass:
    # both Z-dot claims fail (different cells, one execution)
    broken = partial("wwt_sweep", independent=True) + partial(
        "two_layer_step", independent=True
    )
    errors = run_broken_cells(
        CHAPTER, broken, [WWT_CLAIMS, TWO_LAYER_CLAIM], skip=ONE_HIDDEN
    )
    assert "1 of 2 claims failed: Z-dot coefficient is not 1" in errors[WWT_CLAIMS]
    assert "Z-dot in the network" in errors[TWO_LAYER_CLAIM]


@pytest.mark.slow
def test_a_wider_v_fails_the_zhat_variance():
    err = run_broken(
        CHAPTER,
        partial("wwt_sweep", v_std=1.5),
        until=WWT_CLAIMS,
        skip=ONE_HIDDEN,
    )
    assert "1 of 2 claims failed: Z-hat variance is not 1" in err
