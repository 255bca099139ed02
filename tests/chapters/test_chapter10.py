"""The pi-limit chapter's assert cells fail when the claim behind them is broken on purpose
(tests/chapters/breaking.py runs the real chapter up to the targeted assert)."""

import pytest
from breaking import run_broken

CHAPTER = "10_pi_limit"
CONVERGENCE = "pi_limit.slope_interval(widths, g)"

#: Finite pi-nets trained without the projection of their gradients: they are then ordinary
#: networks with a pi initialization, whose training does not follow the infinite pi-net.
BREAK_PROJECTION = """
pi.FinitePiMLP.project_gradients_ = lambda self: None
"""

#: The sampler scales the readout by c^-1/2 (the number of outputs) instead of n^-1/2, the
#: rewrite's convention that the pi-limit notes warn about (harmless only while it is 0).
BREAK_READOUT = """
_sample = pi.InfPiMLP.sample


def _wrong_readout(self, n, generator):
    fin = _sample(self, n, generator)
    with torch.no_grad():
        fin.weights[-1].mul_((n / self.c) ** 0.5)
    return fin


pi.InfPiMLP.sample = _wrong_readout
"""

#: The infinite net computes with a wrong V-transform (the linear part of the ReLU one).
BREAK_V = """
pi.relu_v = lambda q: (1 + q.clamp(-1, 1)) / 4
"""

#: The pi-limit's hidden layers and biases frozen: only its readout learns (a random-feature
#: model of rank r), so it learns no features.
BREAK_FROZEN = """
pi_supervised._lr_mult = lambda cfg: pi.LrMult(
    first=0.0, hidden=0.0, readout=cfg.readout_lr_mult, bias=0.0
)
"""

#: The recorded pi-limit read at its first validation (200 meta-steps) instead of its test
#: accuracy after training: an undertrained pi-limit.
BREAK_UNDERTRAINED = """
_load = pi_maml.load_results


def _early(folder=None):
    docs = _load(folder)
    for doc in docs.values():
        for r in doc["runs"]:
            if r["name"] == "pi-limit":
                r["test"]["1"]["mean"] = r["history"]["val_acc"][0]
    return docs


pi_maml.load_results = _early
"""


@pytest.mark.slow
def test_convergence_check_catches_training_without_the_projection():
    err = run_broken(CHAPTER, BREAK_PROJECTION, until=CONVERGENCE)
    assert "output after 10 steps" in err


@pytest.mark.slow
def test_convergence_check_catches_a_wrongly_scaled_readout_in_the_sampler():
    err = run_broken(CHAPTER, BREAK_READOUT, until=CONVERGENCE)
    assert "output, init (Gaussian readout)" in err


@pytest.mark.slow
def test_convergence_check_catches_a_wrong_v_transform():
    err = run_broken(CHAPTER, BREAK_V, until=CONVERGENCE)
    assert "layer 2 r-coordinates" in err


@pytest.mark.slow
def test_supervised_check_catches_a_pi_limit_with_frozen_hidden_layers():
    err = run_broken(CHAPTER, BREAK_FROZEN, until='d = sup.pi_vs("relu-ntk")')
    assert "drawings only the first gets right" in err


@pytest.mark.slow
def test_maml_check_catches_an_undertrained_pi_limit():
    err = run_broken(CHAPTER, BREAK_UNDERTRAINED, until="assert lim - ntk >")
    assert "the pi-limit does not beat the NTK limit" in err
