"""Chapter 9's assert cells fail when the claims behind them are broken on purpose
(tests/chapters/breaking.py runs the real chapter up to the targeted assert)."""

import pytest
from breaking import run_broken

CHAPTER = "09_word2vec"

# Gaussian rows of variance 1/n instead of orthonormal ones: orthonormal only as n -> oo.
BREAK_ROWS = """
import functools
w2v.orthonormal_equivalence = functools.partial(
    w2v.orthonormal_equivalence, rows="gaussian"
)
"""

# muP and NTP swap their learning-rate scalings: muP's embeddings are trained at n0/n,
# NTP's at muP's rate.
BREAK_SWEEP = """
_lr_exponents = w2v.lr_exponents
w2v.lr_exponents = lambda p: _lr_exponents({"mup": "ntp", "ntp": "mup"}.get(p, p))
"""

# The limit trained at a learning rate ~ 1/n (64/V of the recipe's, every table): a
# wrong scaling that leaves its V directions barely trained.
BREAK_LIMIT = """
_limit = w2v.CBOW.limit
def _slow_limit(vocab_size, **kw):
    m = _limit(vocab_size, **kw)
    m.lr_mult = (64 / vocab_size, 64 / vocab_size)
    return m
w2v.CBOW.limit = staticmethod(_slow_limit)
"""

# The saved run as the broken runs would have recorded it (same seeds, same code path):
# the NTK limit without frozen embeddings is the muP limit, NTP with muP's learning rates
# is the muP network of its width.
BREAK_SAVED = """
import copy
_load = w2v.load_results
def _as_broken_runs_record(folder=None):
    docs = copy.deepcopy(_load(folder))
    m = docs["word2vec_offline"]["models"]
    m["ntk"] = dict(m["limit"], param="ntp")
    for k in [k for k in m if k.startswith("ntp-")]:
        m[k] = dict(m[k[len("ntp-"):]], param="ntp")
    return docs
w2v.load_results = _as_broken_runs_record
"""
LIVE = (
    "w2v.sweep_config(",
    "turn_slope(sweep",
    "run = w2v.run(cfg",
    'final["limit"]',
    "run.models[k].projection",
    "w2v.proportions(run)",
)


@pytest.mark.slow
def test_equivalence_check_catches_rows_that_are_not_orthonormal():
    err = run_broken(CHAPTER, BREAK_ROWS, until="orthonormal_equivalence(")
    assert "the width-120 network with orthonormal rows is not the limit" in err


@pytest.mark.slow
def test_turning_slopes_catch_swapped_learning_rate_scalings():
    err = run_broken(CHAPTER, BREAK_SWEEP, until="turn_slope(sweep")
    assert "turning slopes miss TP4's -r" in err
    assert "'mup'" in err and "'ntp'" in err


@pytest.mark.slow
def test_loss_check_catches_a_limit_trained_at_a_rate_of_order_one_over_width():
    err = run_broken(CHAPTER, BREAK_LIMIT, until='final["limit"]')
    assert "the muP limit fits worse than width 64" in err


@pytest.mark.slow
def test_saved_run_checks_catch_an_unfrozen_ntk_limit_and_ntp_at_mup_rates():
    err = run_broken(CHAPTER, BREAK_SAVED, until='"saved offline run: "', skip=LIVE)
    assert "NTK limit" in err and "not below" in err
    assert "NTP accuracy does not fall" in err
    assert "NTP not below muP at width" in err
