"""Exercises of the chapter "Computing the feature-learning limit": the references agree with
the library."""

import numpy as np
import torch

from mupbook.exercises import EXERCISES, check
from mupbook.limits import one_hidden as oh


def test_neuron_step_reference_is_the_limits_own_rule():
    ref = EXERCISES["ch05nl-neuron-update"].reference()
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)[:, None]
    y = torch.cos(2 * x)
    lim = oh.mup_limit(1, span=x, sigma_b=1.0, size=2**6, seed=1)
    lim.c.zero_()
    u, b, v = (
        t.clone().numpy().ravel() for t in (lim.nodes.a, lim.nodes.b, lim.nodes.v)
    )
    chi = oh.loss_gradient(lim(x), y, "mse")[:, 0].numpy()
    lim.step(x, y, 0.8)
    got = ref(u, b, v, x[:, 0].numpy(), chi, 0.8)
    want = np.stack(
        [t.numpy().ravel() for t in (lim.nodes.a, lim.nodes.b, lim.nodes.v)]
    )
    assert np.allclose(got, want, rtol=1e-12, atol=1e-14)


def test_dimension_answer_is_what_the_library_counts():
    x = torch.randn(3, 10, dtype=torch.float64)
    dim = oh.mup_limit(10, span=x, sigma_b=1.0, size=2).dimension
    assert dim == EXERCISES["ch05nl-dimension"].reference()
    assert "span" in check("ch05nl-dimension", 12).message


def test_wrong_slope_gets_the_hint_about_standard_deviations():
    assert "square" in check("ch05nl-variance-slope", -0.5).message
